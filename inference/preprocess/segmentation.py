"""Hand segmentation "around the nearest blob", used by training and the runtime alike.

1. Valid depth inside ``[near_mm, far_mm]`` on a 2x decimated grid (4x fewer pixels; a hand at 1.5 m is
   still > 100 samples there). Non-finite float depth counts as invalid.
2. A robust nearest depth: the ``min_pixels``-th smallest valid depth (single noisy pixels are ignored).
3. A band ``[d_near, d_near + band_mm]`` and its connected components (OpenCV, 8-connected).
4. The component with the nearest *median* depth among those of plausible metric area (a 5th-percentile
   depth lets a few flying pixels of a shoulder at the image edge beat the hand).
5. Cutting off the forearm, which otherwise pulls the centre toward the wrist: the arm "root" is where the
   blob leaves the image (pixels at the border) or, for a blob inside the image, its farthest-from-camera
   tenth (the arm recedes, or the band cuts it). The hand tip is the blob's extremity farthest (3-D) from
   the root, and the hand is the blob points within ``hand_length_mm`` of that tip.
6. The centre: the palm is the thickest part of the hand, so its centre is the maximum of the distance
   transform of the hand mask (fingers and a left-over wrist barely move it, unlike a plain mean). The
   centre ``(u, v)`` is the mean of the hand points within 1.5 inscribed radii of that maximum, its depth
   their median plus ``centre_depth_offset_mm``: the camera sees the skin, the palm centre lies about half
   a palm's thickness (~30 mm) behind it. The mask is the hand points at full resolution.

No hand in range gives ``found=False`` with a reason, never an exception.

Several hands (:func:`segment_hands`): the first is exactly :func:`segment_hand`'s. Then the surface it lies on
(its blob and everything joined to it without a depth step: its forearm beyond the band) is set aside, and the
search runs again on what is left, from the nearest remaining depth; a candidate must also look like a hand (palm
no wider than ``max_palm_radius_mm``: not a head or a torso) and lie within ``max_hand_distance_mm`` of the first
(two hands of one person). Up to ``max_hands``, nearest first, each with its own centre. Two hands that touch in
the image at about one depth are one surface: when fewer than ``max_hands`` are found, the pieces of the first hand's
blob beyond ``touching_split_mm`` of its palm are offered too (``touching``; its own forearm is one of them, so the
caller must read them: the pipeline's classifier does). A candidate after the first is its band's blob grown to
``candidate_depth_mm`` behind its nearest depth (while arm-sized): a forearm reaching toward the camera puts its hand
behind the band, where the first hand's band would also take the forearm alone.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

import cv2
import numpy as np

from inference.core.geometry import Intrinsics, uvd_to_xyz

STEP = 2  # decimation of the grid the blob search runs on
_CLOSE_KERNEL = np.ones((3, 3), np.uint8)


@dataclass(frozen=True)
class SegmentationParams:
    """Parameters (mm unless stated) with defaults that fit NYU (Kinect) and RealSense hands at 0.2-1.5 m."""

    near_mm: float = 200.0
    far_mm: float = 1500.0
    band_mm: float = 150.0
    min_pixels: int = 40  # full-resolution pixels; fewer valid ones count as "nothing in range"
    # A fist seen edge-on still covers ~90 x 40 mm; speckle at the image edge (flying pixels of a shoulder)
    # measured 2000-2700 mm^2 on the SR305 frames and must not win.
    min_area_mm2: float = 3000.0
    max_area_mm2: float = 120000.0  # hand plus forearm
    # Wrist to middle fingertip of an adult hand is ~180-215 mm (NYU frame 1: 215 mm). Points within this
    # distance of the tip are "hand"; the forearm beyond it is cut off.
    hand_length_mm: float = 200.0
    # A blob that touches the image border within this many (full-resolution) pixels leaves the image there.
    border_px: int = 6
    # From the visible palm surface to the palm centre (half a ~30 mm palm thickness).
    centre_depth_offset_mm: float = 15.0
    # segment_hands only. Neighbouring samples (STEP px apart) whose depths differ by more than this lie on
    # different surfaces (a hand in front of another hand, the body); a forearm receding at a grazing angle
    # steps ~10 mm at 1 m.
    surface_step_mm: float = 25.0
    # The palm's inscribed radius of an adult hand is ~30-50 mm (half a palm width); a head's is 80-100 mm.
    max_palm_radius_mm: float = 65.0
    # Two palms of one person are at most an arm span apart; anything farther is not the other hand.
    max_hand_distance_mm: float = 900.0
    max_candidates: int = 6  # blobs tried after the first (bounds the cost when nothing else is a hand)
    # segment_hands only. Two hands that touch in the image at about one depth are one blob, and the first hand's
    # surface takes both. The blob's pieces farther than this from the first palm centre are tried as hands of their
    # own: beyond a palm's width (two touching palms' centres are 100+ mm apart), and the first hand's fingers
    # left beyond it are too small to pass as a hand.
    touching_split_mm: float = 90.0
    # segment_hands only. A candidate after the first is the blob of the band grown this deep behind its nearest
    # depth, while that stays arm-sized: an arm reaching toward the camera puts its hand behind the band.
    candidate_depth_mm: float = 300.0


@dataclass
class Segmentation:
    """Result of :func:`segment_hand`.

    Attributes:
        found: whether a hand-like blob was found.
        com_uvd: ``(3,)`` centre (u px, v px, d mm) or None.
        reason: why nothing was found ("" when found).
        hand_vu_px: ``(N, 2)`` int full-resolution ``(v, u)`` of the hand's samples on the search grid (every
            ``STEP``-th pixel; the forearm cut off), or None.
        blob_vu_px: ``(M, 2)`` the same for the whole blob the hand was cut from (hand and arm), or None.
        mask: ``(H, W)`` bool, the hand's pixels at full resolution, or None; made from the samples when first
            read (most frames never need it).
        other_end: (:func:`segment_hands`, :func:`with_other_end`) the hand cut from the other end of the same blob
            when the blob is longer than a hand: which end is the hand is a guess (see :func:`_hand_ends`) that a
            caller able to look at both (the pipeline's hand classifier) may revise.
        touching: (:func:`segment_hands`) cut from the first hand's blob (a hand touching it in the image, or its own
            forearm: a caller able to tell them apart keeps it only when it reads as a hand).
    """

    found: bool
    com_uvd: np.ndarray | None = None
    reason: str = ""
    hand_vu_px: np.ndarray | None = None
    blob_vu_px: np.ndarray | None = None
    other_end: Segmentation | None = field(default=None, repr=False)
    touching: bool = False
    _mask: np.ndarray | None = field(default=None, repr=False)
    _mask_source: tuple[np.ndarray, SegmentationParams] | None = field(default=None, repr=False)
    _grown: tuple[int, int, np.ndarray] | None = field(default=None, repr=False)

    @property
    def mask(self) -> np.ndarray | None:
        if self._mask is None and self._mask_source is not None and self.hand_vu_px is not None:
            depth_mm, params = self._mask_source
            self._mask = _full_mask(depth_mm, self.hand_vu_px, params)
        return self._mask

    @property
    def grown_mask(self) -> tuple[int, int, np.ndarray] | None:
        """``(v0, u0, box)``: :attr:`mask` grown by ``_OTHER_HAND_GROW`` (its rim goes with it) in its bounding box,
        ``box`` ``(h, w)`` bool from full-resolution row ``v0``, column ``u0``; None without a mask. Made once, in the
        box only (a frame's candidates are taken out of several crops' depth; a full-frame mask costs ~3x more)."""
        if self._grown is None and self._mask_source is not None and self.hand_vu_px is not None:
            self._grown = _grown_box(*self._mask_source, self.hand_vu_px)
        return self._grown


def _valid_range(depth: np.ndarray, near_mm: float, far_mm: float) -> np.ndarray:
    """Bool mask of depth in ``[near_mm, far_mm]``; NaN compares False, so non-finite floats drop out too.

    The bounds are compared in the image's own dtype (integer depth against the integer bounds that select the
    same values), which avoids converting the whole image to float64.
    """
    if depth.dtype.kind in "ui":
        info = np.iinfo(depth.dtype)
        lo, hi = np.clip([np.ceil(near_mm), np.floor(far_mm)], info.min, info.max).astype(depth.dtype)
        return (depth >= lo) & (depth <= hi)
    return (depth >= depth.dtype.type(near_mm)) & (depth <= depth.dtype.type(far_mm))


def _pick_component(
    small: np.ndarray, band: np.ndarray, intr: Intrinsics, params: SegmentationParams
) -> tuple[np.ndarray, np.ndarray] | str:
    """The blob to use: ``(vs, us)`` of its pixels on the decimated grid, or the reason there is none.

    ``band`` is a uint8 mask (0 / nonzero). Labelling runs on the band's bounding box only, without OpenCV's
    statistics (several times cheaper than ``connectedComponentsWithStats``), counting with a histogram; only
    blobs of at least ``min_pixels`` are looked at pixel by pixel.
    """
    x0, y0, w, h = cv2.boundingRect(band)
    if w == 0 or h == 0:
        return "no blob of hand size near the camera"
    n, labels = cv2.connectedComponentsWithAlgorithm(band[y0:y0 + h, x0:x0 + w], 8, cv2.CV_16U, cv2.CCL_SPAGHETTI)
    counts = cv2.calcHist([labels], [0], None, [n], [0, n]).ravel()
    min_px = max(1, params.min_pixels // (STEP * STEP))
    best: tuple[np.ndarray, np.ndarray] | None = None
    best_depth = np.inf
    for label in np.flatnonzero(counts[1:] >= min_px) + 1:
        points = cv2.findNonZero((labels == label).view(np.uint8)).reshape(-1, 2)  # (N, 2) (u, v), row-major
        vs, us = points[:, 1].astype(np.intp) + y0, points[:, 0].astype(np.intp) + x0
        d_med = _median(small[vs, us])
        area_mm2 = _area_mm2(int(counts[label]), d_med, intr)
        if params.min_area_mm2 <= area_mm2 <= params.max_area_mm2 and d_med < best_depth:
            best, best_depth = (vs, us), d_med
    if best is None:
        return "no blob of hand size near the camera"
    return best


def _area_mm2(samples: int, depth_mm: float, intr: Intrinsics) -> float:
    """The metric area (mm^2) of ``samples`` decimated-grid samples at ``depth_mm``."""
    return samples * STEP * STEP * (depth_mm / intr.fx) * (depth_mm / intr.fy)


def _median(values: np.ndarray) -> float:
    """``float(np.median(values))`` of a non-empty 1-D array without NaN, with its arithmetic (the middle value, or
    the mean of the middle two), without its overhead: ~5x faster on the few hundred samples of a blob."""
    mid = values.size // 2
    if values.size % 2:
        return float(np.partition(values, mid)[mid])
    pair = np.partition(values, [mid - 1, mid])[mid - 1:mid + 1]
    if pair.dtype.kind in "ui":
        pair = pair.astype(np.float64)  # np.median's mean of integers is taken in float64
    return float((pair[0] + pair[1]) / 2)


def _percentile(values: np.ndarray, q: float) -> float:
    """``np.percentile(values, q)`` (linear interpolation) by partial sorting: several times faster."""
    pos = q / 100.0 * (values.size - 1)
    lo = int(np.floor(pos))
    hi = min(lo + 1, values.size - 1)
    part = np.partition(values, [lo, hi])
    return float(part[lo] + (part[hi] - part[lo]) * (pos - lo))


def _hand_points(
    us_px: np.ndarray, vs_px: np.ndarray, ds_mm: np.ndarray, shape: tuple[int, int], intr: Intrinsics,
    params: SegmentationParams,
) -> np.ndarray:
    """Bool selector of the blob points that belong to the hand (forearm cut off).

    Args:
        us_px, vs_px, ds_mm: ``(N,)`` full-resolution pixel coordinates and depth (mm) of the blob points.
        shape: ``(H, W)`` of the full-resolution image.
    """
    return _hand_ends(us_px, vs_px, ds_mm, shape, intr, params)[0]


def _hand_ends(
    us_px: np.ndarray, vs_px: np.ndarray, ds_mm: np.ndarray, shape: tuple[int, int], intr: Intrinsics,
    params: SegmentationParams, other_end: bool = False,
) -> tuple[np.ndarray, np.ndarray | None]:
    """:func:`_hand_points`, and with ``other_end`` the points within a hand's length of the blob's other end (the
    far side from the tip), or None when the blob is no longer than a hand. The root rule guesses which end is the
    arm; an arm reaching toward the camera, its end inside the image, is nearer than its hand and fools it."""
    x = (us_px - intr.cx) * ds_mm / intr.fx
    y = (intr.cy - vs_px) * ds_mm / intr.fy
    height, width = shape
    b = params.border_px
    at_border = (us_px < b) | (vs_px < b) | (us_px >= width - b) | (vs_px >= height - b)
    root_sel = at_border if np.count_nonzero(at_border) >= 3 else ds_mm >= _percentile(ds_mm, 90)

    def dist2_from(sel: np.ndarray) -> np.ndarray:
        """Squared distance (mm^2) of every point to the mean of the points ``sel``."""
        c = (x[sel].mean(), y[sel].mean(), ds_mm[sel].mean())
        return (x - c[0]) ** 2 + (y - c[1]) ** 2 + (ds_mm - c[2]) ** 2

    dist2_root = dist2_from(root_sel)
    reach2 = params.hand_length_mm**2
    if dist2_root.max() <= reach2:
        return np.ones(len(x), bool), None  # the whole blob is hand-sized: nothing to cut
    # The tip: mean of the farthest 1% (a single flying pixel must not decide it); the other end likewise from it.
    dist2_tip = _from_far_end(dist2_root, dist2_from, reach2)
    hand = dist2_tip <= reach2
    if not other_end:
        return hand, None
    return hand, _from_far_end(dist2_tip, dist2_from, reach2) <= reach2


def _from_far_end(dist2: np.ndarray, dist2_from: Callable[[np.ndarray], np.ndarray], reach2: float) -> np.ndarray:
    """Squared distances (mm^2) of the blob's points to its far end as seen from where ``dist2`` ``(N,)`` was
    measured: the mean of the farthest 1% (a single flying pixel must not decide it), or the farthest point itself
    where no point lies within ``reach2`` (a hand's length, squared) of that mean (the farthest points lie in two
    lobes, a body's shoulders: their mean is in the empty space between them, and nothing would be left as the
    hand; found on a synthetic two-hand frame, where the search raised)."""
    from_end = dist2_from(dist2 >= _percentile(dist2, 99))
    if from_end.min() > reach2:
        from_end = dist2_from(np.arange(len(dist2)) == int(np.argmax(dist2)))
    return from_end


def _palm_centre(vs: np.ndarray, us: np.ndarray, ds_mm: np.ndarray, depth_offset_mm: float) -> np.ndarray:
    """Palm centre ``(u px, v px, d mm)`` from the hand points ``(N,)`` on the decimated grid (see module doc)."""
    return _palm_centre_radius(vs, us, ds_mm, depth_offset_mm)[0]


def _palm_centre_radius(
    vs: np.ndarray, us: np.ndarray, ds_mm: np.ndarray, depth_offset_mm: float
) -> tuple[np.ndarray, float]:
    """:func:`_palm_centre` and the palm's inscribed radius (decimated-grid px)."""
    v0, u0 = int(vs.min()) - 1, int(us.min()) - 1  # a zero border so the blob's edge is an edge
    grid = np.zeros((int(vs.max()) - v0 + 2, int(us.max()) - u0 + 2), np.uint8)
    grid[vs - v0, us - u0] = 1
    # Close pinholes (missing depth inside the hand): each would be an "edge" and break the distance map.
    grid = cv2.morphologyEx(grid, cv2.MORPH_CLOSE, _CLOSE_KERNEL)
    dist = cv2.distanceTransform(grid, cv2.DIST_L2, cv2.DIST_MASK_5)
    _, peak, _, (j, i) = cv2.minMaxLoc(dist)  # the first maximum in row-major order, as np.argmax
    radius = 1.5 * peak
    near = (vs - v0 - i) ** 2 + (us - u0 - j) ** 2 <= radius * radius
    return np.array([
        us[near].mean() * STEP, vs[near].mean() * STEP, _median(ds_mm[near]) + depth_offset_mm
    ]), float(peak)


def segment_hand(
    depth_mm: np.ndarray, intr: Intrinsics, params: SegmentationParams = SegmentationParams()
) -> Segmentation:
    """Find the hand in a ``(H, W)`` depth image (mm, 0 / NaN / inf = invalid).

    Returns a :class:`Segmentation`; ``found=False`` with a reason when there is no hand in range.
    """
    depth_mm = np.asarray(depth_mm)
    if depth_mm.ndim != 2 or depth_mm.size == 0:
        return Segmentation(False, reason=f"depth must be a non-empty 2-D image, got shape {depth_mm.shape}")
    if depth_mm.dtype.kind not in "uif":
        return Segmentation(False, reason=f"depth must be numeric, got {depth_mm.dtype}")
    # Sample (i, j) of the decimated grid is full-resolution pixel (STEP*i, STEP*j); a contiguous copy makes
    # every later pass over it faster than the strided view.
    small = np.ascontiguousarray(depth_mm[::STEP, ::STEP])
    values = small[_valid_range(small, params.near_mm, params.far_mm)]
    k = max(1, params.min_pixels // (STEP * STEP))
    if values.size < k:
        return Segmentation(False, reason=f"no depth within {params.near_mm:.0f}-{params.far_mm:.0f} mm")
    d_near = float(np.partition(values, k - 1)[k - 1])
    band = _valid_range(small, params.near_mm, min(params.far_mm, d_near + params.band_mm)).view(np.uint8)
    picked = _pick_component(small, band, intr, params)
    if isinstance(picked, str):
        return Segmentation(False, reason=picked)
    vs, us = picked
    ds = small[vs, us].astype(np.float64)
    us_px, vs_px = us * float(STEP), vs * float(STEP)
    hand = _hand_points(us_px, vs_px, ds, depth_mm.shape, intr, params)
    com = _palm_centre(vs[hand], us[hand], ds[hand], params.centre_depth_offset_mm)
    blob_vu = np.stack([vs, us], axis=1) * STEP
    return Segmentation(True, com_uvd=com, hand_vu_px=blob_vu[hand], blob_vu_px=blob_vu,
                        _mask_source=(depth_mm, params))


def _cells(depth_mm: np.ndarray, hand_vu_px: np.ndarray, margin_px: int, params: SegmentationParams
           ) -> tuple[int, int, np.ndarray]:
    """The hand samples ``hand_vu_px`` ``(N, 2)`` (full-resolution ``(v, u)`` of the decimated grid) grown to the
    STEP x STEP pixels each stands for, kept where depth is in range: ``(v0, u0, box)``, ``box`` ``(h, w)`` bool from
    row ``v0``, column ``u0``, their bounding box widened by ``margin_px`` (within the image). Only that box is
    touched (a full-frame resize costs as much as the whole search)."""
    height, width = depth_mm.shape
    vs, us = hand_vu_px[:, 0], hand_vu_px[:, 1]
    v0, u0 = max(int(vs.min()) - margin_px, 0), max(int(us.min()) - margin_px, 0)
    v1, u1 = min(int(vs.max()) + STEP + margin_px, height), min(int(us.max()) + STEP + margin_px, width)
    rows, cols = vs - v0, us - u0
    if (rows % STEP == 0).all() and (cols % STEP == 0).all():  # on the grid from the box's corner (always, so far)
        # The cells marked on the grid, then each grown to STEP x STEP by repetition: a fifth of the scattered writes'
        # cost (4 of them per sample).
        grid = np.zeros((-(-(v1 - v0) // STEP), -(-(u1 - u0) // STEP)), bool)
        grid[rows // STEP, cols // STEP] = True
        box = np.ascontiguousarray(grid.repeat(STEP, axis=0).repeat(STEP, axis=1)[:v1 - v0, :u1 - u0])
    else:
        box = np.zeros((v1 - v0, u1 - u0), bool)
        for dv in range(STEP):
            for du in range(STEP):
                box[np.minimum(vs + dv, height - 1) - v0, np.minimum(us + du, width - 1) - u0] = True
    box &= _valid_range(depth_mm[v0:v1, u0:u1], params.near_mm, params.far_mm)
    return v0, u0, box


def _grown_box(depth_mm: np.ndarray, params: SegmentationParams, hand_vu_px: np.ndarray) -> tuple[int, int, np.ndarray]:
    """:attr:`Segmentation.grown_mask` of the hand samples ``hand_vu_px`` ``(N, 2)`` (full-resolution ``(v, u)``)."""
    v0, u0, box = _cells(depth_mm, hand_vu_px, _OTHER_HAND_GROW.shape[0] // 2, params)
    return v0, u0, cv2.dilate(box.view(np.uint8), _OTHER_HAND_GROW).view(bool)


def _full_mask(depth_mm: np.ndarray, hand_vu_px: np.ndarray, params: SegmentationParams) -> np.ndarray:
    """``(H, W)`` bool: the hand samples ``hand_vu_px`` grown to STEPxSTEP cells, kept where depth is in range."""
    v0, u0, box = _cells(depth_mm, hand_vu_px, 0, params)
    mask = np.zeros(depth_mm.shape, bool)
    mask[v0:v0 + box.shape[0], u0:u0 + box.shape[1]] = box
    return mask


# --- several hands --------------------------------------------------------------------------------------

def _surfaces(small: np.ndarray, valid: np.ndarray, step_mm: float) -> tuple[np.ndarray, np.ndarray]:
    """Label map ``(h, w)`` int32 of the surfaces of the decimated depth (4-connected valid samples without a depth
    step above ``step_mm`` to a neighbour; 0 = invalid or at a step) and the bool map of the step samples."""
    d = np.where(valid, small, np.nan).astype(np.float32)
    step = np.zeros(d.shape, bool)
    with np.errstate(invalid="ignore"):
        dv = np.abs(d[1:] - d[:-1]) > step_mm  # NaN (an invalid neighbour) compares False: no step
        dh = np.abs(d[:, 1:] - d[:, :-1]) > step_mm
    step[1:] |= dv
    step[:-1] |= dv
    step[:, 1:] |= dh
    step[:, :-1] |= dh
    _, labels = cv2.connectedComponents((valid & ~step).view(np.uint8), connectivity=4, ltype=cv2.CV_32S)
    return labels, step


def _claim(taken: np.ndarray, surfaces: np.ndarray, step: np.ndarray, vs: np.ndarray, us: np.ndarray) -> None:
    """Mark in ``taken`` (in place) the samples ``(vs, us)``, the surfaces they touch and the step samples that
    border those (the rim between a surface and what lies behind it belongs to neither)."""
    chosen = np.zeros(int(surfaces.max()) + 1, bool)  # a lookup table: several times faster than np.isin
    chosen[surfaces[vs, us]] = True
    chosen[0] = False
    mine = chosen[surfaces]
    mine[vs, us] = True
    rim = cv2.dilate(mine.view(np.uint8), np.ones((5, 5), np.uint8)).view(bool) & step
    taken |= mine | rim


def _end(vs: np.ndarray, us: np.ndarray, ds: np.ndarray, sel: np.ndarray, depth_mm: np.ndarray,
         params: SegmentationParams) -> Segmentation:
    """The hand made of the blob samples ``sel`` (decimated grid ``vs``, ``us``, depth ``ds``)."""
    blob_vu = np.stack([vs, us], axis=1) * STEP
    com = _palm_centre(vs[sel], us[sel], ds[sel], params.centre_depth_offset_mm)
    return Segmentation(True, com_uvd=com, hand_vu_px=blob_vu[sel], blob_vu_px=blob_vu,
                        _mask_source=(depth_mm, params))


def _plausible_palm(vs: np.ndarray, us: np.ndarray, ds: np.ndarray, hand: np.ndarray, first_xyz: np.ndarray,
                    intr: Intrinsics, params: SegmentationParams) -> np.ndarray | None:
    """The palm centre ``(u px, v px, d mm)`` of the blob samples ``hand`` when they can be a hand: a palm no wider
    than ``max_palm_radius_mm`` within ``max_hand_distance_mm`` of the first hand ``first_xyz``; else None."""
    com, radius_px = _palm_centre_radius(vs[hand], us[hand], ds[hand], params.centre_depth_offset_mm)
    radius_mm = radius_px * STEP * com[2] / intr.fx
    too_far = np.linalg.norm(uvd_to_xyz(com, intr) - first_xyz) > params.max_hand_distance_mm
    return None if radius_mm > params.max_palm_radius_mm or too_far else com


def _other_end(small: np.ndarray, vs: np.ndarray, us: np.ndarray, depth_mm: np.ndarray, intr: Intrinsics,
               params: SegmentationParams) -> Segmentation | None:
    """The hand cut from the other end of the blob ``(vs, us)`` (decimated grid), or None (see :func:`_hand_ends`)."""
    ds = small[vs, us].astype(np.float64)
    _, other = _hand_ends(us * float(STEP), vs * float(STEP), ds, depth_mm.shape, intr, params, other_end=True)
    return None if other is None else _end(vs, us, ds, other, depth_mm, params)


def with_other_end(seg: Segmentation, depth_mm: np.ndarray, intr: Intrinsics,
                   params: SegmentationParams = SegmentationParams(), small: np.ndarray | None = None) -> Segmentation:
    """``seg`` (a found hand of :func:`segment_hand` in the ``(H, W)`` depth ``depth_mm``) with ``other_end`` set: the
    hand cut from its blob's other end, or None when the blob is no longer than a hand. ``small``: the depth on the
    decimated grid, when the caller has it."""
    if seg.found and seg.blob_vu_px is not None:
        if small is None:
            small = np.ascontiguousarray(np.asarray(depth_mm)[::STEP, ::STEP])
        vs, us = seg.blob_vu_px[:, 0] // STEP, seg.blob_vu_px[:, 1] // STEP
        seg.other_end = _other_end(small, vs, us, np.asarray(depth_mm), intr, params)
    return seg


def segment_hands(
    depth_mm: np.ndarray, intr: Intrinsics, params: SegmentationParams = SegmentationParams(), max_hands: int = 2,
    spare: int = 0,
) -> list[Segmentation]:
    """Up to ``max_hands`` hands of a ``(H, W)`` depth image, nearest first (see the module doc); with ``spare``,
    up to that many more candidates, for a caller that can tell a hand from an arm (a forearm that passes the size
    tests would otherwise end the search before the hand beyond it). :class:`HandSearch` with its spares taken.

    The first is :func:`segment_hand`'s result (with ``max_hands=1`` nothing else is done: the single-hand cost);
    the list holds only found hands, except that it is ``[not found]`` when there is none. Each candidate whose blob
    is longer than a hand carries the hand cut from the blob's other end (``other_end``; the first's is not set
    aside for the search: it may be the other hand, touching the first in the image).
    """
    search = HandSearch(depth_mm, intr, params, max_hands)
    hands = list(search.hands)
    for _ in range(spare):
        more = search.more()
        if more is None:
            break
        hands.append(more)
    return hands


class HandSearch:
    """:func:`segment_hands` without spares (``hands``), and the search for them on demand (:meth:`more`): a caller
    that reads the candidates asks for a spare only where one of them may be an arm, and the frames where all read
    as hands do not pay for it.

    Args:
        depth_mm: ``(H, W)`` depth (mm).
        intr: the camera.
        params: the segmentation's settings.
        max_hands: how many hands ``hands`` looks for.
        further: look past the first hand now; False: ``hands`` is the first one only (:meth:`deeper_first`
            available, its blob's other end cut only when :meth:`first_other_end` asks), and :meth:`further` looks
            for the others (a caller that follows one hand and looks for new ones every few frames).
    """

    def __init__(self, depth_mm: np.ndarray, intr: Intrinsics, params: SegmentationParams = SegmentationParams(),
                 max_hands: int = 2, further: bool = True) -> None:
        first = segment_hand(depth_mm, intr, params)
        self.hands: list[Segmentation] = [first]
        self.max_hands = max_hands
        self.looked_further = False
        self._piece_offered = False
        self._other_end_set = False
        self._search: Iterator[Segmentation] | None = None
        # the depth, on the decimated grid, its samples in range, the camera, the settings (for deeper_first)
        self._frame: tuple[np.ndarray, np.ndarray, np.ndarray, Intrinsics, SegmentationParams] | None = None
        if max_hands <= 1 or not first.found:
            return
        assert first.hand_vu_px is not None and first.com_uvd is not None
        depth_mm = np.asarray(depth_mm)
        small = np.ascontiguousarray(depth_mm[::STEP, ::STEP])
        valid = _valid_range(small, params.near_mm, params.far_mm)
        self._frame = depth_mm, small, valid, intr, params
        if further:
            self.further()

    def first_other_end(self) -> Segmentation | None:
        """The first hand's ``other_end``, set once (see :func:`with_other_end`)."""
        first = self.hands[0]
        if self._frame is not None and not self._other_end_set:
            self._other_end_set = True
            depth_mm, small, _, intr, params = self._frame
            with_other_end(first, depth_mm, intr, params, small)
        return first.other_end

    def further(self) -> None:
        """Look for the hands after the first (once; nothing where there is no first hand or one is wanted)."""
        if self.looked_further or self._frame is None:
            return
        self.looked_further = True
        self.first_other_end()
        depth_mm, small, valid, intr, params = self._frame
        first = self.hands[0]
        search = self._candidates(first, depth_mm, small, valid, intr, params)
        for seg in search:
            self.hands.append(seg)
            if len(self.hands) == self.max_hands:
                self._search = search  # a spare may follow
                return
        self.hands += _touching_hands(first, small, depth_mm, intr, params)[:self.max_hands - len(self.hands)]

    def more(self) -> Segmentation | None:
        """The next candidate after ``hands`` (a spare), or None: none left, or ``hands`` did not fill up (then the
        search ended already, and pieces of the first hand's blob were offered)."""
        return None if self._search is None else next(self._search, None)

    def piece(self) -> Segmentation | None:
        """The largest piece of the first hand's blob cut as a hand (``touching``, see :func:`_touching_hands`), once,
        where the search filled up before such pieces were offered: a second hand touching the first in the image
        while a candidate that is no hand (a head, a body) filled its place. None where there is none, or where the
        search did not fill up (the pieces were offered then)."""
        if self._search is None or self._piece_offered or self._frame is None:
            return None
        self._piece_offered = True
        self.first_other_end()
        depth_mm, small, _, intr, params = self._frame
        pieces = _touching_hands(self.hands[0], small, depth_mm, intr, params)
        return pieces[0] if pieces else None

    def deeper_first(self) -> Segmentation | None:
        """The first candidate's blob grown ``candidate_depth_mm`` deep (as a later candidate's is, see
        :func:`_deeper`), cut as a hand: an arm reaching toward the camera whose hand leans back behind the band
        makes a first candidate that is all forearm. None where the blob does not grow (or grows past an arm's size),
        or its hand is where the first one's is."""
        first = self.hands[0]
        if self._frame is None or first.blob_vu_px is None or first.com_uvd is None:
            return None
        depth_mm, small, valid, intr, params = self._frame
        vs, us = first.blob_vu_px[:, 0] // STEP, first.blob_vu_px[:, 1] // STEP
        grown_vs, grown_us = _deeper(small, valid, (vs, us), float(small[vs, us].min()), intr, params)
        if len(grown_vs) <= len(vs):
            return None
        first_xyz = uvd_to_xyz(first.com_uvd, intr)
        seg = _candidate(grown_vs, grown_us, small[grown_vs, grown_us].astype(np.float64), depth_mm, first_xyz, intr,
                         params)
        if seg is None or np.linalg.norm(uvd_to_xyz(seg.com_uvd, intr) - first_xyz) <= params.touching_split_mm:
            return None
        return seg

    @staticmethod
    def _candidates(first: Segmentation, depth_mm: np.ndarray, small: np.ndarray, valid: np.ndarray,
                    intr: Intrinsics, params: SegmentationParams) -> Iterator[Segmentation]:
        """The candidates after ``first``, nearest band first (at most ``max_candidates`` bands looked at); ``valid``:
        the samples of ``small`` in range."""
        assert first.hand_vu_px is not None and first.com_uvd is not None
        surfaces, step = _surfaces(small, valid, params.surface_step_mm)
        taken = np.zeros(small.shape, bool)
        # The hand's own samples, not its whole blob: a second hand within the band may touch it in the image.
        _claim(taken, surfaces, step, first.hand_vu_px[:, 0] // STEP, first.hand_vu_px[:, 1] // STEP)
        first_xyz = uvd_to_xyz(first.com_uvd, intr)
        k = max(1, params.min_pixels // (STEP * STEP))
        for _ in range(params.max_candidates):
            free = valid & ~taken
            values = small[free & ~step]  # a rim sample must not set the band's start
            if values.size < k:
                return
            d_near = float(np.partition(values, k - 1)[k - 1])
            band = (free & (small <= min(params.far_mm, d_near + params.band_mm))).view(np.uint8)
            picked = _pick_component(small, band, intr, params)
            if isinstance(picked, str):  # nothing hand-sized this near (left-overs of the first arm): look farther
                taken |= band.view(bool)
                continue
            vs, us = _deeper(small, free, picked, d_near, intr, params)
            seg = _candidate(vs, us, small[vs, us].astype(np.float64), depth_mm, first_xyz, intr, params)
            if seg is None:  # a head, a torso, something across the room
                _claim(taken, surfaces, step, vs, us)
                continue
            assert seg.hand_vu_px is not None
            _claim(taken, surfaces, step, seg.hand_vu_px[:, 0] // STEP, seg.hand_vu_px[:, 1] // STEP)
            taken[vs, us] = True  # the rest of this band's blob too, so that the search moves on
            yield seg


def _deeper(small: np.ndarray, free: np.ndarray, picked: tuple[np.ndarray, np.ndarray], d_near: float,
            intr: Intrinsics, params: SegmentationParams) -> tuple[np.ndarray, np.ndarray]:
    """The blob ``picked`` (decimated ``(vs, us)``) grown through the ``free`` samples up to ``candidate_depth_mm``
    behind ``d_near``; ``picked`` itself when that is no deeper than the band or grows past ``max_area_mm2`` (an arm
    joined to the body)."""
    if params.candidate_depth_mm <= params.band_mm:
        return picked
    deep = (free & (small <= min(params.far_mm, d_near + params.candidate_depth_mm))).view(np.uint8)
    # A flood fill from one of the blob's samples visits only the grown blob (labelling the frame cost 3x more).
    _, _, _, (u0, v0, w, h) = cv2.floodFill(deep, None, (int(picked[1][0]), int(picked[0][0])), 2, flags=8)
    vs, us = np.nonzero(deep[v0:v0 + h, u0:u0 + w] == 2)
    vs, us = vs + v0, us + u0
    d_med = _median(small[vs, us])
    if _area_mm2(len(vs), d_med, intr) > params.max_area_mm2:
        return picked
    return vs, us


def _touching_hands(first: Segmentation, small: np.ndarray, depth_mm: np.ndarray, intr: Intrinsics,
                    params: SegmentationParams) -> list[Segmentation]:
    """Hands cut from the pieces of ``first``'s blob beyond ``touching_split_mm`` of its palm centre, largest piece
    first (``touching`` set), except one where ``first.other_end`` is (offered already). Its own forearm is such a
    piece too: which is a hand is for the caller to read."""
    assert first.blob_vu_px is not None and first.com_uvd is not None
    vs, us = first.blob_vu_px[:, 0] // STEP, first.blob_vu_px[:, 1] // STEP
    ds = small[vs, us].astype(np.float64)
    xyz = uvd_to_xyz(np.stack([us * float(STEP), vs * float(STEP), ds], axis=1), intr)
    first_xyz = uvd_to_xyz(first.com_uvd, intr)
    # The blob's other end is offered already (first.other_end), and the caller reads it in first's own depth.
    other_end_xyz = None if first.other_end is None else uvd_to_xyz(first.other_end.com_uvd, intr)
    far = np.einsum("ij,ij->i", xyz - first_xyz, xyz - first_xyz) > params.touching_split_mm ** 2
    k = max(1, params.min_pixels // (STEP * STEP))
    if np.count_nonzero(far) < k:
        return []
    vs, us, ds = vs[far], us[far], ds[far]
    v0, u0 = int(vs.min()), int(us.min())
    grid = np.zeros((int(vs.max()) - v0 + 1, int(us.max()) - u0 + 1), np.uint8)
    grid[vs - v0, us - u0] = 1
    n, labels = cv2.connectedComponents(grid, connectivity=8, ltype=cv2.CV_32S)
    piece_of = labels[vs - v0, us - u0]
    sizes = np.bincount(piece_of, minlength=n)
    out = []
    for label in np.argsort(-sizes):
        sel = piece_of == label
        count = int(sizes[label])
        if label == 0 or count < k:
            continue
        d_med = _median(ds[sel])
        if _area_mm2(count, d_med, intr) < params.min_area_mm2:
            continue
        seg = _candidate(vs[sel], us[sel], ds[sel], depth_mm, first_xyz, intr, params, touching=True)
        if seg is None or (other_end_xyz is not None and
                           np.linalg.norm(uvd_to_xyz(seg.com_uvd, intr) - other_end_xyz) <= params.touching_split_mm):
            continue
        out.append(seg)
    return out


def _candidate(vs: np.ndarray, us: np.ndarray, ds: np.ndarray, depth_mm: np.ndarray, first_xyz: np.ndarray,
               intr: Intrinsics, params: SegmentationParams, touching: bool = False) -> Segmentation | None:
    """The hand of the blob samples ``(vs, us)`` (decimated grid, depth ``ds`` mm) when one of its ends can be a
    hand (:func:`_plausible_palm`), with the other end kept as ``other_end``; else None."""
    hand, other = _hand_ends(us * float(STEP), vs * float(STEP), ds, depth_mm.shape, intr, params, other_end=True)
    com = _plausible_palm(vs, us, ds, hand, first_xyz, intr, params)
    if com is None and other is not None:
        # The root rule guessed which end is the arm (see _hand_ends) and may have guessed wrong: an elbow nearer
        # than its fist, the arm's far end cut by the band rather than the image border. The other end decides.
        hand, other = other, hand
        com = _plausible_palm(vs, us, ds, hand, first_xyz, intr, params)
    if com is None:
        return None
    blob_vu = np.stack([vs, us], axis=1) * STEP
    return Segmentation(True, com_uvd=com, hand_vu_px=blob_vu[hand], blob_vu_px=blob_vu,
                        _mask_source=(depth_mm, params), touching=touching,
                        other_end=None if other is None else _end(vs, us, ds, other, depth_mm, params))


def without_piece(seg: Segmentation, piece: Segmentation) -> Segmentation:
    """``seg`` without the hand samples that lie in ``piece``'s blob: a hand that touches ``seg``'s in the image was
    cut from its blob (:func:`_touching_hands`), and its fingers must not count as ``seg``'s (nor be masked out of its
    own depth as ``seg``'s)."""
    if seg.hand_vu_px is None or piece.blob_vu_px is None:
        return seg
    width = int(max(seg.hand_vu_px[:, 1].max(), piece.blob_vu_px[:, 1].max())) + 1
    theirs = np.isin(seg.hand_vu_px[:, 0] * width + seg.hand_vu_px[:, 1],
                     piece.blob_vu_px[:, 0] * width + piece.blob_vu_px[:, 1])
    if not theirs.any() or theirs.all():
        return seg
    return dataclasses.replace(seg, hand_vu_px=seg.hand_vu_px[~theirs], _mask=None, _grown=None)


_OTHER_HAND_GROW = np.ones((5, 5), np.uint8)  # the other hand's mask grown by 2 px: its rim goes with it


def without_hands(depth: np.ndarray, others: list[Segmentation]) -> np.ndarray:
    """``depth`` with the pixels of the ``others`` hands set to 0 (invalid); ``depth`` itself when there are none."""
    if not others:
        return depth
    out = depth.copy()
    for seg in others:
        grown = seg.grown_mask
        if grown is not None:
            v0, u0, box = grown
            out[v0:v0 + box.shape[0], u0:u0 + box.shape[1]][box] = 0
    return out
