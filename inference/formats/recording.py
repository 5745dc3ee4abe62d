"""Record frames (and optionally their predicted poses) to an NYU-format directory from a writer thread.

The capture loop hands frames to :meth:`Recorder.put`; a writer thread encodes PNGs through
:class:`inference.formats.nyu_io.NyuWriter`, so a slow disk never stalls capture. The queue is bounded: with
``block=True`` (replays, processing) ``put`` waits for room and nothing is dropped; with ``block=False``
(live cameras) a full queue drops the new frame and counts it. :meth:`Recorder.close` writes everything
already queued, then ``joint_data.mat`` / ``gestures.json`` and the poses JSONL, so Ctrl-C loses nothing
that was captured. Frames are numbered 1, 2, ... in capture order, so the recording replays as
``replay:DIR`` with indices 0, 1, ...
"""

from __future__ import annotations

import contextlib
import logging
import queue
import threading
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from inference.core.errors import HandposeError
from inference.core.frame import Frame, HandPose
from inference.core.geometry import uvd_to_xyz
from inference.core.outputs import check_output_dir
from inference.core.skeleton import EVAL_JOINT_IDS, NUM_NYU_JOINTS
from inference.formats.nyu_io import NyuWriter
from inference.formats.poses_jsonl import PosesJsonlWriter

log = logging.getLogger(__name__)

POSES_JSONL = "poses.jsonl"


@dataclass
class RecordStats:
    """Counts of a recording: ``captured`` = handed to ``put``; ``written`` + ``dropped`` = captured once closed."""

    captured: int = 0
    written: int = 0
    dropped: int = 0


class Recorder:
    """Write frames to ``out_dir`` in the NYU format from a background thread.

    Args:
        out_dir: created if needed; must not already hold NYU frames (a recording never overwrites one).
        queue_size: frames held in memory waiting for the disk (640x480 RGB-D is ~1.5 MB each).
        block: True = ``put`` waits for room (drop nothing); False = drop the frame when the queue is full.
        poses: also write ``poses.jsonl`` (one row per frame that was given a pose).
        png_compression: zlib level 0-9 for the PNGs (1 = fast, the default).
    """

    def __init__(
        self,
        out_dir: str | Path,
        queue_size: int = 32,
        block: bool = True,
        poses: bool = False,
        png_compression: int = 1,
    ) -> None:
        self.out_dir = check_output_dir(out_dir)  # a file in the way, read-only: one line before any capture
        if self.out_dir.is_dir() and any(self.out_dir.glob("depth_*_*.png")):
            raise HandposeError(f"{self.out_dir}: already holds NYU frames; record into a new or empty directory")
        self.out_dir.mkdir(parents=True, exist_ok=True)
        self.block = block
        self.png_compression = png_compression
        self.stats = RecordStats()
        self._queue: queue.Queue[tuple[int, Frame, HandPose | None] | None] = queue.Queue(maxsize=queue_size)
        self._writer: NyuWriter | None = None
        self._poses: PosesJsonlWriter | None = PosesJsonlWriter(self.out_dir / POSES_JSONL, None) if poses else None
        self._error: BaseException | None = None
        self._abandon = threading.Event()  # set: write no more queued frames (they count as dropped)
        self._lock = threading.Lock()
        self._closed = False
        self._queued = 0
        self._thread = threading.Thread(target=self._run, name="handpose-recorder", daemon=True)
        self._thread.start()

    def put(self, frame: Frame, pose: HandPose | None = None) -> bool:
        """Queue a frame (and its pose) for writing. Returns False when it was dropped (queue full, non-blocking)."""
        if self._error is not None:
            raise HandposeError(f"recording to {self.out_dir} failed: {self._error}")
        if self._closed:
            raise HandposeError(f"recorder for {self.out_dir} is closed")
        # Numbers go to queued frames only, so a dropped frame leaves no gap in the recording.
        item = (self._queued + 1, frame, pose)
        try:
            self._queue.put(item, block=self.block)
        except queue.Full:
            with self._lock:
                self.stats.captured += 1
                self.stats.dropped += 1
            return False
        self._queued += 1
        with self._lock:
            self.stats.captured += 1
        return True

    def abandon(self) -> None:
        """Write no more of the queued frames (they count as dropped); :meth:`close` still saves the labels and
        poses of every frame already written. For a second Ctrl-C: stop now, but keep the recording whole."""
        self._abandon.set()

    def close(self) -> RecordStats:
        """Write everything queued, then the labels and poses files. Idempotent; re-raises a writer failure.

        Interrupted while waiting (KeyboardInterrupt), it drops the frames not yet written and still writes the
        labels of those that were, so that no written frame loses its labels.
        """
        if not self._closed:
            self._closed = True
            try:
                self._queue.put(None)  # the writer drains what is before it, then stops
                self._thread.join()
            finally:
                self._stop_writer()
                if self._writer is not None:
                    self._writer.close()
                if self._poses is not None:
                    self._poses.close()
        if self._error is not None:
            raise HandposeError(f"recording to {self.out_dir} failed: {self._error}")
        return self.stats

    def _stop_writer(self) -> None:
        """Wait for the writer thread after an interruption: it drops what it has not started."""
        if not self._thread.is_alive():
            return
        self._abandon.set()
        while self._thread.is_alive():
            with contextlib.suppress(queue.Full):
                self._queue.put_nowait(None)  # the end marker may not have been queued before the interruption
            self._thread.join(0.1)

    def __enter__(self) -> Recorder:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # --- writer thread ----------------------------------------------------------------------------

    def _run(self) -> None:
        while True:
            item = self._queue.get()
            if item is None:
                return
            if self._error is not None or self._abandon.is_set():  # only count what is not written
                with self._lock:
                    self.stats.dropped += 1
                continue
            number, frame, pose = item
            try:
                self._write(number, frame, pose)
            except Exception as exc:  # disk full, permissions: reported by put/close in the capture thread
                log.debug("recording frame %d failed: %s", number, exc)  # put() and close() raise it
                self._error = exc
                with self._lock:
                    self.stats.dropped += 1
                continue
            with self._lock:
                self.stats.written += 1

    def _write(self, number: int, frame: Frame, pose: HandPose | None) -> None:
        if self._writer is None:
            self._writer = NyuWriter(self.out_dir, intrinsics=frame.intrinsics, png_compression=self.png_compression)
        elif frame.intrinsics != self._writer.intrinsics:
            raise HandposeError(
                f"frame {frame.index} has intrinsics {frame.intrinsics}, the recording {self._writer.intrinsics}"
            )
        uvd36 = xyz36 = None
        if frame.joints_uvd is not None:
            uvd36, xyz36 = _full_skeleton(frame.joints_uvd, frame)
        self._writer.write(number, frame.depth_mm, frame.color, uvd36, xyz36, frame.gesture, frame.timestamp_s)
        if self._poses is not None and pose is not None:
            self._poses.write(number - 1, frame.timestamp_s, pose)


def _full_skeleton(joints_uvd: np.ndarray, frame: Frame) -> tuple[np.ndarray, np.ndarray]:
    """14 evaluation joints ``(14, 3)`` uvd -> ``(36, 3)`` uvd and xyz rows for joint_data.mat (others NaN)."""
    uvd = np.full((NUM_NYU_JOINTS, 3), np.nan)
    uvd[list(EVAL_JOINT_IDS)] = joints_uvd
    return uvd, uvd_to_xyz(uvd, frame.intrinsics)
