"""The app's Qt-free model layer: what the views are told to draw, and the meters."""

from __future__ import annotations

import numpy as np
import pytest

from app.runtime import DEMO_DIR, default_model, end_to_end_ms, pipeline_settings, update_pipeline
from app.settings import AppSettings
from app.state import (
    CUBE_EDGES,
    GestureHistory,
    RateMeter,
    StageHistory,
    ViewState,
    build_view_state,
    colourise_depth,
    cube_corners_xyz,
    cube_edges_uv,
    fit_text,
)
from inference.core.frame import Frame
from inference.core.geometry import NYU_INTRINSICS, uvd_to_xyz, xyz_to_uvd
from inference.runtime.estimator import OnnxEstimator
from inference.runtime.pipeline import Pipeline
from inference.sources.replay import ReplaySource
from tests.app.scenes import HAND_MM, hand_frame


def test_cube_edges_are_the_twelve_unit_edges() -> None:
    assert len(CUBE_EDGES) == 12
    corners = cube_corners_xyz(np.zeros(3), 2.0)
    lengths = [np.linalg.norm(corners[a] - corners[b]) for a, b in CUBE_EDGES]
    np.testing.assert_allclose(lengths, 2.0)


def test_cube_outline_projects_around_the_centre() -> None:
    com_uvd = np.array([320.0, 240.0, 600.0])
    edges = cube_edges_uv(uvd_to_xyz(com_uvd, NYU_INTRINSICS), 300.0, NYU_INTRINSICS)
    assert edges.shape == (12, 2, 2)
    # The front face (z = 450 mm) spans +-150 mm * fx / 450 around the centre.
    half_front_px = 150.0 * NYU_INTRINSICS.fx / 450.0
    assert edges[..., 0].min() == pytest.approx(320.0 - half_front_px, abs=0.01)
    assert edges[..., 0].max() == pytest.approx(320.0 + half_front_px, abs=0.01)


def test_colourise_depth_marks_invalid_black_and_near_warm() -> None:
    depth = np.array([[0, 300, 1400, 5000]], np.uint16)
    rgb = colourise_depth(depth, 200.0, 1500.0)
    assert rgb.shape == (1, 4, 3) and rgb.dtype == np.uint8
    assert rgb[0, 0].tolist() == [0, 0, 0] and rgb[0, 3].tolist() == [0, 0, 0]
    assert rgb[0, 1, 0] > rgb[0, 1, 2]  # near: red end of turbo
    assert rgb[0, 2, 2] > rgb[0, 2, 0]  # far: blue end


def _frame(k: int = 0) -> Frame:
    depth, rgb, labels = hand_frame(k)
    return Frame(depth, rgb, NYU_INTRINSICS, timestamp_s=k / 30, index=k, joints_uvd=labels)


def test_view_state_from_a_real_pipeline_result(model_path) -> None:
    settings = AppSettings(smoothing=False)
    pipeline = Pipeline(OnnxEstimator(model_path, warmup_runs=0), pipeline_settings(settings))
    result = pipeline.process(_frame())
    state = build_view_state(result, near_mm=200, far_mm=1500, max_points=500)
    assert state.found and state.index == 0
    np.testing.assert_allclose(state.gt_uv, result.frame.joints_uvd[:, :2])  # ground-truth overlay
    np.testing.assert_allclose(state.joints_uv, result.pose.joints_uvd[:, :2])
    np.testing.assert_allclose(state.joints_xyz_mm, result.pose.joints_xyz_mm)
    assert state.depth_rgb.shape == (480, 640, 3)
    assert state.crop_rgb.shape == (128, 128, 3)
    assert state.cube_edges_uv.shape == (12, 2, 2)
    # The cloud is the hand (all at 600 mm), subsampled to the cap, coloured both ways.
    assert len(state.points_xyz_mm) == 500
    np.testing.assert_allclose(state.points_xyz_mm[:, 2], HAND_MM)
    assert state.points_color_rgb.shape == (500, 3) and state.points_depth_rgb.shape == (500, 3)
    assert state.points_color_rgb.tolist()[0] == [220, 170, 140]
    # Per-frame error against the labels equals the mean 3D distance computed by hand.
    gt_xyz = uvd_to_xyz(result.frame.joints_uvd, NYU_INTRINSICS)
    expected = np.linalg.norm(result.pose.joints_xyz_mm - gt_xyz, axis=1).mean()
    assert state.error_mm == pytest.approx(expected)
    # Joints in crop pixels land inside the 128x128 input for a hand at the cube centre.
    assert state.crop_joints_px.shape == (14, 2)


def test_view_state_without_a_hand(model_path) -> None:
    pipeline = Pipeline(OnnxEstimator(model_path, warmup_runs=0))
    empty = Frame(np.zeros((480, 640), np.uint16), None, NYU_INTRINSICS, 0.0, 3)
    state = build_view_state(pipeline.process(empty))
    assert not state.found and state.reason
    assert state.joints_uv is None and state.crop_rgb is None and len(state.points_xyz_mm) == 0


def test_rate_meter_counts_events_per_second() -> None:
    now = [0.0]
    meter = RateMeter(window_s=2.0, clock=lambda: now[0])
    for _ in range(61):
        meter.tick()
        now[0] += 1 / 30
    assert meter.rate_hz == pytest.approx(30.0, rel=0.02)


def test_stage_history_is_bounded() -> None:
    history = StageHistory(length=10)
    for i in range(25):
        history.add(30.0, 5.0, {"infer": float(i)})
    assert len(history.fps) == 10 and len(history.stages_ms["infer"]) == 10
    assert history.median("infer") == pytest.approx(19.5)
    assert np.isnan(history.median("segment"))


def test_gesture_history_collapses_repeats() -> None:
    history = GestureHistory(length=3)
    for g in ["fist", "fist", "point", None, "point", "v_sign", "four"]:
        history.add(g, 0.5)
    assert [g for g, _ in history.entries] == ["four", "v_sign", "point"]


def test_end_to_end_latency_adds_hand_over_and_render() -> None:
    timings = {"capture": 30.0, "segment": 1.0, "crop": 0.5, "infer": 20.0, "post": 0.5, "total": 22.0}
    state = ViewState(0, np.zeros((1, 1, 3), np.uint8), None, found=False, delivered_s=10.0, timings_ms=timings)
    # total (22) + 5 ms from hand-over to render; capture (decoding, pacing) is not latency.
    assert end_to_end_ms(state, 10.005) == pytest.approx(27.0)


def test_joints_projected_by_state_match_geometry(model_path) -> None:
    pipeline = Pipeline(OnnxEstimator(model_path, warmup_runs=0), pipeline_settings(AppSettings(smoothing=False)))
    state = build_view_state(pipeline.process(_frame(2)))
    np.testing.assert_allclose(state.joints_uv, xyz_to_uvd(state.joints_xyz_mm, NYU_INTRINSICS)[:, :2], atol=1e-6)


def test_a_frame_estimator_without_a_crop_still_shows_the_hand_cloud_and_cube() -> None:
    from tests.teacher.fakes import FakeTeacher, hand_from_uvd

    depth, rgb, labels = hand_frame(0)
    frame = Frame(depth, rgb, NYU_INTRINSICS, 0.0, 0)
    result = Pipeline(FakeTeacher(plan=lambda f: [hand_from_uvd(labels, f)])).process(frame)
    assert result.crop is None and result.pose.found
    state = build_view_state(result)
    assert state.crop_rgb is None and state.cube_edges_uv is not None
    assert len(state.points_xyz_mm) > 100
    assert np.all(np.abs(state.points_xyz_mm[:, 2] - HAND_MM) <= 150.0 + 1e-3)


def test_the_app_crops_with_the_models_cube_unless_the_user_overrides_it(tmp_path) -> None:
    """A model trained with a 250 mm cube is cropped at 250 mm in the app, as by `handpose run` (the app used to
    pass its own 300 mm whatever the model said)."""
    from app.runtime import make_pipeline
    from tests.helpers.blob_frames import blob_frame
    from tests.helpers.tiny_models import make_tiny_model, tiny_metadata

    path = make_tiny_model(tmp_path / "cube250.onnx", metadata=tiny_metadata(cube_mm=250.0))
    estimator = OnnxEstimator(path, warmup_runs=0)
    pipeline = make_pipeline(estimator, AppSettings(smoothing=False))
    assert pipeline.process(blob_frame(0)).crop.cube_mm == 250.0
    overridden = make_pipeline(estimator, AppSettings(smoothing=False, cube_override_mm=320.0))
    assert overridden.process(blob_frame(0)).crop.cube_mm == 320.0


@pytest.fixture(scope="module")
def demo_frames() -> list[Frame]:
    """The first frames of the bundled demo sequence (a real hand of the generator, with a body behind it)."""
    source = ReplaySource(DEMO_DIR)
    frames = [source.read() for _ in range(3)]
    source.close()
    return frames


def _nearest_mm(points: np.ndarray, to: np.ndarray) -> np.ndarray:
    """For each of ``points (N, 3)``: the distance (mm) to the nearest of ``to (M, 3)``."""
    return np.sqrt(((points[:, None, :] - to[None, :, :]) ** 2).sum(axis=2)).min(axis=1)


def test_refine_setting_reaches_the_pipeline_and_the_view_state(demo_frames) -> None:
    assert AppSettings().refine and pipeline_settings(AppSettings()).refine  # on by default
    settings = AppSettings(smoothing=False)
    pipeline = Pipeline(OnnxEstimator(default_model(), warmup_runs=0), pipeline_settings(settings))
    fitted = [build_view_state(pipeline.process(f)) for f in demo_frames]
    state = fitted[-1]
    assert state.found and state.fit_status == "ok" and 0.0 < state.fit_residual_mm < 6.0
    assert fit_text(state, True) == f"fit {state.fit_residual_mm:.1f} mm"
    # The fitted model's surface points lie on the hand: every observed hand point has one within a few mm, and the
    # model is a hand with its piece of forearm, not a blob (its points span more than a hand's length).
    fit = state.fit_points_xyz_mm
    assert fit.dtype == np.float32 and fit.shape[1] == 3 and 500 <= len(fit) <= 2000
    hand = state.points_xyz_mm[np.linalg.norm(state.points_xyz_mm - state.com_xyz_mm, axis=1) < 80.0][::10]
    assert np.median(_nearest_mm(hand, fit)) < 8.0
    assert 150.0 < np.ptp(fit, axis=0).max() < 500.0
    # Not asked for: no points (the worker skips the sampling while the model is hidden).
    assert build_view_state(pipeline.process(demo_frames[0]), fit_points=False).fit_points_xyz_mm is None

    settings.refine = False
    update_pipeline(pipeline, settings)  # as the checkbox does while running
    assert pipeline.settings.refine is False
    state = build_view_state(pipeline.process(demo_frames[1]))
    assert state.found and state.fit_status is None and state.fit_residual_mm is None
    assert state.fit_points_xyz_mm is None and fit_text(state, False) == "fit off"


def test_fit_text_says_why_the_network_was_kept() -> None:
    state = ViewState(0, np.zeros((1, 1, 3), np.uint8), None, found=True, fit_status="rejected: residual 8.4 mm",
                      fit_residual_mm=8.4)
    assert fit_text(state, True) == "fit rejected: residual 8.4 mm"
    state.fit_status = None  # a model the fit cannot start from (the RGB teacher)
    assert fit_text(state, True) == "fit –" and fit_text(None, True) == "fit –"


def test_the_apps_network_threads_do_not_spin_between_frames(model_path) -> None:
    # On a few cores the UI, capture and the fit need the time onnxruntime's spinning threads would take.
    from app.runtime import load_model

    option = "session.intra_op.allow_spinning"
    assert load_model(model_path).session.get_session_options().get_session_config_entry(option) == "0"
    with pytest.raises(RuntimeError):  # the command line keeps onnxruntime's default (the entry is not set)
        OnnxEstimator(model_path).session.get_session_options().get_session_config_entry(option)
