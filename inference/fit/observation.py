"""What the fitter sees of one frame: the hand's 3-D points and the silhouette of the hand and its arm.

Both come from the segmentation's samples (every ``STEP``-th pixel): the points of the hand (the forearm cut off)
are back-projected and subsampled to a fixed count; the silhouette is the whole blob (hand and arm, so the fitted
wrist is not pushed off the arm), as a distance map on the sample grid around it: how far, in pixels, a pixel is
from the silhouette (0 inside), with its gradient, for the term that pulls model parts projecting outside back in.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from inference.geometry import Intrinsics
from inference.segmentation import STEP, Segmentation

MAX_POINTS = 256
_MARGIN_PX = 24  # grid pixels of distance map around the blob; beyond it the distance is extrapolated


@dataclass
class Silhouette:
    """A distance map around the blob on the sample grid (grid pixel ``(i, j)`` = image pixel ``(STEP*i, STEP*j)``).

    Attributes:
        origin: ``(i0, j0)`` grid row and column of the map's first cell.
        distance: ``(h, w)`` float32 distance (grid pixels) to the nearest blob sample, 0 on the blob.
        grad_v, grad_u: ``(h, w)`` float32 its derivatives along grid rows and columns.
    """

    origin: tuple[int, int]
    distance: np.ndarray
    grad_v: np.ndarray
    grad_u: np.ndarray

    def lookup(self, u_px: np.ndarray, v_px: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Distance (image pixels) to the silhouette and its derivatives d/du, d/dv at image points ``(N,)``.

        Outside the map the distance grows linearly with the distance to the map's edge.
        """
        i = v_px / STEP - self.origin[0]
        j = u_px / STEP - self.origin[1]
        h, w = self.distance.shape
        ic = np.clip(np.rint(i).astype(np.intp), 0, h - 1)
        jc = np.clip(np.rint(j).astype(np.intp), 0, w - 1)
        extra = np.hypot(i - ic, j - jc)
        dist = (self.distance[ic, jc] + extra) * STEP
        gu, gv = self.grad_u[ic, jc].astype(np.float64), self.grad_v[ic, jc].astype(np.float64)
        outside = extra > 0.5
        with np.errstate(invalid="ignore", divide="ignore"):
            gu = np.where(outside, (j - jc) / np.maximum(extra, 1e-9), gu)
            gv = np.where(outside, (i - ic) / np.maximum(extra, 1e-9), gv)
        return dist, gu, gv


@dataclass
class Observation:
    """The fitter's input for one frame.

    Attributes:
        points_mm: ``(N, 3)`` hand points in camera space (mm, y up), ``N <= MAX_POINTS``.
        silhouette: the blob's distance map.
        intrinsics: the depth camera.
        depth_mm: ``(H, W)`` the frame's depth (to tell a model part behind an occluder from one in free space).
    """

    points_mm: np.ndarray
    silhouette: Silhouette
    intrinsics: Intrinsics
    depth_mm: np.ndarray

    @property
    def empty(self) -> bool:
        return len(self.points_mm) == 0


def observe(
    depth_mm: np.ndarray, seg: Segmentation, intr: Intrinsics, max_points: int = MAX_POINTS
) -> Observation | str:
    """The :class:`Observation` of a segmented frame, or the reason there is none (no usable points)."""
    if not seg.found or seg.hand_vu_px is None or len(seg.hand_vu_px) == 0:
        return "no hand points"
    vu = seg.hand_vu_px
    if len(vu) > max_points:  # an even spread: every k-th sample of the row-major list
        vu = vu[np.linspace(0, len(vu) - 1, max_points).astype(np.intp)]
    d = depth_mm[vu[:, 0], vu[:, 1]].astype(np.float64)
    ok = np.isfinite(d) & (d > 0)
    if np.count_nonzero(ok) < 10:
        return f"only {int(np.count_nonzero(ok))} hand points with depth"
    vu, d = vu[ok], d[ok]
    points = np.stack([(vu[:, 1] - intr.cx) * d / intr.fx, (intr.cy - vu[:, 0]) * d / intr.fy, d], axis=1)
    blob = seg.blob_vu_px if seg.blob_vu_px is not None else seg.hand_vu_px
    return Observation(points, _silhouette(blob // STEP), intr, depth_mm)


def _silhouette(grid_vu: np.ndarray) -> Silhouette:
    i0, j0 = grid_vu.min(axis=0) - _MARGIN_PX
    i1, j1 = grid_vu.max(axis=0) + _MARGIN_PX + 1
    blob = np.zeros((i1 - i0, j1 - j0), np.uint8)
    blob[grid_vu[:, 0] - i0, grid_vu[:, 1] - j0] = 255
    blob = cv2.morphologyEx(blob, cv2.MORPH_CLOSE, np.ones((3, 3), np.uint8))  # a missing sample is not outside
    dist = cv2.distanceTransform(255 - blob, cv2.DIST_L2, cv2.DIST_MASK_5)
    grad_u = cv2.Sobel(dist, cv2.CV_32F, 1, 0, ksize=3, scale=0.125)
    grad_v = cv2.Sobel(dist, cv2.CV_32F, 0, 1, ksize=3, scale=0.125)
    return Silhouette((int(i0), int(j0)), dist, grad_v, grad_u)
