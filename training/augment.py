"""Training augmentation: in-plane rotation, scale and a 3-D translation of the crop centre, applied to
the crop and its joints by one transform so they stay consistent (numpy + OpenCV, no torch).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import cv2
import numpy as np

from inference.core.geometry import Intrinsics, uvd_to_xyz, xyz_to_uvd
from inference.preprocess.crop import crop_window, window_affine


@dataclass(frozen=True)
class Augment:
    """Augmentation ranges: rotation uniform in +-``rotation_deg`` about the crop centre (in-plane), cube scale
    uniform in [1/``scale``, ``scale``], crop centre shifted by N(0, ``shift_mm``) mm along each axis (one std for
    all, or ``(x, y, z)``: e.g. the measured spread of the segmentation's centre error, scripts/centre_error.py)."""

    rotation_deg: float = 30.0
    scale: float = 1.1
    shift_mm: float | tuple[float, float, float] = 8.0

    def sample(self, rng: np.random.Generator) -> tuple[float, float, np.ndarray]:
        rot = math.radians(rng.uniform(-self.rotation_deg, self.rotation_deg))
        s = math.exp(rng.uniform(-math.log(self.scale), math.log(self.scale)))
        return rot, s, rng.normal(0.0, self.shift_mm, 3)


def _h(m2x3: np.ndarray) -> np.ndarray:
    return np.vstack([m2x3, [0.0, 0.0, 1.0]])


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
    centre moved by ``shift_mm``; the joints get the same transform.

    Args:
        depth: ``(S, S)`` normalised depth crop (1 = background); rgb: ``(3, S, S)`` raw masked crop or None.
        joints_uvd: ``(J, 3)`` labels (u px, v px, d mm) in the full image; com_uvd: ``(3,)`` crop centre.

    Returns:
        ``(depth (S, S) float32, rgb (3, S, S) float32 | None, joints (J, 3) in the new cube's units,
        new com_xyz_mm (3,), new cube_mm)``.
    """
    size = depth.shape[0]
    com_uvd = np.asarray(com_uvd, np.float64)
    new_cube = cube_mm * scale
    com_xyz = uvd_to_xyz(com_uvd, intr)
    new_com_xyz = com_xyz + (np.zeros(3) if shift_mm is None else np.asarray(shift_mm, np.float64))
    new_com_uvd = xyz_to_uvd(new_com_xyz, intr)
    a_old = _h(window_affine(crop_window(com_uvd, cube_mm, intr), size))
    a_new = _h(window_affine(crop_window(new_com_uvd, new_cube, intr), size))
    c, s = math.cos(rotation_rad), math.sin(rotation_rad)
    cu, cv = com_uvd[:2]
    rot = np.array([[c, -s, cu - c * cu + s * cv], [s, c, cv - s * cu - c * cv], [0.0, 0.0, 1.0]])  # about the centre
    warp = (a_new @ rot @ np.linalg.inv(a_old))[:2]  # old crop px -> new crop px
    # Back to mm for valid pixels, so that the new centre depth and cube re-normalise them exactly.
    d = depth.astype(np.float32)
    background = d >= 1.0
    d_mm = np.where(background, np.float32(np.nan), d * np.float32(0.5 * cube_mm) + np.float32(com_uvd[2]))
    d_mm = cv2.warpAffine(d_mm, warp, (size, size), flags=cv2.INTER_NEAREST,
                          borderMode=cv2.BORDER_CONSTANT, borderValue=float("nan"))
    new_depth = (d_mm - np.float32(new_com_uvd[2])) / np.float32(0.5 * new_cube)
    new_depth = np.where(np.isnan(new_depth) | (new_depth > 1.0), np.float32(1.0), np.maximum(new_depth, -1.0))
    new_rgb = None
    if rgb is not None:
        hwc = np.ascontiguousarray(np.asarray(rgb).transpose(1, 2, 0))
        warped = cv2.warpAffine(hwc, warp, (size, size), flags=cv2.INTER_LINEAR,
                                borderMode=cv2.BORDER_CONSTANT, borderValue=(0, 0, 0))
        new_rgb = warped.astype(np.float32).transpose(2, 0, 1) * (new_depth < 1.0)
    uv1 = np.concatenate([joints_uvd[:, :2], np.ones((len(joints_uvd), 1))], axis=1)
    new_uvd = np.concatenate([(uv1 @ rot.T)[:, :2], joints_uvd[:, 2:3]], axis=1)
    joints = (uvd_to_xyz(new_uvd, intr) - new_com_xyz) / (0.5 * new_cube)
    return new_depth.astype(np.float32), new_rgb, joints, new_com_xyz, new_cube
