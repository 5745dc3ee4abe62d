"""The control panel: source and model pickers, pipeline parameters, replay transport and view options.

The panel only emits intentions (signals carrying plain values); the main window acts on them. It never
touches the tracker, so it can be driven and tested on its own.
"""

from __future__ import annotations

import json
from pathlib import Path

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDoubleSpinBox,
    QFileDialog,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QPlainTextEdit,
    QPushButton,
    QSlider,
    QVBoxLayout,
    QWidget,
)

from app.settings import AppSettings
from inference.teacher.estimator import is_teacher_model


def model_card_text(model_path: str | Path) -> str:
    """The model card beside ``model.onnx`` (``model.json`` pretty-printed, else ``model.md``), or a note."""
    if is_teacher_model(model_path):
        return TEACHER_CARD
    path = Path(model_path)
    card_json, card_md = path.with_suffix(".json"), path.with_suffix(".md")
    if card_json.is_file():
        try:
            return json.dumps(json.loads(card_json.read_text()), indent=2)
        except (OSError, ValueError) as exc:
            return f"{card_json.name}: unreadable model card ({exc})"
    if card_md.is_file():
        return card_md.read_text(errors="replace")
    return f"no model card ({card_json.name}) beside {path.name}"


TEACHER_CARD = (
    "RGB teacher: MediaPipe Hands 0.10.14 landmarks on the colour image, lifted to 3D with the aligned depth and "
    "mapped to the 14 NYU joints (inference/teacher). mediapipe = lite landmark model (live use), "
    "mediapipe-full = full model. Needs a source with colour. With Refine on, the hand model is fitted after it "
    "(its 2D landmarks a term of the fit) and places the joints the teacher is unsure of. Accuracy and speed: "
    "docs/teacher.md."
)


def _spin(low: float, high: float, step: float, decimals: int, suffix: str) -> QDoubleSpinBox:
    box = QDoubleSpinBox()
    box.setRange(low, high)
    box.setSingleStep(step)
    box.setDecimals(decimals)
    box.setSuffix(suffix)
    box.setKeyboardTracking(False)  # emit on Enter / arrows, not on every keystroke
    return box


class ControlPanel(QWidget):
    """Left-hand controls. Signals carry source specs (``replay:DIR`` ...), model paths or settings."""

    source_requested = Signal(str)
    model_requested = Signal(str)
    settings_changed = Signal()
    pause_toggled = Signal(bool)
    step_requested = Signal()
    seek_requested = Signal(int)
    view_options_changed = Signal()

    def __init__(self, settings: AppSettings, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setMinimumWidth(270)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addWidget(self._source_group())
        layout.addWidget(self._model_group())
        layout.addWidget(self._pipeline_group(settings))
        layout.addWidget(self._replay_group())
        layout.addWidget(self._view_group(settings))
        layout.addStretch(1)

    # --- groups -------------------------------------------------------------------------------------

    def _source_group(self) -> QGroupBox:
        box = QGroupBox("Source")
        lay = QVBoxLayout(box)
        self.source_combo = QComboBox()
        self.source_combo.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
        self.source_combo.setMinimumContentsLength(18)
        self.source_combo.activated.connect(lambda _i: self._emit_source())
        lay.addWidget(self.source_combo)
        row = QHBoxLayout()
        self.open_dir_button = QPushButton("NYU folder…")
        self.open_dir_button.setToolTip("Replay an NYU-format directory (depth_1_NNNNNNN.png, optional labels)")
        self.open_dir_button.clicked.connect(self._open_directory)
        self.open_bag_button = QPushButton("Recording…")
        self.open_bag_button.setToolTip("Play a RealSense recording (.bag / .db3)")
        self.open_bag_button.clicked.connect(self._open_recording)
        row.addWidget(self.open_dir_button)
        row.addWidget(self.open_bag_button)
        lay.addLayout(row)
        self.refresh_button = QPushButton("Refresh cameras")
        lay.addWidget(self.refresh_button)
        return box

    def _model_group(self) -> QGroupBox:
        box = QGroupBox("Model")
        lay = QVBoxLayout(box)
        row = QHBoxLayout()
        self.model_combo = QComboBox()
        self.model_combo.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
        self.model_combo.setMinimumContentsLength(12)
        self.model_combo.activated.connect(lambda _i: self._emit_model())
        browse = QPushButton("…")
        browse.setToolTip("Open another .onnx model")
        browse.setFixedWidth(32)
        browse.clicked.connect(self._browse_model)
        row.addWidget(self.model_combo, 1)
        row.addWidget(browse)
        lay.addLayout(row)
        self.model_card = QPlainTextEdit()
        self.model_card.setReadOnly(True)
        self.model_card.setMaximumHeight(110)
        self.model_card.setLineWrapMode(QPlainTextEdit.LineWrapMode.WidgetWidth)
        lay.addWidget(self.model_card)
        return box

    def _pipeline_group(self, s: AppSettings) -> QGroupBox:
        box = QGroupBox("Pipeline")
        form = QFormLayout(box)
        form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)
        self.cube_spin = _spin(100, 600, 10, 0, " mm")
        self.cube_model_check = QCheckBox("The model's cube")
        self.cube_model_check.setToolTip("crop with the cube the model was trained with (untick to override it)")
        self.near_spin = _spin(50, 5000, 50, 0, " mm")
        self.far_spin = _spin(100, 10000, 50, 0, " mm")
        self.refine_check = QCheckBox("Refine (model fit)")
        self.refine_check.setToolTip("Fit the articulated hand model to the depth after the network; its joints are "
                                     "used when the fit is close to the hand's points (14-joint depth models)")
        self.two_hands_check = QCheckBox("Two hands (L/R)")
        self.two_hands_check.setToolTip("Track up to two hands, each labelled left or right (about twice the work of "
                                        "one hand)")
        self.smoothing_check = QCheckBox("One Euro smoothing")
        self.min_cutoff_spin = _spin(0.01, 30, 0.1, 2, " Hz")
        self.min_cutoff_spin.setToolTip("One Euro cutoff at rest (Hz): lower = steadier when still, more lag")
        self.beta_spin = _spin(0.0, 1.0, 0.001, 4, " Hz per mm/s")
        self.beta_spin.setToolTip("One Euro beta: the cutoff rises by this much per mm/s of joint speed; "
                                  "higher = less lag in fast motion")
        self.cube_model_check.setChecked(not s.cube_override_mm)
        self.cube_spin.setEnabled(bool(s.cube_override_mm))
        if s.cube_override_mm:
            self.cube_spin.setValue(s.cube_override_mm)
        self.near_spin.setValue(s.near_mm)
        self.far_spin.setValue(s.far_mm)
        self.refine_check.setChecked(s.refine)
        self.two_hands_check.setChecked(s.max_hands == 2)
        self.smoothing_check.setChecked(s.smoothing)
        self.min_cutoff_spin.setValue(s.smooth_min_cutoff_hz)
        self.beta_spin.setValue(s.smooth_beta_per_mm)
        form.addRow(self.cube_model_check)
        form.addRow("Cube", self.cube_spin)
        form.addRow("Depth from", self.near_spin)
        form.addRow("Depth to", self.far_spin)
        form.addRow(self.refine_check)
        form.addRow(self.two_hands_check)
        form.addRow(self.smoothing_check)
        form.addRow("Min cutoff", self.min_cutoff_spin)
        form.addRow("Beta", self.beta_spin)
        for spin in (self.cube_spin, self.near_spin, self.far_spin, self.min_cutoff_spin, self.beta_spin):
            spin.valueChanged.connect(lambda _v: self.settings_changed.emit())
        self.cube_model_check.toggled.connect(self._cube_model_toggled)
        self.smoothing_check.toggled.connect(self._smoothing_toggled)
        self._smoothing_toggled(s.smoothing, emit=False)
        self.refine_check.toggled.connect(self._refine_toggled)
        self.two_hands_check.toggled.connect(lambda _on: self.settings_changed.emit())
        return box

    def _replay_group(self) -> QGroupBox:
        box = QGroupBox("Replay")
        lay = QVBoxLayout(box)
        row = QHBoxLayout()
        self.pause_button = QPushButton("Pause")
        self.pause_button.setCheckable(True)
        self.pause_button.toggled.connect(self._pause_toggled)
        self.step_button = QPushButton("Step")
        self.step_button.setToolTip("Process one frame (while paused)")
        self.step_button.clicked.connect(self.step_requested.emit)
        row.addWidget(self.pause_button)
        row.addWidget(self.step_button)
        lay.addLayout(row)
        self.seek_slider = QSlider(Qt.Orientation.Horizontal)
        self.seek_slider.setTracking(False)  # seek when released, not while dragging
        self.seek_slider.valueChanged.connect(self.seek_requested.emit)
        self.frame_label = QLabel("frame –")
        lay.addWidget(self.seek_slider)
        lay.addWidget(self.frame_label)
        self.set_replay_length(None)
        return box

    def _view_group(self, s: AppSettings) -> QGroupBox:
        box = QGroupBox("View")
        form = QFormLayout(box)
        self.gt_check = QCheckBox("Ground-truth overlay + error")
        self.gt_check.setChecked(s.show_ground_truth)
        self.image_mode_combo = QComboBox()
        self.image_mode_combo.addItems(["both", "depth", "rgb"])
        self.image_mode_combo.setCurrentText(s.image_mode)
        self.cloud_colour_combo = QComboBox()
        self.cloud_colour_combo.addItems(["depth", "rgb"])
        self.cloud_colour_combo.setCurrentText(s.cloud_colour)
        self.fit_check = QCheckBox("Show fitted model")
        self.fit_check.setToolTip("Draw the fitted hand model in the 3D view (magenta points on its surface)")
        self.fit_check.setChecked(s.show_fit)
        self.fit_check.setEnabled(s.refine)
        form.addRow(self.gt_check)
        form.addRow(self.fit_check)
        form.addRow("Images", self.image_mode_combo)
        form.addRow("Cloud colour", self.cloud_colour_combo)
        self.gt_check.toggled.connect(lambda _v: self.view_options_changed.emit())
        self.fit_check.toggled.connect(lambda _v: self.view_options_changed.emit())
        self.image_mode_combo.currentTextChanged.connect(lambda _t: self.view_options_changed.emit())
        self.cloud_colour_combo.currentTextChanged.connect(lambda _t: self.view_options_changed.emit())
        return box

    # --- filling and reading ----------------------------------------------------------------------

    def set_sources(self, entries: list[tuple[str, str]], current: str | None = None) -> None:
        """Fill the source picker with ``(label, spec)`` pairs; select ``current`` (added when missing)."""
        self.source_combo.blockSignals(True)
        self.source_combo.clear()
        for label, spec in entries:
            self.source_combo.addItem(label, spec)
        if current:
            self.select_source(current)
        self.source_combo.blockSignals(False)

    def select_source(self, spec: str) -> None:
        """Show ``spec`` as the current source (adding it to the list if new), without emitting."""
        index = self.source_combo.findData(spec)
        if index < 0:
            self.source_combo.addItem(spec, spec)
            index = self.source_combo.count() - 1
        blocked = self.source_combo.blockSignals(True)
        self.source_combo.setCurrentIndex(index)
        self.source_combo.blockSignals(blocked)

    def set_models(self, paths: list[Path], current: str | None = None) -> None:
        """Fill the model picker with ``paths``; select ``current`` (added when missing)."""
        self.model_combo.blockSignals(True)
        self.model_combo.clear()
        for path in paths:
            self.model_combo.addItem(path.name, str(path))
        if current:
            self.select_model(current)
        self.model_combo.blockSignals(False)

    def select_model(self, path: str) -> None:
        index = self.model_combo.findData(str(path))
        if index < 0:
            self.model_combo.addItem(Path(path).name, str(path))
            index = self.model_combo.count() - 1
        blocked = self.model_combo.blockSignals(True)
        self.model_combo.setCurrentIndex(index)
        self.model_combo.blockSignals(blocked)
        self.model_card.setPlainText(model_card_text(path))

    def set_replay_length(self, length: int | None) -> None:
        """Enable the transport for a seekable source with ``length`` frames (None: a live source)."""
        seekable = bool(length)
        self.seek_slider.setEnabled(seekable)
        self.seek_slider.blockSignals(True)
        self.seek_slider.setRange(0, max((length or 1) - 1, 0))
        self.seek_slider.blockSignals(False)

    def show_position(self, index: int, length: int | None) -> None:
        """Move the slider to frame ``index`` without triggering a seek."""
        if self.seek_slider.isEnabled() and not self.seek_slider.isSliderDown():
            self.seek_slider.blockSignals(True)
            self.seek_slider.setValue(index)
            self.seek_slider.blockSignals(False)
        self.frame_label.setText(f"frame {index + 1} / {length}" if length else f"frame {index + 1}")

    def show_model_cube(self, cube_mm: float) -> None:
        """Show the loaded model's cube (mm) while no override is set."""
        if self.cube_model_check.isChecked():
            self.cube_spin.blockSignals(True)
            self.cube_spin.setValue(cube_mm)
            self.cube_spin.blockSignals(False)

    def _cube_model_toggled(self, checked: bool) -> None:
        self.cube_spin.setEnabled(not checked)
        self.settings_changed.emit()

    def read_settings(self, into: AppSettings) -> AppSettings:
        """Copy the widgets' values into ``into`` and return it."""
        into.cube_override_mm = 0.0 if self.cube_model_check.isChecked() else self.cube_spin.value()
        into.near_mm = self.near_spin.value()
        into.far_mm = self.far_spin.value()
        into.refine = self.refine_check.isChecked()
        into.max_hands = 2 if self.two_hands_check.isChecked() else 1
        into.smoothing = self.smoothing_check.isChecked()
        into.smooth_min_cutoff_hz = self.min_cutoff_spin.value()
        into.smooth_beta_per_mm = self.beta_spin.value()
        into.show_ground_truth = self.gt_check.isChecked()
        into.show_fit = self.fit_check.isChecked()
        into.image_mode = self.image_mode_combo.currentText()
        into.cloud_colour = self.cloud_colour_combo.currentText()
        return into

    # --- slots --------------------------------------------------------------------------------------

    def _emit_source(self) -> None:
        spec = self.source_combo.currentData()
        if spec:
            self.source_requested.emit(spec)

    def _emit_model(self) -> None:
        path = self.model_combo.currentData()
        if path:
            self.model_card.setPlainText(model_card_text(path))
            self.model_requested.emit(path)

    def _open_directory(self) -> None:
        directory = QFileDialog.getExistingDirectory(self, "Open an NYU-format directory")
        if directory:
            spec = f"replay:{directory}"
            self.select_source(spec)
            self.source_requested.emit(spec)

    def _open_recording(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Open a RealSense recording", "", "Recordings (*.bag *.db3)")
        if path:
            spec = f"bag:{path}"
            self.select_source(spec)
            self.source_requested.emit(spec)

    def _browse_model(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Open a model", "", "ONNX models (*.onnx)")
        if path:
            self.select_model(path)
            self.model_requested.emit(path)

    def _smoothing_toggled(self, on: bool, emit: bool = True) -> None:
        self.min_cutoff_spin.setEnabled(on)
        self.beta_spin.setEnabled(on)
        if emit:
            self.settings_changed.emit()

    def _refine_toggled(self, on: bool) -> None:
        self.fit_check.setEnabled(on)  # without refinement there is no fitted model to show
        self.settings_changed.emit()

    def _pause_toggled(self, paused: bool) -> None:
        self.pause_button.setText("Resume" if paused else "Pause")
        self.pause_toggled.emit(paused)
