"""Sim-to-real check: a pose model through the runtime pipeline on the real NYU and SR305 frames.

    python scripts/sim2real.py --model models/depthnet.onnx [--out-figure docs/sim2real.png] [--json]

Runs :class:`inference.runtime.pipeline.Pipeline` (real segmentation, no smoothing, gestures on) on
1. the real NYU test frame 1 (depth + registered RGB, NYU intrinsics) and reports the 3D error (mm) of the 14
   evaluation joints against its labels (``labels_frame1.json``: ``gt_xyz_mm_yup``);
2. the 19 RealSense SR305 frames (depth only, no joint labels) and reports per frame whether a hand was found,
   the recognised gesture against the sequence's annotation (``annotations.txt``: 0 non-gesture, 1 open palm,
   2 "number two") and the predicted skeleton.
``--out-figure`` draws a grid: per frame the 128x128 network input (upscaled) with the predicted skeleton
(finger colours) and, for NYU, the ground truth (white). The data lives in ``../shared/data/real_frames``
(or ``$HANDPOSE_SHARED_DATA/real_frames``) and is never copied into the project.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from inference.core.errors import DataFormatError, HandposeError, ModelError
from inference.core.frame import Frame
from inference.core.geometry import NYU_INTRINSICS
from inference.core.skeleton import BONES, EVAL_JOINT_IDS, EVAL_SHORT_NAMES
from inference.evaluation.bench_segmentation import SR305_DEPTH_UNIT_MM, SR305_INTRINSICS
from inference.formats.nyu_io import read_depth16_png, read_depth_png, read_rgb_png
from inference.preprocess.crop import joints_to_crop_px
from inference.runtime.pipeline import FrameResult, Pipeline, PipelineSettings
from inference.synth.preview import draw_skeleton

NYU_DIR = "nyu_test_0000001"
SR305_DIR = "sr305_lada_ondris"
# annotations.txt gesture_label -> (name, the runtime gestures that count as agreeing). "Number two" is the
# index + middle V; a non-gesture agrees with anything that is neither of the two data-set gestures.
SR305_LABELS: dict[int, tuple[str, frozenset[str]]] = {
    0: ("non_gesture", frozenset()),
    1: ("open_palm", frozenset({"open_palm"})),
    2: ("number_two", frozenset({"v_sign"})),
}
_NAMED_GESTURES = frozenset().union(*(g for _, g in SR305_LABELS.values()))
TILE_PX = 256
CAPTION_PX = 36


@dataclass
class RealSample:
    """One real frame and what is known about it.

    Attributes:
        name: short name (``nyu_test_0000001`` or ``sr305/<sequence>/<n>.png``).
        frame: the frame (depth mm, RGB for NYU, intrinsics).
        gt_xyz_mm: ``(14, 3)`` ground-truth joints (camera space, mm, y up), NYU only.
        gt_uvd: ``(14, 3)`` ground truth (u px, v px, d mm), NYU only.
        annotation: SR305 sequence gesture label (0, 1, 2), SR305 only.
    """

    name: str
    frame: Frame
    gt_xyz_mm: np.ndarray | None = None
    gt_uvd: np.ndarray | None = None
    annotation: int | None = None


def _read_annotations(path: Path) -> dict[str, int]:
    """``annotations.txt`` -> {sequence directory: gesture label}."""
    labels: dict[str, int] = {}
    try:
        lines = path.read_text().splitlines()
    except OSError as exc:
        raise DataFormatError(path, f"cannot read file ({exc.strerror})") from None
    for number, line in enumerate(lines, 1):
        parts = line.split()
        if not parts:
            continue
        if len(parts) < 2 or not parts[1].isdigit() or int(parts[1]) not in SR305_LABELS:
            raise DataFormatError(path, f"line {number}: expected 'directory gesture_label ...', got {line!r}")
        labels[parts[0]] = int(parts[1])
    return labels


def load_samples(real_dir: Path) -> list[RealSample]:
    """The NYU test frame 1 followed by every SR305 frame (sorted by sequence, then frame number)."""
    if not real_dir.is_dir():
        raise HandposeError(f"{real_dir}: real frames not found (set HANDPOSE_SHARED_DATA or pass --data)")
    nyu = real_dir / NYU_DIR
    labels_path = nyu / "labels_frame1.json"
    try:
        raw = json.loads(labels_path.read_text())
        gt_uvd = np.asarray(raw["gt_uvd"], np.float64).reshape(len(EVAL_JOINT_IDS), 3)
        gt_xyz = np.asarray(raw["gt_xyz_mm_yup"], np.float64).reshape(len(EVAL_JOINT_IDS), 3)
    except OSError as exc:
        raise DataFormatError(labels_path, f"cannot read file ({exc.strerror})") from None
    except (ValueError, KeyError, TypeError) as exc:
        raise DataFormatError(labels_path, f"expected gt_uvd and gt_xyz_mm_yup, 14x3 each ({exc})") from None
    frame = Frame(read_depth_png(nyu / "depth_1_0000001.png"), read_rgb_png(nyu / "rgb_1_0000001.png"),
                  NYU_INTRINSICS, 0.0, 0, joints_uvd=gt_uvd)
    samples = [RealSample(NYU_DIR, frame, gt_xyz, gt_uvd)]

    sr305 = real_dir / SR305_DIR
    annotations = _read_annotations(sr305 / "annotations.txt")
    paths = sorted(sr305.glob("*/*.png"), key=lambda p: (p.parent.name, int(p.stem) if p.stem.isdigit() else 0))
    if not paths:
        raise HandposeError(f"{sr305}: no SR305 frames (<sequence>/<n>.png)")
    for index, path in enumerate(paths, 1):
        if path.parent.name not in annotations:
            raise DataFormatError(sr305 / "annotations.txt", f"no line for sequence {path.parent.name}")
        frame = Frame(read_depth16_png(path, SR305_DEPTH_UNIT_MM), None, SR305_INTRINSICS, 0.0, index)
        samples.append(RealSample(f"sr305/{path.parent.name}/{path.name}", frame,
                                  annotation=annotations[path.parent.name]))
    return samples


def _joints(a: np.ndarray | None) -> list[list[float]] | None:
    return None if a is None else np.round(np.asarray(a, np.float64), 2).tolist()


def _round(value: float | None) -> float | None:
    return None if value is None or not np.isfinite(value) else round(float(value), 2)


def sample_row(sample: RealSample, result: FrameResult | None, skipped: str | None = None) -> dict[str, object]:
    """JSON row of one frame: found, reason, gesture, joints; NYU adds errors, SR305 the annotation."""
    pose = result.pose if result is not None else None
    found = bool(pose is not None and pose.found)
    row: dict[str, object] = {
        "frame": sample.name,
        "found": found,
        "reason": skipped or (None if found or result is None else result.segmentation.reason or "no estimate"),
        "gesture": pose.gesture if found else None,
        "gesture_confidence": round(float(pose.gesture_confidence), 3) if found else None,
        "com_xyz_mm": _joints(pose.com_xyz_mm) if found else None,
        "joints_uvd": _joints(pose.joints_uvd) if found else None,
        "joints_xyz_mm": _joints(pose.joints_xyz_mm) if found else None,
        "fit_status": pose.fit_status if found else None,
        # mean |observed hand point - model surface| (mm) for the network's pose (before) and the fit (after)
        "surface_mm_before": _round(result.fit.network_residual_mm) if found and result.fit else None,
        "surface_mm_after": _round(result.fit.residual_mm) if found and result.fit else None,
    }
    if sample.gt_xyz_mm is not None:
        row["gt_xyz_mm"] = _joints(sample.gt_xyz_mm)
        errors = np.linalg.norm(pose.joints_xyz_mm - sample.gt_xyz_mm, axis=1) if found else None
        row["mean_error_mm"] = float(errors.mean()) if found else None
        row["max_error_mm"] = float(errors.max()) if found else None
        row["per_joint_mm"] = dict(zip(EVAL_SHORT_NAMES, map(float, errors), strict=True)) if found else None
    if sample.annotation is not None:
        name, agreeing = SR305_LABELS[sample.annotation]
        row["annotation"] = {"label": sample.annotation, "name": name}
        # A missed hand never agrees; a non-gesture agrees with any gesture but the two data-set ones.
        gesture = pose.gesture if found else None
        row["gesture_agrees"] = found and (gesture in agreeing if agreeing else gesture not in _NAMED_GESTURES)
    return row


def run(model: Path, real_dir: Path, refine: bool = True
        ) -> tuple[dict[str, object], list[tuple[RealSample, FrameResult | None, dict]]]:
    """Run ``model`` on every real frame -> (the JSON report, per frame (sample, result, row) for drawing)."""
    samples = load_samples(real_dir)
    # The single-hand path: every frame holds one right hand, and the series of these numbers measures the network
    # and the fit on real depth. The two-hand default decides each frame's side from that frame alone (README, "Two
    # hands"): 2 of the 8 SR305 open palms are fitted as left hands there.
    pipeline = Pipeline.from_model(model, PipelineSettings(smoothing=False, refine=refine, max_hands=1))
    meta = pipeline.estimator.metadata
    if list(meta.joint_ids) != list(EVAL_JOINT_IDS):
        raise ModelError(f"{model}: predicts joints {meta.joint_ids}, the real-frame check needs the 14 eval joints")
    t0 = time.perf_counter()
    done = []
    for sample in samples:
        if meta.uses_rgb and sample.frame.color is None:  # SR305 is depth only
            done.append((sample, None, sample_row(sample, None, f"model input {meta.input_layout!r} needs RGB")))
            continue
        pipeline.reset()  # independent stills (SR305: 20 frames apart): no track carries from one to the next
        result = pipeline.process(sample.frame)
        done.append((sample, result, sample_row(sample, result)))
    seconds = time.perf_counter() - t0
    sr305 = [row for _, _, row in done[1:]]
    report: dict[str, object] = {
        "model": str(model),
        "architecture": meta.architecture,
        "input_layout": meta.input_layout,
        "data": str(real_dir),
        "nyu": done[0][2],
        "sr305": {
            "frames": sr305,
            "found": sum(bool(r["found"]) for r in sr305),
            "gesture_agrees": sum(bool(r["gesture_agrees"]) for r in sr305),
            "total": len(sr305),
            "surface_mm_before": _mean_of(sr305, "surface_mm_before"),
            "surface_mm_after": _mean_of(sr305, "surface_mm_after"),
        },
        "pipeline_s": round(seconds, 3),
    }
    return report, done


def _mean_of(rows: list[dict], key: str) -> float | None:
    values = [row[key] for row in rows if row.get(key) is not None]
    return round(float(np.mean(values)), 2) if values else None


def _tile(sample: RealSample, result: FrameResult | None, row: dict) -> np.ndarray:
    """``(TILE_PX + CAPTION_PX, TILE_PX, 3)`` BGR: the network input with the skeletons, a caption below."""
    if result is not None and result.crop is not None:
        crop = result.crop
        grey = np.clip(255.0 * (1.0 - crop.depth) / 2.0, 0, 255).astype(np.uint8)  # -1 (near) white, 1 black
        img = cv2.cvtColor(cv2.resize(grey, (TILE_PX, TILE_PX), interpolation=cv2.INTER_NEAREST), cv2.COLOR_GRAY2BGR)
        if sample.gt_uvd is not None:
            gt = joints_to_crop_px(sample.gt_uvd, crop.window_px, TILE_PX)
            for parent, child, _ in BONES:
                cv2.line(img, tuple(np.rint(gt[parent]).astype(int)), tuple(np.rint(gt[child]).astype(int)),
                         (255, 255, 255), 1, cv2.LINE_AA)
            for u, v in np.rint(gt).astype(int):  # hollow joints: ground truth; filled: prediction
                cv2.circle(img, (int(u), int(v)), 3, (255, 255, 255), 1, cv2.LINE_AA)
        if result.pose.found:
            draw_skeleton(img, joints_to_crop_px(result.pose.joints_uvd, crop.window_px, TILE_PX))
    else:  # nothing segmented: the whole depth frame, so one sees why
        d = sample.frame.depth_mm.astype(np.float32)
        valid = (d > 0) & (d < 2000)
        lo, hi = np.percentile(d[valid], [0.5, 99]) if valid.any() else (0.0, 1.0)
        grey = np.where(valid, 255.0 * (1.0 - np.clip((d - lo) / max(hi - lo, 1.0), 0, 1)), 0).astype(np.uint8)
        img = cv2.cvtColor(cv2.resize(grey, (TILE_PX, TILE_PX * 3 // 4), interpolation=cv2.INTER_AREA),
                           cv2.COLOR_GRAY2BGR)
        img = np.vstack([img, np.zeros((TILE_PX - img.shape[0], TILE_PX, 3), np.uint8)])
    if not row["found"]:
        second = f"not found: {row['reason']}"
    elif "mean_error_mm" in row:
        second = f"err {row['mean_error_mm']:.1f} mm (max {row['max_error_mm']:.0f}) {row['gesture'] or '-'}"
    else:
        mark = "ok" if row["gesture_agrees"] else "x"
        second = f"{row['gesture'] or '-'} vs {row['annotation']['name']} [{mark}]"
    caption = np.full((CAPTION_PX, TILE_PX, 3), 40, np.uint8)
    first = sample.name.replace("sr305/", "")
    for y, text in ((14, first), (30, second)):
        cv2.putText(caption, text[:42], (4, y), cv2.FONT_HERSHEY_SIMPLEX, 0.4, (255, 255, 255), 1, cv2.LINE_AA)
    return np.pad(np.vstack([img, caption]), ((2, 2), (2, 2), (0, 0)))


def draw_figure(done: list[tuple[RealSample, FrameResult | None, dict]], path: Path, columns: int = 5) -> Path:
    """Write the grid of tiles (NYU first, then the SR305 frames) to ``path`` (PNG)."""
    tiles = [_tile(*item) for item in done]
    while len(tiles) % columns:
        tiles.append(np.zeros_like(tiles[0]))
    grid = np.vstack([np.hstack(tiles[i:i + columns]) for i in range(0, len(tiles), columns)])
    path.parent.mkdir(parents=True, exist_ok=True)
    if not cv2.imwrite(str(path), grid, [cv2.IMWRITE_PNG_COMPRESSION, 9]):
        raise HandposeError(f"{path}: cannot write the figure")
    return path
