"""The world around the hand: a body behind it, a wall, sometimes a table, clutter, optional occluders.

Everything except the optional "hard" occluder is placed farther than the hand's farthest joint plus a
margin, so the hand stays the nearest object (the assumption of :func:`inference.preprocess.segmentation.segment_hand`
and of NYU's recordings). With a second (left) hand, "the hand" is both: the room is behind both of them.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from inference.handmodel import PART_FOREARM, PART_HAND, HandGeometry, ellipsoid_row
from inference.synth.render import DepthBuffer

PART_TORSO, PART_HEAD, PART_WALL, PART_TABLE, PART_CLUTTER, PART_OCCLUDER = 3, 4, 5, 6, 7, 8
PART_LEFT_HAND, PART_LEFT_FOREARM = 9, 10  # the second hand of a two-hand scene (its own ids: labels need them)
NUM_PARTS = 11
_LEFT_PART = {PART_HAND: PART_LEFT_HAND, PART_FOREARM: PART_LEFT_FOREARM}


@dataclass
class Scene:
    """Primitives of one frame in camera space (mm) and the albedo of each part.

    Attributes:
        hand: the posed hand and forearm.
        capsules / ellipsoids: extra ``(p0, p1, r)`` rows / ellipsoid rows with their part ids.
        planes: ``(normal (3,), offset_mm, part, min_z_mm)`` tuples.
        albedo: ``(NUM_PARTS, 3)`` RGB 0-255 per part.
        hard: True when an occluder nearer than the hand was added.
        left_hand: the second (left) hand of a two-hand scene, drawn with parts ``PART_LEFT_*``, or None.
    """

    hand: HandGeometry
    albedo: np.ndarray
    capsules: list[tuple[np.ndarray, np.ndarray, float, int]] = field(default_factory=list)
    ellipsoids: list[tuple[np.ndarray, int]] = field(default_factory=list)
    planes: list[tuple[np.ndarray, float, int, float]] = field(default_factory=list)
    hard: bool = False
    left_hand: HandGeometry | None = None

    def render_hand(self, buf: DepthBuffer) -> None:
        """Ray-cast the hand(s) and forearm(s) into ``buf`` (full resolution: this is what the network looks at)."""
        hands = [(self.hand, {})] + ([(self.left_hand, _LEFT_PART)] if self.left_hand is not None else [])
        for h, part_of in hands:
            for row, part in zip(h.capsules, h.capsule_parts, strict=True):
                buf.capsule(row[0:3], row[3:6], float(row[6]), part_of.get(int(part), int(part)))
            for row, part in zip(h.ellipsoids, h.ellipsoid_parts, strict=True):
                buf.ellipsoid(row, part_of.get(int(part), int(part)))

    def render_background(self, buf: DepthBuffer) -> None:
        """Ray-cast everything else (may be a coarser buffer: the background only needs to be plausible)."""
        for p0, p1, r, part in self.capsules:
            buf.capsule(p0, p1, r, part)
        for row, part in self.ellipsoids:
            buf.ellipsoid(row, part)
        for normal, offset, part, min_z in self.planes:
            buf.plane(normal, offset, part, min_z)


def _random_colour(rng: np.random.Generator, lo: float = 30.0, hi: float = 230.0) -> np.ndarray:
    return rng.uniform(lo, hi, 3)


def build_scene(hand: HandGeometry, skin_rgb: np.ndarray, rng: np.random.Generator, hard: bool = False,
                anchor_mm: np.ndarray | None = None, left_hand: HandGeometry | None = None) -> Scene:
    """Sample a scene around a posed hand (camera space).

    Body: torso ellipsoid + head sphere 200-450 mm behind the hand (85% of frames). Wall: a plane facing the
    camera 0.3-2.5 m behind the body (often beyond the sensor's range, hence invalid as on NYU). Table: a
    horizontal plane below the hand (35%). Clutter: 0-3 blobs behind the hand. ``hard``: one occluder
    (ball or stick) 80-250 mm in front of the hand, beside it in the image so it may cover part of it.

    ``anchor_mm``: for sequences, a fixed palm position (with the same ``rng`` seed every frame) so that the
    room stays put while the hand moves; the body only backs away if the hand would reach into it.

    ``left_hand``: a second hand (same person: same skin; a sleeve on one arm is on both). Everything is placed
    behind both hands, the body between their palms; the random draws are those of one hand, in the same order.
    """
    joints = hand.joints if left_hand is None else np.concatenate([hand.joints, left_hand.joints])
    palm = hand.anchor if left_hand is None else 0.5 * (hand.anchor + left_hand.anchor)
    palm = palm if anchor_mm is None else np.asarray(anchor_mm, float)
    z_near, z_far = float(joints[:, 2].min()), float(joints[:, 2].max())
    behind = max(z_far + 90.0, z_near + 200.0)
    if anchor_mm is not None:
        behind = max(behind, float(anchor_mm[2]) + 250.0)
    albedo = np.zeros((NUM_PARTS, 3))
    albedo[PART_HAND] = skin_rgb
    albedo[PART_FOREARM] = skin_rgb if rng.random() < 0.6 else _random_colour(rng)
    albedo[PART_TORSO] = _random_colour(rng, 20, 220)
    albedo[PART_HEAD] = skin_rgb * rng.uniform(0.9, 1.05)
    albedo[PART_WALL] = rng.uniform(150, 235) * rng.uniform(0.85, 1.0, 3)
    albedo[PART_TABLE] = _random_colour(rng, 60, 200)
    albedo[PART_CLUTTER] = _random_colour(rng)
    albedo[PART_OCCLUDER] = _random_colour(rng)
    albedo[PART_LEFT_HAND], albedo[PART_LEFT_FOREARM] = albedo[PART_HAND], albedo[PART_FOREARM]
    scene = Scene(hand=hand, albedo=albedo, hard=hard, left_hand=left_hand)
    body_z = behind + rng.uniform(0.0, 250.0)
    if rng.random() < 0.85:
        semi = np.array([rng.uniform(150, 200), rng.uniform(260, 330), rng.uniform(90, 130)])
        centre = np.array([palm[0] + rng.uniform(-250, 250), palm[1] - rng.uniform(150, 380), body_z + semi[2]])
        scene.ellipsoids.append((ellipsoid_row(centre, np.eye(3), semi), PART_TORSO))
        head_r = rng.uniform(85, 105)
        head = centre + np.array([rng.uniform(-20, 20), semi[1] + head_r * 0.8, 10.0])
        scene.ellipsoids.append((ellipsoid_row(head, np.eye(3), [head_r * 0.85, head_r * 1.1, head_r]), PART_HEAD))
    wall_z = body_z + rng.uniform(300.0, 2500.0)
    tilt = np.radians(rng.normal(0, 12, 2))
    normal = np.array([np.sin(tilt[0]), np.sin(tilt[1]), 1.0])
    normal /= np.linalg.norm(normal)
    scene.planes.append((normal, float(normal @ [0.0, 0.0, wall_z]), PART_WALL, 0.0))
    if rng.random() < 0.35:
        table_y = min(palm[1], float(joints[:, 1].min())) - rng.uniform(120.0, 400.0)
        scene.planes.append((np.array([0.0, 1.0, 0.0]), table_y, PART_TABLE, behind + 60.0))
    for _ in range(int(rng.integers(0, 4))):
        z = behind + rng.uniform(100.0, 1200.0)
        x = palm[0] + rng.uniform(-700, 700) * z / 1000
        y = palm[1] + rng.uniform(-500, 300) * z / 1000
        semi = rng.uniform(40, 160, 3)
        axes = np.linalg.qr(rng.normal(size=(3, 3)))[0]
        scene.ellipsoids.append((ellipsoid_row([x, y, z + semi.max()], axes, semi), PART_CLUTTER))
    if hard:
        z = max(z_near - rng.uniform(80.0, 250.0), 250.0)
        angle = rng.uniform(0, 2 * np.pi)
        offset = rng.uniform(50.0, 110.0) * z / palm[2]  # near the hand's image position
        toward = palm * (z / palm[2])  # on the line of sight to the palm, at depth z
        centre = toward + np.array([offset * np.cos(angle), offset * np.sin(angle), 0.0])
        if rng.random() < 0.5:
            scene.ellipsoids.append((ellipsoid_row(centre, np.eye(3), [rng.uniform(25, 60)] * 3), PART_OCCLUDER))
        else:
            d = rng.normal(size=3) * [1, 1, 0.3]
            d *= rng.uniform(60, 150) / np.linalg.norm(d)
            scene.capsules.append((centre - d, centre + d, float(rng.uniform(10, 25)), PART_OCCLUDER))
    return scene
