"""The toolbar: the Open3D window, PLY export, screenshot and Record; it asks for file names and emits intentions.

Like the control panel it never acts itself: the main window connects its signals to the Open3D viewer,
the snapshots and the recording, and tells it back when a recording or the Open3D window ends.
"""

from __future__ import annotations

from PySide6.QtCore import Signal
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import QFileDialog, QToolBar, QWidget


class ActionBar(QToolBar):
    """The window's actions. Signals carry a chosen path (a file, or the directory to record into)."""

    open3d_toggled = Signal(bool)
    ply_requested = Signal(str)
    screenshot_requested = Signal(str)
    record_requested = Signal(str)
    record_stop_requested = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__("Actions", parent)
        self.setObjectName("actions")
        self.setMovable(False)
        self.open3d_action = QAction("Open3D window", self, checkable=True)
        self.open3d_action.setToolTip("Show the live point cloud in a separate Open3D window")
        self.open3d_action.toggled.connect(self.open3d_toggled.emit)
        self.ply_action = QAction("Export PLY…", self)
        self.ply_action.triggered.connect(self._ask_ply_path)
        self.screenshot_action = QAction("Screenshot…", self)
        self.screenshot_action.setShortcut(QKeySequence("Ctrl+S"))
        self.screenshot_action.triggered.connect(self._ask_screenshot_path)
        self.record_action = QAction("Record", self, checkable=True)
        self.record_action.setToolTip("Record the source (and the poses) to an NYU-format directory")
        self.record_action.toggled.connect(self._record_toggled)
        for action in (self.open3d_action, self.ply_action, self.screenshot_action, self.record_action):
            self.addAction(action)

    def show_recording(self, on: bool) -> None:
        """Show whether a recording runs, without emitting (it started or ended elsewhere)."""
        blocked = self.record_action.blockSignals(True)
        self.record_action.setChecked(on)
        self.record_action.blockSignals(blocked)

    def _ask_ply_path(self) -> None:
        path, _ = QFileDialog.getSaveFileName(self, "Export point cloud", "hand.ply", "PLY (*.ply)")
        if path:
            self.ply_requested.emit(path)

    def _ask_screenshot_path(self) -> None:
        path, _ = QFileDialog.getSaveFileName(self, "Save screenshot", "handpose.png", "PNG (*.png)")
        if path:
            self.screenshot_requested.emit(path)

    def _record_toggled(self, on: bool) -> None:
        if not on:
            self.record_stop_requested.emit()
            return
        directory = QFileDialog.getExistingDirectory(self, "Record into an empty directory")
        if directory:
            self.record_requested.emit(directory)
        else:
            self.show_recording(False)
