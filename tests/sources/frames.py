"""Procedural RGB-D test frames: a blob 'hand' in front of a wall, each frame stamped with its number.

Small (160x120) so that tests stay fast; pixel (0, 0) of the depth holds ``1000 + i`` so that order
and identity of frames can be checked after any round trip.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from inference.core.geometry import Intrinsics
from inference.core.skeleton import EVAL_JOINT_IDS, NUM_NYU_JOINTS
from inference.formats.nyu_io import NyuWriter

TEST_INTRINSICS = Intrinsics(fx=140.0, fy=141.0, cx=79.5, cy=59.5, width=160, height=120)


def make_frame(i: int, intr: Intrinsics = TEST_INTRINSICS) -> tuple[np.ndarray, np.ndarray]:
    """Frame ``i``: ``(H, W)`` uint16 depth mm and ``(H, W, 3)`` uint8 RGB (deterministic)."""
    h, w = intr.height, intr.width
    v, u = np.mgrid[0:h, 0:w]
    cu, cv = w / 2 + 10 * np.sin(i / 3), h / 2
    blob = (u - cu) ** 2 + (v - cv) ** 2 < (h / 4) ** 2
    depth = np.where(blob, 600 + (u % 7) + i, 1200).astype(np.uint16)
    depth[0, 0] = 1000 + i
    depth[-1, -1] = 0  # an invalid pixel stays invalid
    rng = np.random.default_rng(i)
    rgb = rng.integers(0, 256, (h, w, 3), dtype=np.uint8)
    rgb[blob] = (200, 150, 120)
    return depth, rgb


def eval_joints_uvd(i: int) -> np.ndarray:
    """``(14, 3)`` labels of frame ``i`` (u px, v px, d mm)."""
    k = np.arange(14, dtype=np.float64)
    return np.stack([60 + k + i, 40 + k, 600 + 2 * k + i], axis=1)


def write_sequence(
    root: Path, n: int, intr: Intrinsics = TEST_INTRINSICS, skip: tuple[int, ...] = (), labels: bool = True
) -> Path:
    """Write frames numbered 1..n (minus ``skip``) as an NYU directory with labels and gestures."""
    uvd = np.full((n, NUM_NYU_JOINTS, 3), np.nan)
    with NyuWriter(root, intrinsics=intr) as writer:
        for number in range(1, n + 1):
            if number in skip:
                continue
            depth, rgb = make_frame(number - 1, intr)
            uvd[number - 1, list(EVAL_JOINT_IDS)] = eval_joints_uvd(number - 1)
            gesture = "fist" if number % 2 else "open_palm"
            writer.write(number, depth, rgb, uvd[number - 1] if labels else None,
                         uvd[number - 1] if labels else None, gesture)
    return root
