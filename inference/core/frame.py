"""The values that flow through the pipeline: Frame -> HandCrop -> HandPose."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from inference.core.geometry import Intrinsics


@dataclass
class Frame:
    """One aligned RGB-D frame, stamped once by its source.

    Attributes:
        depth_mm: ``(H, W)`` uint16 depth in millimetres, 0 = invalid.
        color: ``(H, W, 3)`` uint8 RGB registered to the depth grid, or None for depth-only sources.
        intrinsics: intrinsics of the depth grid.
        timestamp_s: capture time in seconds (source clock; monotonic within a source).
        index: 0-based frame index in the source (a recording's frame number).
        joints_uvd: optional ``(14, 3)`` ground-truth labels (u px, v px, d mm) when the source has them.
        gesture: optional ground-truth gesture label.
    """

    depth_mm: np.ndarray
    color: np.ndarray | None
    intrinsics: Intrinsics
    timestamp_s: float
    index: int
    joints_uvd: np.ndarray | None = None
    gesture: str | None = None


@dataclass
class HandCrop:
    """The network input cut around a hand (thesis eqs. 4.6-4.12).

    Attributes:
        depth: ``(128, 128)`` float32 in [-1, 1]; missing / behind-cube pixels are 1.
        rgb: ``(3, 128, 128)`` float32 standardised RGB (masked by the hand mask), or None.
        com_uvd: ``(3,)`` crop centre (u px, v px, d mm).
        com_xyz_mm: ``(3,)`` crop centre in camera space (mm, y up).
        cube_mm: edge of the cube (mm).
        mask: ``(128, 128)`` bool, pixels inside the cube.
        window_px: ``(u0, v0, u1, v1)`` the image window (pixels, float) that was resampled to the crop.
    """

    depth: np.ndarray
    rgb: np.ndarray | None
    com_uvd: np.ndarray
    com_xyz_mm: np.ndarray
    cube_mm: float
    mask: np.ndarray
    window_px: tuple[float, float, float, float]


@dataclass
class HandPose:
    """The estimate for one frame.

    Attributes:
        found: False when no hand was segmented (joints are None then).
        joints_xyz_mm: ``(14, 3)`` camera space, mm, y up, NYU 14-joint order.
        joints_uvd: ``(14, 3)`` (u px, v px, d mm).
        com_xyz_mm: ``(3,)`` hand centre used for the crop, or None.
        timings_ms: per-stage wall time in ms (capture, segment, crop, infer, fit, post, ...).
        gesture: recognised gesture name or None.
        gesture_confidence: in [0, 1].
        joints36_xyz_mm: ``(36, 3)`` all NYU joints of the fitted hand model (mm, smoothed like the 14), or None
            without a fit; joints36_uvd: the same as ``(u px, v px, d mm)``.
        fit_residual_mm: mean distance (mm) of the hand's observed points to the fitted model surface, or None.
        fit_status: ``"ok"`` when the fitted pose is used, else why the network's was kept; None without refinement.
        handedness: ``"right"`` / ``"left"`` when the estimator tells (the teacher), else None.
        score: the estimator's confidence in this hand, in [0, 1], when it gives one.
        joint_confidence: ``(14,)`` per-joint confidence in [0, 1], when the estimator gives one.
        hands: every hand the estimator found, nearest first (this pose is the first), for estimators that
            see several; None for the crop networks (one hand).
        hidden: a hand the other hand hides on this frame, shown at its last pose (the pipeline's
            ``hidden_hold_s``); never the nearest hand.
    """

    found: bool
    joints_xyz_mm: np.ndarray | None = None
    joints_uvd: np.ndarray | None = None
    com_xyz_mm: np.ndarray | None = None
    timings_ms: dict[str, float] = field(default_factory=dict)
    gesture: str | None = None
    gesture_confidence: float = 0.0
    joints36_xyz_mm: np.ndarray | None = None
    joints36_uvd: np.ndarray | None = None
    fit_residual_mm: float | None = None
    fit_status: str | None = None
    handedness: str | None = None
    score: float | None = None
    joint_confidence: np.ndarray | None = None
    hands: list[HandPose] | None = None
    hidden: bool = False
