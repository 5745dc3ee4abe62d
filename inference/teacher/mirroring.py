"""Left hands as right ones: a frame and its joints reflected about the principal point's column.

``u' = 2 cx - u`` is the reflection ``x -> -x`` of camera space seen through the same camera, so the intrinsics
stay exact (:mod:`inference.runtime.mirror` does the same to a network's crop).
"""

from __future__ import annotations

import cv2
import numpy as np

from inference.core.geometry import Intrinsics


def mirror_image(image: np.ndarray, intrinsics: Intrinsics, nearest: bool) -> np.ndarray:
    """``image`` reflected about the principal point's column (``u' = 2 cx - u``); uncovered pixels 0."""
    h, w = image.shape[:2]
    map_x = np.broadcast_to((2.0 * intrinsics.cx - np.arange(w, dtype=np.float32))[None, :], (h, w))
    map_y = np.broadcast_to(np.arange(h, dtype=np.float32)[:, None], (h, w))
    return cv2.remap(image, np.ascontiguousarray(map_x), np.ascontiguousarray(map_y),
                     cv2.INTER_NEAREST if nearest else cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT,
                     borderValue=0)


def mirror_uvd(uvd: np.ndarray, intrinsics: Intrinsics) -> np.ndarray:
    """Joints ``(..., 3)`` (u px, v px, d mm) reflected like :func:`mirror_image`."""
    out = np.array(uvd, np.float64, copy=True)
    out[..., 0] = 2.0 * intrinsics.cx - out[..., 0]
    return out
