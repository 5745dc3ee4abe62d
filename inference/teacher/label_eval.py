"""What teacher labels are worth: label error against true labels as a function of the confidence score.

    python scripts/label_eval.py --truth T1 [T2 ...] --labelled L1 [L2 ...] [--plot PNG] [--json]

Each ``L`` is a folder written by ``handpose label`` (best with ``--min-score 0``, so that every hand found is
labelled and the whole curve can be drawn); ``T`` the NYU-format folder of the same frames with their true labels
(e.g. the ``handpose synth`` output the labelled source was a label-free copy of). Frame ``i`` of ``L`` is matched
to row ``source_index`` of ``T`` (``confidence.jsonl``); for a frame labelled as a mirrored left hand the true
joints are mirrored the same way first. The error of a frame is its mean 3D joint error (mm, 14 NYU joints).

For every threshold on the score it reports the fraction of ALL frames labelled (score >= threshold) and the
mean error over them; the same for each evidence factor alone (which one predicts the error best). ``--plot``
draws error vs fraction labelled (the rejection curve) and per-frame error vs score. ``--min-score`` (default:
the rule in :data:`inference.teacher.confidence.REJECT_BELOW`) is the operating point reported in the summary.
"""

from __future__ import annotations

import json
import textwrap
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from inference.core.errors import DataFormatError
from inference.core.geometry import uvd_to_xyz
from inference.core.skeleton import EVAL_SHORT_NAMES, to_eval_joints
from inference.formats.nyu_io import JOINT_DATA, NyuSequence, read_joint_data
from inference.teacher.labelling import CONFIDENCE_JSONL, mirror_uvd

FACTORS: tuple[str, ...] = ("agreement", "bones", "depth", "handedness", "temporal")


@dataclass
class FrameErrors:
    """Per frame of all labelled folders: ``error_mm`` (NaN without a hand), ``score`` (NaN without a hand),
    ``factors`` name -> values, ``joint_error_mm`` ``(N, 14)``, and the total frame count."""

    error_mm: np.ndarray
    score: np.ndarray
    factors: dict[str, np.ndarray]
    joint_error_mm: np.ndarray
    frames: int


def _read_confidence(folder: Path) -> list[dict]:
    path = folder / CONFIDENCE_JSONL
    try:
        return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
    except OSError as exc:
        raise DataFormatError(path, f"cannot read ({exc.strerror}); is {folder} a `handpose label` folder?") from None


def frame_errors(truths: list[Path], labelled: list[Path]) -> FrameErrors:
    """Per-frame errors of ``labelled`` folders against ``truths`` (pairwise)."""
    errors, scores, joint_errors = [], [], []
    factors: dict[str, list[float]] = {name: [] for name in FACTORS}
    for truth_dir, label_dir in zip(truths, labelled, strict=True):
        truth = NyuSequence(truth_dir)
        true_uvd = truth.labels()
        if true_uvd is None:
            raise DataFormatError(truth_dir, f"has no {JOINT_DATA} to compare with")
        true_uvd = to_eval_joints(true_uvd["joint_uvd"])
        ours = to_eval_joints(read_joint_data(label_dir / JOINT_DATA)["joint_uvd"][0])
        intr = NyuSequence(label_dir).intrinsics
        for row in _read_confidence(label_dir):
            i, src = int(row["index"]), int(row["source_index"])
            if row["score"] is None or not np.isfinite(ours[i]).all():
                errors.append(np.nan)
                scores.append(np.nan)
                joint_errors.append(np.full(len(EVAL_SHORT_NAMES), np.nan))
                for name in FACTORS:
                    factors[name].append(np.nan)
                continue
            gt = mirror_uvd(true_uvd[src], intr) if row["mirrored"] else true_uvd[src]
            per_joint = np.linalg.norm(uvd_to_xyz(ours[i], intr) - uvd_to_xyz(gt, intr), axis=1)
            joint_errors.append(per_joint)
            errors.append(float(per_joint.mean()))
            scores.append(float(row["score"]))
            for name in FACTORS:
                factors[name].append(float(row["evidence"][name]))
    return FrameErrors(np.asarray(errors), np.asarray(scores), {k: np.asarray(v) for k, v in factors.items()},
                       np.asarray(joint_errors).reshape(-1, len(EVAL_SHORT_NAMES)), len(errors))


def rejection_curve(error_mm: np.ndarray, score: np.ndarray, frames: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Thresholds (the scores, descending), the fraction of all ``frames`` kept at each and the mean error kept."""
    ok = np.isfinite(score) & np.isfinite(error_mm)
    order = np.argsort(-score[ok], kind="stable")
    kept_err = error_mm[ok][order]
    n = np.arange(1, len(kept_err) + 1)
    return score[ok][order], n / max(frames, 1), np.cumsum(kept_err) / n


def operating_point(errors: FrameErrors, min_score: float) -> dict[str, object]:
    """Fraction labelled, mean / median label error and per-joint error at ``score >= min_score``."""
    keep = np.isfinite(errors.score) & (errors.score >= min_score)
    per_joint = np.nanmean(errors.joint_error_mm[keep], axis=0) if keep.any() else np.full(14, np.nan)
    return {
        "min_score": min_score, "frames": errors.frames, "labelled": int(keep.sum()),
        "labelled_pct": round(100.0 * keep.sum() / max(errors.frames, 1), 2),
        "hand_found_pct": round(100.0 * np.isfinite(errors.score).sum() / max(errors.frames, 1), 2),
        "mean_error_mm": round(float(errors.error_mm[keep].mean()), 2) if keep.any() else None,
        "median_error_mm": round(float(np.median(errors.error_mm[keep])), 2) if keep.any() else None,
        "per_joint_mm": {n: round(float(e), 2) if np.isfinite(e) else None
                         for n, e in zip(EVAL_SHORT_NAMES, per_joint, strict=True)},
    }


def best_fraction_within(error_mm: np.ndarray, score: np.ndarray, frames: int, limit_mm: float) -> float:
    """The largest fraction of all frames a threshold on ``score`` can label with mean error <= ``limit_mm``."""
    _, fraction, mean = rejection_curve(error_mm, score, frames)
    inside = np.nonzero(mean <= limit_mm)[0]
    return float(fraction[inside[-1]]) if inside.size else 0.0


def plot(errors: FrameErrors, min_score: float, path: Path, title: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(12, 4.8))
    for name, values in (("score (all factors)", errors.score), *((f, errors.factors[f]) for f in FACTORS)):
        _, fraction, mean = rejection_curve(errors.error_mm, values, errors.frames)
        ax1.plot(100 * fraction, mean, lw=2.5 if name.startswith("score") else 1.2, label=name)
    op = operating_point(errors, min_score)
    if op["mean_error_mm"] is not None:
        ax1.plot(op["labelled_pct"], op["mean_error_mm"], "ko", ms=8, label=f"rule: score >= {min_score:g}")
    ax1.axhline(20, color="grey", ls="--", lw=1)
    ax1.axvline(80, color="grey", ls="--", lw=1)
    ax1.set(xlabel="frames labelled (% of all frames)", ylabel="mean label error of the labelled frames (mm)",
            title="rejection curve: keep the most confident frames")
    ax1.legend(fontsize=8)
    ax1.grid(alpha=0.3)
    ok = np.isfinite(errors.score)
    ax2.scatter(errors.score[ok], errors.error_mm[ok], s=6, alpha=0.5)
    ax2.axvline(min_score, color="k", lw=1)
    ax2.set(xlabel="frame score", ylabel="frame label error (mm)", yscale="log", title="per frame")
    ax2.grid(alpha=0.3)
    fig.suptitle(textwrap.fill(title, 130), fontsize=9)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)
