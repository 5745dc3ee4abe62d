"""Benchmark and picture of hand segmentation + cube crop on the real frames.

    python scripts/bench_segmentation.py [--data DIR] [--repeats N] [--json] [--figure PNG]

Times :func:`inference.preprocess.segmentation.segment_hand`, :func:`inference.preprocess.crop.make_crop` and both
together on
the real NYU test frame 1 and a RealSense SR305 frame (one thread, frames already in memory), prints the
median and p95 in ms, and a per-frame table (found, centre, crop valid fraction) for every real frame.
``--figure`` draws each frame's depth with the hand mask and centre beside its 128x128 crop.
The data lives in ``../shared/data`` (or ``$HANDPOSE_SHARED_DATA``) and is never copied into the project.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from inference.core.errors import HandposeError
from inference.core.geometry import NYU_INTRINSICS, Intrinsics, uvd_to_xyz
from inference.formats.nyu_io import read_depth16_png, read_depth_png
from inference.preprocess.crop import make_crop
from inference.preprocess.segmentation import Segmentation, segment_hand

# RealSense SR305 of the LadaOndris hand-recognition data set (its readme): depth unit 0.125 mm.
SR305_INTRINSICS = Intrinsics(fx=476.007, fy=476.007, cx=313.683, cy=242.755, width=640, height=480)
SR305_DEPTH_UNIT_MM = 0.125


@dataclass
class RealFrame:
    """One real depth frame: ``depth_mm (H, W)`` uint16, its intrinsics and a short name."""

    name: str
    depth_mm: np.ndarray
    intr: Intrinsics


def load_real_frames(data_dir: Path) -> list[RealFrame]:
    """The NYU test frame 1 followed by every SR305 frame (sorted by sequence, then frame number)."""
    frames = [RealFrame(
        "nyu_test_0000001",
        read_depth_png(data_dir / "real_frames" / "nyu_test_0000001" / "depth_1_0000001.png"),
        NYU_INTRINSICS,
    )]
    sr305 = data_dir / "real_frames" / "sr305_lada_ondris"
    paths = sorted(sr305.glob("*/*.png"), key=lambda p: (p.parent.name, int(p.stem)))
    frames += [
        RealFrame(f"sr305/{p.parent.name}/{p.name}", read_depth16_png(p, SR305_DEPTH_UNIT_MM), SR305_INTRINSICS)
        for p in paths
    ]
    return frames


def time_ms(fn: Callable[[], object], repeats: int) -> dict[str, float]:
    """Median and p95 wall time (ms) of ``fn`` over ``repeats`` calls, after 5 warm-up calls."""
    for _ in range(5):
        fn()
    samples = np.empty(repeats)
    for i in range(repeats):
        t0 = time.perf_counter()
        fn()
        samples[i] = time.perf_counter() - t0
    return {"median": float(np.median(samples) * 1e3), "p95": float(np.percentile(samples, 95) * 1e3)}


def bench_frame(frame: RealFrame, repeats: int) -> dict[str, dict[str, float]]:
    """``{"segment"|"crop"|"both": {"median", "p95"}}`` in ms for one frame."""
    seg = segment_hand(frame.depth_mm, frame.intr)
    if not seg.found:
        raise HandposeError(f"{frame.name}: no hand found ({seg.reason}); nothing to crop")

    def both() -> None:
        s = segment_hand(frame.depth_mm, frame.intr)
        make_crop(frame.depth_mm, s.com_uvd, frame.intr)

    return {
        "segment": time_ms(lambda: segment_hand(frame.depth_mm, frame.intr), repeats),
        "crop": time_ms(lambda: make_crop(frame.depth_mm, seg.com_uvd, frame.intr), repeats),
        "both": time_ms(both, repeats),
    }


def frame_row(frame: RealFrame) -> dict[str, object]:
    """Per-frame result: found, reason, centre uvd, centre xyz (mm) and the crop's valid (in-cube) fraction."""
    seg = segment_hand(frame.depth_mm, frame.intr)
    row: dict[str, object] = {"frame": frame.name, "found": seg.found, "reason": seg.reason}
    if seg.found:
        crop = make_crop(frame.depth_mm, seg.com_uvd, frame.intr)
        row["com_uvd"] = [round(float(c), 1) for c in seg.com_uvd]
        row["com_xyz_mm"] = [round(float(c), 1) for c in uvd_to_xyz(seg.com_uvd, frame.intr)]
        row["crop_valid_fraction"] = round(float(crop.mask.mean()), 3)
    return row


def _depth_view(depth_mm: np.ndarray, seg: Segmentation) -> np.ndarray:
    """``(H, W, 3)`` uint8 BGR: depth as grey (near = bright), hand mask tinted red, centre as a green dot."""
    d = depth_mm.astype(np.float32)
    valid = (d > 0) & (d < 2000)  # NYU marks background 2001
    lo, hi = (np.percentile(d[valid], [0.5, 99]) if valid.any() else (0.0, 1.0))
    grey = np.where(valid, 255.0 * (1.0 - np.clip((d - lo) / max(hi - lo, 1.0), 0, 1)), 0).astype(np.uint8)
    img = cv2.cvtColor(grey, cv2.COLOR_GRAY2BGR)
    if seg.found:
        img[seg.mask] = (0.5 * img[seg.mask] + np.array([0, 0, 127])).astype(np.uint8)
        cv2.circle(img, (round(seg.com_uvd[0]), round(seg.com_uvd[1])), 7, (0, 255, 0), -1)
    return img


def draw_figure(frames: list[RealFrame], path: Path, columns: int = 4) -> None:
    """Grid of tiles, each the depth view (320x240) with the 128x128 crop beside it (shown at 240x240)."""
    tiles = []
    for frame in frames:
        seg = segment_hand(frame.depth_mm, frame.intr)
        view = cv2.resize(_depth_view(frame.depth_mm, seg), (320, 240), interpolation=cv2.INTER_AREA)
        crop_img = np.zeros((240, 240, 3), np.uint8)
        if seg.found:
            crop = make_crop(frame.depth_mm, seg.com_uvd, frame.intr)
            grey = (255.0 * (1.0 - crop.depth) / 2.0).astype(np.uint8)  # -1 (near) white, 1 (far/missing) black
            crop_img = cv2.resize(cv2.cvtColor(grey, cv2.COLOR_GRAY2BGR), (240, 240), interpolation=cv2.INTER_NEAREST)
            label = f"c=({seg.com_uvd[0]:.0f},{seg.com_uvd[1]:.0f},{seg.com_uvd[2]:.0f}) valid {crop.mask.mean():.2f}"
        else:
            label = f"not found: {seg.reason}"
        tile = np.hstack([view, np.full((240, 4, 3), 255, np.uint8), crop_img])
        tile = np.vstack([np.full((22, tile.shape[1], 3), 40, np.uint8), tile])
        cv2.putText(tile, frame.name, (4, 16), cv2.FONT_HERSHEY_SIMPLEX, 0.45, (0, 255, 255), 1, cv2.LINE_AA)
        cv2.putText(tile, label, (4, 258), cv2.FONT_HERSHEY_SIMPLEX, 0.4, (0, 255, 0), 1, cv2.LINE_AA)
        tiles.append(np.pad(tile, ((4, 4), (4, 4), (0, 0))))
    while len(tiles) % columns:
        tiles.append(np.zeros_like(tiles[0]))
    rows = [np.hstack(tiles[i:i + columns]) for i in range(0, len(tiles), columns)]
    path.parent.mkdir(parents=True, exist_ok=True)
    if not cv2.imwrite(str(path), np.vstack(rows), [cv2.IMWRITE_PNG_COMPRESSION, 9]):
        raise HandposeError(f"{path}: cannot write the figure")
