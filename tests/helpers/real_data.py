"""Helpers for tests on the real frames in ../shared/data (read in place, never copied)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from inference.core.geometry import Intrinsics

SR305_INTRINSICS = Intrinsics(fx=476.007, fy=476.007, cx=313.683, cy=242.755, width=640, height=480)
SR305_DEPTH_UNIT_MM = 0.125


def nyu_labels(nyu_frame_dir: Path) -> tuple[np.ndarray, np.ndarray]:
    """``(gt_uvd (14, 3), gt_xyz_mm_yup (14, 3))`` of the real NYU test frame 1."""
    raw = json.loads((nyu_frame_dir / "labels_frame1.json").read_text())
    return np.asarray(raw["gt_uvd"], np.float64), np.asarray(raw["gt_xyz_mm_yup"], np.float64)


def sr305_paths(sr305_dir: Path) -> list[Path]:
    return sorted(sr305_dir.glob("*/*.png"), key=lambda p: (p.parent.name, int(p.stem)))
