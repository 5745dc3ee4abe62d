"""The main window under a real X display with GLX (Xvfb): replay, drawing, transport, switching, errors.

Run: xvfb-run -a -s "-screen 0 1920x1080x24 +extension GLX" .venv/bin/pytest tests/app -q
"""

from __future__ import annotations

import numpy as np
import pytest
from PySide6.QtCore import QPoint
from PySide6.QtGui import QImage

from inference.core.errors import SourceError
from inference.core.frame import Frame
from inference.core.geometry import NYU_INTRINSICS
from inference.core.skeleton import BONES, FINGER_COLOURS
from inference.sources.base import FrameSource
from tests.app.scenes import hand_frame
from tests.helpers.tiny_models import make_corrupt_model

pytestmark = pytest.mark.gui

TIMEOUT_MS = 15000


def wait_frames(qtbot, window, n: int = 3) -> None:
    """Wait until ``n`` more frames were drawn."""
    start = window.frames_shown
    qtbot.waitUntil(lambda: window.frames_shown >= start + n, timeout=TIMEOUT_MS)


def pause_and_settle(qtbot, window) -> None:
    """Pause and wait until the frame in flight (if any) is processed and its result delivered: a count that
    merely stopped changing for a while is not enough on a loaded machine, where one frame can take longer."""
    window.set_paused(True)
    qtbot.waitUntil(lambda: not window.worker.tracker.in_flight, timeout=TIMEOUT_MS)
    qtbot.waitUntil(lambda: not window.worker.has_pending(), timeout=TIMEOUT_MS)


def test_window_opens_on_a_replay_and_frames_advance(qtbot, window, replay_dir) -> None:
    assert window.width() >= 1280 and window.height() >= 800
    wait_frames(qtbot, window, 3)
    first = window.last_state.index
    qtbot.waitUntil(lambda: window.last_state.index != first, timeout=TIMEOUT_MS)
    assert window.last_state.found
    labels = {k: v.text() for k, v in window.status_labels.items()}
    assert str(replay_dir) in labels["source"]
    assert "tiny_depth.onnx" in labels["model"]
    assert "CPU" in labels["provider"]
    assert "FPS" in labels["fps"] and "latency" in labels["latency"]
    assert not window.banner.isVisible()


def _bone_pixels_match(image, canvas, uv: np.ndarray, parent: int, child: int, colour, offset_px: float = 0.0):
    """Fraction of samples along the bone (in widget pixels, ends excluded) whose colour is ``colour``."""
    p0 = canvas.image_to_widget(*uv[parent])
    p1 = canvas.image_to_widget(*uv[child])
    a, b = np.array([p0.x(), p0.y()]), np.array([p1.x(), p1.y()])
    length = np.linalg.norm(b - a)
    normal = np.array([-(b - a)[1], (b - a)[0]]) / length
    dpr = image.devicePixelRatio()
    hits = 0
    samples = np.linspace(0.3, 0.7, 9)
    for t in samples:
        x, y = (a + t * (b - a) + offset_px * normal) * dpr
        c = image.pixelColor(round(x), round(y))
        hits += all(abs(got - want) <= 40 for got, want in zip((c.red(), c.green(), c.blue()), colour, strict=True))
    return hits / len(samples)


def test_skeleton_is_drawn_where_the_model_put_it(qtbot, window) -> None:
    from app import runtime

    # Without the fit's track (and smoothing, off in the test settings) a frame's joints depend on that frame only.
    window.controls.refine_check.setChecked(False)
    wait_frames(qtbot, window, 3)
    pause_and_settle(qtbot, window)
    state = window.last_state
    assert state.found and window.settings.refine is False
    # The joints drawn are what the model gives for that frame.
    depth, rgb, labels = hand_frame(state.index)
    frame = Frame(depth, rgb, NYU_INTRINSICS, state.index / 30, state.index, labels)
    pipeline = runtime.make_pipeline(window.estimator, window.settings)
    np.testing.assert_allclose(state.joints_uv, pipeline.process(frame).pose.joints_uvd[:, :2], atol=1e-6)
    canvas = window.images.depth
    window.images.show_ground_truth = False  # only the predicted skeleton over the image
    window.images.show_state(state)
    image = canvas.grab().toImage()
    uv = state.joints_uv
    # The longest bone is the easiest to sample without crossing another one.
    bones = sorted(BONES, key=lambda b: -np.linalg.norm(uv[b[0]] - uv[b[1]]))
    parent, child, finger = bones[0]
    assert np.linalg.norm(uv[parent] - uv[child]) * canvas.image_transform().m11() > 15, "bone too short to test"
    assert _bone_pixels_match(image, canvas, uv, parent, child, FINGER_COLOURS[finger]) >= 0.7
    # Control: 12 px beside the bone the finger colour is (mostly) absent.
    assert _bone_pixels_match(image, canvas, uv, parent, child, FINGER_COLOURS[finger], offset_px=12) < 0.5


def test_pause_and_step(qtbot, window) -> None:
    wait_frames(qtbot, window, 2)
    pause_and_settle(qtbot, window)
    processed = window.worker.processed
    index = window.last_state.index
    window.step()
    qtbot.waitUntil(lambda: window.worker.processed == processed + 1, timeout=TIMEOUT_MS)
    qtbot.waitUntil(lambda: window.last_state.index != index, timeout=TIMEOUT_MS)
    assert window.last_state.index == (index + 1) % window.source_length
    qtbot.wait(400)
    assert window.worker.processed == processed + 1  # paused: nothing more
    window.set_paused(False)
    wait_frames(qtbot, window, 3)


def test_seek_while_paused_shows_that_frame(qtbot, window) -> None:
    wait_frames(qtbot, window, 1)
    window.set_paused(True)
    window.seek(7)
    qtbot.waitUntil(lambda: window.last_state.index == 7, timeout=TIMEOUT_MS)
    assert window.controls.frame_label.text().startswith("frame 8 / 12")


def test_position_counts_readable_frames_when_one_is_missing(qtbot, window, other_replay_dir, tmp_path) -> None:
    import shutil

    gappy = shutil.copytree(other_replay_dir, tmp_path / "gappy")
    for name in ("depth_1_0000003.png", "rgb_1_0000003.png"):
        (gappy / name).unlink()  # frames 1, 2, 4, 5 remain: positions 0..3
    assert window.open_source(f"replay:{gappy}")
    wait_frames(qtbot, window, 1)
    window.set_paused(True)
    window.seek(3)
    qtbot.waitUntil(lambda: window.last_state.index == 4, timeout=TIMEOUT_MS)  # frame number 5
    assert window.controls.frame_label.text() == "frame 4 / 4"
    assert window.controls.seek_slider.value() == 3


def test_a_realsense_recording_plays_in_real_time_and_loops(qtbot, window, recording) -> None:
    from tests.sources.conftest import FIRST_NUMBER, N_RECORDED

    assert window.open_source(f"bag:{recording}")  # the real SDK player, as the app opens recordings
    def from_the_recording() -> bool:  # the replay the window opened with has indices < FIRST_NUMBER
        return window.last_state is not None and window.last_state.index >= FIRST_NUMBER

    qtbot.waitUntil(from_the_recording, timeout=TIMEOUT_MS)
    seen: set[int] = set()
    qtbot.waitUntil(lambda: seen.add(window.last_state.index) or len(seen) >= 3, timeout=TIMEOUT_MS)
    wait_frames(qtbot, window, N_RECORDED + 2)  # past the end: the app loops recordings
    assert seen <= set(range(FIRST_NUMBER, FIRST_NUMBER + N_RECORDED))
    assert f"bag:{recording}" in window.status_labels["source"].text()
    assert window.source_length is None and not window.banner.isVisible()


@pytest.mark.slow  # two restarts and a second model: ~3-5 s on 2 busy cores
def test_switching_sources_and_models(qtbot, window, other_replay_dir, rgbd_model_path) -> None:
    wait_frames(qtbot, window, 2)
    assert window.open_source(f"replay:{other_replay_dir}")
    wait_frames(qtbot, window, 6)
    assert str(other_replay_dir) in window.status_labels["source"].text()
    assert window.source_length == 5 and window.last_state.index < 5
    assert window.open_model(str(rgbd_model_path))
    wait_frames(qtbot, window, 3)
    assert "tiny_rgbd.onnx" in window.status_labels["model"].text()
    assert window.estimator.metadata.input_layout == "rgbd"
    assert window.last_state.found


def test_bad_directory_shows_a_message_and_keeps_running(qtbot, window, tmp_path, replay_dir) -> None:
    wait_frames(qtbot, window, 2)
    missing = tmp_path / "no_such_dir"
    assert not window.open_source(f"replay:{missing}")
    assert window.banner.isVisible() and str(missing) in window.banner.text()
    wait_frames(qtbot, window, 3)  # the previous replay keeps going
    empty = tmp_path / "empty"
    empty.mkdir()
    assert not window.open_source(f"replay:{empty}")
    assert "no NYU depth frames" in window.banner.text()
    assert window.open_source(f"replay:{replay_dir}")
    wait_frames(qtbot, window, 2)
    assert not window.banner.isVisible()


def test_corrupt_model_shows_a_message_and_keeps_the_old_one(qtbot, window, tmp_path) -> None:
    wait_frames(qtbot, window, 2)
    bad = make_corrupt_model(tmp_path / "broken.onnx")
    assert not window.open_model(str(bad))
    assert window.banner.isVisible() and "broken.onnx" in window.banner.text()
    assert "tiny_depth.onnx" in window.status_labels["model"].text()
    wait_frames(qtbot, window, 3)


class UnpluggedCamera(FrameSource):
    """A live source that delivers a few frames and then fails like an unplugged camera."""

    live = True

    def __init__(self, frames: int = 5) -> None:
        self.frames, self.delivered, self.closed = frames, 0, False

    @property
    def description(self) -> str:
        return "fake camera"

    @property
    def intrinsics(self):
        return NYU_INTRINSICS

    def read(self):
        if self.delivered >= self.frames:
            raise SourceError("RealSense 123: device disconnected (no frames for 1000 ms)")
        depth, rgb, _ = hand_frame(self.delivered)
        self.delivered += 1
        return Frame(depth, rgb, NYU_INTRINSICS, self.delivered / 30, self.delivered - 1)

    def close(self) -> None:
        self.closed = True


def test_camera_that_disappears(qtbot, window, monkeypatch, replay_dir) -> None:
    from app import runtime

    camera = UnpluggedCamera()
    real_open = runtime.play_source
    monkeypatch.setattr(runtime, "play_source", lambda spec: camera if spec == "fake:cam" else real_open(spec))
    assert window.open_source("fake:cam")
    qtbot.waitUntil(lambda: window.banner.isVisible(), timeout=TIMEOUT_MS)
    assert "device disconnected" in window.banner.text()
    assert camera.closed
    assert window.open_source(f"replay:{replay_dir}")  # switch to another source: works
    wait_frames(qtbot, window, 3)
    assert not window.banner.isVisible()


def test_settings_persist_in_the_given_file(qtbot, window, settings_path) -> None:
    from app.settings_store import SettingsStore
    from tests.app.conftest import _open_window

    assert window.pipeline.settings.refine  # on by default
    assert window.controls.cube_model_check.isChecked() and window.controls.cube_spin.value() == 300  # the model's
    window.controls.cube_model_check.setChecked(False)
    window.controls.cube_spin.setValue(250)
    window.controls.gt_check.setChecked(False)
    window.controls.fit_check.setChecked(False)
    window.controls.refine_check.setChecked(False)
    qtbot.waitUntil(lambda: window.pipeline.cube_mm == 250, timeout=TIMEOUT_MS)
    assert window.pipeline.settings.refine is False
    window.shutdown()
    loaded = SettingsStore(settings_path).load()
    assert loaded.cube_override_mm == 250 and loaded.show_ground_truth is False
    assert loaded.refine is False and loaded.show_fit is False
    assert loaded.model.endswith("tiny_depth.onnx") and loaded.source.startswith("replay:")
    # The next session starts with them: boxes unticked, the pipeline without the fit.
    again = _open_window(qtbot, settings_path, loaded.source, loaded.model)
    try:
        assert not again.controls.refine_check.isChecked() and not again.controls.fit_check.isChecked()
        assert again.pipeline.settings.refine is False
        wait_frames(qtbot, again, 2)
        assert again.last_state.fit_status is None and again.status_labels["fit"].text() == "fit off"
    finally:
        again.shutdown()  # qtbot closes it


def _magenta_pixels(view) -> int:
    """Pixels of the 3D view in the fitted model's colour (neither the turbo depth map, the grid nor a finger's)."""
    return _magenta_pixels_of(view.grab_image())


def _magenta_pixels_of(image: QImage) -> int:
    from app.view3d import FIT_RGB

    image = image.convertToFormat(QImage.Format.Format_RGB888)
    pixels = np.frombuffer(image.constBits(), np.uint8).reshape(image.height(), image.bytesPerLine())
    rgb = pixels[:, : image.width() * 3].reshape(image.height(), image.width(), 3).astype(int)
    return int((np.abs(rgb - np.array(FIT_RGB)).max(axis=2) <= 40).sum())


def test_refinement_fits_draws_the_model_and_toggles_live(qtbot, demo_window) -> None:
    from app.view3d import camera_to_gl

    w = demo_window
    qtbot.waitUntil(lambda: w.last_state is not None and w.last_state.fit_status == "ok", timeout=TIMEOUT_MS)
    pause_and_settle(qtbot, w)
    state = w.last_state
    # The residual is in the status line, the fit stage in the latency breakdown.
    assert state.fit_status == "ok" and w.status_labels["fit"].text() == f"fit {state.fit_residual_mm:.1f} mm"
    assert state.timings_ms["fit"] > 0 and w.history.median("fit") > 0 and "fit" in w.plots.legend.text()
    # The fitted model is in the 3D view's data, where the view puts camera-space points, and on its pixels.
    view, scene = w.view3d, w.view3d.scene
    assert scene.fit.visible() and len(state.fit_points_xyz_mm) > 500
    np.testing.assert_allclose(scene.fit.pos, camera_to_gl(state.fit_points_xyz_mm, state.com_xyz_mm))
    assert _magenta_pixels(view) > 100
    w.controls.fit_check.setChecked(False)  # hidden at once, on the frame shown
    assert not scene.fit.visible()
    # Nothing of the model is drawn: the view looks exactly as without the item (some frames have a few pixels of
    # blended finger colours near the model's magenta, so the reference is the same frame, not zero).
    hidden = _magenta_pixels(view)
    scene.removeItem(scene.fit)
    without = _magenta_pixels(view)
    scene.addItem(scene.fit)
    assert hidden == without
    w.controls.fit_check.setChecked(True)
    assert scene.fit.visible()

    # Refinement off while running: the next frames come without a fit.
    w.set_paused(False)
    w.controls.refine_check.setChecked(False)
    assert w.pipeline.settings.refine is False and w.status_labels["fit"].text() == "fit off"
    qtbot.waitUntil(lambda: w.last_state.fit_status is None, timeout=TIMEOUT_MS)
    shown: list = []
    w.frame_shown.connect(shown.append)
    wait_frames(qtbot, w, 3)
    assert all(s.found and s.fit_status is None and s.fit_residual_mm is None for s in shown)
    assert all(s.fit_points_xyz_mm is None for s in shown) and not scene.fit.visible()
    # ... and on again.
    w.controls.refine_check.setChecked(True)
    qtbot.waitUntil(lambda: w.last_state.fit_status == "ok" and scene.fit.visible(), timeout=TIMEOUT_MS)


@pytest.mark.slow  # importing Open3D alone takes ~3 s here
def test_open3d_window_opens_updates_and_closes(qtbot, window, tmp_path) -> None:
    import open3d as o3d

    wait_frames(qtbot, window, 2)
    window.open3d_action.setChecked(True)
    o3d_window = window.open3d
    assert o3d_window is not None and o3d_window.is_open
    qtbot.waitUntil(lambda: o3d_window.frames_shown >= 3, timeout=TIMEOUT_MS)
    image = o3d_window.capture()
    assert image.ndim == 3 and image.shape[2] == 3
    background = np.array([0.07, 0.07, 0.09])
    assert (np.abs(image - background).sum(axis=2) > 0.1).mean() > 0.001  # the cloud is drawn
    ply = window.export_ply(tmp_path / "hand.ply")
    cloud = o3d.io.read_point_cloud(str(ply))
    assert len(cloud.points) == len(window.last_state.points_xyz_mm) > 100
    window.open3d_action.setChecked(False)
    assert not o3d_window.is_open and window.open3d is None
    wait_frames(qtbot, window, 2)  # the app carries on


def test_screenshot_of_the_whole_window(qtbot, window, tmp_path) -> None:
    wait_frames(qtbot, window, 3)
    path = window.save_screenshot(tmp_path / "shot.png")
    from PySide6.QtGui import QImage

    image = QImage(str(path))
    assert image.width() >= 1280 and image.height() >= 800


def test_record_writes_a_replayable_sequence(qtbot, window, tmp_path) -> None:
    from inference.sources.replay import ReplaySource

    out = tmp_path / "rec"
    wait_frames(qtbot, window, 1)
    assert window.start_recording(out)
    qtbot.waitUntil(lambda: window.recorder.stats.captured >= 5, timeout=TIMEOUT_MS)
    recorder = window.recorder
    window.record_action.setChecked(False)  # the toolbar toggle stops and flushes
    assert window.recorder is None
    stats = recorder.stats
    assert stats.written == stats.captured >= 5 and stats.dropped == 0
    assert len(ReplaySource(out)) == stats.written
    assert (out / "poses.jsonl").read_text().count("\n") == stats.written


def test_the_toolbar_records_and_saves_a_screenshot_through_its_dialogs(qtbot, window, monkeypatch, tmp_path) -> None:
    from PySide6.QtWidgets import QFileDialog

    from inference.sources.replay import ReplaySource

    out = tmp_path / "rec"
    monkeypatch.setattr(QFileDialog, "getExistingDirectory", lambda *a, **k: str(out))
    monkeypatch.setattr(QFileDialog, "getSaveFileName", lambda *a, **k: (str(tmp_path / "shot.png"), "PNG (*.png)"))
    wait_frames(qtbot, window, 1)
    window.record_action.setChecked(True)
    assert window.recorder is not None and window.worker.recorder is window.recorder
    qtbot.waitUntil(lambda: window.recorder.stats.captured >= 3, timeout=TIMEOUT_MS)
    window.toolbar.screenshot_action.trigger()
    assert QImage(str(tmp_path / "shot.png")).width() >= 1280
    window.record_action.setChecked(False)
    assert window.recorder is None and window.worker.recorder is None
    assert window.statusBar().currentMessage().startswith("recorded ") and len(ReplaySource(out)) >= 3
    # A directory that already holds a recording: the banner says so and the button springs back.
    window.record_action.setChecked(True)
    assert window.recorder is None and not window.record_action.isChecked()
    assert window.banner.isVisible() and "already holds NYU frames" in window.banner.text()


def test_a_frame_level_model_runs_and_refuses_a_depth_only_source(qtbot, window, monkeypatch, tmp_path) -> None:
    from app import runtime
    from inference.formats.nyu_io import NyuWriter
    from tests.teacher.fakes import FakeTeacher

    load = runtime.load_model
    monkeypatch.setattr(runtime, "load_model", lambda path: FakeTeacher() if path == "fake" else load(path))
    wait_frames(qtbot, window, 2)
    assert window.open_model("fake")
    wait_frames(qtbot, window, 3)
    state = window.last_state
    assert state.found and state.crop_rgb is None and len(state.points_xyz_mm) > 0  # hand cloud without a crop
    with NyuWriter(tmp_path / "depth_only") as writer:
        for k in range(3):
            writer.write(k + 1, hand_frame(k)[0])
    window.open_source(f"replay:{tmp_path / 'depth_only'}")
    assert window.banner.isVisible() and "has no colour images" in window.banner.text()
    assert window.worker.tracker is None  # nothing runs on it


def test_a_screenshot_holds_the_3d_views_pixels(qtbot, demo_window, tmp_path) -> None:
    # The 3D view is a window of its own inside the main window; a plain widget grab leaves its area blank.
    w = demo_window
    qtbot.waitUntil(lambda: w.last_state is not None and w.last_state.fit_status == "ok", timeout=TIMEOUT_MS)
    pause_and_settle(qtbot, w)
    shot = QImage(str(w.save_screenshot(tmp_path / "shot.png"))).convertToFormat(QImage.Format.Format_RGB888)
    corner = w.view3d.mapTo(w, QPoint(0, 0))
    area = shot.copy(corner.x(), corner.y(), w.view3d.width(), w.view3d.height())
    view = w.view3d.grab_image().convertToFormat(QImage.Format.Format_RGB888).scaled(area.size())
    assert area == view and _magenta_pixels_of(area) > 100
