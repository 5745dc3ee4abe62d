"""Pinhole camera geometry (thesis eqs. 4.3-4.5) in the NYU convention: x right, **y up**, z forward.

``u = cx + fx * x / z``, ``v = cy - fy * y / z``, ``d = z``; everywhere in handpose camera-space
points are in millimetres with y up, as NYU's ``joint_xyz``. Pixel coordinates ``u`` (column) and
``v`` (row) are in pixels, ``d`` in millimetres.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, replace
from pathlib import Path

import numpy as np

from inference.core.errors import DataFormatError
from inference.core.outputs import write_text_atomic


@dataclass(frozen=True)
class Intrinsics:
    """Pinhole intrinsics of a depth image (pixels) and its size."""

    fx: float
    fy: float
    cx: float
    cy: float
    width: int = 640
    height: int = 480

    def scaled(self, factor: float) -> Intrinsics:
        """Intrinsics of the same camera with the image resized by ``factor`` (e.g. 0.5 for decimation 2)."""
        return replace(
            self,
            fx=self.fx * factor,
            fy=self.fy * factor,
            cx=(self.cx + 0.5) * factor - 0.5,
            cy=(self.cy + 0.5) * factor - 0.5,
            width=round(self.width * factor),
            height=round(self.height * factor),
        )

    def to_json(self, path: str | Path) -> None:
        write_text_atomic(path, json.dumps(asdict(self), indent=2) + "\n")

    @classmethod
    def from_json(cls, path: str | Path) -> Intrinsics:
        try:
            raw = json.loads(Path(path).read_text())
        except (OSError, ValueError) as exc:
            raise DataFormatError(path, f"cannot read intrinsics JSON ({exc})") from None
        if not isinstance(raw, dict):
            raise DataFormatError(path, f"intrinsics JSON must be an object, got {type(raw).__name__}")
        missing = [k for k in ("fx", "fy", "cx", "cy") if k not in raw]
        if missing:
            needs = "fx, fy, cx, cy, width, height"
            raise DataFormatError(path, f"intrinsics JSON lacks {', '.join(missing)} (needs {needs})")
        try:
            intr = cls(
                fx=float(raw["fx"]), fy=float(raw["fy"]), cx=float(raw["cx"]), cy=float(raw["cy"]),
                width=int(raw.get("width", 640)), height=int(raw.get("height", 480)),
            )
        except (TypeError, ValueError) as exc:
            raise DataFormatError(path, f"intrinsics must be numbers ({exc})") from None
        positive = intr.fx > 0 and intr.fy > 0 and intr.width > 0 and intr.height > 0
        if not (positive and np.isfinite([intr.fx, intr.fy, intr.cx, intr.cy]).all()):
            raise DataFormatError(path, f"intrinsics must be finite with positive fx, fy, width, height, got {intr}")
        return intr


# Kinect 1 intrinsics of the NYU hand pose dataset.
NYU_INTRINSICS = Intrinsics(fx=588.03, fy=587.07, cx=320.0, cy=240.0, width=640, height=480)


def uvd_to_xyz(uvd: np.ndarray, intr: Intrinsics) -> np.ndarray:
    """Back-project ``(..., 3)`` pixel+depth ``(u px, v px, d mm)`` to camera space ``(x, y, z)`` mm, y up."""
    uvd = np.asarray(uvd, dtype=np.float64)
    d = uvd[..., 2]
    x = (uvd[..., 0] - intr.cx) * d / intr.fx
    y = (intr.cy - uvd[..., 1]) * d / intr.fy
    return np.stack([x, y, d], axis=-1)


def xyz_to_uvd(xyz: np.ndarray, intr: Intrinsics) -> np.ndarray:
    """Project ``(..., 3)`` camera-space points (mm, y up) to ``(u px, v px, d mm)``."""
    xyz = np.asarray(xyz, dtype=np.float64)
    z = xyz[..., 2]
    with np.errstate(divide="ignore", invalid="ignore"):
        u = intr.cx + intr.fx * xyz[..., 0] / z
        v = intr.cy - intr.fy * xyz[..., 1] / z
    return np.stack([u, v, z], axis=-1)


def depth_to_points(
    depth_mm: np.ndarray, intr: Intrinsics, mask: np.ndarray | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """Back-project a depth image to a point cloud.

    Args:
        depth_mm: ``(H, W)`` depth in mm; 0 (or anything <= 0, NaN, inf) is invalid.
        intr: intrinsics of that image.
        mask: optional ``(H, W)`` bool; only these pixels are used.

    Returns:
        ``points_mm (N, 3)`` float32 (y up) and ``pixels (N, 2)`` int ``(v, u)`` of each point.
    """
    valid = depth_mm > 0
    if depth_mm.dtype.kind == "f":
        valid &= np.isfinite(depth_mm)  # inf from a float source is no point
    if mask is not None:
        valid &= mask
    v, u = np.nonzero(valid)
    d = depth_mm[v, u].astype(np.float32)
    x = (u.astype(np.float32) - intr.cx) * d / intr.fx
    y = (intr.cy - v.astype(np.float32)) * d / intr.fy
    return np.stack([x, y, d], axis=1), np.stack([v, u], axis=1)
