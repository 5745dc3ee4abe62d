"""Forward kinematics of an articulated right hand with the 36 NYU joints and anatomical limits.

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

The same kinematics serve the synthetic generator (which renders the surface) and the model fitter (which
registers it to depth): :func:`pose_hand_articulated` also returns, for every joint rotation, its axis and a
point on it, from which a point ``p`` moved by a rotation ``theta`` about axis ``a`` through ``o`` has the
derivative ``d p / d theta = a x (p - o)``; :data:`CAPSULE_CHAINS`, :data:`ELLIPSOID_CHAINS` and
:data:`JOINT_CHAINS` say which rotations move which primitive or joint.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from inference.handmodel.geometry import PART_FOREARM, PART_HAND, HandGeometry, ellipsoid_row
from inference.handmodel.shape import HandShape

FINGERS = ("pinky", "ring", "middle", "index")  # NYU order F1..F4
# MCP positions as fractions of palm width (x) and length (y); splay of each finger's rest direction (deg).
_MCP_X = np.array([-0.36, -0.12, 0.11, 0.35])
_MCP_Y = np.array([0.86, 0.95, 1.0, 0.97])
_SPLAY_DEG = np.array([-10.0, -3.5, 0.0, 4.0])
_ABD_SIGN = np.sign(_MCP_X - 0.05)  # abduction spreads the fingers away from the middle finger
_TAPER = np.array([1.0, 0.92, 0.84])  # phalanx radii relative to the proximal one

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
DIP_MIN_DEG = -5.0
DIP_PIP_RATIO = 2.0 / 3.0

# Joint rotations ("generators") of the articulation, for Jacobians: per finger abduction (about the palm
# normal through the MCP), MCP, PIP and DIP flexion; thumb CMC flexion and abduction, MCP and IP flexion.
GENERATOR_NAMES: tuple[str, ...] = (
    *(f"{f}_{g}" for f in FINGERS for g in ("abd", "mcp", "pip", "dip")),
    "thumb_cmc_flex", "thumb_cmc_abd", "thumb_mcp", "thumb_ip",
)
NUM_GENERATORS = len(GENERATOR_NAMES)


def dof_index(name: str) -> int:
    return DOF_NAMES.index(name)


def clip_angles(angles_deg: np.ndarray) -> np.ndarray:
    """Clamp ``(NUM_DOF,)`` angles to the joint limits."""
    return np.clip(angles_deg, DOF_LOW, DOF_HIGH)


def _chains() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Which generators move each capsule ``(C, G)``, ellipsoid ``(E, G)`` and joint ``(36, G)`` (bool), in the
    primitive order :func:`pose_hand` emits."""
    g = {name: k for k, name in enumerate(GENERATOR_NAMES)}
    caps, joints = [], np.zeros((36, NUM_GENERATORS), bool)
    for f, finger in enumerate(FINGERS):
        abd, mcp, pip, dip = (g[f"{finger}_{x}"] for x in ("abd", "mcp", "pip", "dip"))
        for chain in ((abd, mcp), (abd, mcp, pip), (abd, mcp, pip, dip), ()):  # 3 phalanges, the metacarpal
            caps.append(chain)
        for row, chain in zip(range(6 * f, 6 * f + 6), ((abd, mcp, pip, dip), (abd, mcp, pip), (abd, mcp, pip),
                                                         (abd, mcp), (abd, mcp), ()), strict=True):
            joints[row, list(chain)] = True
    cmc = (g["thumb_cmc_flex"], g["thumb_cmc_abd"])
    tmcp, tip = g["thumb_mcp"], g["thumb_ip"]
    caps += [cmc, (*cmc, tmcp), (*cmc, tmcp, tip), (), ()]  # thumb metacarpal, phalanges; wrist; forearm
    for row, chain in zip(range(24, 30), ((*cmc, tmcp, tip), (*cmc, tmcp), (*cmc, tmcp), cmc, cmc, ()), strict=True):
        joints[row, list(chain)] = True
    cap_chains = np.zeros((len(caps), NUM_GENERATORS), bool)
    for row, chain in enumerate(caps):
        cap_chains[row, list(chain)] = True
    ell_chains = np.zeros((3, NUM_GENERATORS), bool)  # thenar (moves with the thumb metacarpal), palm, forearm
    ell_chains[0, list(cmc)] = True
    return cap_chains, ell_chains, joints


CAPSULE_CHAINS, ELLIPSOID_CHAINS, JOINT_CHAINS = _chains()


@dataclass
class Articulation:
    """The joint rotations of a posed hand (hand-local frame), for Jacobians.

    Attributes:
        axes: ``(G, 3)`` unit rotation axes (right-handed: a positive angle turns ``p`` by ``axis x (p - origin)``).
        origins: ``(G, 3)`` mm, a point on each axis.
        dof_weights: ``(G, NUM_DOF)`` d(rotation angle) / d(DOF angle): 1 for a DOF that is the rotation, 2/3 for
            the PIP flexion that the DIP follows, -1 / +1 for the abduction sign; 0 where a coupled DIP is at its
            limit.
    """

    axes: np.ndarray
    origins: np.ndarray
    dof_weights: np.ndarray


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
    return _pose(shape, angles_deg, articulated=False)[0]


def pose_hand_articulated(shape: HandShape, angles_deg: np.ndarray) -> tuple[HandGeometry, Articulation]:
    """:func:`pose_hand` plus the :class:`Articulation` of the pose (for the fitter's Jacobians)."""
    geometry, articulation = _pose(shape, angles_deg, articulated=True)
    assert articulation is not None
    return geometry, articulation


def _cross(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """``np.cross`` of two 3-vectors, bit for bit, without its generic-axis overhead (10x faster)."""
    a0, a1, a2 = a.tolist()
    b0, b1, b2 = (b.tolist() if isinstance(b, np.ndarray) else b)
    return np.array([a1 * b2 - a2 * b1, a2 * b0 - a0 * b2, a0 * b1 - a1 * b0])


def _unit(v: np.ndarray) -> np.ndarray:
    """``v / np.linalg.norm(v)`` for a 3-vector, bit for bit."""
    return v / np.sqrt(v.dot(v))


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
class _ShapeParts:
    """What a pose does not change: the palm, knuckle positions, radii (per shape, computed once)."""

    shape: HandShape
    mcp: np.ndarray  # (4, 3) MCP joint centres
    radii: np.ndarray  # (4, 3) phalanx radii
    joints: np.ndarray  # (36, 3) with the palm points filled
    caps: np.ndarray  # (21, 7) with the metacarpals and the wrist filled
    palm_row: np.ndarray  # (12,) palm ellipsoid
    cmc: np.ndarray  # (3,) thumb CMC
    thumb_radii: np.ndarray  # (4,)
    thenar_semi: list[float]
    thenar_shift: np.ndarray


_A0 = np.array([0.72, 0.62, -0.32])  # thumb rest frame: along the metacarpal ...
_A0 /= np.linalg.norm(_A0)
_FL0 = np.array([-0.55, 0.45, -0.70])  # ... and its flexion direction
_FL0 -= _FL0 @ _A0 * _A0
_FL0 /= np.linalg.norm(_FL0)
_parts_cache: dict[int, _ShapeParts] = {}


def _shape_parts(shape: HandShape) -> _ShapeParts:
    cached = _parts_cache.get(id(shape))
    if cached is not None and cached.shape is shape:
        return cached
    length, width, thick = shape.palm_length_mm, shape.palm_width_mm, shape.palm_thickness_mm
    mcp = np.stack([_MCP_X * width, _MCP_Y * length, np.full(4, 0.12 * thick)], axis=1)
    joints = np.zeros((36, 3))
    joints[30] = [-0.3 * width, 0.02 * length, 0.0]
    joints[31] = [0.3 * width, 0.02 * length, 0.0]
    joints[32] = [0.02 * width, 0.5 * length, 0.0]
    joints[33] = [-0.34 * width, 0.72 * length, 0.0]
    joints[34] = [0.32 * width, 0.72 * length, 0.0]
    joints[35] = [0.22 * width, 0.28 * length, -0.15 * thick]
    joints[5:24:6] = mcp
    caps = np.zeros((21, 7))
    for f in range(4):  # metacarpals: they fill the palm toward the knuckles
        caps[4 * f + 3] = [0.55 * _MCP_X[f] * width, 0.3 * length, 0.0, *(mcp[f] - [0, 4.0, 0]), 0.4 * thick]
    caps[19] = [0, 0.22 * length, 0, 0, -2.0, 0, shape.wrist_radius_mm * 0.95]  # wrist
    parts = _ShapeParts(
        shape=shape, mcp=mcp, radii=shape.finger_radius_mm[:, None] * _TAPER, joints=joints, caps=caps,
        palm_row=ellipsoid_row([0.0, 0.52 * length, 0.0], np.eye(3), [0.5 * width, 0.56 * length, 0.5 * thick]),
        cmc=np.array([0.26 * width, 0.16 * length, -0.12 * thick]),
        thumb_radii=shape.thumb_radius_mm * np.array([1.25, 1.0, 0.9, 0.82]),
        thenar_semi=[0.45 * shape.thumb_bones_mm[0], 0.2 * width, 0.4 * thick],
        thenar_shift=np.array([-0.08 * width, 0, 0]),
    )
    if len(_parts_cache) >= 256:
        _parts_cache.clear()
    _parts_cache[id(shape)] = parts
    return parts


def _pose(shape: HandShape, angles_deg: np.ndarray, articulated: bool) -> tuple[HandGeometry, Articulation | None]:
    ang = np.radians(clip_angles(np.asarray(angles_deg, float)))
    fixed = _shape_parts(shape)
    joints = fixed.joints.copy()
    caps = fixed.caps.copy()
    # --- the four fingers at once. Each finger is turned about the palm normal (splay + abduction) by
    # base = rz(theta), then flexed about base's x axis; a phalanx at accumulated flexion phi points along
    # base @ rx(-phi) @ y = (-sin theta cos phi, cos theta cos phi, -sin phi).
    mcp_flex, mcp_abd, pip_flex, dip_off = ang[:16].reshape(4, 4).T
    dip_raw = DIP_PIP_RATIO * pip_flex + dip_off
    dip_flex = np.clip(dip_raw, np.radians(DIP_MIN_DEG), np.radians(DIP_MAX_DEG))
    theta = -np.radians(_SPLAY_DEG) - mcp_abd * _ABD_SIGN
    ct, st = np.cos(theta), np.sin(theta)
    pts = [fixed.mcp]
    flex = np.zeros(4)
    for b, bend in enumerate((mcp_flex, pip_flex, dip_flex)):
        flex = flex + bend
        cphi, sphi = np.cos(-flex), np.sin(-flex)
        direction = np.empty((4, 3))
        direction[:, 0], direction[:, 1], direction[:, 2] = -st * cphi, ct * cphi, sphi
        pts.append(pts[-1] + shape.finger_bones_mm[:, b:b + 1] * direction)
    p0, p1, p2, p3 = pts
    joints[0:24:6], joints[1:24:6], joints[2:24:6], joints[3:24:6], joints[4:24:6] = p3, p2, p2, p1, p1
    radii = fixed.radii
    for f in range(4):  # tip_dir row by row: np.linalg.norm's own arithmetic, for identical bits
        tip_dir = _unit(p3[f] - p2[f])
        caps[4 * f + 2, 3:6] = p3[f] - 0.55 * radii[f, 2] * tip_dir  # the tip label lies just inside the cap
    caps[0:16:4, :3], caps[0:16:4, 3:6] = p0, p1
    caps[1:16:4, :3], caps[1:16:4, 3:6] = p1, p2
    caps[2:16:4, :3] = p2
    caps[0:16:4, 6], caps[1:16:4, 6], caps[2:16:4, 6] = radii[:, 0], radii[:, 1], radii[:, 2]
    # --- thumb: rest frame (a along the bone, fl the flexion direction), rotated by the CMC angles.
    cmc_abd, cmc_flex, t_mcp, t_ip = ang[16:20]
    rot = _rz(cmc_flex) @ _ry(cmc_abd)
    a, fl = rot @ _A0, rot @ _FL0
    bend_axis = _cross(a, fl)  # the MCP and IP bends turn (a, fl) in their own plane: about a x fl
    tpts = [fixed.cmc, fixed.cmc + shape.thumb_bones_mm[0] * a]
    for b, bend in ((1, t_mcp), (2, t_ip)):
        a, fl = np.cos(bend) * a + np.sin(bend) * fl, -np.sin(bend) * a + np.cos(bend) * fl
        tpts.append(tpts[-1] + shape.thumb_bones_mm[b] * a)
    joints[24:29] = [tpts[3], tpts[2], tpts[2], tpts[1], tpts[1]]
    joints[29] = tpts[0]
    tr = fixed.thumb_radii
    tip_dir = _unit(tpts[3] - tpts[2])
    tends = [tpts[0], tpts[1], tpts[2], tpts[3] - 0.55 * tr[3] * tip_dir]
    for b in range(3):
        caps[16 + b] = [*tends[b], *tends[b + 1], tr[b + 1] if b else tr[0]]
    # Thenar eminence: an ellipsoid along the thumb metacarpal, inside the palm.
    meta = tpts[1] - tpts[0]
    ax0 = _unit(meta)
    ax1 = _cross(ax0, [0.0, 0.0, 1.0])
    ax1 /= np.sqrt(ax1.dot(ax1))
    ax2 = _cross(ax0, ax1)
    thenar = ellipsoid_row(tpts[0] + 0.35 * meta + fixed.thenar_shift, np.stack([ax0, ax1, ax2], 1),
                           fixed.thenar_semi)
    # Forearm, bent by the wrist angles: the hand rotates relative to it, so the forearm turns by the inverse.
    arm_rot = (_rz(ang[21]) @ _rx(ang[20])).T
    down = arm_rot @ np.array([0.0, -1.0, 0.0])
    side = arm_rot @ np.array([1.0, 0.0, 0.0])
    back = _cross(side, down)
    fl_len = shape.forearm_length_mm
    caps[20] = [0, 0, 0, *(down * 0.35 * fl_len), shape.wrist_radius_mm]
    forearm = ellipsoid_row(down * 0.62 * fl_len, np.stack([down, side, back], 1),
                            [0.62 * fl_len, shape.forearm_radius_mm, 0.78 * shape.forearm_radius_mm])
    ells = np.stack([thenar, fixed.palm_row, forearm])
    geometry = HandGeometry(joints, caps, _CAPSULE_PARTS, ells, _ELLIPSOID_PARTS)
    if not articulated:
        return geometry, None
    return geometry, _articulation(ct, st, pts, dip_raw, cmc_flex, bend_axis, tpts)


_CAPSULE_PARTS = np.array([PART_HAND] * 20 + [PART_FOREARM], np.uint8)
_ELLIPSOID_PARTS = np.array([PART_HAND, PART_HAND, PART_FOREARM], np.uint8)


def _articulation(ct: np.ndarray, st: np.ndarray, pts: list[np.ndarray], dip_raw: np.ndarray, cmc_flex: float,
                  bend_axis: np.ndarray, tpts: list[np.ndarray]) -> Articulation:
    """Axes, origins and DOF weights of the 20 generators (order :data:`GENERATOR_NAMES`)."""
    axes = np.zeros((NUM_GENERATORS, 3))
    origins = np.zeros((NUM_GENERATORS, 3))
    weights = np.zeros((NUM_GENERATORS, NUM_DOF))
    flex_axis = -np.stack([ct, st, np.zeros(4)], axis=1)  # -(base @ x): flexion turns toward the palm
    dip_free = (dip_raw > np.radians(DIP_MIN_DEG)) & (dip_raw < np.radians(DIP_MAX_DEG))
    for f in range(4):
        k = 4 * f
        axes[k] = [0.0, 0.0, 1.0]  # abduction: about the palm normal through the MCP
        axes[k + 1: k + 4] = flex_axis[f]
        origins[k: k + 4] = [pts[0][f], pts[0][f], pts[1][f], pts[2][f]]
        weights[k, k + 1] = -_ABD_SIGN[f]
        weights[k + 1, k] = 1.0
        weights[k + 2, k + 2] = 1.0
        if dip_free[f]:
            weights[k + 3, k + 2] = DIP_PIP_RATIO
            weights[k + 3, k + 3] = 1.0
    # Thumb: rot = rz(cmc_flex) @ ry(cmc_abd), so cmc_flex turns about z and cmc_abd about rz(cmc_flex) @ y.
    axes[16] = [0.0, 0.0, 1.0]
    axes[17] = [-np.sin(cmc_flex), np.cos(cmc_flex), 0.0]
    axes[18] = axes[19] = bend_axis
    origins[16] = origins[17] = tpts[0]
    origins[18], origins[19] = tpts[1], tpts[2]
    weights[16, dof_index("thumb_cmc_flex")] = 1.0
    weights[17, dof_index("thumb_cmc_abd")] = 1.0
    weights[18, dof_index("thumb_mcp_flex")] = 1.0
    weights[19, dof_index("thumb_ip_flex")] = 1.0
    return Articulation(axes, origins, weights)
