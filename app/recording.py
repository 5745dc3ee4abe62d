"""The app's Record button behind the scenes: one recording at a time, fed by the tracker thread (Qt-free).

The worker hands every processed frame and its pose to ``sink.recorder`` from the tracker thread and notes a
failed write in ``sink.recorder_error``; this class attaches and detaches the recorder and reports through
callbacks, so the window only maps them to its status bar, error banner and toolbar button.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from app import runtime
from inference.core.errors import HandposeError
from inference.formats.recording import Recorder

START_MESSAGE_MS = 5000
SUMMARY_MESSAGE_MS = 10000


class Recording:
    """Records the tracker's frames and poses into an NYU-format directory (+ ``poses.jsonl``).

    Args:
        sink: the worker: ``recorder`` (set while recording) and ``recorder_error`` (a write failure, else "").
        status: ``(message, timeout_ms)`` for a passing note (started, how many frames were written).
        error: a failure the user must see (cannot record, a write failed, the recording could not be closed).
        active_changed: called with True when a recording starts and False when it stops or fails to start.
    """

    def __init__(
        self,
        sink: Any,
        status: Callable[[str, int], None],
        error: Callable[[str], None],
        active_changed: Callable[[bool], None],
    ) -> None:
        self.sink = sink
        self.recorder: Recorder | None = None
        self._status = status
        self._error = error
        self._active_changed = active_changed

    def start(self, directory: str | Path, live: bool) -> bool:
        """Record into ``directory`` (new or empty); ``live`` sources never wait for the disk (a full queue drops).

        Returns False, after reporting why, when the directory cannot take a recording. A recording already
        running is finished first (its frames written, its writer thread ended), never dropped.
        """
        self.stop()
        try:
            self.recorder = runtime.make_recorder(directory, live=live)
        except HandposeError as exc:
            self._error(f"Cannot record: {exc}")
            self._active_changed(False)
            return False
        self.sink.recorder_error = ""
        self.sink.recorder = self.recorder
        self._active_changed(True)
        self._status(f"recording to {directory}", START_MESSAGE_MS)
        return True

    def stop(self) -> None:
        """Detach the recorder, write what it holds and report the counts (nothing when not recording)."""
        recorder, self.recorder = self.recorder, None
        self.sink.recorder = None
        if recorder is None:
            return
        try:
            stats = recorder.close()
            self._status(
                f"recorded {stats.written} frames to {recorder.out_dir} ({stats.dropped} dropped)", SUMMARY_MESSAGE_MS
            )
        except HandposeError as exc:
            self._error(str(exc))
        self._active_changed(False)

    def check(self) -> None:
        """After a frame is shown: a write that failed in the tracker thread stops the recording and is reported."""
        if self.recorder is None:
            return
        error = self.sink.recorder_error
        if error:
            self.sink.recorder_error = ""
            self.stop()
            self._error(error)
