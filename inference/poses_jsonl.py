"""The poses JSONL that ``handpose run`` writes: one JSON object per frame (read by ``handpose eval``).

Keys of each line (ARCHITECTURE.md): ``index`` (0-based frame index in the source), ``timestamp_s``,
``found``, ``joints_uvd`` and ``joints_xyz_mm`` (14x3 lists, y up; null when not found), ``com_xyz_mm``
(3 floats or null), ``gesture`` (name or null), ``gesture_confidence`` and ``timings_ms`` (stage -> ms); with
model-based refinement ``fit_residual_mm`` (mm or null) and ``fit_status``; on request ``joints36_xyz_mm`` and
``joints36_uvd`` (36x3 or null). Estimators that tell more (the MediaPipe teacher) add ``handedness``
("right"/"left"), ``score`` (0-1) and ``joint_confidence`` (14 values, 0-1) for the nearest hand, and ``hands``:
every hand found, nearest first, each {"handedness", "found", "joints_uvd", "joints_xyz_mm", "com_xyz_mm", "score",
"joint_confidence", "gesture"}. Fields are only ever added, so every reader of the 14 joints keeps working.
Every line is flushed as it is written, so an interrupted run keeps every frame already processed.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import TextIO

import numpy as np

from inference.errors import HandposeError
from inference.frame import HandPose

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
    work (:class:`HandposeError` naming the path and the reason) and an existing file is not lost when a later
    step (source, model) fails. The first :meth:`write` replaces the old contents; closing a writer that wrote
    nothing removes a file it created.
    """

    def __init__(self, path: str | Path | None) -> None:
        self.path = None if path in (None, "-") else Path(path)
        self.lines = 0
        if self.path is None:
            self._fh: TextIO = sys.stdout
            return
        if self.path.is_dir():
            raise HandposeError(f"--out {self.path}: is a directory, give a file name such as poses.jsonl")
        self._created = not self.path.exists()
        try:
            self._fh = open(self.path, "a", encoding="utf-8")  # closed in close()
        except OSError as exc:
            raise HandposeError(f"--out {self.path}: cannot write ({exc.strerror})") from None

    def write(self, index: int, timestamp_s: float, pose: HandPose, joints36: bool = False) -> None:
        if self.lines == 0 and self.path is not None:
            self._fh.truncate(0)  # append mode: the next write lands at the new end, 0
        self._fh.write(json.dumps(pose_record(index, timestamp_s, pose, joints36), separators=(",", ":")) + "\n")
        self._fh.flush()
        self.lines += 1

    def close(self) -> None:
        if self.path is None:
            self._fh.flush()
            return
        if not self._fh.closed:
            self._fh.close()
            if self.lines == 0 and self._created:
                self.path.unlink(missing_ok=True)

    def __enter__(self) -> PosesJsonlWriter:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
