"""Start the app: the QApplication, the main window, and the ``--screenshot`` mode used for docs and tests."""

from __future__ import annotations

import logging
import signal
import sys
from pathlib import Path

from PySide6.QtCore import QCoreApplication, Qt, QTimer
from PySide6.QtWidgets import QApplication

from app import runtime
from app.main_window import MainWindow
from app.settings_store import SettingsStore

log = logging.getLogger(__name__)

SCREENSHOT_SETTLE_MS = 400  # after the last frame: one plot refresh (200 ms) and a GL repaint
SCREENSHOT_TIMEOUT_S = 120.0


def configure_qt() -> None:
    """Process-wide Qt attributes; call before the QApplication exists.

    GL contexts share resources, so pyqtgraph's cached shader programs stay valid in every GL view
    (a second 3D view, e.g. a new window in the same process, would otherwise fail with GL_INVALID_VALUE).
    """
    QCoreApplication.setAttribute(Qt.ApplicationAttribute.AA_ShareOpenGLContexts, True)


def ensure_app() -> QApplication:
    app = QApplication.instance()
    if app is None:
        configure_qt()
        app = QApplication(sys.argv[:1])
        app.setApplicationName("handpose")
        app.setOrganizationName("handpose")
    return app  # type: ignore[return-value]


def launch(
    source: str | None = None,
    model: str | None = None,
    screenshot: str | Path | None = None,
    frames: int = 30,
    size: tuple[int, int] = (1280, 800),
    replay_fps: float | None = 30.0,
    settings_path: str | None = None,
    refine: bool | None = None,
) -> int:
    """Open the window; in screenshot mode process ``frames`` frames, save the whole window and return.

    Returns the exit status: 0, or 1 when a screenshot was asked and no frame could be processed.

    A screenshot plays the source once from its start (no loop) and stops after ``frames`` frames, so that it
    always shows the same frame: the ``frames``-th of a replay (its last one when it is shorter).
    """
    if not logging.getLogger().handlers:
        logging.basicConfig(level=logging.INFO, format="handpose app: %(message)s")
    app = ensure_app()
    runtime.replay_fps = replay_fps
    if screenshot is not None:
        runtime.replay_loop, runtime.max_frames = False, frames
    store = SettingsStore(settings_path)
    if refine is not None:  # the command line's choice, kept like a click on the checkbox
        store.update(refine=refine)
    window = MainWindow(store, source=source, model=model)
    if screenshot is not None:
        window.resize(*size)
    window.show()
    if screenshot is None:
        _close_on_ctrl_c(window)
        status = app.exec()
        window.shutdown()
        return int(status)
    return _run_screenshot(app, window, Path(screenshot), frames)


def _close_on_ctrl_c(window: MainWindow) -> None:
    """Ctrl-C in the terminal closes the window the normal way (recordings flushed, settings saved).

    Qt's event loop runs in C++, so Python only sees the signal when it next runs Python code: a short timer
    gives it that chance.
    """
    # The handler may interrupt any Python code (a paint event...): only schedule the close from it.
    signal.signal(signal.SIGINT, lambda *_: QTimer.singleShot(0, window.close))
    timer = QTimer(window)
    timer.timeout.connect(lambda: None)
    timer.start(200)


def _run_screenshot(app: QApplication, window: MainWindow, path: Path, frames: int) -> int:
    status = {"code": 1, "done": False}

    def finish() -> None:
        window.plots.update_from(window.history)
        out = window.save_screenshot(path)
        print(f"handpose app: wrote {out} ({window.worker.processed} frames processed)", file=sys.stderr)
        app.exit(0)

    def check_done() -> None:
        # Done once the last frame is processed (or the source ended) and shown: no newer result waiting.
        worker = window.worker
        ended = worker.tracker is not None and not worker.tracker.is_running
        if status["done"] or not (worker.processed >= frames or ended) or worker.has_pending():
            return
        if worker.processed == 0:  # the source ended (or failed) before any frame: say so now
            give_up()
            return
        status["done"] = True
        status["code"] = 0
        window.set_paused(True)
        QTimer.singleShot(SCREENSHOT_SETTLE_MS, finish)

    def give_up() -> None:
        if not status["done"]:
            status["done"] = True
            reason = window.last_error or "no frame was processed"
            print(f"handpose app: only {window.worker.processed} of {frames} frames processed ({reason}); "
                  "saving the window as it is", file=sys.stderr)
            finish()

    window.frame_shown.connect(lambda _state: check_done())
    poll = QTimer(window)  # a source shorter than `frames` ends without another frame_shown
    poll.timeout.connect(check_done)
    poll.start(100)
    timeout = QTimer(window)
    timeout.setSingleShot(True)
    timeout.timeout.connect(give_up)
    timeout.start(int(SCREENSHOT_TIMEOUT_S * 1000))
    if window.worker.tracker is None:  # nothing could start (bad source or model): show the error and stop
        QTimer.singleShot(SCREENSHOT_SETTLE_MS, give_up)
    app.exec()
    window.shutdown()
    return status["code"]
