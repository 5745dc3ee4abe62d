"""Scene cuts: a frame that does not continue the previous one although its index does.

A recording or a replayed dataset may jump to another scene between two consecutive frames (NYU-format sequences
start a new scene for each subject; so does ``handpose synth --mode sequence``). Where the hand stays near the same
place the fit's "the hand jumped" rule does not fire, and the track carries the last person's hand size, pose and
smoothing into the new scene. Between two frames of one scene at 30 fps only what moves changes depth, and what
moves is mostly near the camera (hands, arms); across a cut the background changes too. A frame is a cut when most
of the image changed, or when a fair share of what lies behind the nearest things changed (``far_mm`` behind the 5th
percentile of each frame's depth). Measured on 16 synthetic 30 fps sequences, one and two hands (4,680 frames, every
8th pixel, a change over 50 mm): each of the 48 cuts passes one of the two bars by 8% or more (all pixels 23-100%,
the far ones 0-100%); no other frame passes either (all pixels at most 37%: two hands close to the camera; the far
ones at most 13%).
"""

from __future__ import annotations

import numpy as np


class SceneCuts:
    """Tells whether each frame cuts from the previous one (call :meth:`is_cut` once per frame, in order).

    Args:
        step_px: every ``step_px``-th pixel in each direction is compared.
        change_mm: a pixel whose depth moved more than this (mm) has changed.
        all_fraction: a cut changes more than this share of the pixels valid in both frames...
        far_fraction: ...or more than this share of those lying ``far_mm`` behind the nearest things in both.
        far_mm: how far behind each frame's 5th-percentile depth a pixel counts as background.
        min_far: fewer background pixels than this: the far share is not read.
    """

    def __init__(self, step_px: int = 8, change_mm: float = 50.0, all_fraction: float = 0.5,
                 far_fraction: float = 0.2, far_mm: float = 250.0, min_far: int = 50) -> None:
        self.step_px, self.change_mm = step_px, change_mm
        self.all_fraction, self.far_fraction, self.far_mm, self.min_far = all_fraction, far_fraction, far_mm, min_far
        self._previous: np.ndarray | None = None

    def reset(self) -> None:
        """Forget the previous frame (another source: its first frame is not compared)."""
        self._previous = None

    def is_cut(self, depth_mm: np.ndarray) -> bool:
        """Whether ``depth_mm (H, W)`` (mm, 0 or NaN invalid) is a new scene; it becomes the previous frame."""
        current = np.asarray(depth_mm, np.float32)[:: self.step_px, :: self.step_px]
        previous, self._previous = self._previous, current
        if previous is None or previous.shape != current.shape:
            return False
        valid_p, valid_c = np.isfinite(previous) & (previous > 0), np.isfinite(current) & (current > 0)
        both = valid_p & valid_c
        if not both.any():
            return False
        changed = np.abs(current - previous) > self.change_mm
        if changed[both].mean() > self.all_fraction:
            return True
        far = (both & (previous > np.percentile(previous[valid_p], 5) + self.far_mm)
               & (current > np.percentile(current[valid_c], 5) + self.far_mm))
        return int(far.sum()) >= self.min_far and changed[far].mean() > self.far_fraction
