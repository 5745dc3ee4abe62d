"""Hand pose metrics (thesis sec. 4.4): per-joint 3D error, mean / median error, success rate.

Definitions, as in the NYU literature whose published numbers this reproduces:

- joint error: Euclidean distance (mm) between predicted and labelled joint in camera space;
- mean error: mean over all (frame, joint) errors of the frames that have a prediction;
- median error: median over those frames of the per-frame mean joint error;
- per-joint error: mean over those frames, per joint;
- success rate at T mm: percentage of ALL labelled frames whose MAX joint error is <= T; a labelled frame
  with no prediction ("missing") or with ``found = false`` ("not found") counts as a failure.

And, where the labels hold a hand still (``handpose synth --mode still``): jitter, the mean frame-to-frame
joint acceleration ``|p[k+1] - 2 p[k] + p[k-1]|`` (mm) of the predictions over three consecutive frames whose
labels do not move; everything that moves there is noise.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from inference.core.errors import DataFormatError
from inference.core.skeleton import EVAL_SHORT_NAMES, NUM_JOINTS
from inference.formats.pose_files import PoseSet

# Thresholds reported in JSON (every 10 mm) and drawn as a curve (every 1 mm), both 0..80 mm.
REPORT_THRESHOLDS_MM: tuple[int, ...] = tuple(range(0, 81, 10))
CURVE_THRESHOLDS_MM: np.ndarray = np.arange(0.0, 80.0 + 0.5, 1.0)


def joint_errors_mm(predicted_xyz_mm: np.ndarray, labels_xyz_mm: np.ndarray) -> np.ndarray:
    """Per-joint Euclidean error: ``(N, J, 3)`` mm and ``(N, J, 3)`` mm -> ``(N, J)`` mm."""
    return np.linalg.norm(np.asarray(predicted_xyz_mm, np.float64) - np.asarray(labels_xyz_mm, np.float64), axis=-1)


@dataclass(frozen=True)
class EvalResult:
    """Errors of one prediction set against its labels.

    Attributes:
        errors_mm: ``(M, 14)`` joint errors of the M labelled frames that have a prediction.
        missing: labelled frames with no prediction row.
        not_found: labelled frames whose prediction row says ``found = false``.
        jitter_mm: mean joint acceleration (mm per frame^2) over still-labelled triples of frames, or None.
    """

    errors_mm: np.ndarray
    missing: int = 0
    not_found: int = 0
    jitter_mm: float | None = None

    @property
    def frames(self) -> int:
        """All labelled frames (the denominator of success rates)."""
        return int(self.errors_mm.shape[0]) + self.missing + self.not_found

    @property
    def evaluated(self) -> int:
        """Labelled frames with a prediction (the population of mean / median / per-joint errors)."""
        return int(self.errors_mm.shape[0])

    @property
    def mean_error_mm(self) -> float:
        return float(self.errors_mm.mean()) if self.evaluated else float("nan")

    @property
    def median_error_mm(self) -> float:
        """Median over frames of the per-frame mean joint error."""
        return float(np.median(self.errors_mm.mean(axis=1))) if self.evaluated else float("nan")

    @property
    def per_joint_mm(self) -> np.ndarray:
        """``(14,)`` mean error of each joint (NaN without predictions)."""
        return self.errors_mm.mean(axis=0) if self.evaluated else np.full(self.errors_mm.shape[1], np.nan)

    def success_rate_pct(self, thresholds_mm: np.ndarray | tuple[float, ...] = REPORT_THRESHOLDS_MM) -> np.ndarray:
        """``(T,)`` percentage (0-100) of all labelled frames whose max joint error is <= each threshold (mm)."""
        thresholds = np.asarray(thresholds_mm, np.float64)
        if self.frames == 0:
            return np.zeros_like(thresholds)
        frame_max_mm = np.sort(self.errors_mm.max(axis=1)) if self.evaluated else np.empty(0)
        successes = np.searchsorted(frame_max_mm, thresholds, side="right")  # count of max error <= T
        return 100.0 * successes / self.frames

    def to_dict(self) -> dict[str, object]:
        """The ``handpose eval --json`` object; NaN (no prediction at all) becomes null."""

        def num(value: float) -> float | None:
            return None if np.isnan(value) else float(value)

        return {
            "frames": self.frames,
            "missing": self.missing,
            "not_found": self.not_found,
            "mean_error_mm": num(self.mean_error_mm),
            "median_error_mm": num(self.median_error_mm),
            "per_joint_mm": {name: num(v) for name, v in zip(EVAL_SHORT_NAMES, self.per_joint_mm, strict=True)},
            "success_rate": {
                str(t): float(p) for t, p in zip(REPORT_THRESHOLDS_MM, self.success_rate_pct(), strict=True)
            },
            "jitter_mm": self.jitter_mm,
        }


def rows_without_label_row(labels: PoseSet, predictions: PoseSet) -> int:
    """Prediction rows whose frame has no row at all in the labels (not even an unlabelled one): usually a
    labels file shorter than the sequence that was run. They are not scored; callers warn about them."""
    if labels.positional and predictions.positional:
        return 0  # equal lengths are required (evaluate raises otherwise)
    if labels.positional:
        return int((predictions.frame_index >= len(labels)).sum())
    return int((~np.isin(predictions.frame_index, labels.frame_index)).sum())


def evaluate(labels: PoseSet, predictions: PoseSet) -> EvalResult:
    """Match predictions to labels and score them.

    Two positional files (text, .mat) are matched row by row and must have as many rows; otherwise rows are
    matched by 0-based frame index. Label rows without a pose are not labelled frames; prediction rows of
    frames that are not labelled are ignored.

    Raises:
        DataFormatError: positional files of different lengths (naming both files and counts).
    """
    if labels.positional and predictions.positional and len(labels) != len(predictions):
        raise DataFormatError(
            predictions.path,
            f"has {len(predictions)} frames but the labels {labels.path} have {len(labels)}; "
            "line/row i must be frame i in both",
        )
    if labels.joints_xyz_mm.shape[1:] != (NUM_JOINTS, 3) or predictions.joints_xyz_mm.shape[1:] != (NUM_JOINTS, 3):
        raise ValueError("pose sets must hold (N, 14, 3) joints")
    label_rows = np.flatnonzero(labels.found)
    label_index = labels.frame_index[label_rows]

    if len(predictions) == 0:
        return EvalResult(errors_mm=np.empty((0, NUM_JOINTS)), missing=len(label_rows))
    order = np.argsort(predictions.frame_index, kind="stable")
    sorted_index = predictions.frame_index[order]
    pos = np.minimum(np.searchsorted(sorted_index, label_index), len(sorted_index) - 1)
    has_row = sorted_index[pos] == label_index
    pred_rows = order[pos]
    pred_found = has_row & predictions.found[pred_rows]

    errors = joint_errors_mm(
        predictions.joints_xyz_mm[pred_rows[pred_found]], labels.joints_xyz_mm[label_rows[pred_found]]
    )
    return EvalResult(
        errors_mm=errors,
        missing=int((~has_row).sum()),
        not_found=int((has_row & ~pred_found).sum()),
        jitter_mm=_still_jitter_mm(label_index[pred_found], labels.joints_xyz_mm[label_rows[pred_found]],
                                   predictions.joints_xyz_mm[pred_rows[pred_found]]),
    )


def _still_jitter_mm(index: np.ndarray, labels_mm: np.ndarray, predicted_mm: np.ndarray) -> float | None:
    """Mean ``|p[k+1] - 2 p[k] + p[k-1]|`` (mm) over frames k-1, k, k+1 that are consecutive, predicted and
    labelled with the same pose; None when no such triple exists. Arrays: ``(M,)`` and ``(M, 14, 3)``."""
    order = np.argsort(index, kind="stable")
    index, labels_mm, predicted_mm = index[order], labels_mm[order], predicted_mm[order]
    if len(index) < 3:
        return None
    consecutive = (index[1:-1] - index[:-2] == 1) & (index[2:] - index[1:-1] == 1)
    still = np.all((labels_mm[1:-1] == labels_mm[:-2]) & (labels_mm[2:] == labels_mm[1:-1]), axis=(1, 2))
    use = consecutive & still
    if not use.any():
        return None
    acc = np.linalg.norm(predicted_mm[2:] - 2.0 * predicted_mm[1:-1] + predicted_mm[:-2], axis=-1)
    return float(acc[use].mean())
