"""An articulated right hand with the 36 NYU joints, anatomical limits and per-subject shape.

Hand-local frame (mm): origin at the wrist centre, **+x radial** (toward the thumb), **+y distal**
(toward the middle finger), **+z dorsal** (back of the hand). Flexion turns fingers toward -z (the
palm). With the identity rotation and the camera's NYU axes (x right, y up, z forward) the palm faces
the camera with the fingers up, as in most NYU frames.

NYU joint layout per finger (tip first): ``KNU3_A`` tip, ``KNU3_B`` distal-phalanx base (DIP),
``KNU2_A`` middle-phalanx head (DIP), ``KNU2_B`` middle-phalanx base (PIP), ``KNU1_A`` proximal-phalanx
head (PIP), ``KNU1_B`` proximal-phalanx base (MCP); for the thumb the same with IP / MCP / CMC. This
matches the real labels (tip -> KNU2_B is about 43 mm on NYU test frame 1). Palm points: ``PALM_1``
ulnar wrist, ``PALM_2`` radial wrist, ``PALM_3`` palm centre (mid-thickness, so inside the surface),
``PALM_4`` / ``PALM_5`` ulnar / radial palm edge near the knuckles, ``PALM_6`` thenar eminence.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np

# Parts, used to colour the rendered surfaces.
PART_HAND = 1
PART_FOREARM = 2

FINGERS = ("pinky", "ring", "middle", "index")  # NYU order F1..F4
# Reference adult bone lengths (mm, scale 1): proximal, middle, distal phalanx.
_FINGER_BONES_MM = np.array([[33.0, 19.0, 18.0], [42.0, 27.0, 21.0], [45.0, 28.0, 21.0], [40.0, 24.0, 20.0]])
_FINGER_RADIUS_MM = np.array([7.6, 8.4, 8.8, 8.7])  # proximal phalanx radius; tapers distally
_THUMB_BONES_MM = np.array([44.0, 32.0, 26.0])  # metacarpal (CMC->MCP), proximal, distal
# MCP positions as fractions of palm width (x) and length (y); splay of each finger's rest direction (deg).
_MCP_X = np.array([-0.36, -0.12, 0.11, 0.35])
_MCP_Y = np.array([0.86, 0.95, 1.0, 0.97])
_SPLAY_DEG = np.array([-10.0, -3.5, 0.0, 4.0])

# Degrees of freedom (angles in degrees). Fingers: MCP flexion, MCP abduction, PIP flexion, DIP flexion offset
# (DIP = 2/3 PIP + offset: the anatomical coupling). Thumb: CMC abduction (out of the palm plane), CMC
# flexion (across the palm), MCP and IP flexion. Wrist: flexion and radial/ulnar deviation.
DOF_NAMES: tuple[str, ...] = (
    *(f"{f}_{d}" for f in FINGERS for d in ("mcp_flex", "mcp_abd", "pip_flex", "dip_offset")),
    "thumb_cmc_abd", "thumb_cmc_flex", "thumb_mcp_flex", "thumb_ip_flex", "wrist_flex", "wrist_dev",
)
NUM_DOF = len(DOF_NAMES)
_LIMITS = {
    "mcp_flex": (-20.0, 90.0), "mcp_abd": (-15.0, 15.0), "pip_flex": (0.0, 110.0), "dip_offset": (-10.0, 10.0),
    "thumb_cmc_abd": (-5.0, 60.0), "thumb_cmc_flex": (-20.0, 50.0), "thumb_mcp_flex": (-10.0, 60.0),
    "thumb_ip_flex": (-15.0, 80.0), "wrist_flex": (-60.0, 60.0), "wrist_dev": (-20.0, 30.0),
}


def _limits_of(name: str) -> tuple[float, float]:
    return _LIMITS[name if name.startswith(("thumb", "wrist")) else name.split("_", 1)[1]]


DOF_LOW = np.array([_limits_of(n)[0] for n in DOF_NAMES])
DOF_HIGH = np.array([_limits_of(n)[1] for n in DOF_NAMES])
DIP_MAX_DEG = 80.0
DIP_PIP_RATIO = 2.0 / 3.0


def dof_index(name: str) -> int:
    return DOF_NAMES.index(name)


def clip_angles(angles_deg: np.ndarray) -> np.ndarray:
    """Clamp ``(NUM_DOF,)`` angles to the joint limits."""
    return np.clip(angles_deg, DOF_LOW, DOF_HIGH)


@dataclass(frozen=True)
class HandShape:
    """One subject's hand (all lengths in mm).

    Attributes:
        subject_id: the id the shape was drawn from (reproducible: same id, same hand).
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


# Skin albedos from light to dark (RGB); a subject's skin is a random blend of two neighbours.
_SKIN_TONES = np.array([[236, 200, 178], [224, 172, 140], [198, 140, 105], [160, 104, 72], [112, 72, 50]], float)


def sample_shape(subject_id: int) -> HandShape:
    """The hand of subject ``subject_id``: deterministic, drawn from plausible adult ranges.

    Overall scale 0.84-1.16 (hand length ~160-220 mm), independent +-5% per bone and width jitter.
    Different ids give different hands, so train / test splits use disjoint id ranges.
    """
    rng = np.random.default_rng([0x5A17, int(subject_id)])
    scale = rng.uniform(0.84, 1.16)
    width_ratio = rng.normal(1.0, 0.05)
    bones = _FINGER_BONES_MM * scale * rng.normal(1.0, 0.04, (4, 1)) * rng.normal(1.0, 0.025, (4, 3))
    tone = rng.uniform(0, len(_SKIN_TONES) - 1)
    i = min(int(tone), len(_SKIN_TONES) - 2)
    skin = _SKIN_TONES[i] * (1 - (tone - i)) + _SKIN_TONES[i + 1] * (tone - i)
    skin = np.clip(skin * rng.normal(1.0, 0.04, 3), 0, 255)
    thickness = 27.0 * scale * rng.normal(1.0, 0.06)
    return HandShape(
        subject_id=int(subject_id),
        palm_length_mm=float(96.0 * scale * rng.normal(1.0, 0.03)),
        palm_width_mm=float(82.0 * scale * width_ratio),
        palm_thickness_mm=float(thickness),
        finger_bones_mm=bones,
        finger_radius_mm=_FINGER_RADIUS_MM * scale * width_ratio * rng.normal(1.0, 0.04),
        thumb_bones_mm=_THUMB_BONES_MM * scale * rng.normal(1.0, 0.04, 3),
        thumb_radius_mm=float(10.2 * scale * width_ratio),
        forearm_length_mm=float(260.0 * scale),
        wrist_radius_mm=float(24.0 * scale * width_ratio),
        forearm_radius_mm=float(31.0 * scale * width_ratio * rng.normal(1.0, 0.06)),
        skin_rgb=skin,
    )


def _rx(a: float) -> np.ndarray:
    c, s = np.cos(a), np.sin(a)
    return np.array([[1, 0, 0], [0, c, -s], [0, s, c]])


def _ry(a: float) -> np.ndarray:
    c, s = np.cos(a), np.sin(a)
    return np.array([[c, 0, s], [0, 1, 0], [-s, 0, c]])


def _rz(a: float) -> np.ndarray:
    c, s = np.cos(a), np.sin(a)
    return np.array([[c, -s, 0], [s, c, 0], [0, 0, 1]])


@dataclass
class HandGeometry:
    """Posed hand in one coordinate frame (mm).

    Attributes:
        joints: ``(36, 3)`` NYU joints.
        capsules: ``(C, 7)`` rows ``(p0 xyz, p1 xyz, radius)``.
        capsule_parts: ``(C,)`` part id per capsule.
        ellipsoids: ``(E, 12)`` rows ``(centre xyz, 3x3 matrix A row-major)``; a point p is inside when
            ``|A (p - centre)| <= 1``.
        ellipsoid_parts: ``(E,)`` part ids.
    """

    joints: np.ndarray
    capsules: np.ndarray
    capsule_parts: np.ndarray
    ellipsoids: np.ndarray
    ellipsoid_parts: np.ndarray

    def transformed(self, rotation: np.ndarray, translation_mm: np.ndarray) -> HandGeometry:
        """Apply ``p -> R p + t`` (``R (3, 3)``, ``t (3,)``) to every point and primitive."""
        r, t = np.asarray(rotation, float), np.asarray(translation_mm, float)
        caps = self.capsules.copy()
        caps[:, 0:3] = caps[:, 0:3] @ r.T + t
        caps[:, 3:6] = caps[:, 3:6] @ r.T + t
        ell = self.ellipsoids.copy()
        ell[:, 0:3] = ell[:, 0:3] @ r.T + t
        # inside test |A (p - c)|: with p = R q + t, A' = A R^T.
        ell[:, 3:12] = (ell[:, 3:12].reshape(-1, 3, 3) @ r.T).reshape(-1, 9)
        return HandGeometry(self.joints @ r.T + t, caps, self.capsule_parts, ell, self.ellipsoid_parts)


def ellipsoid_row(centre: np.ndarray, axes: np.ndarray, semi_mm: np.ndarray) -> np.ndarray:
    """One ellipsoid row: ``axes (3, 3)`` columns are its unit axes, ``semi_mm (3,)`` the semi-axis lengths."""
    a = (np.asarray(axes, float) / np.asarray(semi_mm, float)[None, :]).T
    return np.concatenate([np.asarray(centre, float), a.ravel()])


def forearm_direction(angles_deg: np.ndarray) -> np.ndarray:
    """Unit direction ``(3,)`` (hand-local) from the wrist along the forearm, given the wrist angles."""
    wrist_flex, wrist_dev = np.radians(clip_angles(np.asarray(angles_deg, float))[20:22])
    return (_rz(wrist_dev) @ _rx(wrist_flex)).T @ np.array([0.0, -1.0, 0.0])


def pose_hand(shape: HandShape, angles_deg: np.ndarray) -> HandGeometry:
    """Forward kinematics in the hand-local frame: joints and surface primitives of a posed hand.

    Args:
        shape: the subject's hand.
        angles_deg: ``(NUM_DOF,)`` joint angles in degrees (clipped to the limits here).
    """
    ang = np.radians(clip_angles(np.asarray(angles_deg, float)))
    length, width, thick = shape.palm_length_mm, shape.palm_width_mm, shape.palm_thickness_mm
    joints = np.zeros((36, 3))
    caps: list[np.ndarray] = []
    ells: list[np.ndarray] = []
    knuckle_z = 0.12 * thick  # MCP joint centres sit slightly dorsal of mid-palm
    for f in range(4):
        mcp_flex, mcp_abd, pip_flex, dip_off = ang[4 * f: 4 * f + 4]
        dip_flex = np.clip(DIP_PIP_RATIO * pip_flex + dip_off, np.radians(-5.0), np.radians(DIP_MAX_DEG))
        mcp = np.array([_MCP_X[f] * width, _MCP_Y[f] * length, knuckle_z])
        base = _rz(-np.radians(_SPLAY_DEG[f]) - mcp_abd * np.sign(_MCP_X[f] - 0.05))
        pts = [mcp]
        flex = 0.0
        for b, bend in enumerate((mcp_flex, pip_flex, dip_flex)):
            flex += bend
            direction = base @ _rx(-flex) @ np.array([0.0, 1.0, 0.0])
            pts.append(pts[-1] + shape.finger_bones_mm[f, b] * direction)
        radii = shape.finger_radius_mm[f] * np.array([1.0, 0.92, 0.84])
        tip_dir = (pts[3] - pts[2]) / np.linalg.norm(pts[3] - pts[2])
        # Finger joints tip-first: tip, DIP, DIP, PIP, PIP, MCP.
        joints[6 * f: 6 * f + 6] = [pts[3], pts[2], pts[2], pts[1], pts[1], pts[0]]
        ends = [pts[0], pts[1], pts[2], pts[3] - 0.55 * radii[2] * tip_dir]  # tip label just inside the cap
        for b in range(3):
            caps.append(np.concatenate([ends[b], ends[b + 1], [radii[b]]]))
        # Metacarpal: fills the palm toward the knuckles.
        caps.append(np.concatenate([[0.55 * _MCP_X[f] * width, 0.3 * length, 0.0], mcp - [0, 4.0, 0], [0.4 * thick]]))
    # Thumb: rest frame (a along the bone, fl the flexion direction), rotated by the CMC angles.
    cmc_abd, cmc_flex, t_mcp, t_ip = ang[16:20]
    a0 = np.array([0.72, 0.62, -0.32])
    a0 /= np.linalg.norm(a0)
    fl0 = np.array([-0.55, 0.45, -0.70])
    fl0 -= fl0 @ a0 * a0
    fl0 /= np.linalg.norm(fl0)
    rot = _rz(cmc_flex) @ _ry(cmc_abd)
    a, fl = rot @ a0, rot @ fl0
    cmc = np.array([0.26 * width, 0.16 * length, -0.12 * thick])
    tpts = [cmc, cmc + shape.thumb_bones_mm[0] * a]
    for b, bend in ((1, t_mcp), (2, t_ip)):
        a, fl = np.cos(bend) * a + np.sin(bend) * fl, -np.sin(bend) * a + np.cos(bend) * fl
        tpts.append(tpts[-1] + shape.thumb_bones_mm[b] * a)
    joints[24:30] = [tpts[3], tpts[2], tpts[2], tpts[1], tpts[1], tpts[0]]
    tr = shape.thumb_radius_mm * np.array([1.25, 1.0, 0.9, 0.82])
    tip_dir = (tpts[3] - tpts[2]) / np.linalg.norm(tpts[3] - tpts[2])
    tends = [tpts[0], tpts[1], tpts[2], tpts[3] - 0.55 * tr[3] * tip_dir]
    for b in range(3):
        caps.append(np.concatenate([tends[b], tends[b + 1], [tr[b + 1] if b else tr[0]]]))
    # Thenar eminence: an ellipsoid along the thumb metacarpal, inside the palm.
    meta = tpts[1] - tpts[0]
    ax0 = meta / np.linalg.norm(meta)
    ax1 = np.cross(ax0, [0.0, 0.0, 1.0])
    ax1 /= np.linalg.norm(ax1)
    ax2 = np.cross(ax0, ax1)
    ells.append(ellipsoid_row(tpts[0] + 0.35 * meta + np.array([-0.08 * width, 0, 0]), np.stack([ax0, ax1, ax2], 1),
                              [0.45 * shape.thumb_bones_mm[0], 0.2 * width, 0.4 * thick]))
    # Palm body: a flattened ellipsoid, plus a wrist capsule.
    ells.append(ellipsoid_row([0.0, 0.52 * length, 0.0], np.eye(3), [0.5 * width, 0.56 * length, 0.5 * thick]))
    caps.append(np.concatenate([[0, 0.22 * length, 0], [0, -2.0, 0], [shape.wrist_radius_mm * 0.95]]))
    joints[30] = [-0.3 * width, 0.02 * length, 0.0]
    joints[31] = [0.3 * width, 0.02 * length, 0.0]
    joints[32] = [0.02 * width, 0.5 * length, 0.0]
    joints[33] = [-0.34 * width, 0.72 * length, 0.0]
    joints[34] = [0.32 * width, 0.72 * length, 0.0]
    joints[35] = [0.22 * width, 0.28 * length, -0.15 * thick]
    hand_caps = len(caps)
    # Forearm, bent by the wrist angles: the hand rotates relative to it, so the forearm turns by the inverse.
    arm_rot = (_rz(ang[21]) @ _rx(ang[20])).T
    down = arm_rot @ np.array([0.0, -1.0, 0.0])
    side = arm_rot @ np.array([1.0, 0.0, 0.0])
    back = np.cross(side, down)
    fl_len = shape.forearm_length_mm
    caps.append(np.concatenate([[0, 0, 0], down * 0.35 * fl_len, [shape.wrist_radius_mm]]))
    ells.append(ellipsoid_row(down * 0.62 * fl_len, np.stack([down, side, back], 1),
                              [0.62 * fl_len, shape.forearm_radius_mm, 0.78 * shape.forearm_radius_mm]))
    cap_parts = np.array([PART_HAND] * hand_caps + [PART_FOREARM], np.uint8)
    ell_parts = np.array([PART_HAND, PART_HAND, PART_FOREARM], np.uint8)
    return HandGeometry(joints, np.array(caps), cap_parts, np.array(ells), ell_parts)
