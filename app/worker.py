"""Qt adapter around :class:`inference.runtime.tracker.Tracker`.

The tracker captures and infers in its own threads and calls back from them. This adapter turns each
``FrameResult`` into an :class:`app.state.ViewState` right there (colour maps, point cloud: off the UI
thread), keeps only the newest one, and wakes the UI thread through a queued signal. If the UI is
busy, intermediate results are dropped for display (never for processing), so the UI thread never
blocks on capture or inference and the event queue never grows.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QObject, Qt, Signal, Slot

from app.state import RateMeter, ViewState, build_view_state
from inference.core.errors import DataFormatError, HandposeError


class TrackerWorker(QObject):
    """Runs one tracker at a time; emits :attr:`result_ready` (ViewState) and :attr:`failed` (str) on the UI thread.

    Args:
        make_tracker: ``(source, pipeline, on_result, on_error) -> tracker`` (the Tracker class in the app;
            tests may pass another factory with the same shape).
        view_options: called in the worker thread for ``build_view_state`` keyword arguments
            (depth range), so the UI can change them while running.
    """

    result_ready = Signal(object)
    failed = Signal(str, bool)  # message, fatal (the tracker stopped) or not (one bad frame skipped)
    _wake = Signal()
    _error = Signal(str, bool)

    def __init__(
        self,
        make_tracker: Callable[..., Any],
        view_options: Callable[[], dict[str, Any]] = dict,
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self._make_tracker = make_tracker
        self._view_options = view_options
        self._lock = threading.Lock()
        self._latest: ViewState | None = None
        self._pending = False
        self._generation = 0  # results of a stopped tracker arriving late are ignored
        self.tracker: Any = None
        self.processed_rate = RateMeter()
        self.processed = 0
        self.recorder: Any = None  # an inference.formats.recording.Recorder fed from the tracker thread
        self.recorder_error = ""
        self._wake.connect(self._deliver, Qt.ConnectionType.QueuedConnection)
        self._error.connect(self.failed, Qt.ConnectionType.QueuedConnection)

    # --- control (UI thread) --------------------------------------------------------------------------

    def start(self, source: Any, pipeline: Any, paused: bool = False) -> None:
        """Stop any running tracker and start one on ``source`` (opened by the tracker) with ``pipeline``.

        ``paused`` starts it paused (nothing processed until :meth:`step` or :meth:`resume`).
        """
        self.stop()
        with self._lock:
            self._generation += 1
            generation = self._generation
            self._latest = None
            self._pending = False
        self.processed = 0
        self.tracker = self._make_tracker(
            source, pipeline,
            on_result=lambda result: self._on_result(result, generation),
            on_error=lambda exc: self._on_error(exc, generation),
        )
        if paused:
            self.tracker.pause()
        self.tracker.start()

    def stop(self) -> None:
        """Stop the tracker (joins its threads, closes the source)."""
        tracker, self.tracker = self.tracker, None
        with self._lock:
            self._generation += 1
        if tracker is not None:
            tracker.stop()

    def pause(self) -> None:
        if self.tracker is not None:
            self.tracker.pause()

    def resume(self) -> None:
        if self.tracker is not None:
            self.tracker.resume()

    def step(self) -> None:
        if self.tracker is not None:
            self.tracker.step()

    def has_pending(self) -> bool:
        """True while a processed result waits to be shown (the UI is behind the tracker)."""
        with self._lock:
            return self._latest is not None

    # --- tracker threads ------------------------------------------------------------------------------

    def _on_result(self, result: Any, generation: int) -> None:
        recorder = self.recorder
        if recorder is not None and generation == self._generation:
            try:
                recorder.put(result.frame, result.pose)
            except HandposeError as exc:
                self.recorder_error = str(exc)
        state = build_view_state(result, **self._view_options())
        state.delivered_s = time.perf_counter()
        with self._lock:
            if generation != self._generation:
                return
            self.processed += 1
            self.processed_rate.tick()
            self._latest = state
            wake = not self._pending
            self._pending = True
        if wake:
            self._wake.emit()

    def _on_error(self, exc: BaseException, generation: int) -> None:
        with self._lock:
            if generation != self._generation:
                return
        # A frame that cannot be decoded is skipped by the tracker; anything else ended it.
        self._error.emit(str(exc) or type(exc).__name__, not isinstance(exc, DataFormatError))

    # --- UI thread ------------------------------------------------------------------------------------

    @Slot()
    def _deliver(self) -> None:
        with self._lock:
            latest, self._latest = self._latest, None
            self._pending = False
        if latest is not None:
            self.result_ready.emit(latest)
