"""One-off saves of what the app shows: the hand's point cloud as PLY, the whole window as PNG (Qt-free).

The window hands in its last :class:`app.state.ViewState` or itself (anything with Qt's ``grab()``); these
functions import neither Qt nor, until a PLY is written, Open3D (its import alone takes seconds).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from app.state import ViewState
from inference.core.errors import HandposeError


def write_ply(path: str | Path, points_mm: np.ndarray, colours_rgb: np.ndarray | None = None) -> Path:
    """Write a point cloud ``(N, 3)`` mm (camera space, y up) with optional ``(N, 3)`` uint8 colours as PLY (mm)."""
    path = Path(path)
    if len(points_mm) == 0:
        raise HandposeError(f"{path}: no point cloud to export yet (no hand found in the current frame)")
    import open3d as o3d

    cloud = o3d.geometry.PointCloud(o3d.utility.Vector3dVector(np.asarray(points_mm, np.float64)))
    if colours_rgb is not None:
        cloud.colors = o3d.utility.Vector3dVector(np.asarray(colours_rgb, np.float64) / 255.0)
    if not o3d.io.write_point_cloud(str(path), cloud, write_ascii=False):
        raise HandposeError(f"{path}: Open3D could not write the PLY file (is the folder writable?)")
    return path


def export_cloud(state: ViewState | None, path: str | Path, colour_mode: str) -> Path:
    """Write ``state``'s hand cloud to ``path`` as PLY, coloured as the 3D view shows it (``"rgb"`` or ``"depth"``).

    Raises :class:`HandposeError` when no frame was processed yet or the frame has no hand.
    """
    if state is None:
        raise HandposeError(f"{path}: no frame processed yet")
    colours = state.points_color_rgb if colour_mode == "rgb" else state.points_depth_rgb
    return write_ply(path, state.points_xyz_mm, colours)


def save_screenshot(widget: Any, path: str | Path) -> Path:
    """Grab ``widget`` (a Qt widget: the main window, its GL view included) to the image file ``path``."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    if not widget.grab().save(str(path)):
        raise HandposeError(f"{path}: could not write the screenshot (unwritable folder or bad extension)")
    return path
