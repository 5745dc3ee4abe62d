"""The toolbar on its own: each action asks for a path and emits it, or nothing when the dialog is cancelled."""

from __future__ import annotations

import pytest
from PySide6.QtWidgets import QFileDialog

from app.toolbar import ActionBar


@pytest.fixture
def bar(qtbot) -> ActionBar:
    widget = ActionBar()
    qtbot.addWidget(widget)
    return widget


def _record(bar: ActionBar) -> list:
    seen: list = []
    bar.record_requested.connect(lambda d: seen.append(("record", d)))
    bar.record_stop_requested.connect(lambda: seen.append(("stop",)))
    bar.ply_requested.connect(lambda p: seen.append(("ply", p)))
    bar.screenshot_requested.connect(lambda p: seen.append(("screenshot", p)))
    bar.open3d_toggled.connect(lambda on: seen.append(("open3d", on)))
    return seen


def test_record_asks_for_a_directory_and_a_cancel_leaves_it_off(bar, monkeypatch, tmp_path) -> None:
    seen = _record(bar)
    answer = [""]
    monkeypatch.setattr(QFileDialog, "getExistingDirectory", lambda *a, **k: answer[0])
    bar.record_action.setChecked(True)  # cancelled: the button springs back, nothing is asked of the window
    assert not bar.record_action.isChecked() and seen == []
    answer[0] = str(tmp_path)
    bar.record_action.setChecked(True)
    assert seen == [("record", str(tmp_path))] and bar.record_action.isChecked()
    bar.record_action.setChecked(False)
    assert seen[-1] == ("stop",)


def test_show_recording_moves_the_button_without_asking(bar) -> None:
    seen = _record(bar)
    bar.show_recording(True)
    assert bar.record_action.isChecked()
    bar.show_recording(False)
    assert not bar.record_action.isChecked() and seen == []


def test_ply_and_screenshot_emit_the_chosen_path_and_open3d_its_state(bar, monkeypatch) -> None:
    seen = _record(bar)
    answer = [("", "")]
    monkeypatch.setattr(QFileDialog, "getSaveFileName", lambda *a, **k: answer[0])
    bar.ply_action.trigger()
    bar.screenshot_action.trigger()
    assert seen == []  # both cancelled
    answer[0] = ("/tmp/x/hand.ply", "PLY (*.ply)")
    bar.ply_action.trigger()
    answer[0] = ("/tmp/x/shot.png", "PNG (*.png)")
    bar.screenshot_action.trigger()
    bar.open3d_action.setChecked(True)
    bar.open3d_action.setChecked(False)
    assert seen == [("ply", "/tmp/x/hand.ply"), ("screenshot", "/tmp/x/shot.png"), ("open3d", True), ("open3d", False)]
    assert bar.screenshot_action.shortcut().toString() == "Ctrl+S"
