"""Lift 2D hand landmarks to 3D with an aligned depth image, robust to holes, background and silhouette edges.

A landmark's pixel may fall on a hole (depth 0), on the background value of the source (NYU's 2001 mm), or,
near the silhouette, on whatever lies behind the hand. Each landmark's surface depth is therefore taken from a
window around it, keeping only depths consistent with the hand (within ``[hand - near, hand + far]`` of the
hand's reference depth, itself the median of the palm landmarks' windows), and of those the nearest surface
(the median of the depths within ``surface_band_mm`` of the window's 10th percentile): a finger in front of
the palm or the body is the near cluster. The joint centre lies behind the skin the camera sees by roughly
the radius of the part (finger, thumb, wrist, palm): ``centre_offsets_mm`` adds that, per landmark.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

# Depth values that mean "no measurement" whatever the source: 0 (RealSense, handpose recordings) and the
# background value NYU's own depth PNGs use.
INVALID_DEPTHS_MM: tuple[int, ...] = (0, 2001)
PALM_LANDMARKS: tuple[int, ...] = (0, 1, 5, 9, 13, 17)  # wrist, thumb CMC, the four finger MCPs


@dataclass(frozen=True)
class LiftParams:
    """How landmarks are lifted.

    Attributes:
        window_frac: window half-size as a fraction of the hand's 2D size (wrist to middle MCP, px).
        min_window_px / max_window_px: bounds of the window half-size (px).
        near_mm / far_mm: depths kept in a window: ``[hand_mm - near_mm, hand_mm + far_mm]``.
        surface_band_mm: the nearest surface = depths within this of the window's 10th percentile.
        centre_offsets_mm: ``(21,)`` skin-to-joint-centre distance added to the surface depth (mm).
    """

    window_frac: float = 0.05
    min_window_px: int = 2
    max_window_px: int = 6
    near_mm: float = 160.0
    far_mm: float = 110.0
    surface_band_mm: float = 12.0
    centre_offsets_mm: tuple[float, ...] = (
        20.0,  # wrist: the wrist is ~45-50 mm thick
        11.0, 10.0, 9.0, 8.0,  # thumb CMC, MCP, IP, tip
        10.0, 8.0, 7.0, 6.0,  # index MCP, PIP, DIP, tip
        10.0, 8.0, 7.0, 6.0,  # middle
        10.0, 8.0, 7.0, 6.0,  # ring
        9.0, 7.0, 6.0, 5.0,  # pinky
    )


@dataclass
class Lifted:
    """Landmarks lifted to depth.

    Attributes:
        surface_mm: ``(21,)`` depth of the nearest hand surface around each landmark (mm), NaN where the window
            holds no depth consistent with the hand.
        joint_mm: ``(21,)`` ``surface_mm`` + the skin-to-centre offset (mm), NaN likewise.
        support: ``(21,)`` fraction of the window's pixels that are valid and consistent with the hand, in [0, 1].
        hand_mm: the hand's reference depth (mm), NaN when no palm landmark has depth.
    """

    surface_mm: np.ndarray
    joint_mm: np.ndarray
    support: np.ndarray
    hand_mm: float


def _valid(depth: np.ndarray) -> np.ndarray:
    ok = np.isfinite(depth) & (depth > 0)
    for value in INVALID_DEPTHS_MM[1:]:
        ok &= depth != value
    return ok


def _windows(depth_mm: np.ndarray, uv_px: np.ndarray, half: int) -> np.ndarray:
    """``(L, (2h+1)^2)`` float depths around each landmark (NaN outside the image or invalid)."""
    h, w = depth_mm.shape
    offsets = np.arange(-half, half + 1)
    uu = np.rint(uv_px[:, 0])[:, None, None] + offsets[None, None, :]
    vv = np.rint(uv_px[:, 1])[:, None, None] + offsets[None, :, None]
    uu, vv = np.broadcast_arrays(uu, vv)
    inside = (uu >= 0) & (uu < w) & (vv >= 0) & (vv < h) & np.isfinite(uu) & np.isfinite(vv)
    ui = np.where(inside, uu, 0).astype(np.int64)
    vi = np.where(inside, vv, 0).astype(np.int64)
    values = depth_mm[vi, ui].astype(np.float64)
    values[~inside | ~_valid(values)] = np.nan
    return values.reshape(len(uv_px), -1)


def hand_size_px(uv_px: np.ndarray) -> float:
    """The hand's 2D scale: wrist (0) to middle-finger MCP (9), pixels."""
    return float(np.linalg.norm(uv_px[9] - uv_px[0]))


def _row_quantile(sorted_rows: np.ndarray, counts: np.ndarray, q: float) -> np.ndarray:
    """The ``q`` quantile (linear interpolation) of the first ``counts[i]`` values of each sorted row (NaN if none)."""
    pos = q * np.maximum(counts - 1, 0)
    lo = np.floor(pos).astype(np.int64)
    hi = np.minimum(lo + 1, np.maximum(counts - 1, 0))
    rows = np.arange(len(sorted_rows))
    with np.errstate(invalid="ignore"):
        value = sorted_rows[rows, lo] + (pos - lo) * (sorted_rows[rows, hi] - sorted_rows[rows, lo])
    return np.where(counts > 0, value, np.nan)


def lift_landmarks(depth_mm: np.ndarray, uv_px: np.ndarray, params: LiftParams = LiftParams()) -> Lifted:
    """Depths of the 21 MediaPipe landmarks.

    Args:
        depth_mm: ``(H, W)`` depth (mm) registered to the colour image the landmarks were found on.
        uv_px: ``(21, 2)`` landmark pixels (u column, v row) on that image.
        params: window and offsets.
    """
    uv_px = np.asarray(uv_px, np.float64)
    n = len(uv_px)
    half = int(np.clip(round(params.window_frac * hand_size_px(uv_px)), params.min_window_px, params.max_window_px))
    win = _windows(np.asarray(depth_mm), uv_px, half)  # (21, K), NaN = no depth
    # Row-wise statistics by sorting (NaN last): numpy's nan-quantiles along an axis loop in Python.
    palm = np.sort(win[list(PALM_LANDMARKS)], axis=1)
    palm_medians = _row_quantile(palm, np.isfinite(palm).sum(axis=1), 0.5)
    finite = np.sort(palm_medians[np.isfinite(palm_medians)])
    if finite.size == 0:
        nan = np.full(n, np.nan)
        return Lifted(nan, nan.copy(), np.zeros(n), float("nan"))
    # The nearer half of the palm landmarks: a wrist or knuckle on the background must not drag the hand away.
    hand_mm = float(np.median(finite[: max(1, (finite.size + 1) // 2)]))
    keep = (win >= hand_mm - params.near_mm) & (win <= hand_mm + params.far_mm)
    support = keep.sum(axis=1) / win.shape[1]
    kept = np.sort(np.where(keep, win, np.nan), axis=1)
    counts = keep.sum(axis=1)
    low = _row_quantile(kept, counts, 0.10)
    with np.errstate(invalid="ignore"):
        near_counts = np.sum(kept <= (low + params.surface_band_mm)[:, None], axis=1)  # a prefix of each sorted row
    surface = _row_quantile(kept, near_counts, 0.5)
    joint = surface + np.asarray(params.centre_offsets_mm, np.float64)[:n]
    return Lifted(surface, joint, support, hand_mm)
