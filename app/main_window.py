"""The main window: lays out the views, the controls and the toolbar, and wires them to the worker, the recording,
the snapshots and the Open3D viewer; owns source/model switching and errors.

Errors (a bad directory, a corrupt model, a camera that disappears) are shown in a banner at the top of
the window and in the status bar; the app keeps running and another source or model can be chosen.
"""

from __future__ import annotations

import logging
import time
from pathlib import Path
from typing import Any

from PySide6.QtCore import QPoint, QRect, QSize, Qt, QTimer, Signal
from PySide6.QtGui import QCloseEvent, QPainter, QPixmap
from PySide6.QtWidgets import (
    QApplication,
    QDockWidget,
    QHBoxLayout,
    QLabel,
    QMainWindow,
    QScrollArea,
    QSplitter,
    QVBoxLayout,
    QWidget,
)

from app import runtime, snapshots
from app.controls import ControlPanel
from app.gesture_panel import GesturePanel
from app.open3d_window import Open3DViewer, Open3DWindow
from app.plots import LatencyPlots
from app.recording import Recording
from app.settings_store import SettingsStore
from app.state import RateMeter, StageHistory, ViewState, fit_text
from app.toolbar import ActionBar
from app.view3d import HandView3D
from app.views import CropInset, ImagePanel
from app.worker import TrackerWorker
from inference.core.errors import HandposeError
from inference.formats.recording import Recorder

log = logging.getLogger(__name__)

MIN_SIZE = QSize(1280, 800)
PLOT_INTERVAL_MS = 200  # the plots redraw at 5 Hz: cheap, still live


class MainWindow(QMainWindow):
    """The handpose desktop app.

    Args:
        store: where settings persist.
        source: source spec to open first (None: last used, else :func:`app.runtime.default_source`).
        model: model path (None: last used, else the shipped default).
    """

    frame_shown = Signal(object)  # the ViewState just drawn (tests and --screenshot wait on it)

    def __init__(self, store: SettingsStore, source: str | None = None, model: str | None = None) -> None:
        super().__init__()
        self.setWindowTitle("handpose: 3D hand pose from RGB-D")
        self.store = store
        self.settings = store.load()
        self.source_spec: str | None = None
        self.source_length: int | None = None
        self.model_path: str | None = None
        self.estimator: Any = None
        self.pipeline: Any = None
        self.source: Any = None
        self.last_state: ViewState | None = None
        self.last_error = ""
        self.frames_shown = 0
        self.history = StageHistory()
        self.shown_rate = RateMeter()
        self.worker = TrackerWorker(runtime.make_tracker, self._view_options, self)
        self.worker.result_ready.connect(self._show_result)
        self.worker.failed.connect(self._source_failed)
        self._build_ui()
        geometry = store.load_geometry()
        if geometry:
            self.restoreGeometry(geometry)
        if self.width() < MIN_SIZE.width() or self.height() < MIN_SIZE.height():
            self.resize(MIN_SIZE)
        self._plot_timer = QTimer(self)
        self._plot_timer.timeout.connect(self._refresh_plots)
        self._plot_timer.start(PLOT_INTERVAL_MS)
        self._fill_pickers()
        self.open_model(model or self.settings.model or str(runtime.default_model()))
        self.open_source(source or self.settings.source or runtime.default_source())

    # --- layout -----------------------------------------------------------------------------------

    def _build_ui(self) -> None:
        self.controls = ControlPanel(self.settings)
        scroll = QScrollArea()
        scroll.setWidget(self.controls)
        scroll.setWidgetResizable(True)
        scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        scroll.setMinimumWidth(self.controls.minimumWidth() + 20)
        dock = QDockWidget("Controls")
        dock.setObjectName("controls")
        dock.setFeatures(QDockWidget.DockWidgetFeature.DockWidgetMovable)
        dock.setWidget(scroll)
        self.addDockWidget(Qt.DockWidgetArea.LeftDockWidgetArea, dock)

        self.banner = QLabel()
        self.banner.setWordWrap(True)
        self.banner.setStyleSheet("background: #8b1e1e; color: white; padding: 6px; font-weight: bold;")
        self.banner.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.banner.hide()

        self.images = ImagePanel()
        self.images.show_ground_truth = self.settings.show_ground_truth
        self.images.set_mode(self.settings.image_mode)
        self.crop_inset = CropInset()
        self.gestures = GesturePanel()
        side = QWidget()
        side.setFixedWidth(200)
        side_layout = QVBoxLayout(side)
        side_layout.setContentsMargins(0, 0, 0, 0)
        side_layout.addWidget(self.crop_inset, 0, Qt.AlignmentFlag.AlignHCenter)
        side_layout.addWidget(self.gestures, 1)
        top = QWidget()
        top_layout = QHBoxLayout(top)
        top_layout.setContentsMargins(0, 0, 0, 0)
        top_layout.addWidget(self.images, 1)
        top_layout.addWidget(side)

        self.view3d = HandView3D()
        self.view3d.colour_mode = self.settings.cloud_colour
        self.view3d.show_fit = self.settings.show_fit
        self.plots = LatencyPlots()
        bottom = QSplitter(Qt.Orientation.Horizontal)
        bottom.addWidget(self.view3d)
        bottom.addWidget(self.plots)
        bottom.setSizes([500, 500])
        bottom.setChildrenCollapsible(False)
        split = QSplitter(Qt.Orientation.Vertical)
        split.addWidget(top)
        split.addWidget(bottom)
        split.setStretchFactor(0, 3)
        split.setStretchFactor(1, 2)
        split.setSizes([580, 420])  # scaled to the window: the 2D images get the larger share
        split.setChildrenCollapsible(False)
        central = QWidget()
        central_layout = QVBoxLayout(central)
        central_layout.setContentsMargins(4, 4, 4, 4)
        central_layout.addWidget(self.banner)
        central_layout.addWidget(split, 1)
        self.setCentralWidget(central)

        self._build_toolbar()
        self._build_status_bar()
        c = self.controls
        c.source_requested.connect(self.open_source)
        c.model_requested.connect(self.open_model)
        c.refresh_button.clicked.connect(self._fill_pickers)
        c.settings_changed.connect(self._apply_pipeline_settings)
        c.view_options_changed.connect(self._apply_view_options)
        c.pause_toggled.connect(self.set_paused)
        c.step_requested.connect(self.step)
        c.seek_requested.connect(self.seek)

    def _build_toolbar(self) -> None:
        """The toolbar and what its actions drive: the Open3D viewer, the snapshots and the recording."""
        self.toolbar = ActionBar(self)
        self.addToolBar(self.toolbar)
        self.open3d_action = self.toolbar.open3d_action
        self.record_action = self.toolbar.record_action
        self.open3d_viewer = Open3DViewer(self)
        self.open3d_viewer.closed.connect(lambda: self.open3d_action.setChecked(False))
        self.recording = Recording(self.worker, self.statusBar().showMessage, self.show_error,
                                   self.toolbar.show_recording)
        self.toolbar.open3d_toggled.connect(self.set_open3d_visible)
        self.toolbar.ply_requested.connect(self.export_ply)
        self.toolbar.screenshot_requested.connect(self._screenshot_requested)
        self.toolbar.record_requested.connect(self.start_recording)
        self.toolbar.record_stop_requested.connect(self.recording.stop)

    def _build_status_bar(self) -> None:
        self.status_labels = {key: QLabel() for key in ("source", "model", "provider", "fps", "latency", "fit")}
        for key, label in self.status_labels.items():
            label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
            self.statusBar().addPermanentWidget(label, 3 if key == "source" else 1)
        self._update_status()

    # --- source and model ---------------------------------------------------------------------------

    def _fill_pickers(self) -> None:
        self.controls.set_sources(runtime.source_choices(), self.source_spec)
        self.controls.set_models(runtime.model_choices(), self.model_path)

    def open_source(self, spec: str) -> bool:
        """Switch to the source ``spec``. On failure the banner says why and the previous source keeps running."""
        try:
            source = runtime.play_source(spec)
        except HandposeError as exc:
            self.show_error(f"Cannot open source {spec}: {exc}")
            return False
        self.source_spec = spec
        self.source = source
        self.source_length = runtime.seekable_length(source)
        self.controls.select_source(spec)
        self.controls.set_replay_length(self.source_length)
        self.settings.source = spec
        self._restart()
        return True

    def open_model(self, path: str) -> bool:
        """Load the model at ``path``. On failure the banner says why and the previous model stays in use."""
        QApplication.setOverrideCursor(Qt.CursorShape.WaitCursor)
        try:
            estimator = runtime.load_model(path)
        except HandposeError as exc:
            self.show_error(f"Cannot load model: {exc}")
            if self.model_path:
                self.controls.select_model(self.model_path)
            return False
        finally:
            QApplication.restoreOverrideCursor()
        self.estimator = estimator
        self.controls.show_model_cube(estimator.metadata.cube_mm)
        self.model_path = str(path)
        self.controls.select_model(self.model_path)
        self.settings.model = self.model_path
        if self.source_spec is not None:
            # A fresh source from the same spec (the tracker closed the old one), at the same replay position.
            position = self.last_state.index if self.last_state is not None else None
            if position is not None and self.source_length:
                self.seek(min(position, self.source_length - 1))
            else:
                self.open_source(self.source_spec)
        return True

    def _restart(self, paused: bool = False) -> None:
        """(Re)start the worker on the current source with a pipeline for the current model and settings."""
        self.worker.stop()
        self.recording.stop()
        if self.estimator is None or self.source is None:
            self._update_status()
            return
        self.clear_error()
        try:
            self.pipeline = runtime.make_pipeline(self.estimator, self.controls.read_settings(self.settings),
                                                  self.source)
        except HandposeError as exc:  # e.g. the teacher on a depth-only source: say so, run nothing
            self.show_error(str(exc))
            self._update_status()
            return
        self.history = StageHistory()
        self.worker.start(self.source, self.pipeline, paused=paused)
        blocked = self.controls.pause_button.blockSignals(True)
        self.controls.pause_button.setChecked(paused)
        self.controls.pause_button.setText("Resume" if paused else "Pause")
        self.controls.pause_button.blockSignals(blocked)
        self._update_status()

    # --- transport ------------------------------------------------------------------------------------

    def set_paused(self, paused: bool) -> None:
        (self.worker.pause if paused else self.worker.resume)()
        if self.controls.pause_button.isChecked() != paused:
            self.controls.pause_button.setChecked(paused)

    def step(self) -> None:
        """Process exactly one more frame (pauses first)."""
        self.set_paused(True)
        self.worker.step()

    def seek(self, index: int) -> None:
        """Jump a replay to frame position ``index``; while paused, show that frame.

        The tracker reads ahead, so a seek restarts it on a fresh source positioned at ``index``.
        """
        if self.source_spec is None or not self.source_length:
            return
        paused = self.controls.pause_button.isChecked()
        try:
            source = runtime.play_source(self.source_spec)
            source.seek(index)
        except HandposeError as exc:
            self.show_error(str(exc))
            return
        self.source = source
        self._restart(paused=paused)
        if paused:
            self.worker.step()

    # --- results ----------------------------------------------------------------------------------

    def _view_options(self) -> dict[str, Any]:
        s = self.settings  # read from the worker thread: plain attributes, set by the UI thread
        return {"near_mm": s.near_mm, "far_mm": s.far_mm, "fit_points": s.refine and s.show_fit}

    def _show_result(self, state: ViewState) -> None:
        t0 = time.perf_counter()
        self.images.show_state(state)
        self.crop_inset.show_state(state)
        self.gestures.show_state(state)
        if self.view3d.isVisible():
            self.view3d.show_state(state)
        self.open3d_viewer.show_state(state, self.settings.cloud_colour)
        done = time.perf_counter()
        state.timings_ms["render"] = (done - t0) * 1000.0
        self.shown_rate.tick()
        self.history.add(self.worker.processed_rate.rate_hz, runtime.end_to_end_ms(state, done), state.timings_ms)
        self.last_state = state
        self.frames_shown += 1
        self.controls.show_position(runtime.position_of(self.source, state.index), self.source_length)
        self.recording.check()
        self._update_status()
        self.frame_shown.emit(state)

    def _refresh_plots(self) -> None:
        if self.plots.isVisible() and self.history.fps:
            self.plots.update_from(self.history)

    def _update_status(self) -> None:
        labels = self.status_labels
        source = runtime.display_text(self.source.description) if self.source is not None else "none"
        labels["source"].setText(f"Source: {source}")
        labels["model"].setText(f"Model: {Path(self.model_path).name if self.model_path else 'none'}")
        provider = getattr(self.estimator, "provider", "") or "–"
        labels["provider"].setText(f"EP: {provider.removesuffix('ExecutionProvider')}")
        labels["fps"].setText(f"{self.worker.processed_rate.rate_hz:5.1f} FPS (shown {self.shown_rate.rate_hz:.0f})")
        latency = self.history.latency_ms[-1] if self.history.latency_ms else float("nan")
        labels["latency"].setText(f"latency {latency:5.1f} ms" if latency == latency else "latency –")
        labels["fit"].setText(fit_text(self.last_state, self.settings.refine))

    # --- errors -----------------------------------------------------------------------------------

    def show_error(self, message: str) -> None:
        """Show ``message`` in the banner and the status bar (the app keeps running)."""
        log.error("%s", message)
        self.last_error = message
        self.banner.setText(message)
        self.banner.show()
        self.statusBar().showMessage(message, 10000)

    def clear_error(self) -> None:
        self.last_error = ""
        self.banner.hide()

    def _source_failed(self, message: str, fatal: bool) -> None:
        if not fatal:  # one unreadable frame: skipped, tracking goes on
            self.statusBar().showMessage(f"skipped a frame: {message}", 5000)
            return
        self.show_error(f"Source stopped: {message}. Pick another source (or reconnect and Refresh cameras).")
        self.worker.stop()
        self.recording.stop()

    # --- views / settings -------------------------------------------------------------------------------

    def _apply_pipeline_settings(self) -> None:
        self.controls.read_settings(self.settings)
        if self.pipeline is not None:
            runtime.update_pipeline(self.pipeline, self.settings)
        self._update_status()

    def _apply_view_options(self) -> None:
        s = self.controls.read_settings(self.settings)
        self.images.show_ground_truth = s.show_ground_truth
        self.images.set_mode(s.image_mode)
        self.view3d.colour_mode = s.cloud_colour
        self.view3d.show_fit = s.show_fit
        if self.last_state is not None:
            self.images.show_state(self.last_state)
            self.view3d.show_state(self.last_state)

    # --- Open3D, PLY, screenshot, recording: thin doors to app.open3d_window, app.snapshots, app.recording -------

    @property
    def open3d(self) -> Open3DWindow | None:
        """The Open3D window while one was opened (and not yet closed from the toolbar)."""
        return self.open3d_viewer.window

    def set_open3d_visible(self, visible: bool) -> None:
        try:
            self.open3d_viewer.set_visible(visible, self.last_state, self.settings.cloud_colour)
        except HandposeError as exc:
            self.show_error(str(exc))
            self.open3d_action.setChecked(False)

    def export_ply(self, path: str | Path) -> Path | None:
        """Write the current hand point cloud (mm, camera space) to ``path``."""
        try:
            out = snapshots.export_cloud(self.last_state, path, self.settings.cloud_colour)
        except HandposeError as exc:
            self.show_error(str(exc))
            return None
        self.statusBar().showMessage(f"wrote {out}", 5000)
        return out

    def save_screenshot(self, path: str | Path) -> Path:
        """Grab the whole window (including the GL view) to a PNG."""
        return snapshots.save_screenshot(self, path)

    def grab(self, *args: object) -> QPixmap:
        """The window's pixels, the 3D view's drawn in: it is a window of its own (app.view3d), which a widget grab
        leaves blank. With arguments (a part of the window), Qt's grab as is."""
        pixmap = super().grab(*args)
        if args or not self.view3d.isVisible():
            return pixmap
        painter = QPainter(pixmap)
        painter.drawImage(QRect(self.view3d.mapTo(self, QPoint(0, 0)), self.view3d.size()), self.view3d.grab_image())
        painter.end()
        return pixmap

    def _screenshot_requested(self, path: str) -> None:
        try:
            self.statusBar().showMessage(f"wrote {self.save_screenshot(path)}", 5000)
        except HandposeError as exc:
            self.show_error(str(exc))

    @property
    def recorder(self) -> Recorder | None:
        """The running :class:`inference.formats.recording.Recorder`, or None."""
        return self.recording.recorder

    def start_recording(self, directory: str | Path) -> bool:
        """Record every processed frame with its pose to ``directory`` (NYU format + poses.jsonl)."""
        return self.recording.start(directory, live=bool(getattr(self.source, "live", False)))

    # --- shutdown -------------------------------------------------------------------------------------

    def shutdown(self) -> None:
        """Stop everything and persist the settings (idempotent)."""
        self.worker.stop()
        self.recording.stop()
        self.open3d_viewer.set_visible(False)
        self.store.save(self.controls.read_settings(self.settings))
        self.store.save_geometry(bytes(self.saveGeometry()))

    def closeEvent(self, event: QCloseEvent) -> None:
        self.shutdown()
        super().closeEvent(event)

