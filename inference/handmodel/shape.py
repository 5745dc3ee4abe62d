"""A subject's hand: bone lengths, widths and radii (mm), drawn reproducibly from a subject id.

Reference adult proportions at scale 1; :func:`sample_shape` draws a subject (overall scale 0.84-1.16, per-bone
and width jitter), :func:`mean_shape` is the template the fitter starts from (every random factor at its mean),
and :meth:`HandShape.scaled` multiplies every length by one factor (the fitter's hand-size estimate).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, replace

import numpy as np

# Reference adult bone lengths (mm, scale 1): proximal, middle, distal phalanx, NYU finger order pinky..index.
FINGER_BONES_MM = np.array([[33.0, 19.0, 18.0], [42.0, 27.0, 21.0], [45.0, 28.0, 21.0], [40.0, 24.0, 20.0]])
FINGER_RADIUS_MM = np.array([7.6, 8.4, 8.8, 8.7])  # proximal phalanx radius; tapers distally
THUMB_BONES_MM = np.array([44.0, 32.0, 26.0])  # metacarpal (CMC->MCP), proximal, distal
PALM_LENGTH_MM, PALM_WIDTH_MM, PALM_THICKNESS_MM = 96.0, 82.0, 27.0
THUMB_RADIUS_MM, FOREARM_LENGTH_MM, WRIST_RADIUS_MM, FOREARM_RADIUS_MM = 10.2, 260.0, 24.0, 31.0
# Skin albedos from light to dark (RGB); a subject's skin is a random blend of two neighbours.
SKIN_TONES = np.array([[236, 200, 178], [224, 172, 140], [198, 140, 105], [160, 104, 72], [112, 72, 50]], float)


@dataclass(frozen=True)
class HandShape:
    """One subject's hand (all lengths in mm).

    Attributes:
        subject_id: the id the shape was drawn from (reproducible: same id, same hand); -1 for the template.
        palm_length_mm / palm_width_mm / palm_thickness_mm: wrist-to-middle-MCP length, width at the
            knuckles, dorsal-palmar thickness.
        finger_bones_mm: ``(4, 3)`` proximal/middle/distal lengths, NYU finger order (pinky..index).
        finger_radius_mm: ``(4,)`` proximal-phalanx radius (tapering 8% per phalanx).
        thumb_bones_mm: ``(3,)`` metacarpal, proximal, distal.
        thumb_radius_mm, forearm_length_mm, wrist_radius_mm, forearm_radius_mm: as named.
        skin_rgb: ``(3,)`` albedo 0-255.
    """

    subject_id: int
    palm_length_mm: float
    palm_width_mm: float
    palm_thickness_mm: float
    finger_bones_mm: np.ndarray
    finger_radius_mm: np.ndarray
    thumb_bones_mm: np.ndarray
    thumb_radius_mm: float
    forearm_length_mm: float
    wrist_radius_mm: float
    forearm_radius_mm: float
    skin_rgb: np.ndarray

    def to_dict(self) -> dict:
        """JSON-ready parameters (lists of floats rounded to 0.01)."""
        out = {}
        for k, v in asdict(self).items():
            out[k] = np.round(np.asarray(v, float), 2).tolist() if isinstance(v, np.ndarray) else (
                round(v, 2) if isinstance(v, float) else v)
        return out

    def scaled(self, factor: float) -> HandShape:
        """The same hand with every length (bones, widths, radii) multiplied by ``factor``."""
        f = float(factor)
        return replace(
            self, palm_length_mm=self.palm_length_mm * f, palm_width_mm=self.palm_width_mm * f,
            palm_thickness_mm=self.palm_thickness_mm * f, finger_bones_mm=self.finger_bones_mm * f,
            finger_radius_mm=self.finger_radius_mm * f, thumb_bones_mm=self.thumb_bones_mm * f,
            thumb_radius_mm=self.thumb_radius_mm * f, forearm_length_mm=self.forearm_length_mm * f,
            wrist_radius_mm=self.wrist_radius_mm * f, forearm_radius_mm=self.forearm_radius_mm * f,
        )


def sample_shape(subject_id: int) -> HandShape:
    """The hand of subject ``subject_id``: deterministic, drawn from plausible adult ranges.

    Overall scale 0.84-1.16 (hand length ~160-220 mm), independent +-5% per bone and width jitter.
    Different ids give different hands, so train / test splits use disjoint id ranges.
    """
    rng = np.random.default_rng([0x5A17, int(subject_id)])
    scale = rng.uniform(0.84, 1.16)
    width_ratio = rng.normal(1.0, 0.05)
    bones = FINGER_BONES_MM * scale * rng.normal(1.0, 0.04, (4, 1)) * rng.normal(1.0, 0.025, (4, 3))
    tone = rng.uniform(0, len(SKIN_TONES) - 1)
    i = min(int(tone), len(SKIN_TONES) - 2)
    skin = SKIN_TONES[i] * (1 - (tone - i)) + SKIN_TONES[i + 1] * (tone - i)
    skin = np.clip(skin * rng.normal(1.0, 0.04, 3), 0, 255)
    thickness = PALM_THICKNESS_MM * scale * rng.normal(1.0, 0.06)
    return HandShape(
        subject_id=int(subject_id),
        palm_length_mm=float(PALM_LENGTH_MM * scale * rng.normal(1.0, 0.03)),
        palm_width_mm=float(PALM_WIDTH_MM * scale * width_ratio),
        palm_thickness_mm=float(thickness),
        finger_bones_mm=bones,
        finger_radius_mm=FINGER_RADIUS_MM * scale * width_ratio * rng.normal(1.0, 0.04),
        thumb_bones_mm=THUMB_BONES_MM * scale * rng.normal(1.0, 0.04, 3),
        thumb_radius_mm=float(THUMB_RADIUS_MM * scale * width_ratio),
        forearm_length_mm=float(FOREARM_LENGTH_MM * scale),
        wrist_radius_mm=float(WRIST_RADIUS_MM * scale * width_ratio),
        forearm_radius_mm=float(FOREARM_RADIUS_MM * scale * width_ratio * rng.normal(1.0, 0.06)),
        skin_rgb=skin,
    )


def mean_shape() -> HandShape:
    """The template hand: the reference proportions at scale 1 (every random factor of :func:`sample_shape` at its
    mean). Knows nothing of any subject: what a fitter may start from."""
    return HandShape(
        subject_id=-1, palm_length_mm=PALM_LENGTH_MM, palm_width_mm=PALM_WIDTH_MM,
        palm_thickness_mm=PALM_THICKNESS_MM, finger_bones_mm=FINGER_BONES_MM.copy(),
        finger_radius_mm=FINGER_RADIUS_MM.copy(), thumb_bones_mm=THUMB_BONES_MM.copy(),
        thumb_radius_mm=THUMB_RADIUS_MM, forearm_length_mm=FOREARM_LENGTH_MM, wrist_radius_mm=WRIST_RADIUS_MM,
        forearm_radius_mm=FOREARM_RADIUS_MM, skin_rgb=SKIN_TONES[1].copy(),
    )
