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

import math
from dataclasses import dataclass

import numpy as np

try:  # compiled forward kinematics when numba is there (the fitter needs the speed); plain Python otherwise
    from numba import njit as _njit

    def _compiled(fn):
        return _njit(cache=True, nogil=True)(fn)
except ImportError:  # pragma: no cover - exercised on machines without numba
    def _compiled(fn):
        return fn

from inference.handmodel.geometry import PART_FOREARM, PART_HAND, HandGeometry
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
# normal through the MCP), MCP, PIP and DIP flexion; thumb CMC flexion and abduction, MCP and IP flexion; the
# wrist's flexion and deviation, which turn the forearm about the wrist centre.
GENERATOR_NAMES: tuple[str, ...] = (
    *(f"{f}_{g}" for f in FINGERS for g in ("abd", "mcp", "pip", "dip")),
    "thumb_cmc_flex", "thumb_cmc_abd", "thumb_mcp", "thumb_ip", "wrist_flex", "wrist_dev",
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
    wrist = (g["wrist_flex"], g["wrist_dev"])
    caps += [cmc, (*cmc, tmcp), (*cmc, tmcp, tip), (), wrist]  # thumb metacarpal, phalanges; wrist; forearm
    for row, chain in zip(range(24, 30), ((*cmc, tmcp, tip), (*cmc, tmcp), (*cmc, tmcp), cmc, cmc, ()), strict=True):
        joints[row, list(chain)] = True
    cap_chains = np.zeros((len(caps), NUM_GENERATORS), bool)
    for row, chain in enumerate(caps):
        cap_chains[row, list(chain)] = True
    ell_chains = np.zeros((3, NUM_GENERATORS), bool)  # thenar (moves with the thumb metacarpal), palm, forearm
    ell_chains[0, list(cmc)] = True
    ell_chains[2, list(wrist)] = True
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
    return _pose(shape, angles_deg)[0]


def pose_hand_articulated(
    shape: HandShape, angles_deg: np.ndarray, surface: bool = True
) -> tuple[HandGeometry, Articulation]:
    """:func:`pose_hand` plus the :class:`Articulation` of the pose (for the fitter's Jacobians).

    ``surface=False`` leaves out the primitives (the geometry then has no capsules or ellipsoids): for inverse
    kinematics, which needs only the joints.
    """
    geometry, axes, origins, dip_free = _pose(shape, angles_deg)
    weights = _BASE_WEIGHTS.copy()
    weights[3:16:4] *= dip_free[:, None]  # a DIP at its limit no longer follows the PIP (nor its own offset)
    if not surface:
        geometry = HandGeometry(geometry.joints, _NO_CAPSULES, _NO_PARTS, _NO_ELLIPSOIDS, _NO_PARTS, geometry.anchor)
    return geometry, Articulation(axes, origins, weights)


def _rx(a: float) -> np.ndarray:
    c, s = np.cos(a), np.sin(a)
    return np.array([[1, 0, 0], [0, c, -s], [0, s, c]])


def _rz(a: float) -> np.ndarray:
    c, s = np.cos(a), np.sin(a)
    return np.array([[c, -s, 0], [s, c, 0], [0, 0, 1]])


def _pose(shape: HandShape, angles_deg: np.ndarray) -> tuple[HandGeometry, np.ndarray, np.ndarray, np.ndarray]:
    joints = np.empty((36, 3))
    caps = np.empty((21, 7))
    ells = np.empty((3, 12))
    axes = np.empty((NUM_GENERATORS, 3))
    origins = np.empty((NUM_GENERATORS, 3))
    dip_free = np.empty(4)
    _forward(np.asarray(angles_deg, np.float64), _shape_vector(shape), joints, caps, ells, axes, origins, dip_free)
    anchor = PALM_MIDDLE * (shape.palm_width_mm, shape.palm_length_mm, shape.palm_thickness_mm)
    return HandGeometry(joints, caps, _CAPSULE_PARTS, ells, _ELLIPSOID_PARTS, anchor), axes, origins, dip_free


_CAPSULE_PARTS = np.array([PART_HAND] * 20 + [PART_FOREARM], np.uint8)
_ELLIPSOID_PARTS = np.array([PART_HAND, PART_HAND, PART_FOREARM], np.uint8)
_NO_CAPSULES, _NO_ELLIPSOIDS, _NO_PARTS = np.zeros((0, 7)), np.zeros((0, 12)), np.zeros(0, np.uint8)
_A0 = np.array([0.72, 0.62, -0.32])  # thumb rest frame: along the metacarpal ...
_A0 /= np.linalg.norm(_A0)
_FL0 = np.array([-0.55, 0.45, -0.70])  # ... and its flexion direction
_FL0 -= _FL0 @ _A0 * _A0
_FL0 /= np.linalg.norm(_FL0)
_SPLAY_RAD = np.radians(_SPLAY_DEG)
_DIP_LIMITS_RAD = np.radians([DIP_MIN_DEG, DIP_MAX_DEG])
_THUMB_TAPER = np.array([1.25, 1.0, 0.9, 0.82])
_JOINT_POINT = (3, 2, 2, 1, 1, 0)  # NYU rows of a finger, tip first: which of its 4 chain points each one is
# PALM_1..6 as fractions of (palm width, palm length, palm thickness). PALM_1..3 (the evaluation's W1, W2, C) lie
# where the real NYU labels put them: on the back of the wrist (PALM_1 at its little-finger edge, PALM_2 near its
# middle) and a palm centre 74% of the way to the knuckles, toward the back. Measured by fitting the model to the
# finger joints of NYU test labels (scripts/palm_convention.py, three rounds of re-centring: the labels then lie
# 1-2 mm from these points in the median, inter-quartile spread 3-7 mm per axis). The generator's first
# convention, :data:`inference.handmodel.palm_convention.GENERATOR_V1_PALM`, put them 20-35 mm from NYU's.
PALM_POINTS = np.array([[-0.301, 0.023, 0.585], [0.063, -0.029, 0.507], [0.023, 0.706, 0.300], [-0.34, 0.72, 0.0],
                         [0.32, 0.72, 0.0], [0.22, 0.28, -0.15]])
# The middle of the palm body (HandGeometry.anchor): where a scene places a hand, where the runtime centres a crop.
PALM_MIDDLE = np.array([0.02, 0.5, 0.0])


_shape_vectors: dict[int, tuple[HandShape, np.ndarray]] = {}


def _shape_vector(shape: HandShape) -> np.ndarray:
    """The shape's lengths as one flat vector for :func:`_forward` (kept per shape object: a fit poses one shape
    thousands of times)."""
    cached = _shape_vectors.get(id(shape))
    if cached is not None and cached[0] is shape:
        return cached[1]
    if len(_shape_vectors) >= 256:
        _shape_vectors.clear()
    vector = _pack_shape(shape)
    _shape_vectors[id(shape)] = (shape, vector)
    return vector


def _pack_shape(shape: HandShape) -> np.ndarray:
    return np.concatenate([
        [shape.palm_length_mm, shape.palm_width_mm, shape.palm_thickness_mm, shape.thumb_radius_mm,
         shape.forearm_length_mm, shape.wrist_radius_mm, shape.forearm_radius_mm],
        np.ravel(shape.finger_bones_mm), np.ravel(shape.finger_radius_mm), np.ravel(shape.thumb_bones_mm),
    ]).astype(np.float64)


@_compiled
def _forward(ang_deg, shape, joints, caps, ells, axes, origins, dip_free):  # pragma: no cover - compiled
    """The forward kinematics, written once as scalar arithmetic so that the same code runs compiled (the fitter:
    microseconds) or as plain Python (the generator, where numba is missing). Fills ``joints (36, 3)``,
    ``caps (21, 7)``, ``ells (3, 12)``, the generators' ``axes``/``origins (G, 3)`` and ``dip_free (4,)`` (1 where
    the coupled DIP is inside its limits). ``shape``: :func:`_shape_vector`."""
    length, width, thick, thumb_r, fl_len, wrist_r, fore_r = (shape[0], shape[1], shape[2], shape[3], shape[4],
                                                              shape[5], shape[6])
    ang = np.empty(NUM_DOF)
    for k in range(NUM_DOF):
        ang[k] = math.radians(min(max(ang_deg[k], DOF_LOW[k]), DOF_HIGH[k]))
    pts = np.empty((4, 3))
    for f in range(4):
        mcp_flex, mcp_abd, pip_flex, dip_off = ang[4 * f], ang[4 * f + 1], ang[4 * f + 2], ang[4 * f + 3]
        dip_raw = DIP_PIP_RATIO * pip_flex + dip_off
        dip_flex = min(max(dip_raw, _DIP_LIMITS_RAD[0]), _DIP_LIMITS_RAD[1])
        dip_free[f] = 1.0 if _DIP_LIMITS_RAD[0] < dip_raw < _DIP_LIMITS_RAD[1] else 0.0
        # The finger is turned about the palm normal (splay + abduction) by rz(theta), then flexed about that
        # frame's x axis: a phalanx at accumulated flexion phi points along (-sin th cos phi, cos th cos phi, -sin phi).
        theta = -_SPLAY_RAD[f] - mcp_abd * _ABD_SIGN[f]
        ct, st = math.cos(theta), math.sin(theta)
        pts[0, 0], pts[0, 1], pts[0, 2] = _MCP_X[f] * width, _MCP_Y[f] * length, 0.12 * thick
        flex = 0.0
        for b in range(3):
            flex += (mcp_flex, pip_flex, dip_flex)[b]
            cp, sp = math.cos(flex), math.sin(flex)
            bone = shape[7 + 3 * f + b]
            pts[b + 1, 0] = pts[b, 0] - bone * st * cp
            pts[b + 1, 1] = pts[b, 1] + bone * ct * cp
            pts[b + 1, 2] = pts[b, 2] - bone * sp
        for i in range(6):
            p = _JOINT_POINT[i]
            joints[6 * f + i, 0], joints[6 * f + i, 1], joints[6 * f + i, 2] = pts[p, 0], pts[p, 1], pts[p, 2]
        radius = shape[19 + f]
        dx, dy, dz = pts[3, 0] - pts[2, 0], pts[3, 1] - pts[2, 1], pts[3, 2] - pts[2, 2]
        tip_back = 0.55 * radius * _TAPER[2] / math.sqrt(dx * dx + dy * dy + dz * dz)  # tip label inside the cap
        for b in range(3):
            c = 4 * f + b
            caps[c, 0], caps[c, 1], caps[c, 2] = pts[b, 0], pts[b, 1], pts[b, 2]
            caps[c, 3], caps[c, 4], caps[c, 5] = pts[b + 1, 0], pts[b + 1, 1], pts[b + 1, 2]
            caps[c, 6] = radius * _TAPER[b]
        caps[4 * f + 2, 3] -= tip_back * dx
        caps[4 * f + 2, 4] -= tip_back * dy
        caps[4 * f + 2, 5] -= tip_back * dz
        # Metacarpal: fills the palm toward the knuckles.
        m = 4 * f + 3
        caps[m, 0], caps[m, 1], caps[m, 2] = 0.55 * _MCP_X[f] * width, 0.3 * length, 0.0
        caps[m, 3], caps[m, 4], caps[m, 5], caps[m, 6] = pts[0, 0], pts[0, 1] - 4.0, pts[0, 2], 0.4 * thick
        # Generators: abduction about the palm normal through the MCP; flexions about -(rz(theta) x) through
        # their joints (toward the palm).
        g = 4 * f
        axes[g, 0], axes[g, 1], axes[g, 2] = 0.0, 0.0, 1.0
        for k in range(1, 4):
            axes[g + k, 0], axes[g + k, 1], axes[g + k, 2] = -ct, -st, 0.0
        for k, p in ((0, 0), (1, 0), (2, 1), (3, 2)):
            origins[g + k, 0], origins[g + k, 1], origins[g + k, 2] = pts[p, 0], pts[p, 1], pts[p, 2]
    # --- thumb: rest frame (a along the bone, fl the flexion direction) turned by rz(cmc_flex) @ ry(cmc_abd).
    cmc_abd, cmc_flex, t_mcp, t_ip = ang[16], ang[17], ang[18], ang[19]
    cz, sz, cy, sy = math.cos(cmc_flex), math.sin(cmc_flex), math.cos(cmc_abd), math.sin(cmc_abd)
    rot = np.array([[cz * cy, -sz, cz * sy], [sz * cy, cz, sz * sy], [-sy, 0.0, cy]])
    a = np.empty(3)
    fl = np.empty(3)
    for k in range(3):
        a[k] = rot[k, 0] * _A0[0] + rot[k, 1] * _A0[1] + rot[k, 2] * _A0[2]
        fl[k] = rot[k, 0] * _FL0[0] + rot[k, 1] * _FL0[1] + rot[k, 2] * _FL0[2]
    # The MCP and IP bends turn (a, fl) in their own plane: about a x fl, which they leave unchanged.
    bx, by, bz = a[1] * fl[2] - a[2] * fl[1], a[2] * fl[0] - a[0] * fl[2], a[0] * fl[1] - a[1] * fl[0]
    tp = np.empty((4, 3))
    tp[0, 0], tp[0, 1], tp[0, 2] = 0.26 * width, 0.16 * length, -0.12 * thick
    for k in range(3):
        tp[1, k] = tp[0, k] + shape[23] * a[k]
    for b in (1, 2):
        bend = t_mcp if b == 1 else t_ip
        cb, sb = math.cos(bend), math.sin(bend)
        for k in range(3):
            ak, fk = a[k], fl[k]
            a[k], fl[k] = cb * ak + sb * fk, -sb * ak + cb * fk
            tp[b + 1, k] = tp[b, k] + shape[23 + b] * a[k]
    for i in range(6):
        p = _JOINT_POINT[i]
        joints[24 + i, 0], joints[24 + i, 1], joints[24 + i, 2] = tp[p, 0], tp[p, 1], tp[p, 2]
    dx, dy, dz = tp[3, 0] - tp[2, 0], tp[3, 1] - tp[2, 1], tp[3, 2] - tp[2, 2]
    tip_back = 0.55 * thumb_r * _THUMB_TAPER[3] / math.sqrt(dx * dx + dy * dy + dz * dz)
    for b in range(3):
        c = 16 + b
        for k in range(3):
            caps[c, k], caps[c, 3 + k] = tp[b, k], tp[b + 1, k]
        caps[c, 6] = thumb_r * (_THUMB_TAPER[b + 1] if b else _THUMB_TAPER[0])
    caps[18, 3] -= tip_back * dx
    caps[18, 4] -= tip_back * dy
    caps[18, 5] -= tip_back * dz
    # Thenar eminence: an ellipsoid along the thumb metacarpal, inside the palm.
    mx, my, mz = tp[1, 0] - tp[0, 0], tp[1, 1] - tp[0, 1], tp[1, 2] - tp[0, 2]
    mn = math.sqrt(mx * mx + my * my + mz * mz)
    ax0 = (mx / mn, my / mn, mz / mn)
    n1 = math.sqrt(ax0[1] * ax0[1] + ax0[0] * ax0[0])
    ax1 = (ax0[1] / n1, -ax0[0] / n1, 0.0)  # ax0 x z
    ax2 = (ax0[1] * ax1[2] - ax0[2] * ax1[1], ax0[2] * ax1[0] - ax0[0] * ax1[2], ax0[0] * ax1[1] - ax0[1] * ax1[0])
    _ellipsoid(ells, 0, tp[0, 0] + 0.35 * mx - 0.08 * width, tp[0, 1] + 0.35 * my, tp[0, 2] + 0.35 * mz,
               ax0, ax1, ax2, 0.45 * shape[23], 0.2 * width, 0.4 * thick)
    # Palm body: a flattened ellipsoid, plus a wrist capsule; the palm points.
    _ellipsoid(ells, 1, 0.0, 0.52 * length, 0.0, (1.0, 0.0, 0.0), (0.0, 1.0, 0.0), (0.0, 0.0, 1.0),
               0.5 * width, 0.56 * length, 0.5 * thick)
    caps[19, 0], caps[19, 1], caps[19, 2], caps[19, 3], caps[19, 4], caps[19, 5], caps[19, 6] = (
        0.0, 0.22 * length, 0.0, 0.0, -2.0, 0.0, wrist_r * 0.95)
    for i in range(6):
        joints[30 + i, 0] = PALM_POINTS[i, 0] * width
        joints[30 + i, 1] = PALM_POINTS[i, 1] * length
        joints[30 + i, 2] = PALM_POINTS[i, 2] * thick
    # Forearm, bent by the wrist angles: the hand turns relative to it, so the forearm turns by the inverse,
    # (rz(dev) @ rx(flex))^T; its rows are the forearm's side, down (negated) and back directions.
    cf, sf, cd, sd = math.cos(ang[20]), math.sin(ang[20]), math.cos(ang[21]), math.sin(ang[21])
    side = (cd, -sd * cf, sd * sf)
    down = (-sd, -cd * cf, cd * sf)
    back = (side[1] * down[2] - side[2] * down[1], side[2] * down[0] - side[0] * down[2],
            side[0] * down[1] - side[1] * down[0])
    caps[20, 0], caps[20, 1], caps[20, 2] = 0.0, 0.0, 0.0
    caps[20, 3], caps[20, 4], caps[20, 5] = down[0] * 0.35 * fl_len, down[1] * 0.35 * fl_len, down[2] * 0.35 * fl_len
    caps[20, 6] = wrist_r
    _ellipsoid(ells, 2, down[0] * 0.62 * fl_len, down[1] * 0.62 * fl_len, down[2] * 0.62 * fl_len, down, side, back,
               0.62 * fl_len, fore_r, 0.78 * fore_r)
    # Thumb generators: cmc_flex about z, cmc_abd about rz(cmc_flex) @ y, both through the CMC; the MCP and IP
    # bends about a x fl through their joints. Wrist: the forearm turns about the wrist centre (the origin),
    # flexion about -x, deviation about -(rx(-flex) @ z).
    for g, (x, y, z), p in ((16, (0.0, 0.0, 1.0), 0), (17, (-sz, cz, 0.0), 0), (18, (bx, by, bz), 1),
                            (19, (bx, by, bz), 2)):
        axes[g, 0], axes[g, 1], axes[g, 2] = x, y, z
        origins[g, 0], origins[g, 1], origins[g, 2] = tp[p, 0], tp[p, 1], tp[p, 2]
    axes[20, 0], axes[20, 1], axes[20, 2] = -1.0, 0.0, 0.0
    axes[21, 0], axes[21, 1], axes[21, 2] = 0.0, -sf, -cf
    for g in (20, 21):
        origins[g, 0], origins[g, 1], origins[g, 2] = 0.0, 0.0, 0.0


@_compiled
def _ellipsoid(ells, row, cx, cy, cz, ax0, ax1, ax2, s0, s1, s2):  # pragma: no cover - compiled
    """Write ellipsoid ``row``: centre and ``A`` whose rows are the unit axes divided by the semi-axis lengths."""
    ells[row, 0], ells[row, 1], ells[row, 2] = cx, cy, cz
    for k in range(3):
        ells[row, 3 + k], ells[row, 6 + k], ells[row, 9 + k] = ax0[k] / s0, ax1[k] / s1, ax2[k] / s2


def _base_articulation() -> tuple[np.ndarray, np.ndarray]:
    """The parts of the articulation that no pose changes: fixed axes and the DOF weights."""
    axes = np.zeros((NUM_GENERATORS, 3))
    weights = np.zeros((NUM_GENERATORS, NUM_DOF))
    for f in range(4):
        k = 4 * f
        axes[k] = [0.0, 0.0, 1.0]
        weights[k, k + 1] = -_ABD_SIGN[f]  # theta = -splay - abd * sign: abduction turns by -sign
        weights[k + 1, k] = weights[k + 2, k + 2] = 1.0
        weights[k + 3, k + 2], weights[k + 3, k + 3] = DIP_PIP_RATIO, 1.0  # DIP = 2/3 PIP + offset
    axes[16] = [0.0, 0.0, 1.0]
    axes[20] = [-1.0, 0.0, 0.0]
    for g, dof in ((16, "thumb_cmc_flex"), (17, "thumb_cmc_abd"), (18, "thumb_mcp_flex"), (19, "thumb_ip_flex"),
                   (20, "wrist_flex"), (21, "wrist_dev")):
        weights[g, dof_index(dof)] = 1.0
    return axes, weights


_BASE_AXES, _BASE_WEIGHTS = _base_articulation()
