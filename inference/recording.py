"""Record frames (and optionally their predicted poses) to an NYU-format directory from a writer thread.

The capture loop hands frames to :meth:`Recorder.put`; a writer thread encodes PNGs through
:class:`inference.nyu_io.NyuWriter`, so a slow disk never stalls capture. The queue is bounded: with
``block=True`` (replays, processing) ``put`` waits for room and nothing is dropped; with ``block=False``
(live cameras) a full queue drops the new frame and counts it. :meth:`Recorder.close` writes everything
already queued, then ``joint_data.mat`` / ``gestures.json`` and the poses JSONL, so Ctrl-C loses nothing
that was captured. Frames are numbered 1, 2, ... in capture order, so the recording replays as
``replay:DIR`` with indices 0, 1, ...
"""

from __future__ import annotations

import json
import logging
import queue
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import IO

import numpy as np

from inference.errors import HandposeError
from inference.frame import Frame, HandPose
from inference.geometry import uvd_to_xyz
from inference.nyu_io import NyuWriter
from inference.poses_jsonl import pose_record
from inference.skeleton import EVAL_JOINT_IDS, NUM_NYU_JOINTS

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
        self.out_dir = Path(out_dir)
        if self.out_dir.exists() and not self.out_dir.is_dir():
            raise HandposeError(f"{self.out_dir}: exists and is not a directory")
        if self.out_dir.is_dir() and any(self.out_dir.glob("depth_*_*.png")):
            raise HandposeError(f"{self.out_dir}: already holds NYU frames; record into a new or empty directory")
        try:
            self.out_dir.mkdir(parents=True, exist_ok=True)
        except OSError as exc:  # e.g. a parent that is a file or read-only: say so before any capture starts
            raise HandposeError(f"{self.out_dir}: cannot write there ({exc.strerror or exc})") from None
        self.block = block
        self.png_compression = png_compression
        self.stats = RecordStats()
        self._queue: queue.Queue[tuple[int, Frame, HandPose | None] | None] = queue.Queue(maxsize=queue_size)
        self._writer: NyuWriter | None = None
        self._poses_file: IO[str] | None = open(self.out_dir / POSES_JSONL, "w") if poses else None
        self._error: BaseException | None = None
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

    def close(self) -> RecordStats:
        """Write everything queued, then the labels and poses files. Idempotent; re-raises a writer failure."""
        if not self._closed:
            self._closed = True
            self._queue.put(None)  # the writer drains what is before it, then stops
            self._thread.join()
            if self._writer is not None:
                self._writer.close()
            if self._poses_file is not None:
                self._poses_file.close()
        if self._error is not None:
            raise HandposeError(f"recording to {self.out_dir} failed: {self._error}")
        return self.stats

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
            if self._error is not None:  # after a failure only count what is not written
                with self._lock:
                    self.stats.dropped += 1
                continue
            number, frame, pose = item
            try:
                self._write(number, frame, pose)
            except Exception as exc:  # disk full, permissions: reported by put/close in the capture thread
                log.error("recording frame %d failed: %s", number, exc)
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
        if self._poses_file is not None and pose is not None:
            self._poses_file.write(json.dumps(pose_record(number - 1, frame.timestamp_s, pose)) + "\n")
            self._poses_file.flush()


def _full_skeleton(joints_uvd: np.ndarray, frame: Frame) -> tuple[np.ndarray, np.ndarray]:
    """14 evaluation joints ``(14, 3)`` uvd -> ``(36, 3)`` uvd and xyz rows for joint_data.mat (others NaN)."""
    uvd = np.full((NUM_NYU_JOINTS, 3), np.nan)
    uvd[list(EVAL_JOINT_IDS)] = joints_uvd
    return uvd, uvd_to_xyz(uvd, frame.intrinsics)
