"""How sure the teacher is about a hand: per-landmark evidence, per-joint confidence, a frame score, the rejection rule.

Evidence, each turned into a factor in (0, 1] (1 = no sign of trouble):

- ``depth``: the fraction of the window around each landmark whose depth is consistent with the hand
  (:attr:`inference.teacher.lift.Lifted.support`); a landmark on a hole or off the hand has none.
- ``bones``: each of the 23 bones of the lifted skeleton against the same bone of MediaPipe's own metric hand
  (its world landmarks, scaled to the lifted hand's 2D extent): ``exp(-|log(lifted / expected)| / BONE_TOL)``.
  A landmark lifted onto the wrong surface (an occluding finger, the background) stretches or shrinks its bones.
- ``agreement`` (``handpose label``): MediaPipe run a second time on the image flipped left-right; the distance
  between the two answers per landmark, over the hand's 2D size: ``exp(-distance / AGREEMENT_TOL)``. On
  synthetic sequences this was the single best predictor of the label error (Spearman 0.74; docs/teacher.md).
- ``temporal`` (``handpose label`` on a sequence): the mean joint motion to the nearer of the previous and next
  frames' estimates, ``exp(-motion / MOTION_TOL_MM)``; one wrong frame between two good ones moves far from
  both, a scene cut from only one of them.
- ``handedness``: MediaPipe's own certainty about left/right (and, with ``agreement``, the two runs agreeing).

A joint's confidence is the product of the frame-wide factors (handedness, agreement and temporal, each over the
whole hand) and the local ones (depth, bones, agreement) of the landmarks it is built from (the lowest of them for
joints built from several). The frame score is the product of the frame-wide factors with the median of the
local ones; :data:`REJECT_BELOW` on it decides whether ``handpose label`` keeps a frame.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from inference.teacher.nyu_mapping import JOINT_LANDMARKS

# Each bone as (parent, child) landmark ids: the 20 finger bones from the wrist out and 3 across the knuckles.
BONES: tuple[tuple[int, int], ...] = (
    (0, 1), (1, 2), (2, 3), (3, 4), (0, 5), (5, 6), (6, 7), (7, 8), (0, 9), (9, 10), (10, 11), (11, 12),
    (0, 13), (13, 14), (14, 15), (15, 16), (0, 17), (17, 18), (18, 19), (19, 20), (5, 9), (9, 13), (13, 17),
)
# Tolerances: each gives a factor 1/e. Chosen on synthetic sequences (seeds 101-103) among 0.1-1 / 0.05-0.4 /
# 15-60 mm for the largest share of frames labelled at <= 20 mm; the ranking hardly depends on them.
BONE_TOL = 1.0  # |log length ratio| (a bone 2.7 times too long or short)
AGREEMENT_TOL = 0.4  # landmark disagreement / hand size
MOTION_TOL_MM = 30.0  # mean joint motion to the nearer neighbouring frame
# The rejection rule, chosen from the error-vs-score curve of docs/teacher.md (synthetic seeds 101-103, full model,
# synth convention): 74% of the frames kept at 19.6 mm mean label error (0.08 kept 77% at 20.1 mm); with the
# lower MediaPipe thresholds `handpose label` uses since, 73.6% at 19.0 mm.
REJECT_BELOW = 0.10


@dataclass
class Evidence:
    """The factors of one hand, each in (0, 1].

    Attributes:
        depth: ``(21,)`` per landmark.
        bones: ``(21,)`` per landmark (the worse of the bones ending at it).
        agreement: ``(21,)`` per landmark, ones without a second opinion.
        handedness: MediaPipe's label certainty (both runs', the lower, when there are two; 0 when they differ).
        temporal: 1 without neighbouring frames.
    """

    depth: np.ndarray
    bones: np.ndarray
    agreement: np.ndarray = field(default_factory=lambda: np.ones(21))
    handedness: float = 1.0
    temporal: float = 1.0

    def local(self) -> np.ndarray:
        """``(21,)`` the per-landmark factors multiplied."""
        return self.depth * self.bones * self.agreement

    def frame_wide(self) -> float:
        return float(self.handedness * self.temporal)

    def joint_confidence(self) -> np.ndarray:
        """``(14,)`` NYU joint confidences in [0, 1]."""
        local = self.local()
        worst = np.array([local[list(ids)].min() for ids in JOINT_LANDMARKS])
        return np.clip(self.frame_wide() * worst, 0.0, 1.0)

    def score(self) -> float:
        """The frame score in [0, 1]."""
        return float(np.clip(self.frame_wide() * np.median(self.local()), 0.0, 1.0))

    def to_json(self) -> dict[str, float]:
        """The summary written per frame by ``handpose label`` (medians of the per-landmark factors)."""
        return {
            "depth": round(float(np.median(self.depth)), 4),
            "bones": round(float(np.median(self.bones)), 4),
            "agreement": round(float(np.median(self.agreement)), 4),
            "handedness": round(float(self.handedness), 4),
            "temporal": round(float(self.temporal), 4),
        }


def bone_factors(points_mm: np.ndarray, world_mm: np.ndarray) -> np.ndarray:
    """``(21,)`` bone-length plausibility per landmark.

    Args:
        points_mm: ``(21, 3)`` lifted landmarks (camera space).
        world_mm: ``(21, 3)`` MediaPipe's metric hand.
    """
    # Scale MediaPipe's average hand to this one by the spread across the image (x, y: no depth in it, so a few
    # landmarks lifted onto the wrong surface do not change the scale they are judged by).
    lifted_xy = points_mm[:, :2] - np.median(points_mm[:, :2], axis=0)
    world_xy = world_mm[:, :2] - np.median(world_mm[:, :2], axis=0)
    scale = np.sqrt(np.median(np.sum(lifted_xy**2, 1)) / max(np.median(np.sum(world_xy**2, 1)), 1e-9))
    parents, children = np.array(BONES).T
    lifted = np.linalg.norm(points_mm[children] - points_mm[parents], axis=1)
    expected = scale * np.linalg.norm(world_mm[children] - world_mm[parents], axis=1)
    with np.errstate(divide="ignore", invalid="ignore"):
        factor = np.exp(-np.abs(np.log(lifted / expected)) / BONE_TOL)
    factor = np.where(np.isfinite(factor), factor, 0.0)
    out = np.ones(len(points_mm))
    for (a, b), f in zip(BONES, factor, strict=True):  # both ends of a bad bone are suspect
        out[a] = min(out[a], f) if a else out[a]  # the wrist ends five bones: judge it by its own depth only
        out[b] = min(out[b], f)
    return out


def agreement_factors(uv_px: np.ndarray, other_uv_px: np.ndarray) -> np.ndarray:
    """``(21,)`` agreement of two landmark sets of the same hand, relative to its 2D size."""
    size = max(float(np.linalg.norm(uv_px[9] - uv_px[0])), 1.0)
    return np.exp(-np.linalg.norm(uv_px - other_uv_px, axis=1) / (AGREEMENT_TOL * size))


def motion_factor(joints_mm: np.ndarray, neighbours_mm: list[np.ndarray]) -> float:
    """Temporal factor from the mean joint motion to the nearest of ``neighbours_mm`` (each ``(14, 3)``)."""
    if not neighbours_mm:
        return 1.0
    motion = min(float(np.linalg.norm(joints_mm - n, axis=1).mean()) for n in neighbours_mm)
    return float(np.exp(-motion / MOTION_TOL_MM))
