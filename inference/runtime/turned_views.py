"""More views of one hand from one network: the crop turned in the image plane, predicted, turned back.

A network errs differently on the same hand turned by a few tens of degrees, and a fit started from each of those
views lands in a different local minimum: where the fit from the network's own view stays poor, the views give
the fit other starts (:class:`inference.fit.refiner.HandRefiner`, ``view_angles_deg``).

Turning the crop image by ``a`` degrees about its centre (counter-clockwise as displayed) turns the hand about the
camera ray through the crop's centre; the network's joints, relative to that centre in cube units (x right, y up),
come back turned by ``a`` as well, so they are turned by ``-a`` about the z axis. Near the crop's centre the ray is
the optical axis to within a few degrees, so the views agree with the network's own up to the network's error.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

import cv2
import numpy as np

from inference.core.frame import HandCrop
from inference.runtime.estimator import Estimator, predict_crops


def turn_crop(crop: HandCrop, angle_deg: float) -> HandCrop:
    """``crop`` with its images turned ``angle_deg`` counter-clockwise (as displayed) about their centre; pixels
    turned in from outside read as background (depth 1, masked out). The centre, cube and window are unchanged."""
    size = crop.depth.shape[0]
    centre = ((size - 1) / 2.0, (size - 1) / 2.0)
    m = cv2.getRotationMatrix2D(centre, float(angle_deg), 1.0)
    depth = cv2.warpAffine(crop.depth, m, (size, size), flags=cv2.INTER_NEAREST, borderMode=cv2.BORDER_CONSTANT,
                           borderValue=1.0)
    mask = cv2.warpAffine(crop.mask.astype(np.uint8), m, (size, size), flags=cv2.INTER_NEAREST,
                          borderMode=cv2.BORDER_CONSTANT, borderValue=0).astype(bool)
    rgb = None
    if crop.rgb is not None:
        # Masked-out pixels of a standardised crop all hold one colour (black, standardised): keep it outside.
        outside = ~crop.mask
        background = crop.rgb[:, outside].mean(axis=1) if outside.any() else np.zeros(3, np.float32)
        rgb = np.stack([cv2.warpAffine(channel, m, (size, size), flags=cv2.INTER_LINEAR) for channel in crop.rgb])
        rgb[:, ~mask] = background[:, None]
        rgb = np.ascontiguousarray(rgb, np.float32)
    return replace(crop, depth=np.ascontiguousarray(depth, np.float32), rgb=rgb, mask=mask)


def turn_joints(joints_norm: np.ndarray, angle_deg: float) -> np.ndarray:
    """Joints ``(..., 3)`` in cube units (x right, y up) turned ``angle_deg`` counter-clockwise about the z axis."""
    t = np.radians(angle_deg)
    c, s = np.cos(t), np.sin(t)
    out = np.array(joints_norm, np.float32, copy=True)
    x, y = out[..., 0].copy(), out[..., 1].copy()
    out[..., 0], out[..., 1] = c * x - s * y, s * x + c * y
    return out


def predict_turned(estimator: Estimator, crop: HandCrop, angles_deg: Sequence[float]) -> np.ndarray:
    """The network's joints for ``crop`` seen turned by each of ``angles_deg``, as one batch, turned back:
    ``(K, J, 3)`` float32 in cube units of ``crop`` (decode each with ``crop``, as the network's own view)."""
    if not len(angles_deg):
        raise ValueError("predict_turned needs at least one angle")
    joints = predict_crops(estimator, [turn_crop(crop, a) for a in angles_deg])
    return np.stack([turn_joints(j, -a) for j, a in zip(joints, angles_deg, strict=True)])
