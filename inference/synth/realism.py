"""Measure how real the synthetic depth looks: the same statistics on real and generated frames.

``python scripts/synth_realism.py [--frames N] [--data DIR] [--sensor NAME ...]`` prints one row per source:

- ``invalid``: fraction of the whole frame without depth.
- ``sil_holes``: fraction of missing pixels in the 3-px inner band of the hand's silhouette (the hand region
  is the segmented hand mask, closed with a 9x9 kernel so notches count as holes).
- ``in_holes``: fraction of missing pixels inside the hand, away from the silhouette.
- ``noise``: std (mm) of depth minus its 5x5 median over hand pixels whose 5x5 window is all valid hand.
- ``step``: the typical (median) step between distinct depth values on the hand (mm), i.e. the quantisation.
- ``rough``: silhouette raggedness, the hand mask's perimeter over the perimeter of its 5x5-median-smoothed
  mask (1 = smooth outline).
- ``mixed``: flying pixels, the fraction of valid pixels in the 3-px ring around the hand's outline (either
  side) whose depth is at least 20 mm from every valid 8-neighbour (isolated readings between surfaces).

The hand is found by the runtime's :func:`inference.preprocess.segmentation.segment_hand` in every frame, real or not.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from inference.core.geometry import NYU_INTRINSICS, Intrinsics
from inference.preprocess.segmentation import segment_hand

SR305_INTRINSICS = Intrinsics(fx=476.007, fy=476.007, cx=313.683, cy=242.755, width=640, height=480)
SR305_UNIT_MM = 0.125


@dataclass
class DepthStats:
    hand_mm: float
    invalid: float
    sil_holes: float
    in_holes: float
    noise_mm: float
    step_mm: float
    rough: float
    mixed: float


def depth_stats(depth_mm: np.ndarray, intr: Intrinsics) -> DepthStats | None:
    """Statistics of one ``(H, W)`` depth frame (mm, float or int; 0 / NYU's 2001 = invalid); None without a hand."""
    depth = depth_mm.astype(np.float32)
    depth[depth >= 2001] = 0.0  # NYU's background / invalid code
    seg = segment_hand(depth, intr)
    if not seg.found:
        return None
    valid = depth > 0
    hand = seg.mask.astype(np.uint8)
    region = cv2.morphologyEx(hand, cv2.MORPH_CLOSE, cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (9, 9))) | hand
    inner = cv2.erode(region, np.ones((3, 3), np.uint8), iterations=3)
    band = (region > 0) & (inner == 0)
    interior = inner > 0
    med = cv2.medianBlur(depth, 5)
    # Windows entirely on valid hand pixels (a window across a finger's edge measures the edge, not noise).
    sel = cv2.erode((valid & seg.mask).astype(np.uint8), np.ones((5, 5), np.uint8)) > 0
    resid = (depth - med)[sel]
    values = np.unique(depth[sel])
    steps = np.diff(values)
    smooth = cv2.medianBlur(hand * 255, 5)
    perimeter = [sum(cv2.arcLength(c, True) for c in cv2.findContours(m, cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_NONE)[0])
                 for m in (hand, smooth)]
    box = np.ones((3, 3), np.uint8)
    ring = (cv2.dilate(hand, box, iterations=3) > cv2.erode(hand, box, iterations=3)) & valid
    nearest_neighbour = np.full(depth.shape, np.inf, np.float32)
    padded = np.pad(np.where(valid, depth, np.nan), 1, constant_values=np.nan)
    for dv in (-1, 0, 1):
        for du in (-1, 0, 1):
            if dv or du:
                other = padded[1 + dv:1 + dv + depth.shape[0], 1 + du:1 + du + depth.shape[1]]
                nearest_neighbour = np.fmin(nearest_neighbour, np.abs(other - depth))
    isolated = ring & (nearest_neighbour >= 20.0)
    return DepthStats(
        hand_mm=float(np.median(depth[seg.mask])),
        invalid=float(1.0 - valid.mean()),
        sil_holes=float((~valid[band]).mean()) if band.any() else float("nan"),
        in_holes=float((~valid[interior]).mean()) if interior.any() else float("nan"),
        noise_mm=float(resid.std()) if resid.size else float("nan"),
        step_mm=float(np.median(steps)) if steps.size else float("nan"),
        rough=perimeter[0] / perimeter[1] if perimeter[1] > 0 else float("nan"),
        mixed=float(isolated.sum() / max(1, ring.sum())),
    )


def _row(name: str, stats: list[DepthStats]) -> str:
    if not stats:
        return f"{name:<28} (no hand found)"
    arr = {k: np.array([getattr(s, k) for s in stats]) for k in DepthStats.__dataclass_fields__}
    return (f"{name:<28} {len(stats):>3} {np.median(arr['hand_mm']):>7.0f} {np.nanmean(arr['invalid']):>7.2f} "
            f"{np.nanmean(arr['sil_holes']):>9.3f} {np.nanmean(arr['in_holes']):>8.3f} "
            f"{np.nanmedian(arr['noise_mm']):>7.2f} {np.nanmedian(arr['step_mm']):>6.2f} "
            f"{np.nanmean(arr['rough']):>6.3f} {np.nanmean(arr['mixed']):>6.3f}")


def real_rows(data: Path) -> list[str]:
    rows = []
    nyu = data / "real_frames" / "nyu_test_0000001" / "depth_1_0000001.png"
    if nyu.exists():
        from inference.formats.nyu_io import read_depth_png

        stats = depth_stats(read_depth_png(nyu), NYU_INTRINSICS)
        rows.append(_row("NYU test frame 1 (Kinect)", [stats] if stats else []))
    sr = sorted((data / "real_frames" / "sr305_lada_ondris").glob("*/*.png"))
    if sr:
        # Raw 16-bit units of 0.125 mm, kept as float mm so that the fine quantisation stays visible.
        stats = [depth_stats(cv2.imread(str(p), cv2.IMREAD_UNCHANGED).astype(np.float32) * SR305_UNIT_MM,
                             SR305_INTRINSICS) for p in sr]
        rows.append(_row("SR305 (RealSense)", [s for s in stats if s]))
    return rows


def synthetic_rows(frames: int, seed: int = 0, sensor: str = "kinect", by_range: bool = True) -> list[str]:
    from inference.synth.generate import make_specs, render_frame, subject_ids
    from inference.synth.sensor import SENSORS

    specs = make_specs("gestures", frames, seed, subject_ids(8, 5000))
    rows: dict[str, list[DepthStats]] = {}
    prefix = "synthetic" if sensor == "kinect" else f"synth {sensor}"
    for spec in specs:
        stats = depth_stats(render_frame(spec, sensor=SENSORS[sensor]).depth_mm, NYU_INTRINSICS)
        if stats:
            lo = int(stats.hand_mm // 200 * 200)
            if by_range:
                rows.setdefault(f"{prefix} {lo}-{lo + 200} mm", []).append(stats)
            rows.setdefault(f"{prefix} (all)", []).append(stats)
    return [_row(k, v) for k, v in sorted(rows.items())]
