"""Threads around the pipeline: capture in one thread, processing in another, results to a callback.

Live sources (``source.live``) keep only the newest frame: a slow model never works on stale frames and the
camera is never blocked. Replay sources go through a small bounded queue: the capture thread waits when it
is full, so every frame is processed in order and nothing is dropped. The tracker is Qt-free; the app
forwards ``on_result`` to its GUI thread (callbacks run on the worker thread and should return quickly).
"""

from __future__ import annotations

import logging
import threading
import time
from collections import deque
from collections.abc import Callable

from inference.core.errors import DataFormatError
from inference.core.frame import Frame
from inference.runtime.pipeline import FrameResult, Pipeline
from inference.sources.base import FrameSource

log = logging.getLogger(__name__)

REPLAY_QUEUE_FRAMES = 4  # decoded frames buffered ahead of the worker (each ~1.5 MB at 640x480 RGB-D)
_END = object()  # end-of-stream marker


class Tracker:
    """Run ``pipeline`` on every frame of ``source`` in background threads.

    Args:
        source: the frame source; opened by :meth:`start`, closed by :meth:`stop`.
        pipeline: the per-frame pipeline.
        on_result: called with each :class:`FrameResult` on the worker thread, in frame order.
        on_error: called with an exception raised by the source or the pipeline (on their thread). A frame
            that cannot be decoded (DataFormatError) is skipped and tracking goes on; any other error stops.
            Without a callback errors are logged.
        max_frames: stop after this many frames were captured (None = until the source ends).

    ``pause()`` holds processing (a live source keeps refreshing its newest frame; a replay waits),
    ``step()`` processes one frame while paused, ``resume()`` continues, ``stop()`` ends and joins both
    threads. ``is_running`` is True from ``start()`` until the last result was delivered or ``stop()``.
    """

    def __init__(
        self,
        source: FrameSource,
        pipeline: Pipeline,
        on_result: Callable[[FrameResult], None],
        on_error: Callable[[Exception], None] | None = None,
        max_frames: int | None = None,
    ) -> None:
        self.source = source
        self.pipeline = pipeline
        self.on_result = on_result
        self.on_error = on_error
        self.max_frames = max_frames
        self.frames_captured = 0
        self.frames_processed = 0
        self.frames_dropped = 0  # live sources only: frames replaced by a newer one before processing
        self._live = bool(getattr(source, "live", False))
        self._cond = threading.Condition()
        self._queue: deque[tuple[Frame, float] | object] = deque()
        self._stop = threading.Event()
        self._finished = threading.Event()
        self._paused = False
        self._steps = 0
        self._in_flight = False
        self._threads: list[threading.Thread] = []

    # --- control (any thread) ---------------------------------------------------------------------
    @property
    def is_running(self) -> bool:
        return bool(self._threads) and not self._finished.is_set()

    def start(self) -> None:
        """Open the source and start both threads."""
        if self._threads:
            raise RuntimeError("Tracker.start() called twice")
        self.source.open()
        self._threads = [
            threading.Thread(target=self._capture_loop, name="handpose-capture", daemon=True),
            threading.Thread(target=self._work_loop, name="handpose-worker", daemon=True),
        ]
        for thread in self._threads:
            thread.start()

    def stop(self, timeout_s: float = 5.0) -> None:
        """Stop both threads, join them and close the source. Idempotent."""
        self._stop.set()
        with self._cond:
            self._cond.notify_all()
        for thread in self._threads:
            if thread is not threading.current_thread():
                thread.join(timeout_s)
        self._finished.set()
        self.source.close()

    def wait(self, timeout_s: float | None = None) -> bool:
        """Block until the source ended and every frame was processed (or stop()); True if so."""
        return self._finished.wait(timeout_s)

    @property
    def in_flight(self) -> bool:
        """A frame is being processed (taken from the queue, its result not yet delivered): after :meth:`pause` one
        more result may still arrive while this is True."""
        return self._in_flight

    def pause(self) -> None:
        with self._cond:
            self._paused = True
            self._steps = 0

    def resume(self) -> None:
        with self._cond:
            self._paused = False
            self._cond.notify_all()

    def step(self) -> None:
        """Process one more frame while paused (no effect when running)."""
        with self._cond:
            if self._paused:
                self._steps += 1
                self._cond.notify_all()

    # --- threads ----------------------------------------------------------------------------------
    def _report(self, exc: Exception) -> None:
        if self.on_error is not None:
            self.on_error(exc)
        else:
            log.error("%s", exc)

    def _push(self, item: tuple[Frame, float] | object) -> None:
        with self._cond:
            if self._live and item is not _END:
                self.frames_dropped += len(self._queue)
                self._queue.clear()  # latest wins
            else:
                while len(self._queue) >= REPLAY_QUEUE_FRAMES and not self._stop.is_set():
                    self._cond.wait(0.1)
            self._queue.append(item)
            self._cond.notify_all()

    def _capture_loop(self) -> None:
        try:
            while not self._stop.is_set():
                if self.max_frames is not None and self.frames_captured >= self.max_frames:
                    break
                t0 = time.perf_counter()
                try:
                    frame = self.source.read()
                except DataFormatError as exc:  # one bad frame: report it, keep going
                    self._report(exc)
                    continue
                if frame is None:
                    break
                self.frames_captured += 1
                self._push((frame, (time.perf_counter() - t0) * 1e3))
        except Exception as exc:  # the source failed (camera unplugged, broken file): report and end
            self._report(exc)
        finally:
            self._push(_END)

    def _next(self) -> tuple[Frame, float] | object | None:
        """The next queued item once processing is allowed; None when stopped."""
        with self._cond:
            while not self._stop.is_set():
                allowed = not self._paused or self._steps > 0
                if allowed and self._queue:
                    if self._paused and self._queue[0] is not _END:
                        self._steps -= 1
                    item = self._queue.popleft()
                    self._in_flight = item is not _END  # set under the lock: pause() callers may wait on it
                    self._cond.notify_all()  # room in the replay queue
                    return item
                self._cond.wait(0.1)
        return None

    def _work_loop(self) -> None:
        try:
            while True:
                item = self._next()
                if item is None or item is _END:
                    break
                frame, capture_ms = item  # type: ignore[misc]
                try:
                    result = self.pipeline.process(frame, capture_ms)
                    self.frames_processed += 1
                    self.on_result(result)
                except Exception as exc:  # a model or sink failure ends tracking; the caller decides what next
                    self._report(exc)
                    break
                finally:
                    self._in_flight = False
        finally:
            self._stop.set()
            with self._cond:
                self._cond.notify_all()
            self._finished.set()
