"""Small generated RGB-D test sequences for the app tests (a flat hand-like shape in front of a wall)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from inference.core.geometry import NYU_INTRINSICS, uvd_to_xyz
from inference.core.skeleton import EVAL_JOINT_IDS, NUM_NYU_JOINTS
from inference.formats.nyu_io import NyuWriter

WALL_MM = 1100
HAND_MM = 600


def hand_frame(k: int, width: int = 640, height: int = 480) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Frame ``k``: depth ``(H, W)`` uint16 mm, RGB ``(H, W, 3)`` uint8 and eval labels ``(14, 3)`` uvd.

    A palm disc with five finger bars at 600 mm, moving right by 3 px per frame, over a wall at 1100 mm.
    """
    depth = np.full((height, width), WALL_MM, np.uint16)
    rgb = np.full((height, width, 3), (90, 90, 110), np.uint8)
    cu, cv = 300 + 3 * k, 260
    vv, uu = np.mgrid[0:height, 0:width]
    hand = (uu - cu) ** 2 + (vv - cv) ** 2 <= 45**2
    tips = []
    for i, du in enumerate((-40, -20, 0, 20, 40)):
        length = 70 if i else 45
        bar = (np.abs(uu - (cu + du)) <= 6) & (vv <= cv) & (vv >= cv - 35 - length)
        hand |= bar
        tips.append((cu + du, cv - 35 - length + 4))
    depth[hand] = HAND_MM
    rgb[hand] = (220, 170, 140)
    # 14 eval joints: P1 P2 R1 R2 M1 M2 I1 I2 T1 T2 T3 W1 W2 C (tip, mid per finger; thumb x3; wrist x2; centre)
    uv = []
    for (tu, tv) in tips[1:][::-1]:  # pinky .. index
        uv += [(tu, tv), (tu, tv + 30)]
    thumb_u, thumb_v = tips[0]
    uv += [(thumb_u, thumb_v), (thumb_u, thumb_v + 25), (thumb_u + 10, cv - 10)]
    uv += [(cu - 20, cv + 40), (cu + 20, cv + 40), (cu, cv)]
    labels = np.array([(u, v, HAND_MM) for u, v in uv], np.float64)
    return depth, rgb, labels


def write_sequence(root: Path, frames: int = 12) -> Path:
    """Write ``frames`` frames of :func:`hand_frame` in the NYU format with labels; returns ``root``."""
    with NyuWriter(root) as writer:
        for k in range(frames):
            depth, rgb, labels = hand_frame(k)
            uvd36 = np.zeros((NUM_NYU_JOINTS, 3))
            uvd36[:, :] = labels[-1]
            uvd36[list(EVAL_JOINT_IDS)] = labels
            writer.write(k + 1, depth, rgb, uvd36, uvd_to_xyz(uvd36, NYU_INTRINSICS))
    return root
