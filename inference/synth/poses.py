"""Poses: named gestures, random plausible articulations, global placements and keyframe sequences.

Angles are ``(NUM_DOF,)`` degree vectors in :data:`inference.handmodel.DOF_NAMES` order. A
placement is a rotation (hand-local -> camera, NYU axes) and the camera-space position of the wrist.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.spatial.transform import Rotation, Slerp

from inference.core.gesture_names import GESTURES
from inference.handmodel import (
    DOF_HIGH,
    DOF_LOW,
    MIRROR_X,
    NUM_DOF,
    HandGeometry,
    HandShape,
    clip_angles,
    dof_index,
    forearm_direction,
    pose_hand,
)

# Per-finger (mcp_flex, mcp_abd, pip_flex, dip_offset) presets.
_EXTENDED = (4.0, 0.0, 4.0, 0.0)
_SPREAD = (2.0, 11.0, 2.0, 0.0)
_CURLED = (82.0, 0.0, 100.0, 0.0)
# Thumb (cmc_abd, cmc_flex, mcp_flex, ip_flex) presets.
_THUMB_OUT = (8.0, -12.0, 4.0, 4.0)
_THUMB_ACROSS = (38.0, 38.0, 38.0, 30.0)  # folded over curled fingers
_THUMB_PALM = (22.0, 45.0, 28.0, 22.0)  # folded onto the palm under extended fingers
_THUMB_UP = (2.0, -18.0, 0.0, -5.0)
_THUMB_PINCH = (48.0, 18.0, 18.0, 22.0)

# Fingers listed pinky, ring, middle, index (NYU order); then thumb.
_GESTURE_PRESETS: dict[str, tuple[tuple[tuple[float, ...], ...], tuple[float, ...]]] = {
    "fist": ((_CURLED, _CURLED, _CURLED, _CURLED), _THUMB_ACROSS),
    "point": ((_CURLED, _CURLED, _CURLED, _EXTENDED), _THUMB_ACROSS),
    "v_sign": ((_CURLED, _CURLED, (3.0, 8.0, 3.0, 0.0), (3.0, 9.0, 3.0, 0.0)), _THUMB_ACROSS),
    "three": ((_CURLED, (4.0, 5.0, 4.0, 0.0), (3.0, 4.0, 3.0, 0.0), (3.0, 6.0, 3.0, 0.0)), _THUMB_ACROSS),
    "four": ((_SPREAD, _SPREAD, _SPREAD, _SPREAD), _THUMB_PALM),
    "open_palm": ((_SPREAD, _SPREAD, _SPREAD, _SPREAD), _THUMB_OUT),
    "pinch": (((8.0, 9.0, 12.0, 0.0), (8.0, 5.0, 10.0, 0.0), (10.0, 2.0, 10.0, 0.0), (38.0, 0.0, 45.0, 0.0)),
              _THUMB_PINCH),
    "thumbs_up": ((_CURLED, _CURLED, _CURLED, _CURLED), _THUMB_UP),
}
assert set(_GESTURE_PRESETS) == set(GESTURES)


def gesture_angles(name: str, rng: np.random.Generator | None = None, jitter_deg: float = 6.0,
                   shape: HandShape | None = None) -> np.ndarray:
    """``(NUM_DOF,)`` angles of a named gesture, with Gaussian jitter (deg) when ``rng`` is given.

    For ``pinch`` with a ``shape`` the thumb and index are solved so that the tips touch for that hand.
    """
    angles = _preset(name)
    if name == "pinch" and shape is not None:
        angles = _pinch_for(shape).copy()
    if rng is not None:
        scale = np.array([1.0, 0.4, 1.0, 0.5] * 4 + [1.0] * 4 + [2.0, 1.5])
        if name == "pinch":  # keep the tips together: jitter the other fingers and the wrist only
            scale[12:20] = 0.0
        angles = angles + rng.normal(0.0, jitter_deg, NUM_DOF) * scale
    return clip_angles(angles)


def _preset(name: str) -> np.ndarray:
    fingers, thumb = _GESTURE_PRESETS[name]
    angles = np.zeros(NUM_DOF)
    for f, preset in enumerate(fingers):
        angles[4 * f: 4 * f + 4] = preset
    angles[16:20] = thumb
    return angles


_pinch_cache: dict[int, np.ndarray] = {}


def _pinch_for(shape: HandShape) -> np.ndarray:
    """The pinch preset solved for this subject (cached per subject id)."""
    if shape.subject_id not in _pinch_cache:
        _pinch_cache[shape.subject_id] = _close_pinch(shape, _preset("pinch"))
    return _pinch_cache[shape.subject_id]


def _close_pinch(shape: HandShape, angles: np.ndarray) -> np.ndarray:
    """Adjust the thumb and index angles so that the two tips touch (tip distance = sum of tip radii)."""
    from scipy.optimize import least_squares

    ids = [dof_index(n) for n in ("thumb_cmc_abd", "thumb_cmc_flex", "thumb_mcp_flex", "thumb_ip_flex",
                                  "index_mcp_flex", "index_pip_flex")]
    gap_mm = 0.8 * (shape.thumb_radius_mm * 0.82 + shape.finger_radius_mm[3] * 0.84)

    def residual(x: np.ndarray) -> np.ndarray:
        a = angles.copy()
        a[ids] = x
        j = pose_hand(shape, a).joints
        return np.array([np.linalg.norm(j[24] - j[18]) - gap_mm, 0.02 * (x - angles[ids])[0]])

    sol = least_squares(residual, angles[ids], bounds=(DOF_LOW[ids], DOF_HIGH[ids]), max_nfev=60)
    out = angles.copy()
    out[ids] = sol.x
    return out


def random_angles(rng: np.random.Generator) -> np.ndarray:
    """A random plausible articulation: each finger gets a curl in [0, 1] (biased to open / closed)."""
    angles = np.zeros(NUM_DOF)
    for f in range(4):
        curl = rng.beta(0.6, 0.6)
        angles[4 * f] = curl * 85.0 + rng.normal(0, 8) - 5.0 * (1 - curl)
        angles[4 * f + 1] = rng.uniform(-6.0, 14.0) * (1.0 - curl)
        angles[4 * f + 2] = curl * 100.0 + rng.normal(0, 10)
        angles[4 * f + 3] = rng.normal(0, 5)
    angles[16:20] = rng.uniform(DOF_LOW[16:20], DOF_HIGH[16:20])
    angles[20] = rng.normal(0, 20)
    angles[21] = rng.normal(3, 10)
    return clip_angles(angles)


@dataclass
class Placement:
    """Hand-local -> camera transform: ``p_cam = rotation @ p_local + wrist_mm`` (mm, NYU axes)."""

    rotation: np.ndarray  # (3, 3)
    wrist_mm: np.ndarray  # (3,)


def _forearm_ok(rotation: np.ndarray, angles: np.ndarray) -> bool:
    """The forearm must run away from the camera or sideways (never at it) and not point up steeply."""
    forearm_dir = rotation @ forearm_direction(angles)
    return bool(forearm_dir[2] > -0.2 and forearm_dir[1] < 0.55)


def random_rotation(rng: np.random.Generator, palm_facing_prob: float = 0.7) -> np.ndarray:
    """A hand orientation: mostly near palm-to-camera (as NYU), otherwise uniform over all orientations."""
    if rng.random() < palm_facing_prob:
        roll, pitch, yaw = rng.normal(0, 35.0), rng.normal(0, 25.0), rng.normal(0, 35.0)
        return Rotation.from_euler("zxy", [roll, pitch, yaw], degrees=True).as_matrix()
    return Rotation.random(random_state=rng).as_matrix()


def random_placement(rng: np.random.Generator, shape: HandShape, angles: np.ndarray,
                     depth_range_mm: tuple[float, float] = (400.0, 1200.0), image_margin: float = 0.18,
                     intr_size: tuple[float, float, float, float, int, int] = (588.03, 587.07, 320.0, 240.0, 640, 480),
                     ) -> Placement:
    """Orientation (see :func:`random_rotation`) and a palm centre at ``depth_range_mm`` inside the image."""
    fx, fy, cx, cy, width, height = intr_size
    rotation = random_rotation(rng)
    for _ in range(30):
        if _forearm_ok(rotation, angles):
            break
        rotation = random_rotation(rng)
    # Palm centre at a random depth and image position, re-drawn until every joint is in the image.
    local = pose_hand(shape, angles)
    palm_local = local.anchor
    for _ in range(40):
        z = rng.uniform(*depth_range_mm)
        u = rng.uniform(image_margin, 1 - image_margin) * width
        v = rng.uniform(image_margin, 1 - image_margin) * height
        palm_cam = np.array([(u - cx) * z / fx, (cy - v) * z / fy, z])
        wrist = palm_cam - rotation @ palm_local
        cam = local.joints @ rotation.T + wrist
        ju = cx + fx * cam[:, 0] / cam[:, 2]
        jv = cy - fy * cam[:, 1] / cam[:, 2]
        if ju.min() >= 8 and ju.max() <= width - 8 and jv.min() >= 8 and jv.max() <= height - 8:
            break
        depth_range_mm = (min(z + 50.0, depth_range_mm[1]), depth_range_mm[1])  # too big in view: move back
    return Placement(rotation, wrist)


def _smoothstep(s: float) -> float:
    s = min(max(s, 0.0), 1.0)
    return s * s * (3.0 - 2.0 * s)


@dataclass
class Keyframe:
    gesture: str
    angles: np.ndarray
    placement: Placement
    hold_s: float
    move_s: float


class GestureTimeline:
    """An endless smooth performance: hold a gesture, move to the next one, repeat.

    Keyframes are drawn one after another from ``seed`` (so any time ``t`` has one pose, reproducibly);
    finger transitions take 0.5-1.0 s and holds 0.3-0.8 s (natural speeds), the hand drifts and turns by at
    most ~150 mm / 35 deg between keyframes. The label of an in-between frame is the nearer keyframe's gesture.
    """

    def __init__(self, seed: int, shape: HandShape, depth_range_mm: tuple[float, float] = (450.0, 1000.0)) -> None:
        self.seed = int(seed)
        self.shape = shape
        self.depth_range_mm = depth_range_mm
        self._keys: list[Keyframe] = []
        self._starts: list[float] = [0.0]

    def _key(self, k: int) -> Keyframe:
        while len(self._keys) <= k:
            i = len(self._keys)
            rng = np.random.default_rng([self.seed, 0x71E, i])
            prev = self._keys[-1] if self._keys else None
            names = [g for g in GESTURES if prev is None or g != prev.gesture]
            gesture = names[int(rng.integers(len(names)))]
            angles = gesture_angles(gesture, rng, 4.0, self.shape)
            if prev is None:
                placement = random_placement(rng, self.shape, angles, self.depth_range_mm, 0.3)
                placement.rotation = Rotation.from_euler("zxy", rng.normal(0, 15, 3), degrees=True).as_matrix()
            else:
                turn = Rotation.from_rotvec(np.radians(rng.normal(0, 14, 3)))
                rot = (turn * Rotation.from_matrix(prev.placement.rotation)).as_matrix()
                if not _forearm_ok(rot, angles):
                    rot = prev.placement.rotation
                wrist = prev.placement.wrist_mm + rng.normal(0, 50, 3)
                # Keep the hand in view and in range: pull it back toward the optical axis.
                wrist[2] = np.clip(wrist[2], *self.depth_range_mm)
                wrist[:2] = np.clip(wrist[:2], -0.25 * wrist[2], 0.2 * wrist[2])
                placement = Placement(rot, wrist)
            self._keys.append(Keyframe(gesture, angles, placement, rng.uniform(0.3, 0.8), rng.uniform(0.5, 1.0)))
            self._starts.append(self._starts[-1] + self._keys[-1].hold_s + self._keys[-1].move_s)
        return self._keys[k]

    def at(self, t_s: float) -> tuple[np.ndarray, Placement, str]:
        """Angles ``(NUM_DOF,)``, placement and gesture label at time ``t_s`` (seconds from the start)."""
        k = 0
        while True:
            key = self._key(k)
            if self._starts[k + 1] > t_s:
                break
            k += 1
        s = _smoothstep((t_s - self._starts[k] - key.hold_s) / key.move_s)
        if s <= 0.0:
            held = Placement(key.placement.rotation.copy(), key.placement.wrist_mm.copy())
            return key.angles.copy(), held, key.gesture
        nxt = self._key(k + 1)
        angles = (1 - s) * key.angles + s * nxt.angles
        rots = Rotation.from_matrix(np.stack([key.placement.rotation, nxt.placement.rotation]))
        rotation = Slerp([0.0, 1.0], rots)([s]).as_matrix()[0]
        wrist = (1 - s) * key.placement.wrist_mm + s * nxt.placement.wrist_mm
        return angles, Placement(rotation, wrist), key.gesture if s < 0.5 else nxt.gesture


# --- a second (left) hand -----------------------------------------------------------------------------------

LEFT_REACH_MM = 650.0  # the farthest two palms of one person get apart in these scenes (arms bent, in front)
LEFT_CLEARANCE_MM = 8.0  # the surfaces of the two hands stay this far apart (no interpenetration)
LEFT_CROSSED_PROB = 0.25  # hands crossed: the left hand on the image's left of the right one


def mirror_placement(placement: Placement) -> Placement:
    """The mirror image about the camera's ``x = 0`` plane of a placed right hand, as a placement of the mirrored
    (left) hand model: ``M (R p + w) = (M R M) (M p) + M w`` with ``M = diag(-1, 1, 1)``; ``M R M`` is a rotation."""
    m = MIRROR_X
    return Placement(m @ placement.rotation @ m, m @ placement.wrist_mm)


def left_hand_geometry(shape: HandShape, angles: np.ndarray, placement: Placement) -> HandGeometry:
    """The left hand (mirrored model) of ``shape`` in ``angles``, placed by ``placement`` (camera space, mm)."""
    return pose_hand(shape, angles).mirrored().transformed(placement.rotation, placement.wrist_mm)


def _spheres(hand: HandGeometry) -> tuple[np.ndarray, np.ndarray]:
    """Spheres ``(S, 3)`` centres and ``(S,)`` radii (mm) that cover the hand's primitives, for collision tests:
    6 along each capsule, 9 along each ellipsoid's longest axis with its middle semi-axis as radius."""
    t = np.linspace(0.0, 1.0, 6)[:, None]
    caps = hand.capsules
    centres = [(caps[:, None, 0:3] * (1 - t) + caps[:, None, 3:6] * t).reshape(-1, 3)]
    radii = [np.repeat(caps[:, 6], len(t))]
    for row in hand.ellipsoids:
        axes = np.linalg.inv(row[3:12].reshape(3, 3))  # columns: the semi-axes (mm)
        lengths = np.linalg.norm(axes, axis=0)
        order = np.argsort(lengths)
        s = np.linspace(-1.0, 1.0, 9)[:, None] * (1.0 - lengths[order[1]] / lengths[order[2]])
        centres.append(row[None, 0:3] + s * axes[:, order[2]][None, :])
        radii.append(np.full(len(s), lengths[order[1]]))
    return np.concatenate(centres), np.concatenate(radii)


def hands_apart(a: HandGeometry, b: HandGeometry, clearance_mm: float = LEFT_CLEARANCE_MM) -> bool:
    """True when the two hands (with forearms) do not touch: every covering sphere pair is ``clearance_mm`` apart."""
    ca, ra = _spheres(a)
    cb, rb = _spheres(b)
    d = np.linalg.norm(ca[:, None, :] - cb[None, :, :], axis=-1)
    return bool((d > ra[:, None] + rb[None, :] + clearance_mm).all())


def random_left_placement(rng: np.random.Generator, right: HandGeometry, shape: HandShape, angles: np.ndarray,
                          intr_size: tuple[float, float, float, float, int, int] = (588.03, 587.07, 320.0, 240.0, 640,
                                                                                     480),
                          tries: int = 60) -> Placement:
    """A placement of the left hand (mirrored model of ``shape`` in ``angles``) beside the placed ``right`` hand.

    A mirrored :func:`random_placement` (so orientations and depths are those of right hands, mirrored: the two
    hands may be at different depths and overlap in the image), re-drawn until the palms are within
    :data:`LEFT_REACH_MM`, the hands do not touch, and (unless the draw says "crossed", 25%) the left palm is on
    the image's right of the right palm, as for a person facing the camera. After ``tries`` draws the last one that
    does not touch is kept (else the last one moved back in depth until it does not).
    """
    crossed = rng.random() < LEFT_CROSSED_PROB
    right_palm = right.anchor
    placement, apart = None, None
    for _ in range(tries):
        placement = mirror_placement(random_placement(rng, shape, angles, intr_size=intr_size))
        left = left_hand_geometry(shape, angles, placement)
        palm = left.anchor
        if not hands_apart(right, left):
            continue
        apart = placement
        side_ok = (palm[0] / palm[2] < right_palm[0] / right_palm[2]) == crossed
        if np.linalg.norm(palm - right_palm) <= LEFT_REACH_MM and side_ok:
            return placement
    if apart is not None:
        return apart
    assert placement is not None
    while not hands_apart(right, left_hand_geometry(shape, angles, placement)):
        placement = Placement(placement.rotation, placement.wrist_mm + np.array([0.0, 0.0, 50.0]))
    return placement


def push_apart(right: HandGeometry, shape: HandShape, angles: np.ndarray, placement: Placement,
               step_mm: float = 5.0, max_mm: float = 600.0) -> Placement:
    """``placement`` moved toward +x (the left hand's side) in ``step_mm`` steps until the hands do not touch (for
    sequences, whose two timelines know nothing of each other); at most ``max_mm``, then moved back in depth."""
    shift = np.array([step_mm, 0.0, 0.0])
    out = placement
    for _ in range(int(max_mm / step_mm)):
        if hands_apart(right, left_hand_geometry(shape, angles, out)):
            return out
        out = Placement(out.rotation, out.wrist_mm + shift)
    while not hands_apart(right, left_hand_geometry(shape, angles, out)):
        out = Placement(out.rotation, out.wrist_mm + np.array([0.0, 0.0, 50.0]))
    return out
