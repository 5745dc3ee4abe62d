"""The thesis preprocessing (eqs. 4.6-4.12): the ONE crop/normalise/denormalise module.

Training datasets and the runtime both call these functions, so the network always sees the same
input and its outputs are always decoded the same way.

A cube of edge ``cube_mm`` centred on the hand's centre ``com_uvd`` is projected to an image window,
resampled to ``size x size`` (nearest neighbour, so depth edges are never blended), and depth is
normalised to ``(d - d_com) / (cube_mm / 2)``; missing pixels and pixels behind the cube get 1, pixels in
front of it -1. Joints are normalised to ``(xyz - com_xyz) / (cube_mm / 2)`` (eqs. 4.7-4.9).
"""

from __future__ import annotations

import cv2
import numpy as np

from inference.core.frame import HandCrop
from inference.core.geometry import Intrinsics, uvd_to_xyz, xyz_to_uvd
from inference.preprocess.crop_defaults import CROP_SIZE, DEFAULT_CUBE_MM


def crop_window(com_uvd: np.ndarray, cube_mm: float, intr: Intrinsics) -> tuple[float, float, float, float]:
    """Image window ``(u0, v0, u1, v1)`` in pixels covered by the cube's front-facing square at the centre's depth."""
    u, v, d = (float(c) for c in com_uvd)
    half_u = 0.5 * cube_mm * intr.fx / d
    half_v = 0.5 * cube_mm * intr.fy / d
    return (u - half_u, v - half_v, u + half_u, v + half_v)


def window_affine(window: tuple[float, float, float, float], size: int) -> np.ndarray:
    """2x3 affine mapping image coordinates to crop coordinates.

    Both use OpenCV's convention, the one ``u, v`` of uvd use: integer coordinates are pixel centres, so
    pixel ``i`` spans ``[i - 0.5, i + 0.5]``. The window's edges ``u0``, ``u1`` map to the crop's outer
    edges ``-0.5`` and ``size - 0.5``; the window centre (the hand centre) maps to ``(size - 1) / 2``.
    """
    u0, v0, u1, v1 = window
    sx = size / (u1 - u0)
    sy = size / (v1 - v0)
    return np.array([[sx, 0.0, -u0 * sx - 0.5], [0.0, sy, -v0 * sy - 0.5]], dtype=np.float64)


def crop_depth(
    depth_mm: np.ndarray,
    com_uvd: np.ndarray,
    intr: Intrinsics,
    cube_mm: float = DEFAULT_CUBE_MM,
    size: int = CROP_SIZE,
) -> tuple[np.ndarray, np.ndarray, tuple[float, float, float, float]]:
    """Cut and normalise the depth cube.

    Args:
        depth_mm: ``(H, W)`` depth in mm (any numeric dtype), 0 = missing.
        com_uvd: ``(3,)`` centre (u px, v px, d mm), d > 0.
        intr: intrinsics of ``depth_mm``.

    Returns:
        ``depth (size, size)`` float32 in [-1, 1], ``mask (size, size)`` bool (valid and inside the cube),
        and the image window.
    """
    if not float(com_uvd[2]) > 0:
        raise ValueError(f"crop centre depth must be > 0 mm, got {com_uvd[2]}")
    window = crop_window(com_uvd, cube_mm, intr)
    affine = window_affine(window, size)
    # Nearest neighbour copies values, so uint16 / float can be warped as they are (no full-frame conversion).
    src = depth_mm if depth_mm.dtype in (np.uint16, np.float32, np.float64) else depth_mm.astype(np.float32)
    patch = cv2.warpAffine(
        src, affine, (size, size), flags=cv2.INTER_NEAREST, borderMode=cv2.BORDER_CONSTANT, borderValue=0.0,
    ).astype(np.float32, copy=False)
    half = 0.5 * cube_mm
    norm = (patch - np.float32(com_uvd[2])) / np.float32(half)
    missing = ~(patch > 0)
    behind = norm > 1.0
    mask = ~missing & ~behind & (norm >= -1.0)
    norm = np.clip(norm, -1.0, 1.0)
    norm[missing | behind] = 1.0
    return norm.astype(np.float32, copy=False), mask, window


def crop_rgb(
    color: np.ndarray,
    window: tuple[float, float, float, float],
    mask: np.ndarray,
    mean: np.ndarray,
    std: np.ndarray,
) -> np.ndarray:
    """RGB crop of the same window, multiplied by the depth hand mask, standardised (eqs. 4.10-4.12).

    Args:
        color: ``(H, W, 3)`` uint8 RGB registered to the depth grid.
        mask: ``(S, S)`` bool hand mask from :func:`crop_depth`.
        mean, std: ``(3,)`` per-channel statistics (0-255 scale) of masked training crops.

    Returns:
        ``(3, S, S)`` float32.
    """
    size = mask.shape[0]
    patch = cv2.warpAffine(
        color, window_affine(window, size), (size, size),
        flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT, borderValue=(0, 0, 0),
    ).astype(np.float32)
    patch *= mask[..., None]
    out = (patch - np.asarray(mean, np.float32)) / np.asarray(std, np.float32)
    return np.ascontiguousarray(out.transpose(2, 0, 1))


def make_crop(
    depth_mm: np.ndarray,
    com_uvd: np.ndarray,
    intr: Intrinsics,
    cube_mm: float = DEFAULT_CUBE_MM,
    color: np.ndarray | None = None,
    rgb_mean: np.ndarray | None = None,
    rgb_std: np.ndarray | None = None,
    size: int = CROP_SIZE,
) -> HandCrop:
    """Depth crop plus (when ``color`` and RGB statistics are given) the masked, standardised RGB crop."""
    com_uvd = np.asarray(com_uvd, dtype=np.float64)
    depth, mask, window = crop_depth(depth_mm, com_uvd, intr, cube_mm, size)
    rgb = None
    if color is not None and rgb_mean is not None and rgb_std is not None:
        rgb = crop_rgb(color, window, mask, rgb_mean, rgb_std)
    return HandCrop(
        depth=depth, rgb=rgb, com_uvd=com_uvd, com_xyz_mm=uvd_to_xyz(com_uvd, intr),
        cube_mm=float(cube_mm), mask=mask, window_px=window,
    )


def labels_centre_uvd(joints_uvd: np.ndarray, intr: Intrinsics) -> np.ndarray:
    """Crop centre from labels: the mean of the joints ``(J, 3)`` uvd in camera space, projected back -> ``(3,)`` uvd.

    The one definition of "centre from the labels", shared by the training cache and ``handpose eval --centre
    labels`` (the mean is taken in 3-D, not in uvd, so near and far joints weigh the same).
    """
    return xyz_to_uvd(uvd_to_xyz(np.asarray(joints_uvd, np.float64), intr).mean(axis=0), intr)


def normalise_joints(joints_xyz_mm: np.ndarray, com_xyz_mm: np.ndarray, cube_mm: float) -> np.ndarray:
    """Eqs. 4.7-4.9: ``(..., J, 3)`` mm -> cube units, ``(xyz - com) / (cube/2)``."""
    return (np.asarray(joints_xyz_mm, np.float64) - np.asarray(com_xyz_mm, np.float64)[..., None, :]) / (
        0.5 * cube_mm
    )


def denormalise_joints(joints_norm: np.ndarray, com_xyz_mm: np.ndarray, cube_mm: float) -> np.ndarray:
    """Inverse of :func:`normalise_joints`: ``(..., J, 3)`` cube units -> mm."""
    return np.asarray(joints_norm, np.float64) * (0.5 * cube_mm) + np.asarray(com_xyz_mm, np.float64)[..., None, :]


def joints_to_crop_px(
    joints_uvd: np.ndarray, window: tuple[float, float, float, float], size: int = CROP_SIZE
) -> np.ndarray:
    """Map image ``(J, 3)`` uvd to crop pixel coordinates ``(J, 2)`` (for drawing on the 128x128 input)."""
    affine = window_affine(window, size)
    uv1 = np.concatenate([np.asarray(joints_uvd)[:, :2], np.ones((len(joints_uvd), 1))], axis=1)
    return uv1 @ affine.T


def decode_prediction(joints_norm: np.ndarray, crop: HandCrop, intr: Intrinsics) -> tuple[np.ndarray, np.ndarray]:
    """Network output ``(J*3,)`` or ``(J, 3)`` in cube units -> ``(joints_xyz_mm, joints_uvd)`` each ``(J, 3)``."""
    xyz = denormalise_joints(np.asarray(joints_norm).reshape(-1, 3), crop.com_xyz_mm, crop.cube_mm)
    return xyz, xyz_to_uvd(xyz, intr)
