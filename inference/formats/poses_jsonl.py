"""The poses JSONL that ``handpose run`` writes: one JSON object per frame (read by ``handpose eval``).

Keys of each line (ARCHITECTURE.md): ``index`` (0-based frame index in the source), ``timestamp_s``,
``found``, ``joints_uvd`` and ``joints_xyz_mm`` (14x3 lists, y up; null when not found), ``com_xyz_mm``
(3 floats or null), ``gesture`` (name or null), ``gesture_confidence`` and ``timings_ms`` (stage -> ms); with
model-based refinement ``fit_residual_mm`` (mm or null) and ``fit_status``; on request ``joints36_xyz_mm`` and
``joints36_uvd`` (36x3 or null). With several hands (the crop networks with ``max_hands=2``, ``handpose run``'s
default; the MediaPipe teacher) a line adds ``handedness`` ("right"/"left"), ``score`` (0-1; for the crop networks
how well the fitted hand model explains the depth) and ``joint_confidence`` (14 values, 0-1, or null) for the nearest
hand, and ``hands``: every hand found, nearest first, each {"handedness", "found", "joints_uvd", "joints_xyz_mm",
"com_xyz_mm", "score", "joint_confidence", "gesture", "hidden"} (``hidden``: true for a hand the other hand or its
arm hides on this frame, shown at its last pose for a moment: ``PipelineSettings.hidden_hold_s``). Fields are only
ever added, so every reader of the 14 joints keeps working.
Every line is flushed as it is written, so an interrupted run keeps every frame already processed.
"""

from __future__ import annotations

import contextlib
import json
import os
import stat
import sys
from pathlib import Path
from typing import BinaryIO

import numpy as np

from inference.core.errors import OutputError
from inference.core.frame import HandPose
from inference.core.outputs import check_output_file, output_error

_MM_DECIMALS = 2  # 0.01 mm / px: far below any sensor's resolution, keeps lines short
_MS_DECIMALS = 3


def _rounded(values: np.ndarray | None, decimals: int) -> list | None:
    return None if values is None else np.round(np.asarray(values, np.float64), decimals).tolist()


def _hand_extras(pose: HandPose, found: bool) -> dict[str, object]:
    """handedness / score / joint_confidence: those the estimator gives (all three, null when no hand, for an
    estimator that reports ``hands``)."""
    always = pose.hands is not None
    out: dict[str, object] = {}
    if always or pose.handedness is not None:
        out["handedness"] = pose.handedness if found else None
    if always or pose.score is not None:
        out["score"] = round(float(pose.score), 4) if found and pose.score is not None else None
    if always or pose.joint_confidence is not None:
        out["joint_confidence"] = _rounded(pose.joint_confidence, 4) if found else None
    return out


def _hand_record(hand: HandPose) -> dict[str, object]:
    found = bool(hand.found and hand.joints_xyz_mm is not None)
    return {
        "handedness": hand.handedness,
        "found": found,
        "joints_uvd": _rounded(hand.joints_uvd, _MM_DECIMALS) if found else None,
        "joints_xyz_mm": _rounded(hand.joints_xyz_mm, _MM_DECIMALS) if found else None,
        "com_xyz_mm": _rounded(hand.com_xyz_mm, _MM_DECIMALS),
        "score": None if hand.score is None else round(float(hand.score), 4),
        "joint_confidence": _rounded(hand.joint_confidence, 4),
        "gesture": hand.gesture,
        "hidden": bool(hand.hidden),
    }


def pose_record(index: int, timestamp_s: float, pose: HandPose, joints36: bool = False) -> dict[str, object]:
    """The JSON object of one frame (``joints36``: add the fitted model's 36 joints)."""
    found = bool(pose.found and pose.joints_xyz_mm is not None)
    record: dict[str, object] = {
        "index": int(index),
        "timestamp_s": round(float(timestamp_s), 6),
        "found": found,
        "joints_uvd": _rounded(pose.joints_uvd, _MM_DECIMALS) if found else None,
        "joints_xyz_mm": _rounded(pose.joints_xyz_mm, _MM_DECIMALS) if found else None,
        "com_xyz_mm": _rounded(pose.com_xyz_mm, _MM_DECIMALS),
        "gesture": pose.gesture if found else None,
        "gesture_confidence": round(float(pose.gesture_confidence), 4) if found else 0.0,
        "timings_ms": {k: round(float(v), _MS_DECIMALS) for k, v in pose.timings_ms.items()},
    }
    if pose.fit_status is not None:
        record["fit_residual_mm"] = None if pose.fit_residual_mm is None else round(float(pose.fit_residual_mm), 3)
        record["fit_status"] = pose.fit_status
    if joints36:
        has36 = found and pose.joints36_xyz_mm is not None
        record["joints36_xyz_mm"] = _rounded(pose.joints36_xyz_mm, _MM_DECIMALS) if has36 else None
        record["joints36_uvd"] = _rounded(pose.joints36_uvd, _MM_DECIMALS) if has36 else None
    record.update(_hand_extras(pose, found))
    if pose.hands is not None:
        record["hands"] = [_hand_record(hand) for hand in pose.hands]
    return record


class PosesJsonlWriter:
    """Write one line per frame to ``path`` (or to stdout when ``path`` is None or ``"-"``).

    The constructor opens the file without touching its contents, so an unwritable path fails before any
    work (:class:`~inference.core.errors.OutputError` naming the path and the reason) and an existing file is not
    lost when a later step (source, model) fails. The first :meth:`write` replaces the old contents of a
    regular file; a device or pipe (``/dev/stdout``, a FIFO) is written as it is. Closing a writer that wrote
    nothing removes a file it created.

    Every line is written whole or not at all: when the disk fills up mid-line, the partial line is cut off
    again and the error (one line) says how many whole lines the file keeps. A reader that closed the pipe
    raises BrokenPipeError as it is (the CLI ends quietly on it).

    Args:
        flag: the option that named the path, for messages (default ``--out``).
    """

    def __init__(self, path: str | Path | None, flag: str | None = "--out") -> None:
        self.path = None if path in (None, "-") else Path(path)
        self.flag = flag
        self.lines = 0
        if self.path is None:
            return
        check_output_file(self.path, flag, create_parents=False, in_place=True)
        self._created = not self.path.exists()
        try:
            # Unbuffered: each line is one write, whose size says whether all of it reached the file.
            self._fh: BinaryIO = open(self.path, "ab", buffering=0)  # closed in close()
        except OSError as exc:
            raise output_error(self.path, exc, flag) from None
        self._regular = stat.S_ISREG(os.fstat(self._fh.fileno()).st_mode)
        self._size = 0  # bytes of whole lines in the file

    def write(self, index: int, timestamp_s: float, pose: HandPose, joints36: bool = False) -> None:
        line = (json.dumps(pose_record(index, timestamp_s, pose, joints36), separators=(",", ":")) + "\n").encode()
        if self.path is None:
            sys.stdout.write(line.decode())
            sys.stdout.flush()
            self.lines += 1
            return
        try:
            if self.lines == 0 and self._regular:
                os.ftruncate(self._fh.fileno(), 0)  # append mode: the next write lands at the new end, 0
            view = memoryview(line)
            while view:
                view = view[self._fh.write(view) or 0:]
        except BrokenPipeError:
            raise
        except OSError as exc:
            if self._regular:
                with contextlib.suppress(OSError):  # shrinking a file needs no space: cut the partial line
                    os.ftruncate(self._fh.fileno(), self._size)
            kept = f"; the {self.lines} whole lines written before are kept" if self.lines else ""
            raise OutputError(f"{output_error(self.path, exc, self.flag)}{kept}") from None
        self._size += len(line)
        self.lines += 1

    def close(self) -> None:
        if self.path is None:
            sys.stdout.flush()
            return
        if not self._fh.closed:
            self._fh.close()
            if self.lines == 0 and self._created:
                self.path.unlink(missing_ok=True)

    def __enter__(self) -> PosesJsonlWriter:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
