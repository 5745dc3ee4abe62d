"""The per-frame pipeline: segment -> crop -> estimate -> decode -> fit the hand model -> smooth -> gesture.

One code path for live cameras, recordings and replays (no ``if live:``): a :class:`Frame` goes in, a
:class:`FrameResult` comes out with per-stage timings. Bad frames (empty, all-invalid, NaN/inf depth, no
hand in range) give ``pose.found = False`` and never raise. :meth:`Pipeline.update_settings` may be called
from another thread (the app's controls) between frames.
"""

from __future__ import annotations

import dataclasses
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from inference.crop import decode_prediction, make_crop
from inference.estimator import Estimator, load_estimator
from inference.fit.observation import observe
from inference.fit.refiner import STATUS_OK, HandRefiner, RefineSettings
from inference.frame import Frame, HandCrop, HandPose
from inference.geometry import xyz_to_uvd
from inference.gestures import classify_gesture
from inference.segmentation import Segmentation, SegmentationParams, segment_hand
from inference.skeleton import EVAL_JOINT_IDS
from inference.smoothing import JointSmoother, SmoothingParams

# Keys of HandPose.timings_ms; total = segment + crop + infer + fit + post (capture is reported apart).
STAGES: tuple[str, ...] = ("capture", "segment", "crop", "infer", "fit", "post", "total")


@dataclass(frozen=True)
class PipelineSettings:
    """What a user may change while running.

    Attributes:
        segmentation: hand segmentation parameters (its ``cube_mm`` is replaced by the crop cube).
        cube_mm: crop cube edge (mm); None = the one the model was trained with (its metadata).
        smoothing: smooth the joints over time (:mod:`inference.smoothing`; resets on discontinuities).
        smoothing_params: the filter's parameters (cutoffs in Hz, speeds in mm/s).
        gestures: classify a gesture from the joints (14-joint models only).
        refine: fit the articulated hand model to the depth after the network (:mod:`inference.fit`; models that
            estimate the 14 NYU joints only).
        refine_settings: the fit's settings.
    """

    segmentation: SegmentationParams = field(default_factory=SegmentationParams)
    cube_mm: float | None = None
    smoothing: bool = True
    smoothing_params: SmoothingParams = field(default_factory=SmoothingParams)
    gestures: bool = True
    refine: bool = False
    refine_settings: RefineSettings = field(default_factory=RefineSettings)


@dataclass
class FrameResult:
    """Everything the pipeline knows about one frame (what views and sinks draw from).

    Attributes:
        frame: the input frame.
        pose: the estimate (``found`` False when there is no hand), with ``timings_ms``.
        crop: the network input, or None when no hand was segmented.
        segmentation: the segmentation result (``reason`` says why nothing was found).
    """

    frame: Frame
    pose: HandPose
    crop: HandCrop | None
    segmentation: Segmentation


def _sanitised_depth(depth: np.ndarray) -> np.ndarray | None:
    """Depth with non-finite values zeroed (float sources), or None when it is not a usable 2-D image."""
    if depth.ndim != 2 or depth.size == 0:
        return None
    if depth.dtype.kind == "f" and not np.isfinite(depth).all():
        depth = np.where(np.isfinite(depth), depth, 0.0)
    return depth


class Pipeline:
    """Turns frames into hand poses with one :class:`Estimator`.

    Args:
        estimator: the network (ONNX or torch backend); its metadata sets crop size, cube and RGB statistics.
        settings: initial settings (defaults: the model's cube, smoothing on, gestures on).
    """

    def __init__(self, estimator: Estimator, settings: PipelineSettings | None = None) -> None:
        self.estimator = estimator
        meta = estimator.metadata
        self._rgb_mean = np.asarray(meta.rgb_mean, np.float32) if meta.uses_rgb else None
        self._rgb_std = np.asarray(meta.rgb_std, np.float32) if meta.uses_rgb else None
        self._gestures_possible = list(meta.joint_ids) == list(EVAL_JOINT_IDS)
        self._refinable = self._gestures_possible  # the fit needs the 14 NYU joints to start from
        self._lock = threading.Lock()
        self._filter = JointSmoother()
        self._refiner = HandRefiner()
        self._last_index: int | None = None
        self.update_settings(settings or PipelineSettings())

    @classmethod
    def from_model(
        cls, path: str | Path | None = None, settings: PipelineSettings | None = None, providers: str = "auto"
    ) -> Pipeline:
        """A pipeline over the ONNX model at ``path`` (default: :func:`inference.estimator.default_model_path`)."""
        return cls(load_estimator(path, providers=providers), settings)

    @property
    def settings(self) -> PipelineSettings:
        return self._settings

    @property
    def cube_mm(self) -> float:
        """The crop cube in use (mm)."""
        return self._settings.cube_mm or self.estimator.metadata.cube_mm

    def update_settings(self, settings: PipelineSettings | None = None, **changes: object) -> PipelineSettings:
        """Replace the settings (whole, or the named fields); safe between frames from any thread.

        Changing the smoothing parameters restarts the filter (the next frame passes through unsmoothed).
        """
        with self._lock:
            new = settings or self._settings
            new = dataclasses.replace(new, **changes) if changes else new
            cube = new.cube_mm or self.estimator.metadata.cube_mm
            if new.segmentation.cube_mm != cube:  # the hand centre is refined with the crop's own cube
                new = dataclasses.replace(new, segmentation=dataclasses.replace(new.segmentation, cube_mm=cube))
            if new.smoothing_params != self._filter.params:
                self._filter = JointSmoother(new.smoothing_params)
            if new.refine_settings != self._refiner.settings:
                self._refiner = HandRefiner(new.refine_settings)
            self._settings = new
            return new

    def reset(self) -> None:
        """Forget the smoothing history (e.g. when the source is switched or seeks)."""
        with self._lock:
            self._filter.reset("pipeline reset")
            self._refiner.reset("pipeline reset")
            self._last_index = None

    def process(self, frame: Frame, capture_ms: float = 0.0, com_uvd: np.ndarray | None = None) -> FrameResult:
        """Run all stages on ``frame``; ``capture_ms`` (time the source took to deliver it) is recorded as is.

        ``com_uvd`` ``(3,)`` (u px, v px, d mm), when given, is the crop centre instead of the segmentation's
        (evaluation of the network alone on label-centred crops, see :func:`inference.crop.labels_centre_uvd`).
        """
        with self._lock:
            settings, smoother, refiner = self._settings, self._filter, self._refiner
            # A frame that does not follow the last one (a loop, a seek back, another source) starts afresh.
            if self._last_index is not None and frame.index <= self._last_index:
                smoother.reset("frame index went back")
                refiner.reset("frame index went back")
            self._last_index = frame.index
        meta = self.estimator.metadata
        cube_mm = settings.cube_mm or meta.cube_mm
        timings = {"capture": float(capture_ms)}
        t0 = time.perf_counter()

        depth = _sanitised_depth(np.asarray(frame.depth_mm))
        if depth is None:
            seg = Segmentation(False, reason=f"depth must be a non-empty 2-D image, got shape {frame.depth_mm.shape}")
        elif com_uvd is not None:
            seg = Segmentation(True, com_uvd=np.asarray(com_uvd, np.float64))
        else:
            seg = segment_hand(depth, frame.intrinsics, settings.segmentation)
        t1 = time.perf_counter()
        timings["segment"] = (t1 - t0) * 1e3
        if not seg.found:
            smoother.reset("hand lost")  # a new hand must not be pulled toward the last one
            refiner.reset("hand lost")
            for stage in ("crop", "infer", "fit", "post"):
                timings[stage] = 0.0
            timings["total"] = timings["segment"]
            return FrameResult(frame, HandPose(found=False, timings_ms=timings), None, seg)

        crop = make_crop(
            depth, seg.com_uvd, frame.intrinsics, cube_mm, color=frame.color if meta.uses_rgb else None,
            rgb_mean=self._rgb_mean, rgb_std=self._rgb_std, size=meta.input_size,
        )
        t2 = time.perf_counter()
        joints_norm = self.estimator.predict(crop)  # (J, 3) cube units
        t3 = time.perf_counter()

        xyz_mm, uvd = decode_prediction(joints_norm, crop, frame.intrinsics)
        found = bool(np.isfinite(xyz_mm).all())
        joints36 = fit_residual = fit_status = None
        if found and settings.refine and self._refinable:
            # The fit needs the segmented hand's points; a crop centred by the caller has none.
            obs = observe(depth, seg, frame.intrinsics) if seg.hand_vu_px is not None else "no segmentation"
            fit = refiner.refine(obs, xyz_mm, frame.index)
            fit_residual, fit_status = fit.residual_mm, fit.status
            if fit.status == STATUS_OK:
                joints36 = fit.joints_xyz_mm
                xyz_mm = joints36[list(EVAL_JOINT_IDS)]
                uvd = xyz_to_uvd(xyz_mm, frame.intrinsics)
        elif not found:
            refiner.reset("hand lost")
        t_fit = time.perf_counter()
        gesture, confidence = None, 0.0
        if not found:
            smoother.reset("hand lost")
            xyz_mm = uvd = None
        else:
            if settings.smoothing:
                xyz_mm = smoother.filter(xyz_mm, frame.timestamp_s)
                uvd = xyz_to_uvd(xyz_mm, frame.intrinsics)
            if settings.gestures and self._gestures_possible:
                gesture, confidence = classify_gesture(xyz_mm)
        t4 = time.perf_counter()
        timings.update(crop=(t2 - t1) * 1e3, infer=(t3 - t2) * 1e3, fit=(t_fit - t3) * 1e3, post=(t4 - t_fit) * 1e3)
        timings["total"] = sum(timings[k] for k in ("segment", "crop", "infer", "fit", "post"))
        pose = HandPose(
            found=found, joints_xyz_mm=xyz_mm, joints_uvd=uvd, com_xyz_mm=crop.com_xyz_mm, timings_ms=timings,
            gesture=gesture, gesture_confidence=confidence, joints36_xyz_mm=joints36, fit_residual_mm=fit_residual,
            fit_status=fit_status,
        )
        return FrameResult(frame, pose, crop, seg)
