"""Generated depth frames with a hand-sized blob in front of a body and a wall (no generator needed).

The "hand" is an ellipsoid (about 90 x 180 x 40 mm) at ``hand_mm`` depth with an arm behind it, a torso
~250 mm further back and a wall at 1.8 m; its ground truth is only its centre, which is enough to test the
runtime's plumbing (segmentation finds it, crops are centred on it, poses are written for every frame).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from inference.core.frame import Frame
from inference.core.geometry import NYU_INTRINSICS, Intrinsics, xyz_to_uvd
from inference.formats.nyu_io import NyuWriter


def blob_depth(
    centre_xyz_mm: tuple[float, float, float] = (0.0, 0.0, 600.0),
    intr: Intrinsics = NYU_INTRINSICS,
    semi_axes_mm: tuple[float, float, float] = (45.0, 90.0, 20.0),
) -> np.ndarray:
    """``(H, W)`` uint16 depth (mm) of an ellipsoid hand in front of a torso and a wall."""
    h, w = intr.height, intr.width
    v, u = np.mgrid[0:h, 0:w].astype(np.float64)
    depth = np.full((h, w), 1800.0)  # wall
    cx, cy, cz = centre_xyz_mm
    torso = (np.abs(u - w * 0.5) < w * 0.3) & (v > h * 0.35)
    depth[torso] = cz + 250.0
    # ray-ellipsoid intersection in camera space (y up): x = (u - cx) z / fx, y = (cy - v) z / fy
    dx = (u - intr.cx) / intr.fx
    dy = (intr.cy - v) / intr.fy
    a, b, c = semi_axes_mm
    qa = (dx / a) ** 2 + (dy / b) ** 2 + (1.0 / c) ** 2
    qb = -2.0 * (dx * cx / a**2 + dy * cy / b**2 + cz / c**2)
    qc = (cx / a) ** 2 + (cy / b) ** 2 + (cz / c) ** 2 - 1.0
    disc = qb**2 - 4 * qa * qc
    hit = disc >= 0
    z = (-qb - np.sqrt(np.where(hit, disc, 0.0))) / (2 * qa)
    depth[hit] = np.minimum(depth[hit], z[hit])
    return np.round(depth).astype(np.uint16)


def blob_frame(index: int = 0, centre_xyz_mm: tuple[float, float, float] = (0.0, 0.0, 600.0)) -> Frame:
    """A :class:`Frame` (with a plain grey colour image) of :func:`blob_depth`."""
    depth = blob_depth(centre_xyz_mm)
    color = np.full((*depth.shape, 3), 128, np.uint8)
    return Frame(depth_mm=depth, color=color, intrinsics=NYU_INTRINSICS, timestamp_s=index / 30.0, index=index)


def write_blob_sequence(root: str | Path, frames: int = 6, seed: int = 0, with_rgb: bool = True) -> Path:
    """An NYU-format directory of ``frames`` blob frames, the blob drifting at random (deterministic per seed)."""
    rng = np.random.default_rng(seed)
    root = Path(root)
    with NyuWriter(root) as writer:
        for number in range(1, frames + 1):
            centre = (rng.uniform(-80, 80), rng.uniform(-60, 60), rng.uniform(450, 800))
            depth = blob_depth(centre)
            rgb = np.full((*depth.shape, 3), 128, np.uint8) if with_rgb else None
            uvd = np.tile(xyz_to_uvd(np.array(centre), NYU_INTRINSICS), (36, 1))
            writer.write(number, depth, rgb, joints_uvd=uvd, joints_xyz=np.tile(centre, (36, 1)))
    return root
