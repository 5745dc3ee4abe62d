"""PLY export and screenshots without the main window: a real view state, a real widget (Qt offscreen is enough)."""

from __future__ import annotations

import numpy as np
import pytest
from PySide6.QtGui import QImage
from PySide6.QtWidgets import QLabel

from app.runtime import pipeline_settings
from app.settings import AppSettings
from app.snapshots import export_cloud, save_screenshot
from app.state import build_view_state
from inference.core.errors import HandposeError
from inference.core.frame import Frame
from inference.core.geometry import NYU_INTRINSICS
from inference.runtime.estimator import OnnxEstimator
from inference.runtime.pipeline import Pipeline
from tests.app.scenes import hand_frame


def _state(model_path, hand: bool = True):
    depth, rgb, _ = hand_frame(0)
    if not hand:
        depth = np.zeros_like(depth)
    pipeline = Pipeline(OnnxEstimator(model_path, warmup_runs=0), pipeline_settings(AppSettings(smoothing=False)))
    return build_view_state(pipeline.process(Frame(depth, rgb, NYU_INTRINSICS, 0.0, 0)), max_points=400)


def test_no_cloud_to_export_is_one_clear_error_and_no_file(tmp_path, model_path) -> None:
    path = tmp_path / "hand.ply"
    with pytest.raises(HandposeError, match="no frame processed yet"):
        export_cloud(None, path, "depth")
    with pytest.raises(HandposeError, match="no hand found in the current frame") as err:
        export_cloud(_state(model_path, hand=False), path, "depth")
    assert str(path) in str(err.value) and not path.exists()


@pytest.mark.slow  # importing Open3D alone takes ~3 s here
def test_the_exported_cloud_is_the_views_cloud_in_mm_coloured_as_shown(tmp_path, model_path) -> None:
    import open3d as o3d

    state = _state(model_path)
    assert len(state.points_xyz_mm) == 400
    for mode, colours in (("rgb", state.points_color_rgb), ("depth", state.points_depth_rgb)):
        cloud = o3d.io.read_point_cloud(str(export_cloud(state, tmp_path / f"{mode}.ply", mode)))
        np.testing.assert_allclose(np.asarray(cloud.points), state.points_xyz_mm, atol=1e-3)
        np.testing.assert_allclose(np.asarray(cloud.colors) * 255.0, colours, atol=0.5)


def test_a_screenshot_creates_its_folder_and_refuses_an_unknown_format(qtbot, tmp_path) -> None:
    widget = QLabel("handpose")
    qtbot.addWidget(widget)
    widget.resize(320, 200)
    path = save_screenshot(widget, tmp_path / "new" / "shot.png")
    image = QImage(str(path))
    assert path == tmp_path / "new" / "shot.png"
    assert (image.width(), image.height()) == (320 * widget.devicePixelRatio(), 200 * widget.devicePixelRatio())
    with pytest.raises(HandposeError, match="could not write the screenshot"):
        save_screenshot(widget, tmp_path / "shot.not-an-image-format")
