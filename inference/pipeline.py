"""The per-frame pipeline: segment -> crop -> estimate -> decode to camera space -> One Euro -> gesture.

One code path for live cameras, recordings and replays (no ``if live:``): a :class:`Frame` goes in, a
:class:`FrameResult` comes out with per-stage timings. Bad frames (empty, all-invalid, NaN/inf depth, no
hand in range) give ``pose.found = False`` and never raise. :meth:`Pipeline.update_settings` may be called
from another thread (the app's controls) between frames.

A frame-level estimator (:class:`inference.estimator.FrameEstimator`, the MediaPipe teacher) replaces
segment -> crop -> network by one call on the whole frame, timed as ``infer``; the pipeline picks that path once,
when it is built.
"""

from __future__ import annotations

import dataclasses
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from inference.crop import decode_prediction, make_crop
from inference.estimator import Estimator, FrameEstimator, load_estimator
from inference.frame import Frame, HandCrop, HandPose
from inference.geometry import xyz_to_uvd
from inference.gestures import classify_gesture
from inference.segmentation import Segmentation, SegmentationParams, segment_hand
from inference.skeleton import EVAL_JOINT_IDS
from inference.smoothing import OneEuroFilter

# Keys of HandPose.timings_ms; total = segment + crop + infer + post (capture is reported apart).
STAGES: tuple[str, ...] = ("capture", "segment", "crop", "infer", "post", "total")


@dataclass(frozen=True)
class PipelineSettings:
    """What a user may change while running.

    Attributes:
        segmentation: hand segmentation parameters (its ``cube_mm`` is replaced by the crop cube).
        cube_mm: crop cube edge (mm); None = the one the model was trained with (its metadata).
        smoothing: apply the One Euro filter to the joints.
        min_cutoff: One Euro cutoff at rest (Hz): lower = less jitter.
        beta: One Euro speed coefficient (1/mm): higher = less lag in fast motion.
        d_cutoff: One Euro cutoff of the speed estimate (Hz).
        gestures: classify a gesture from the joints (14-joint models only).
    """

    segmentation: SegmentationParams = field(default_factory=SegmentationParams)
    cube_mm: float | None = None
    smoothing: bool = True
    min_cutoff: float = 1.0
    beta: float = 0.01
    d_cutoff: float = 1.0
    gestures: bool = True


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
            Or a :class:`FrameEstimator`, which sees whole frames (no segmentation, no crop).
        settings: initial settings (defaults: the model's cube, smoothing on, gestures on).
    """

    def __init__(self, estimator: Estimator | FrameEstimator, settings: PipelineSettings | None = None) -> None:
        self.estimator = estimator
        meta = estimator.metadata
        self._frame_level = isinstance(estimator, FrameEstimator)
        self._process = self._process_whole_frame if self._frame_level else self._process_crop
        self._rgb_mean = np.asarray(meta.rgb_mean, np.float32) if meta.rgb_mean is not None else None
        self._rgb_std = np.asarray(meta.rgb_std, np.float32) if meta.rgb_std is not None else None
        self._gestures_possible = list(meta.joint_ids) == list(EVAL_JOINT_IDS)
        self._lock = threading.Lock()
        self._filter = OneEuroFilter()
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

        Changing the filter parameters restarts the filter (the next frame passes through unsmoothed).
        """
        with self._lock:
            new = settings or self._settings
            new = dataclasses.replace(new, **changes) if changes else new
            cube = new.cube_mm or self.estimator.metadata.cube_mm
            if new.segmentation.cube_mm != cube:  # the hand centre is refined with the crop's own cube
                new = dataclasses.replace(new, segmentation=dataclasses.replace(new.segmentation, cube_mm=cube))
            params = (new.min_cutoff, new.beta, new.d_cutoff)
            if params != (self._filter.min_cutoff, self._filter.beta, self._filter.d_cutoff):
                self._filter = OneEuroFilter(*params)
            self._settings = new
            return new

    def reset(self) -> None:
        """Forget the smoothing history (the source was switched or seeks) and a frame estimator's tracking."""
        with self._lock:
            self._filter.reset()
            if self._frame_level:
                self.estimator.reset()

    def process(self, frame: Frame, capture_ms: float = 0.0, com_uvd: np.ndarray | None = None) -> FrameResult:
        """Run all stages on ``frame``; ``capture_ms`` (time the source took to deliver it) is recorded as is.

        ``com_uvd`` ``(3,)`` (u px, v px, d mm), when given, is the crop centre instead of the segmentation's
        (evaluation of the network alone on label-centred crops, see :func:`inference.crop.labels_centre_uvd`);
        a frame-level estimator has no crop and refuses it.
        """
        return self._process(frame, float(capture_ms), com_uvd)

    def _smooth_and_classify(self, xyz_mm: np.ndarray, uvd: np.ndarray, frame: Frame, settings: PipelineSettings,
                             smoother: OneEuroFilter) -> tuple[np.ndarray, np.ndarray, str | None, float]:
        """The post stage of a found hand: One Euro smoothing, pixels, gesture -> (xyz_mm, uvd, gesture, conf)."""
        if settings.smoothing:
            xyz_mm = smoother.filter(xyz_mm, frame.timestamp_s)
            uvd = xyz_to_uvd(xyz_mm, frame.intrinsics)
        gesture, confidence = None, 0.0
        if settings.gestures and self._gestures_possible:
            gesture, confidence = classify_gesture(xyz_mm)
        return xyz_mm, uvd, gesture, confidence

    def _process_crop(self, frame: Frame, capture_ms: float, com_uvd: np.ndarray | None) -> FrameResult:
        """segment -> crop -> network -> decode -> post."""
        with self._lock:
            settings, smoother = self._settings, self._filter
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
            smoother.reset()  # a new hand must not be pulled toward the last one
            for stage in ("crop", "infer", "post"):
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
        gesture, confidence = None, 0.0
        if not found:
            smoother.reset()
            xyz_mm = uvd = None
        else:
            xyz_mm, uvd, gesture, confidence = self._smooth_and_classify(xyz_mm, uvd, frame, settings, smoother)
        t4 = time.perf_counter()
        timings.update(crop=(t2 - t1) * 1e3, infer=(t3 - t2) * 1e3, post=(t4 - t3) * 1e3)
        timings["total"] = timings["segment"] + timings["crop"] + timings["infer"] + timings["post"]
        pose = HandPose(
            found=found, joints_xyz_mm=xyz_mm, joints_uvd=uvd, com_xyz_mm=crop.com_xyz_mm, timings_ms=timings,
            gesture=gesture, gesture_confidence=confidence,
        )
        return FrameResult(frame, pose, crop, seg)

    def _process_whole_frame(self, frame: Frame, capture_ms: float, com_uvd: np.ndarray | None) -> FrameResult:
        """frame estimator (timed as ``infer``) -> post; the nearest hand is the pose, every hand is in ``hands``."""
        if com_uvd is not None:
            raise ValueError(f"{self.estimator.metadata.architecture} reads whole frames: it takes no crop centre")
        with self._lock:
            settings, smoother = self._settings, self._filter
        timings = {"capture": capture_ms, "segment": 0.0, "crop": 0.0}
        t0 = time.perf_counter()
        estimate = self.estimator.estimate_frame(frame)
        t1 = time.perf_counter()
        timings["infer"] = (t1 - t0) * 1e3
        hands = [
            HandPose(found=True, joints_xyz_mm=h.joints_xyz_mm, joints_uvd=h.joints_uvd, com_xyz_mm=h.com_xyz_mm,
                     handedness=h.handedness, score=h.score, joint_confidence=h.joint_confidence)
            for h in estimate.hands
        ]
        if hands:
            first = hands[0]  # the nearest: smoothed like any single-hand estimate
            xyz_mm, uvd, gesture, confidence = self._smooth_and_classify(first.joints_xyz_mm, first.joints_uvd, frame,
                                                                         settings, smoother)
            first.joints_xyz_mm, first.joints_uvd = xyz_mm, uvd
            first.gesture, first.gesture_confidence = gesture, confidence
            if settings.gestures and self._gestures_possible:
                for other in hands[1:]:
                    other.gesture, other.gesture_confidence = classify_gesture(other.joints_xyz_mm)
            pose = HandPose(found=True, joints_xyz_mm=xyz_mm, joints_uvd=uvd, com_xyz_mm=first.com_xyz_mm,
                            timings_ms=timings, gesture=gesture, gesture_confidence=confidence,
                            handedness=first.handedness, score=first.score,
                            joint_confidence=first.joint_confidence, hands=hands)
            seg = Segmentation(True, com_uvd=xyz_to_uvd(first.com_xyz_mm, frame.intrinsics))
        else:
            smoother.reset()  # a new hand must not be pulled toward the last one
            pose = HandPose(found=False, timings_ms=timings, hands=[])
            seg = Segmentation(False, reason=estimate.reason or "no hand")
        timings["post"] = (time.perf_counter() - t1) * 1e3
        timings["total"] = timings["infer"] + timings["post"]
        return FrameResult(frame, pose, None, seg)
