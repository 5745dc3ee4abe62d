"""Training augmentation: in-plane rotation, scale and a 3-D translation of the crop centre, applied to
the crop and its joints by one transform so they stay consistent (numpy + OpenCV, no torch).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import cv2
import numpy as np

from inference.core.geometry import Intrinsics, uvd_to_xyz, xyz_to_uvd


@dataclass(frozen=True)
class Augment:
    """Augmentation ranges: rotation uniform in +-``rotation_deg`` about the crop centre (in-plane), cube scale
    uniform in [1/``scale``, ``scale``], crop centre shifted by N(0, ``shift_mm``) mm along each axis (one std for
    all, or ``(x, y, z)``: e.g. the measured spread of the segmentation's centre error, scripts/centre_error.py)."""

    rotation_deg: float = 30.0
    scale: float = 1.1
    shift_mm: float | tuple[float, float, float] = 8.0

    def sample(self, rng: np.random.Generator) -> tuple[float, float, np.ndarray]:
        """One sample's ``(rotation rad, scale, shift (3,) mm)``."""
        rot = math.radians(rng.uniform(-self.rotation_deg, self.rotation_deg))
        s = math.exp(rng.uniform(-math.log(self.scale), math.log(self.scale)))
        return rot, s, rng.normal(0.0, self.shift_mm, 3)

    def sample_many(self, rng: np.random.Generator, n: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """``n`` samples' ``(rotation rad (n,), scale (n,), shift (n, 3) mm)``, drawn as :meth:`sample` draws one."""
        rot = np.radians(rng.uniform(-self.rotation_deg, self.rotation_deg, n))
        s = np.exp(rng.uniform(-math.log(self.scale), math.log(self.scale), n))
        return rot, s, rng.normal(0.0, self.shift_mm, (n, 3))


def cameras(focal: np.ndarray, shape: tuple[int, ...] = ()) -> Intrinsics:
    """Intrinsics whose fx, fy, cx, cy are arrays (``focal (n, 4)``), shaped ``(n, *shape)`` so that
    :func:`inference.core.geometry.uvd_to_xyz` / ``xyz_to_uvd`` broadcast them over each sample's points."""
    f = np.asarray(focal, np.float64).reshape(-1, 4, *([1] * len(shape)))
    return Intrinsics(fx=f[:, 0], fy=f[:, 1], cx=f[:, 2], cy=f[:, 3], width=0, height=0)


@dataclass(frozen=True)
class CropWarp:
    """Augmentations of ``n`` samples as geometry: ``warp`` ``(n, 2, 3)`` maps
    old crop pixels to new crop pixels (OpenCV's convention, integer coordinates at pixel centres); ``rot``
    ``(n, 3, 3)`` the in-plane rotation of image pixels about the old centre; the new centre ``com_uvd`` /
    ``com_xyz_mm`` ``(n, 3)`` and cube edge ``cube_mm`` ``(n,)``; ``focal`` ``(n, 4)`` the intrinsics fx, fy, cx, cy."""

    warp: np.ndarray
    rot: np.ndarray
    com_uvd: np.ndarray
    com_xyz_mm: np.ndarray
    cube_mm: np.ndarray
    focal: np.ndarray

    def joints(self, joints_uvd: np.ndarray) -> np.ndarray:
        """``(n, J, 3)`` full-image labels (u px, v px, d mm) -> the new cubes' units, rotated as the crops."""
        uv1 = np.concatenate([joints_uvd[..., :2], np.ones((*joints_uvd.shape[:-1], 1))], axis=-1)
        new_uvd = np.concatenate([(uv1 @ np.swapaxes(self.rot, 1, 2))[..., :2], joints_uvd[..., 2:3]], axis=-1)
        xyz = uvd_to_xyz(new_uvd, cameras(self.focal, (1,)))
        return (xyz - self.com_xyz_mm[:, None]) / (0.5 * self.cube_mm[:, None, None])


def crop_warps(com_uvd: np.ndarray, focal: np.ndarray, cube_mm: float, size: int, rotation_rad: np.ndarray,
               scale: np.ndarray, shift_mm: np.ndarray) -> CropWarp:
    """The :class:`CropWarp` of ``n`` crops of ``size`` px cut around ``com_uvd (n, 3)`` with ``cube_mm`` by cameras
    ``focal (n, 4)`` (fx, fy, cx, cy), re-cut as if with scenes rotated by ``rotation_rad (n,)``, cubes ``scale
    (n,)`` times larger and centres moved by ``shift_mm (n, 3)`` (x, y, z mm). Vectorised: the device path cuts
    whole batches with it (training.device_batches), the loader path one sample (:func:`crop_warp`)."""
    com = np.asarray(com_uvd, np.float64)
    cam = cameras(focal)
    new_cube = cube_mm * np.asarray(scale, np.float64)
    new_xyz = uvd_to_xyz(com, cam) + np.asarray(shift_mm, np.float64)
    new_uvd = xyz_to_uvd(new_xyz, cam)

    def window(c: np.ndarray, cube: np.ndarray | float) -> np.ndarray:
        """(n, 3, 3) image px -> crop px: ``preprocess.crop.window_affine(crop_window(c, cube))`` of each sample,
        vectorised (tests/training/test_device_batches.py holds them equal)."""
        half_u, half_v = 0.5 * cube * cam.fx / c[:, 2], 0.5 * cube * cam.fy / c[:, 2]
        sx, sy = size / (2 * half_u), size / (2 * half_v)
        m = np.zeros((len(c), 3, 3))
        m[:, 0, 0], m[:, 0, 2] = sx, -(c[:, 0] - half_u) * sx - 0.5
        m[:, 1, 1], m[:, 1, 2] = sy, -(c[:, 1] - half_v) * sy - 0.5
        m[:, 2, 2] = 1.0
        return m

    co, si = np.cos(rotation_rad), np.sin(rotation_rad)
    cu, cv = com[:, 0], com[:, 1]
    rot = np.zeros((len(com), 3, 3))
    rot[:, 0, 0], rot[:, 0, 1], rot[:, 0, 2] = co, -si, cu - co * cu + si * cv  # about the centre
    rot[:, 1, 0], rot[:, 1, 1], rot[:, 1, 2] = si, co, cv - si * cu - co * cv
    rot[:, 2, 2] = 1.0
    warp = (window(new_uvd, new_cube) @ rot @ np.linalg.inv(window(com, cube_mm)))[:, :2]  # old crop px -> new px
    return CropWarp(warp, rot, new_uvd, new_xyz, new_cube, np.asarray(focal, np.float64))


def crop_warp(com_uvd: np.ndarray, intr: Intrinsics, cube_mm: float, size: int, rotation_rad: float = 0.0,
              scale: float = 1.0, shift_mm: np.ndarray | None = None) -> CropWarp:
    """:func:`crop_warps` of one sample: a batch of one."""
    shift = np.zeros(3) if shift_mm is None else np.asarray(shift_mm, np.float64)
    return crop_warps(np.asarray(com_uvd, np.float64)[None], np.array([[intr.fx, intr.fy, intr.cx, intr.cy]]),
                      cube_mm, size, np.array([rotation_rad]), np.array([scale]), shift[None])


def transform_sample(
    depth: np.ndarray,
    rgb: np.ndarray | None,
    joints_uvd: np.ndarray,
    com_uvd: np.ndarray,
    intr: Intrinsics,
    cube_mm: float,
    rotation_rad: float = 0.0,
    scale: float = 1.0,
    shift_mm: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray | None, np.ndarray, np.ndarray, float]:
    """Re-crop a cached sample as if it had been cut with a rotated scene, a cube ``scale`` times larger and a
    centre moved by ``shift_mm``; the joints get the same transform (:func:`crop_warp`).

    Args:
        depth: ``(S, S)`` normalised depth crop (1 = background); rgb: ``(3, S, S)`` raw masked crop or None.
        joints_uvd: ``(J, 3)`` labels (u px, v px, d mm) in the full image; com_uvd: ``(3,)`` crop centre.

    Returns:
        ``(depth (S, S) float32, rgb (3, S, S) float32 | None, joints (J, 3) in the new cube's units,
        new com_xyz_mm (3,), new cube_mm)``.
    """
    size = depth.shape[0]
    com_uvd = np.asarray(com_uvd, np.float64)
    g = crop_warp(com_uvd, intr, cube_mm, size, rotation_rad, scale, shift_mm)
    # Back to mm for valid pixels, so that the new centre depth and cube re-normalise them exactly.
    d = depth.astype(np.float32)
    background = d >= 1.0
    d_mm = np.where(background, np.float32(np.nan), d * np.float32(0.5 * cube_mm) + np.float32(com_uvd[2]))
    d_mm = cv2.warpAffine(d_mm, g.warp[0], (size, size), flags=cv2.INTER_NEAREST,
                          borderMode=cv2.BORDER_CONSTANT, borderValue=float("nan"))
    new_depth = (d_mm - np.float32(g.com_uvd[0, 2])) / np.float32(0.5 * g.cube_mm[0])
    new_depth = np.where(np.isnan(new_depth) | (new_depth > 1.0), np.float32(1.0), np.maximum(new_depth, -1.0))
    new_rgb = None
    if rgb is not None:
        hwc = np.ascontiguousarray(np.asarray(rgb).transpose(1, 2, 0))
        warped = cv2.warpAffine(hwc, g.warp[0], (size, size), flags=cv2.INTER_LINEAR,
                                borderMode=cv2.BORDER_CONSTANT, borderValue=(0, 0, 0))
        new_rgb = warped.astype(np.float32).transpose(2, 0, 1) * (new_depth < 1.0)
    return new_depth.astype(np.float32), new_rgb, g.joints(joints_uvd[None])[0], g.com_xyz_mm[0], float(g.cube_mm[0])
