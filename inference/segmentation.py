"""Hand segmentation "around the nearest blob", used by training and the runtime alike.

1. Valid depth inside ``[near_mm, far_mm]``.
2. A robust nearest depth: the ``min_pixels``-th smallest valid depth (single noisy pixels are ignored).
3. A band ``[d_near, d_near + band_mm]`` and its connected components (OpenCV, 8-connected, on a 2x
   decimated grid for speed).
4. The component nearest the camera whose metric area is plausible for a hand.
5. Its centre of mass, refined a few times with the pixels inside the cube around the current centre.

No hand in range gives ``found=False`` with a reason, never an exception.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from inference.crop import DEFAULT_CUBE_MM, crop_window
from inference.geometry import Intrinsics


@dataclass(frozen=True)
class SegmentationParams:
    """Parameters (mm unless stated) with defaults that fit NYU (Kinect) and RealSense hands at 0.2-1.5 m."""

    near_mm: float = 200.0
    far_mm: float = 1500.0
    band_mm: float = 150.0
    min_pixels: int = 40
    min_area_mm2: float = 1500.0  # a hand seen edge-on still covers more than ~15 cm^2
    max_area_mm2: float = 120000.0  # hand plus forearm
    cube_mm: float = DEFAULT_CUBE_MM
    refine_iterations: int = 3


@dataclass
class Segmentation:
    """Result of :func:`segment_hand`.

    Attributes:
        found: whether a hand-like blob was found.
        com_uvd: ``(3,)`` centre (u px, v px, d mm) or None.
        mask: ``(H, W)`` bool, the pixels inside the cube around the centre (the hand), or None.
        reason: why nothing was found ("" when found).
    """

    found: bool
    com_uvd: np.ndarray | None = None
    mask: np.ndarray | None = None
    reason: str = ""


def _nearest_depth(values: np.ndarray, k: int) -> float:
    k = min(k, values.size) - 1
    return float(np.partition(values, k)[k])


def segment_hand(
    depth_mm: np.ndarray, intr: Intrinsics, params: SegmentationParams = SegmentationParams()
) -> Segmentation:
    """Find the hand in a ``(H, W)`` depth image (mm, 0 = invalid)."""
    if depth_mm.ndim != 2 or depth_mm.size == 0:
        return Segmentation(False, reason=f"depth must be a 2-D image, got shape {depth_mm.shape}")
    depth = depth_mm
    if depth.dtype.kind == "f":  # NaN/inf from a float source count as invalid
        depth = np.where(np.isfinite(depth), depth, 0.0)
    # Components on a 2x decimated grid: 4x fewer pixels, and a hand is still > 100 pixels there.
    small = depth[::2, ::2].astype(np.float32)
    valid = (small >= params.near_mm) & (small <= params.far_mm)
    values = small[valid]
    if values.size < params.min_pixels // 4 + 1:
        return Segmentation(False, reason=f"no depth within {params.near_mm:.0f}-{params.far_mm:.0f} mm")
    d_near = _nearest_depth(values, max(1, params.min_pixels // 4))
    band = valid & (small <= d_near + params.band_mm)
    count, labels, stats, _ = cv2.connectedComponentsWithStats(band.astype(np.uint8), connectivity=8)
    best = None
    best_depth = np.inf
    for label in range(1, count):
        n_px = stats[label, cv2.CC_STAT_AREA]
        if n_px * 4 < params.min_pixels:
            continue
        x, y, w, h = stats[label, :4]
        sub = small[y:y + h, x:x + w][labels[y:y + h, x:x + w] == label]
        d_med = float(np.median(sub))
        area_mm2 = n_px * 4 * (d_med / intr.fx) * (d_med / intr.fy)
        if not (params.min_area_mm2 <= area_mm2 <= params.max_area_mm2):
            continue
        d_front = float(np.percentile(sub, 5))
        if d_front < best_depth:
            best, best_depth = (label, x, y, w, h), d_front
    if best is None:
        return Segmentation(False, reason="no blob of hand size near the camera")
    label, x, y, w, h = best
    vs, us = np.nonzero(labels[y:y + h, x:x + w] == label)
    ds = small[y + vs, x + us]
    com = np.array([(us.mean() + x) * 2 + 0.5, (vs.mean() + y) * 2 + 0.5, ds.mean()])
    # The blob may include the forearm; re-centre on the points inside the cube (front part = hand).
    com, mask = refine_centre(depth, com, intr, params.cube_mm, params.refine_iterations, params.near_mm)
    if mask is None:
        return Segmentation(False, reason="blob vanished during refinement")
    return Segmentation(True, com_uvd=com, mask=mask)


def refine_centre(
    depth_mm: np.ndarray,
    com_uvd: np.ndarray,
    intr: Intrinsics,
    cube_mm: float = DEFAULT_CUBE_MM,
    iterations: int = 3,
    near_mm: float = 1.0,
) -> tuple[np.ndarray, np.ndarray | None]:
    """Re-centre ``com_uvd`` on the mean of the valid pixels inside the cube around it.

    Returns the new centre ``(3,)`` and the ``(H, W)`` bool mask of those pixels (None if empty).
    """
    height, width = depth_mm.shape
    com = np.asarray(com_uvd, np.float64).copy()
    mask_full = None
    for _ in range(max(1, iterations)):
        u0, v0, u1, v1 = crop_window(com, cube_mm, intr)
        c0, r0 = max(int(np.floor(u0)), 0), max(int(np.floor(v0)), 0)
        c1, r1 = min(int(np.ceil(u1)), width), min(int(np.ceil(v1)), height)
        if c1 <= c0 or r1 <= r0:
            return com, None
        patch = depth_mm[r0:r1, c0:c1].astype(np.float32)
        inside = (patch >= near_mm) & (np.abs(patch - np.float32(com[2])) <= 0.5 * cube_mm)
        vs, us = np.nonzero(inside)
        if vs.size == 0:
            return com, None
        new = np.array([us.mean() + c0, vs.mean() + r0, float(patch[vs, us].mean())])
        shift = np.abs(new - com)
        com = new
        mask_full = (r0, r1, c0, c1, inside)
        if shift[0] < 0.5 and shift[1] < 0.5 and shift[2] < 1.0:
            break
    assert mask_full is not None
    r0, r1, c0, c1, inside = mask_full
    mask = np.zeros((height, width), bool)
    mask[r0:r1, c0:c1] = inside
    return com, mask
