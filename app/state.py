"""The app's model layer: plain-Python state the widgets draw (napari style), no Qt.

The worker hands a pipeline ``FrameResult`` to :func:`build_view_state`, which turns it into a
:class:`ViewState` holding exactly what the views need (colour-mapped depth, 2D/3D joints, the cube
outline, the network input, a subsampled point cloud, the fitted hand model's surface, the ground-truth error).
Metering (:class:`RateMeter`, :class:`StageHistory`, :class:`GestureHistory`) is bounded so a long session
never grows memory.
"""

from __future__ import annotations

import functools
import time
from collections import deque
from dataclasses import dataclass, field
from typing import Any

import cv2
import numpy as np

from inference.core.geometry import Intrinsics, depth_to_points, uvd_to_xyz, xyz_to_uvd
from inference.fit.refiner import STATUS_OK, fitted_surface
from inference.fit.surface import surface_samples
from inference.preprocess.crop_defaults import DEFAULT_CUBE_MM

# Stages plotted and listed, in pipeline order; "render" is measured by the UI itself.
STAGES: tuple[str, ...] = ("capture", "segment", "crop", "infer", "fit", "post", "render")
MAX_CLOUD_POINTS = 20000
# The fitted model is drawn as points on its surface: this many rings of this many points along each capsule (and
# a (2 * around) x around lattice on each ellipsoid): about a thousand points, ~0.3 ms to make in the worker.
FIT_RINGS, FIT_AROUND = 4, 8

# Several hands: each drawn in its side's colour (both views) and labelled with its side's letter.
SIDE_COLOURS: dict[str, tuple[int, int, int]] = {"right": (255, 150, 40), "left": (70, 170, 255)}
SIDE_LETTERS: dict[str, str] = {"right": "R", "left": "L"}

# The 12 edges of a cube as pairs of corner indices; corner i has bits (x, y, z) = (i & 1, i >> 1 & 1, i >> 2 & 1).
CUBE_EDGES: tuple[tuple[int, int], ...] = tuple(
    (a, a | bit) for bit in (1, 2, 4) for a in range(8) if not a & bit
)


@functools.lru_cache(maxsize=8)
def _depth_lut(near_mm: float, far_mm: float) -> np.ndarray:
    """``(65536, 3)`` uint8 RGB for every uint16 depth (mm): turbo over [near, far], black outside and for 0."""
    depth = np.arange(65536, dtype=np.float32)
    span = max(far_mm - near_mm, 1.0)
    scaled = np.clip((depth - near_mm) * (255.0 / span), 0, 255).astype(np.uint8)
    # Near = red end of turbo: inverted so the hand (nearest) is warm.
    lut = cv2.applyColorMap((255 - scaled)[:, None], cv2.COLORMAP_TURBO)[:, 0, ::-1].copy()
    lut[(depth <= 0) | (depth < near_mm) | (depth > far_mm)] = 0
    return lut


def colourise_depth(depth_mm: np.ndarray, near_mm: float, far_mm: float) -> np.ndarray:
    """Depth in mm (any shape, values rounded to whole mm) -> same shape + (3,) uint8 RGB.

    Turbo colour map over [near, far]; invalid (0) and out-of-range depths are black. One table lookup per
    pixel (~1 ms for 640x480), so it can run for every frame.
    """
    index = np.asarray(depth_mm)
    if index.dtype != np.uint16:
        index = np.clip(np.rint(index), 0, 65535).astype(np.uint16)
    return _depth_lut(float(near_mm), float(far_mm))[index]


def cube_corners_xyz(com_xyz_mm: np.ndarray, cube_mm: float) -> np.ndarray:
    """The 8 corners ``(8, 3)`` mm of the axis-aligned cube of edge ``cube_mm`` centred on ``com_xyz_mm``."""
    bits = np.array([[(i >> k) & 1 for k in range(3)] for i in range(8)], np.float64)
    return np.asarray(com_xyz_mm, np.float64) + (bits - 0.5) * cube_mm


def cube_edges_uv(com_xyz_mm: np.ndarray, cube_mm: float, intr: Intrinsics) -> np.ndarray:
    """The cube's 12 edges projected to the image: ``(12, 2, 2)`` (edge, end, (u px, v px))."""
    uv = xyz_to_uvd(cube_corners_xyz(com_xyz_mm, cube_mm), intr)[:, :2]
    return np.stack([uv[[a, b]] for a, b in CUBE_EDGES])


def crop_to_rgb(crop_depth: np.ndarray) -> np.ndarray:
    """Network input ``(S, S)`` in [-1, 1] -> ``(S, S, 3)`` uint8 grey (near = bright, background = black)."""
    grey = np.clip((1.0 - crop_depth) * 127.5, 0, 255).astype(np.uint8)
    return np.ascontiguousarray(np.repeat(grey[..., None], 3, axis=2))


def mean_joint_error_mm(pred_xyz_mm: np.ndarray, gt_uvd: np.ndarray, intr: Intrinsics) -> float | None:
    """Mean 3D distance (mm) between predicted ``(J, 3)`` xyz and ground-truth ``(J, 3)`` uvd; None if GT is NaN."""
    gt_xyz = uvd_to_xyz(gt_uvd, intr)
    if not np.all(np.isfinite(gt_xyz)):
        return None
    return float(np.linalg.norm(np.asarray(pred_xyz_mm) - gt_xyz, axis=1).mean())


@dataclass
class HandView:
    """One hand of a several-hands frame, as drawn.

    Attributes:
        handedness: ``"right"`` / ``"left"``.
        joints_uv: ``(14, 2)`` joints in image pixels; joints_xyz_mm: ``(14, 3)`` in camera space (mm, y up).
        gesture, gesture_confidence: this hand's gesture.
        hidden: the other hand hides it on this frame; it is shown at its last pose, in its side's colour dimmed.
    """

    handedness: str
    joints_uv: np.ndarray
    joints_xyz_mm: np.ndarray
    gesture: str | None = None
    gesture_confidence: float = 0.0
    hidden: bool = False

    @property
    def colour(self) -> tuple[int, int, int]:
        r, g, b = SIDE_COLOURS.get(self.handedness, (255, 255, 255))
        return (r // 2, g // 2, b // 2) if self.hidden else (r, g, b)

    @property
    def letter(self) -> str:
        return SIDE_LETTERS.get(self.handedness, "?")


@dataclass
class ViewState:
    """Everything the views draw for one frame. Image coordinates are pixels of the depth grid.

    Attributes:
        index: frame index in the source.
        depth_rgb: ``(H, W, 3)`` uint8 colour-mapped depth.
        color: ``(H, W, 3)`` uint8 RGB or None.
        found: whether a hand was found; ``reason`` says why not.
        joints_uv: ``(14, 2)`` predicted joints in pixels, or None.
        gt_uv: ``(14, 2)`` ground-truth joints in pixels, or None.
        cube_edges_uv: ``(12, 2, 2)`` projected cube outline, or None.
        crop_rgb: ``(S, S, 3)`` uint8 network input, or None.
        crop_joints_px: ``(14, 2)`` predicted joints in crop pixels, or None.
        points_xyz_mm: ``(N, 3)`` float32 hand point cloud (y up); ``points_depth_rgb`` / ``points_color_rgb``
            ``(N, 3)`` uint8 colours by depth / from the RGB image (None without RGB).
        joints_xyz_mm: ``(14, 3)`` predicted joints, or None.
        error_mm: mean per-joint error vs ground truth for this frame, or None.
        gesture, gesture_confidence: recognised gesture.
        fit_residual_mm: mean distance (mm) of the hand's points to the fitted model (also of a rejected fit), or None
            when nothing was fitted.
        fit_status: ``"ok"``, why the network's joints were kept, or None when refinement is off / not possible.
        fit_points_xyz_mm: ``(M, 3)`` float32 points on the surface of the accepted fit (camera space, as fitted on
            this frame, i.e. before smoothing), or None (no accepted fit, or not asked for).
        timings_ms: per-stage timings from the pipeline.
        hands: every hand found when the pipeline tells their sides (several hands), nearest first; empty otherwise
            (the views then draw the one hand in finger colours).
    """

    index: int
    depth_rgb: np.ndarray
    color: np.ndarray | None
    found: bool
    reason: str = ""
    joints_uv: np.ndarray | None = None
    gt_uv: np.ndarray | None = None
    cube_edges_uv: np.ndarray | None = None
    crop_rgb: np.ndarray | None = None
    crop_joints_px: np.ndarray | None = None
    points_xyz_mm: np.ndarray = field(default_factory=lambda: np.zeros((0, 3), np.float32))
    points_depth_rgb: np.ndarray = field(default_factory=lambda: np.zeros((0, 3), np.uint8))
    points_color_rgb: np.ndarray | None = None
    joints_xyz_mm: np.ndarray | None = None
    com_xyz_mm: np.ndarray | None = None
    error_mm: float | None = None
    gesture: str | None = None
    gesture_confidence: float = 0.0
    fit_residual_mm: float | None = None
    fit_status: str | None = None
    fit_points_xyz_mm: np.ndarray | None = None
    timings_ms: dict[str, float] = field(default_factory=dict)
    hands: list[HandView] = field(default_factory=list)
    delivered_s: float = 0.0  # perf_counter when the worker handed it over (for end-to-end latency)


def build_view_state(
    result: Any,
    near_mm: float = 200.0,
    far_mm: float = 1500.0,
    max_points: int = MAX_CLOUD_POINTS,
    fit_points: bool = True,
) -> ViewState:
    """Turn a pipeline ``FrameResult`` (``frame``, ``pose``, ``crop``, ``segmentation``, ``fit``) into a
    :class:`ViewState`; ``fit_points`` samples the accepted fit's surface for the 3D view.

    Runs in the worker thread so the UI thread only blits.
    """
    from inference.preprocess.crop import joints_to_crop_px

    frame, pose, crop, seg = result.frame, result.pose, result.crop, result.segmentation
    intr = frame.intrinsics
    state = ViewState(
        index=int(frame.index),
        depth_rgb=colourise_depth(frame.depth_mm, near_mm, far_mm),
        color=frame.color,
        found=bool(pose.found),
        reason="" if pose.found else (getattr(seg, "reason", "") or "no hand"),
        gesture=pose.gesture,
        gesture_confidence=float(pose.gesture_confidence or 0.0),
        fit_residual_mm=pose.fit_residual_mm,
        fit_status=pose.fit_status,
        timings_ms=dict(pose.timings_ms),
    )
    fit = getattr(result, "fit", None)
    if fit_points and fit is not None and fit.status == STATUS_OK and fit.params is not None:
        state.fit_points_xyz_mm = surface_samples(fitted_surface(fit), FIT_RINGS, FIT_AROUND).astype(np.float32)
    if frame.joints_uvd is not None and np.all(np.isfinite(frame.joints_uvd)):
        state.gt_uv = np.asarray(frame.joints_uvd, np.float64)[:, :2]
    centre_xyz = cube_mm = mask = None
    if crop is not None:
        state.crop_rgb = crop_to_rgb(crop.depth)
        centre_xyz, cube_mm, mask = crop.com_xyz_mm, crop.cube_mm, getattr(seg, "mask", None)
    elif pose.found and pose.com_xyz_mm is not None:  # a frame-level estimator (the teacher): no crop, no mask
        centre_xyz, cube_mm = pose.com_xyz_mm, DEFAULT_CUBE_MM
        mask = _cube_window(frame.depth_mm.shape, pose.com_xyz_mm, cube_mm, intr)
    hand_results = getattr(result, "hands", None) or []
    if len(hand_results) > 1 and mask is not None:  # the cloud shows every hand (each within its own cube)
        mask = mask.copy()
        for other in hand_results[1:]:
            if other.segmentation.mask is not None:
                mask |= other.segmentation.mask
    if centre_xyz is not None:
        state.cube_edges_uv = cube_edges_uv(centre_xyz, cube_mm, intr)
        state.com_xyz_mm = np.asarray(centre_xyz, np.float64)
        if mask is not None:
            points, pixels = depth_to_points(frame.depth_mm, intr, mask)
            # The hand as the network sees it: segmented pixels (a frame estimator: the cube's window) within the
            # cube's depth range.
            centres_z = [centre_xyz[2]] + [h.pose.com_xyz_mm[2] for h in hand_results[1:]
                                           if h.pose.com_xyz_mm is not None]
            in_cube = np.zeros(len(points), bool)
            for z in centres_z:
                in_cube |= np.abs(points[:, 2] - np.float32(z)) <= 0.5 * cube_mm
            points, pixels = points[in_cube], pixels[in_cube]
            if len(points) > max_points:  # evenly strided subsample keeps the cloud's shape
                keep = np.linspace(0, len(points) - 1, max_points).astype(np.int64)
                points, pixels = points[keep], pixels[keep]
            state.points_xyz_mm = points
            z = points[:, 2]
            if len(z):
                state.points_depth_rgb = colourise_depth(z[None, :], float(z.min()), float(z.max()) + 1.0)[0]
            if frame.color is not None:
                state.points_color_rgb = frame.color[pixels[:, 0], pixels[:, 1]]
    if pose.found and pose.joints_uvd is not None:
        state.joints_uv = np.asarray(pose.joints_uvd, np.float64)[:, :2]
        state.joints_xyz_mm = np.asarray(pose.joints_xyz_mm, np.float64)
        if crop is not None:
            state.crop_joints_px = joints_to_crop_px(pose.joints_uvd, crop.window_px, crop.depth.shape[0])
        if frame.joints_uvd is not None:
            state.error_mm = mean_joint_error_mm(state.joints_xyz_mm, frame.joints_uvd, intr)
    state.hands = [
        HandView(h.handedness, np.asarray(h.joints_uvd, np.float64)[:, :2], np.asarray(h.joints_xyz_mm, np.float64),
                 h.gesture, float(h.gesture_confidence or 0.0), h.hidden)
        for h in (pose.hands or []) if h.found and h.handedness in SIDE_COLOURS and h.joints_uvd is not None
    ]
    return state


def hands_gesture_text(state: ViewState) -> str:
    """Each hand's gesture on one line, e.g. ``R: point · L: fist`` ("" with fewer than two hands)."""
    if len(state.hands) < 2:
        return ""
    return " · ".join(f"{h.letter}: {(h.gesture or '—').replace('_', ' ')}" for h in state.hands)


def fit_text(state: ViewState | None, refine: bool) -> str:
    """The status line's word on the fit: ``fit 3.2 mm`` (the residual of the fit in use), ``fit rejected: ...`` /
    ``fit not fitted: ...`` (why the network's joints were kept), ``fit off``, or ``fit –`` (no hand, or a model the
    fit cannot start from)."""
    if not refine:
        return "fit off"
    if state is None or not state.found or state.fit_status is None:
        return "fit –"
    if state.fit_status == STATUS_OK and state.fit_residual_mm is not None:
        return f"fit {state.fit_residual_mm:.1f} mm"
    return f"fit {state.fit_status}"


def _cube_window(shape: tuple[int, ...], centre_xyz_mm: np.ndarray, cube_mm: float, intr: Intrinsics) -> np.ndarray:
    """``(H, W)`` bool: the image rectangle the cube of edge ``cube_mm`` around ``centre_xyz_mm`` projects to."""
    uv = cube_edges_uv(centre_xyz_mm, cube_mm, intr).reshape(-1, 2)
    u0, v0 = np.clip(np.floor(uv.min(axis=0)), 0, None).astype(int)
    u1, v1 = np.ceil(uv.max(axis=0)).astype(int) + 1
    window = np.zeros(shape[:2], bool)
    window[v0:v1, u0:u1] = True
    return window


class RateMeter:
    """Events per second over a sliding window of the last ``window_s`` seconds."""

    def __init__(self, window_s: float = 2.0, clock=time.perf_counter) -> None:
        self.window_s = window_s
        self._clock = clock
        self._times: deque[float] = deque()

    def tick(self) -> None:
        now = self._clock()
        self._times.append(now)
        while self._times and now - self._times[0] > self.window_s:
            self._times.popleft()

    @property
    def rate_hz(self) -> float:
        if len(self._times) < 2:
            return 0.0
        span = self._times[-1] - self._times[0]
        return (len(self._times) - 1) / span if span > 0 else 0.0


class StageHistory:
    """The last ``length`` values of FPS, end-to-end latency and each stage's time (ms), for the plots."""

    def __init__(self, length: int = 300) -> None:
        self.length = length
        self.fps: deque[float] = deque(maxlen=length)
        self.latency_ms: deque[float] = deque(maxlen=length)
        self.stages_ms: dict[str, deque[float]] = {s: deque(maxlen=length) for s in STAGES}

    def add(self, fps: float, latency_ms: float, timings_ms: dict[str, float]) -> None:
        self.fps.append(fps)
        self.latency_ms.append(latency_ms)
        for stage, values in self.stages_ms.items():
            values.append(float(timings_ms.get(stage, np.nan)))

    def median(self, stage: str) -> float:
        values = [v for v in self.stages_ms[stage] if np.isfinite(v)]
        return float(np.median(values)) if values else float("nan")


class GestureHistory:
    """Recent distinct gestures (newest first): consecutive repeats collapse into one entry."""

    def __init__(self, length: int = 6) -> None:
        self.entries: deque[tuple[str, float]] = deque(maxlen=length)

    def add(self, gesture: str | None, confidence: float) -> None:
        if gesture is None:
            return
        if self.entries and self.entries[0][0] == gesture:
            self.entries[0] = (gesture, max(confidence, self.entries[0][1]))
        else:
            self.entries.appendleft((gesture, confidence))
