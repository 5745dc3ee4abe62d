"""Left hands through a right-hand network: mirror the crop, predict, mirror the joints back.

A left hand is a mirrored right hand. Reflecting the whole scene about the camera's ``x = 0`` plane maps pixel
``u`` to ``2 cx - u`` exactly (perspective included), so flipping a crop left-right gives precisely the crop of
the mirrored scene around the mirrored centre ``(-x_c, y_c, z_c)``: a right hand, where the hand was a left one.
The network's joints are relative to the crop centre in cube units (eqs. 4.7-4.9), so mirroring them back is
negating their x; decoding with the original crop then gives the left hand's joints in the real camera.
"""

from __future__ import annotations

import functools

import cv2
import numpy as np

from inference.core.frame import HandCrop
from inference.core.geometry import Intrinsics
from inference.preprocess.crop import decode_prediction
from inference.runtime.estimator import Estimator

_FLIP_X = np.array([-1.0, 1.0, 1.0], np.float32)


def mirror_crop(crop: HandCrop, intr: Intrinsics) -> HandCrop:
    """The crop of the scene mirrored about the camera's ``x = 0`` plane: images flipped left-right, the centre
    and window reflected (``u -> 2 cx - u``, ``x -> -x``). Mirroring twice gives the crop back."""
    u0, v0, u1, v1 = crop.window_px
    return HandCrop(
        depth=np.ascontiguousarray(crop.depth[:, ::-1]),
        rgb=None if crop.rgb is None else np.ascontiguousarray(crop.rgb[:, :, ::-1]),
        com_uvd=np.array([2.0 * intr.cx - crop.com_uvd[0], crop.com_uvd[1], crop.com_uvd[2]]),
        com_xyz_mm=np.asarray(crop.com_xyz_mm, np.float64) * _FLIP_X,
        cube_mm=crop.cube_mm,
        mask=np.ascontiguousarray(crop.mask[:, ::-1]),
        window_px=(2.0 * intr.cx - u1, v0, 2.0 * intr.cx - u0, v1),
    )


def predict_mirrored(estimator: Estimator, crop: HandCrop, intr: Intrinsics) -> np.ndarray:
    """A right-hand ``estimator`` read as a left-hand one: ``(J, 3)`` float32 joints in cube units of ``crop``
    (decode them with ``crop`` as any prediction), estimated on the mirrored crop and mirrored back."""
    return estimator.predict(mirror_crop(crop, intr)) * _FLIP_X


def estimate_left_hand(estimator: Estimator, crop: HandCrop, intr: Intrinsics) -> tuple[np.ndarray, np.ndarray]:
    """The left hand in ``crop`` by the right-hand ``estimator``: ``(joints_xyz_mm, joints_uvd)``, each ``(J, 3)``."""
    return decode_prediction(predict_mirrored(estimator, crop, intr), crop, intr)


def mirror_image(image: np.ndarray, intrinsics: Intrinsics, nearest: bool) -> np.ndarray:
    """``image`` reflected about the principal point's column (``u' = 2 cx - u``); uncovered pixels 0."""
    map_x, map_y = _mirror_maps(image.shape[0], image.shape[1], float(intrinsics.cx))
    return cv2.remap(image, map_x, map_y, cv2.INTER_NEAREST if nearest else cv2.INTER_LINEAR,
                     borderMode=cv2.BORDER_CONSTANT, borderValue=0)


@functools.lru_cache(maxsize=4)
def _mirror_maps(h: int, w: int, cx: float) -> tuple[np.ndarray, np.ndarray]:
    """:func:`mirror_image`'s ``(h, w)`` float32 source columns and rows (read-only), made once per camera: making
    them took longer than the remap."""
    map_x = np.ascontiguousarray(np.broadcast_to((2.0 * cx - np.arange(w, dtype=np.float32))[None, :], (h, w)))
    map_y = np.ascontiguousarray(np.broadcast_to(np.arange(h, dtype=np.float32)[:, None], (h, w)))
    map_x.flags.writeable = map_y.flags.writeable = False
    return map_x, map_y


def mirror_uvd(uvd: np.ndarray, intrinsics: Intrinsics) -> np.ndarray:
    """Joints ``(..., 3)`` (u px, v px, d mm) reflected like :func:`mirror_image`."""
    out = np.array(uvd, np.float64, copy=True)
    out[..., 0] = 2.0 * intrinsics.cx - out[..., 0]
    return out


def mirror_xyz(xyz_mm: np.ndarray) -> np.ndarray:
    """Camera-space points ``(..., 3)`` (mm) reflected like :func:`mirror_image` (``x -> -x``)."""
    return np.asarray(xyz_mm, np.float64) * _FLIP_X
