"""Image-space targets for the fit: where an RGB landmarker (the MediaPipe teacher) saw some of the hand's joints.

The fit's landmark term pulls each listed model joint's projection toward its target pixel (robust, weighted by
the landmarker's confidence in it). Residuals are in mm: the pixel offset times a fixed ``mm_per_px`` per joint
(its depth over the focal length), so the term weighs like the fit's other mm terms and its Jacobian is exact.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from inference.core.skeleton import NUM_NYU_JOINTS
from inference.handmodel import JOINT_CHAINS


@dataclass(frozen=True)
class LandmarkTargets:
    """2-D targets of model joints.

    Attributes:
        joint_ids: ``(L,)`` rows of the model's 36 NYU joints.
        uv_px: ``(L, 2)`` where each was seen in the image (u px, v px).
        weights: ``(L,)`` confidence in [0, 1] (0 leaves the joint out).
        mm_per_px: ``(L,)`` its depth over ``fx``: one pixel there in mm.
    """

    joint_ids: np.ndarray
    uv_px: np.ndarray
    weights: np.ndarray
    mm_per_px: np.ndarray

    def __post_init__(self) -> None:
        ids = np.asarray(self.joint_ids, np.intp)
        n = len(ids)
        if ids.ndim != 1 or (n and (ids.min() < 0 or ids.max() >= NUM_NYU_JOINTS)):
            raise ValueError(f"joint_ids must be rows of the {NUM_NYU_JOINTS} NYU joints, got {self.joint_ids}")
        for name, shape in (("uv_px", (n, 2)), ("weights", (n,)), ("mm_per_px", (n,))):
            if np.shape(getattr(self, name)) != shape:
                raise ValueError(f"{name} must have shape {shape}, got {np.shape(getattr(self, name))}")

    @property
    def chains(self) -> np.ndarray:
        """``(L, G)`` the joint rotations that move each target's joint."""
        return JOINT_CHAINS[np.asarray(self.joint_ids, np.intp)]
