"""Fixtures for the app tests: generated replays, tiny real ONNX models, a temporary settings file, the window.

GUI tests need an X display with GLX (run under ``xvfb-run -a -s "-screen 0 1920x1080x24 +extension GLX"``);
they skip with that reason when no DISPLAY is set. Qt's offscreen platform cannot create OpenGL widgets.
"""

from __future__ import annotations

import gc
import os
from pathlib import Path

import pytest

from app.launch import configure_qt
from tests.app.scenes import write_sequence
from tests.helpers.tiny_models import make_tiny_model
from tests.sources.conftest import recording  # noqa: F401 - the .db3 fixture, shared with the sources tests

configure_qt()  # before pytest-qt creates the QApplication
if not os.environ.get("DISPLAY"):
    # Qt-only tests (no OpenGL) still run without a display; GUI tests skip through the `display` fixture.
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")


@pytest.fixture(scope="session")
def replay_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_sequence(tmp_path_factory.mktemp("replay"), frames=12)


@pytest.fixture(scope="session")
def other_replay_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_sequence(tmp_path_factory.mktemp("replay_other"), frames=5)


@pytest.fixture(scope="session")
def model_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_tiny_model(tmp_path_factory.mktemp("models") / "tiny_depth.onnx")


@pytest.fixture(scope="session")
def rgbd_model_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_tiny_model(tmp_path_factory.mktemp("models_rgbd") / "tiny_rgbd.onnx", layout="rgbd", seed=5)


@pytest.fixture
def settings_path(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    """A temporary INI (never the user's settings), with smoothing off so drawn joints are the raw model output."""
    path = tmp_path / "app.ini"
    path.write_text("[General]\nsmoothing=false\n")
    monkeypatch.setenv("HANDPOSE_APP_SETTINGS", str(path))
    return str(path)


@pytest.fixture
def display() -> None:
    if not os.environ.get("DISPLAY"):
        pytest.skip("no DISPLAY: run GUI tests under xvfb-run -a -s '-screen 0 1920x1080x24 +extension GLX'")


def _open_window(qtbot, settings_path: str, source: str, model: str):
    """A main window on ``source`` with ``model``, shown at 1280x800; closed with :func:`_close_window`."""
    from app.main_window import MainWindow
    from app.settings_store import SettingsStore

    win = MainWindow(SettingsStore(settings_path), source=source, model=model)
    qtbot.addWidget(win)
    win.resize(1280, 800)
    win.show()
    qtbot.waitExposed(win)
    return win


def _close_window(qtbot, win) -> None:
    win.shutdown()
    win.close()
    win.deleteLater()
    qtbot.wait(50)  # let Qt delete the window now, not during interpreter shutdown
    gc.collect()


@pytest.fixture
def window(display, qtbot, replay_dir: Path, model_path: Path, settings_path: str, monkeypatch: pytest.MonkeyPatch):
    """The main window on the generated replay with the tiny depth model, shown at 1280x800."""
    from app import runtime

    monkeypatch.setattr(runtime, "replay_fps", 60.0)
    win = _open_window(qtbot, settings_path, f"replay:{replay_dir}", str(model_path))
    yield win
    _close_window(qtbot, win)


@pytest.fixture
def demo_window(display, qtbot, settings_path: str, monkeypatch: pytest.MonkeyPatch):
    """The main window on the bundled demo sequence with the shipped Depth-Net (whose poses the hand model fits)."""
    from app import runtime

    monkeypatch.setattr(runtime, "replay_fps", 30.0)
    win = _open_window(qtbot, settings_path, runtime.demo_spec(), str(runtime.default_model()))
    yield win
    _close_window(qtbot, win)
