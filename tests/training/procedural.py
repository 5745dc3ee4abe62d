"""Tiny NYU-format sequences with known joints, drawn procedurally (capsules between palm and joints).

Enough for dataset / cache / training tests without the synthetic generator: every frame has a
hand-sized connected blob nearest the camera whose shape is a function of its 14 labelled joints.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from inference.core.geometry import NYU_INTRINSICS, Intrinsics, xyz_to_uvd
from inference.core.skeleton import BONES, EVAL_JOINT_IDS, NUM_NYU_JOINTS
from inference.formats.nyu_io import NyuWriter

BACKGROUND_MM = 2001  # NYU's far/invalid value


def random_pose(rng: np.random.Generator) -> np.ndarray:
    """``(14, 3)`` joints in mm (y up): palm centre at 500-700 mm, joints spread around it."""
    centre = np.array([rng.uniform(-60, 60), rng.uniform(-40, 40), rng.uniform(500, 700)])
    offsets = rng.uniform([-90, -90, -30], [90, 90, 30], size=(14, 3))
    offsets[13] = 0.0  # palm centre
    return centre + offsets


def render(
    joints_xyz: np.ndarray, intr: Intrinsics = NYU_INTRINSICS, radius_mm: float = 11.0
) -> tuple[np.ndarray, np.ndarray]:
    """Depth ``(H, W)`` uint16 mm and RGB ``(H, W, 3)`` uint8 of spheres along the skeleton's bones."""
    depth = np.full((intr.height, intr.width), np.inf)
    rgb = np.full((intr.height, intr.width, 3), 40, np.uint8)
    points = [joints_xyz[13] + t * (joints_xyz[c] - joints_xyz[13]) for _, c, _ in BONES for t in np.linspace(0, 1, 8)]
    points += [joints_xyz[p] + t * (joints_xyz[c] - joints_xyz[p]) for p, c, _ in BONES for t in np.linspace(0, 1, 8)]
    radii = [radius_mm] * len(points) + [3.2 * radius_mm]
    points.append(joints_xyz[13])  # the palm
    for (x, y, z), r in zip(points, radii, strict=True):
        u, v, _ = xyz_to_uvd(np.array([x, y, z]), intr)
        half = int(np.ceil(r * intr.fx / z)) + 1
        u0, u1 = max(int(u) - half, 0), min(int(u) + half + 1, intr.width)
        v0, v1 = max(int(v) - half, 0), min(int(v) + half + 1, intr.height)
        if u1 <= u0 or v1 <= v0:
            continue
        uu, vv = np.meshgrid(np.arange(u0, u1), np.arange(v0, v1))
        dx = (uu - intr.cx) * z / intr.fx - x
        dy = (intr.cy - vv) * z / intr.fy - y
        h2 = r * r - dx * dx - dy * dy
        inside = h2 > 0
        zz = np.where(inside, z - np.sqrt(np.maximum(h2, 0)), np.inf)
        patch = depth[v0:v1, u0:u1]
        closer = zz < patch
        patch[closer] = zz[closer]
        rgb[v0:v1, u0:u1][closer] = (200, 150, 120)
    out = np.where(np.isfinite(depth), np.rint(depth), BACKGROUND_MM).astype(np.uint16)
    return out, rgb


def write_sequence(root: Path, frames: int, seed: int = 0, subjects: list[str] | None = None) -> np.ndarray:
    """Write ``frames`` procedural frames (numbers 1..N) to ``root``; returns the ``(N, 14, 3)`` joints_xyz."""
    rng = np.random.default_rng(seed)
    all_joints = []
    with NyuWriter(root) as writer:
        for number in range(1, frames + 1):
            joints = random_pose(rng)
            depth, rgb = render(joints)
            j36 = np.repeat(joints[13:14], NUM_NYU_JOINTS, axis=0)
            j36[list(EVAL_JOINT_IDS)] = joints
            writer.write(number, depth, rgb, xyz_to_uvd(j36, NYU_INTRINSICS), j36)
            all_joints.append(joints)
    if subjects:
        import json

        # the synthetic generator's format: one subject id per 0-based frame index
        frame_subject = [subjects[i * len(subjects) // frames] for i in range(frames)]
        (root / "subjects.json").write_text(json.dumps({"frame_subject": frame_subject}))
    return np.stack(all_joints)
