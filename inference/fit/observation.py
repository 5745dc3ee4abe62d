"""What the fitter sees of one frame: the hand's 3-D points and its silhouette, in the network's crop cube.

The crop (:class:`inference.core.frame.HandCrop`) is the cube around the hand's centre that the network looked at. The
image pixels inside it (every ``GRID_STEP``-th), within reach of the palm, back-projected, are the points the
model is fitted to (subsampled to a fixed count); the mask of the pixels in the cube's depth range, over the window
and a band beyond it, is the silhouette, kept as a distance map (how far, in image pixels, a pixel is from the
silhouette; 0 inside) with its gradient, for the term that pulls model parts projecting outside back in. Using the
crop's cube, not the segmentation's blob, keeps the fit on the hand the network found even when the segmentation
started on a forearm.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from inference.core.frame import HandCrop
from inference.core.geometry import Intrinsics
from inference.fit import kernels

MAX_POINTS = 256
GRID_STEP = 2  # image pixels between the samples (a hand at 1.5 m still has > 100 of them)
REACH_MM = 160.0  # no part of a hand lies farther than this from its palm centre (middle fingertip: ~145 mm)
_BEYOND_CELLS = 16  # cells of silhouette read beyond the crop's window on each side
_MARGIN_PX = 16  # cells of distance map beyond the silhouette's band on each side; further out nothing is known


@dataclass
class Silhouette:
    """A distance map on a grid of image pixels: cell ``(i, j)`` sits at image ``(u0 + j step, v0 + i step)``.

    Attributes:
        u0, v0: image position (pixels) of cell ``(0, 0)``.
        step: image pixels per cell.
        distance: ``(h, w)`` float32 distance (cells) to the nearest silhouette cell, 0 on it.
        grad_v, grad_u: ``(h, w)`` float32 its derivatives along rows and columns (cells per cell).
    """

    u0: float
    v0: float
    step: float
    distance: np.ndarray
    grad_v: np.ndarray
    grad_u: np.ndarray


@dataclass
class Observation:
    """The fitter's input for one frame.

    Attributes:
        points_mm: ``(N, 3)`` hand points in camera space (mm, y up), ``N <= MAX_POINTS``.
        silhouette: the hand's distance map.
        intrinsics: the depth camera.
        depth_mm: ``(H, W)`` the frame's depth (to tell a model part behind an occluder from one in free space).
    """

    points_mm: np.ndarray
    silhouette: Silhouette
    intrinsics: Intrinsics
    depth_mm: np.ndarray


def observe(depth_mm: np.ndarray, crop: HandCrop, intr: Intrinsics, palm_mm: np.ndarray | None = None,
            max_points: int = MAX_POINTS) -> Observation | str:
    """The :class:`Observation` of the hand in a crop's cube, or the reason there is none (too few points).

    The points are the image's own pixels (every :data:`GRID_STEP`-th) inside the crop's window and cube, not the
    crop's resampled ones (their depth and position come from the same pixel); only those within :data:`REACH_MM`
    of ``palm_mm`` (the middle of the palm the network found; the crop's centre without it), so that the fit spends
    its points on the hand, not on the arm or the body behind.
    """
    height, width = depth_mm.shape
    u0, v0, u1, v1 = crop.window_px
    g = GRID_STEP
    cols, rows = (width - 1) // g + 1, (height - 1) // g + 1
    c0, r0 = max(int(np.ceil(u0 / g)), 0), max(int(np.ceil(v0 / g)), 0)
    c1, r1 = min(int(np.ceil(u1 / g)), cols), min(int(np.ceil(v1 / g)), rows)
    if c1 - c0 < 2 or r1 - r0 < 2:
        return "the hand's cube lies outside the image"
    centre = crop.com_xyz_mm if palm_mm is None else np.asarray(palm_mm, np.float64)
    # The silhouette reaches _BEYOND_CELLS past the window: a hand larger than the cube has fingers there, and a
    # silhouette cut at the window's edge pushed them in (every large hand was fitted smaller: 1.05-1.09 for 1.12).
    b = _BEYOND_CELLS
    m0, m1, m2, m3 = min(b, r0), min(b, rows - r1), min(b, c0), min(b, cols - c1)
    r0, r1, c0, c1 = r0 - m0, r1 + m1, c0 - m2, c1 + m3
    inside, points = kernels.cube_points(depth_mm, r0, r1, c0, c1, g, float(crop.com_uvd[2]), 0.5 * crop.cube_mm,
                                         intr.fx, intr.fy, intr.cx, intr.cy, centre, REACH_MM, (m0, m1, m2, m3))
    if len(points) < 10:
        return f"only {len(points)} depth pixels on the hand"
    points = points[np.linspace(0, len(points) - 1, min(max_points, len(points))).astype(np.intp)]  # even spread
    # The silhouette is everything in the cube (the arm too: the model's forearm must not be pushed off it).
    return Observation(points, _silhouette(inside, c0 * float(g), r0 * float(g), float(g)), intr,
                       np.ascontiguousarray(depth_mm))


def _silhouette(mask: np.ndarray, u_first: float, v_first: float, step: float) -> Silhouette:
    """Distance map of ``mask`` (crop cells), padded by a margin, with the image position of crop cell (0, 0)."""
    m = _MARGIN_PX
    blob = np.zeros((mask.shape[0] + 2 * m, mask.shape[1] + 2 * m), np.uint8)
    blob[m:-m, m:-m] = mask.view(np.uint8) * 255
    blob = cv2.morphologyEx(blob, cv2.MORPH_CLOSE, np.ones((3, 3), np.uint8))  # a missing pixel is not outside
    dist = cv2.distanceTransform(255 - blob, cv2.DIST_L2, cv2.DIST_MASK_5)
    grad_u = cv2.Sobel(dist, cv2.CV_32F, 1, 0, ksize=3, scale=0.125)
    grad_v = cv2.Sobel(dist, cv2.CV_32F, 0, 1, ksize=3, scale=0.125)
    return Silhouette(u_first - m * step, v_first - m * step, step, dist, grad_v, grad_u)
