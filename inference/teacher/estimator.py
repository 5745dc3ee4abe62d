"""The RGB teacher as a frame-level estimator: MediaPipe Hands on the colour image, lifted by the aligned depth.

``--model mediapipe`` (lite landmark model, for live use) and ``--model mediapipe-full`` (full model, the
default of ``handpose label``). Per frame: MediaPipe's 21 landmarks on the colour image (tracking mode: the palm
detector runs only while fewer hands than ``max_hands`` are tracked), lifted to 3D with the depth registered to
it (:mod:`inference.teacher.lift`), mapped to the 14 NYU joints (:mod:`inference.teacher.nyu_mapping`), with a
per-joint confidence and a frame score (:mod:`inference.teacher.confidence`). Unlike the crop networks it needs no
segmentation and sees the whole frame, so it implements :class:`inference.runtime.estimator.FrameEstimator` and the
pipeline runs it in place of segment -> crop -> network (its time is the ``infer`` stage).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from inference.core.errors import ModelError
from inference.core.frame import Frame
from inference.core.geometry import uvd_to_xyz, xyz_to_uvd
from inference.core.skeleton import PALM_CENTRE
from inference.fit.refiner import HandRefiner, Refinement
from inference.runtime.model_meta import ModelMetadata
from inference.teacher.confidence import Evidence, agreement_factors, bone_factors
from inference.teacher.lift import Lifted, LiftParams, lift_landmarks
from inference.teacher.mediapipe_hands import HandLandmarker, Landmarks
from inference.teacher.nyu_mapping import NYU, Convention, to_nyu14

# --model names -> MediaPipe model_complexity.
TEACHER_MODELS: dict[str, int] = {"mediapipe": 0, "mediapipe-full": 1}
MIN_LANDMARKS_WITH_DEPTH = 11  # fewer: the hand is not where the depth sees anything (or not in range)
DEPTH_SUPPORT_FULL = 0.5  # a landmark with half its window on the hand has full depth support
NO_SECOND_OPINION = 0.2  # agreement factor of a hand the mirrored run did not find


def is_teacher_model(name: object) -> bool:
    """True for the names ``--model`` accepts for the teacher (``mediapipe``, ``mediapipe-full``)."""
    return str(name) in TEACHER_MODELS


@dataclass
class TeacherHand:
    """One hand found by the teacher.

    Attributes:
        joints_xyz_mm: ``(14, 3)`` NYU joints, camera space (mm, y up).
        joints_uvd: ``(14, 3)`` the same as (u px, v px, d mm).
        right: anatomical handedness (MediaPipe's mirrored label corrected).
        evidence: what the confidence is made of.
        landmarks_uv_px: ``(21, 2)`` MediaPipe's landmarks on the image.
        landmarks_xyz_mm: ``(21, 3)`` the landmarks lifted (camera space, mm).
        hand_mm: the hand's reference depth (mm): hands are ordered nearest first by it.
    """

    joints_xyz_mm: np.ndarray
    joints_uvd: np.ndarray
    right: bool
    evidence: Evidence
    landmarks_uv_px: np.ndarray
    landmarks_xyz_mm: np.ndarray
    hand_mm: float

    @property
    def handedness(self) -> str:
        return "right" if self.right else "left"

    @property
    def score(self) -> float:
        """Frame-level confidence in [0, 1]."""
        return self.evidence.score()

    @property
    def joint_confidence(self) -> np.ndarray:
        """``(14,)`` per-joint confidence in [0, 1]."""
        return self.evidence.joint_confidence()

    @property
    def com_xyz_mm(self) -> np.ndarray:
        """The palm centre (NYU joint C), the hand's centre."""
        return self.joints_xyz_mm[PALM_CENTRE]


@dataclass
class TeacherFrame:
    """The teacher's answer for one frame: ``hands`` nearest first; ``reason`` says why there is none."""

    hands: list[TeacherHand] = field(default_factory=list)
    reason: str = ""


def _fill_missing_depth(lifted: Lifted, world_mm: np.ndarray) -> np.ndarray:
    """``(21,)`` joint depths with the landmarks that have none placed by MediaPipe's own relative depth."""
    depth = lifted.joint_mm.copy()
    ok = np.isfinite(depth)
    # world z grows away from the camera, in mm: the offset that best fits the landmarks with depth
    offset = np.median(depth[ok] - world_mm[ok, 2])
    depth[~ok] = offset + world_mm[~ok, 2]
    return depth


class TeacherEstimator:
    """MediaPipe Hands + depth lift, as an estimator of whole frames.

    Args:
        name: ``"mediapipe"`` (lite) or ``"mediapipe-full"``.
        max_hands: hands looked for (1 = fastest in tracking mode; ``handpose label`` looks for 2).
        second_opinion: also run MediaPipe on the image flipped left-right: the agreement of the two answers is
            evidence, and where they agree (same place) their mean is the estimate (twice the time; ``handpose
            label``; on synthetic sequences the mean was 0.3-1 mm better than either).
        static: palm detection on every frame (independent images) instead of tracking.
        lift: how landmarks are lifted.
        convention: where the joints that are no landmark lie (:data:`inference.teacher.nyu_mapping.NYU`, the
            real labels' and today's generator's, or ``GENERATOR_V1``, the generator's first).
        min_confidence: MediaPipe's palm-detection and hand-presence thresholds. ``handpose label`` lowers them
            to 0.3 (on a synthetic sequence 93% of frames got a hand instead of 84%) and leaves the doubtful ones
            to its own rejection rule.

    Raises:
        ModelError: the name is not a teacher, or MediaPipe is not installed (one line saying how to install it).
    """

    needs_color = True

    def __init__(self, name: str = "mediapipe", max_hands: int = 1, second_opinion: bool = False,
                 static: bool = False, lift: LiftParams = LiftParams(), convention: Convention = NYU,
                 min_confidence: float = 0.5) -> None:
        if name not in TEACHER_MODELS:
            raise ModelError(f"{name!r} is not a teacher model; use one of {', '.join(TEACHER_MODELS)}")
        complexity = TEACHER_MODELS[name]
        self.name = self.path = name
        self.lift_params = lift
        self.convention = convention
        self.metadata = ModelMetadata(
            architecture=f"mediapipe-hands-{'full' if complexity else 'lite'}", input_layout="frame",
            training={"source": "MediaPipe Hands 0.10.14 landmarks lifted by the aligned depth"},
        )
        self.provider = "MediaPipe (CPU)"
        thresholds = {"min_detection": min_confidence, "min_tracking": min_confidence}
        self._landmarker = HandLandmarker(complexity, max_hands, static, **thresholds)
        self._mirrored = HandLandmarker(complexity, max_hands, static, mirror=True, **thresholds) if second_opinion \
            else None

    def reset(self) -> None:
        """Forget tracked hands (after a seek or a switch of source)."""
        self._landmarker.reset()
        if self._mirrored is not None:
            self._mirrored.reset()

    def close(self) -> None:
        self._landmarker.close()
        if self._mirrored is not None:
            self._mirrored.close()

    def refine_hand(self, frame: Frame, hand: TeacherHand, refiner: HandRefiner, skip_when_sure: bool = True
                    ) -> tuple[TeacherHand, Refinement]:
        """``hand`` refined by the articulated-hand fit, its 2-D landmarks a term of it
        (:func:`inference.teacher.teacher_fit.refine_hand`; ``refiner`` carries the track between frames;
        ``skip_when_sure``: a hand the teacher is sure of everywhere is not fitted, live its joints would not
        change)."""
        from inference.teacher.teacher_fit import refine_hand  # it builds on TeacherHand: imported when used

        return refine_hand(refiner, frame, hand, self.convention, skip_when_sure=skip_when_sure)

    def estimate_frame(self, frame: Frame) -> TeacherFrame:
        """All hands of ``frame`` (nearest first); none, with a reason, when the frame has no colour image."""
        color = frame.color
        if color is None:
            return TeacherFrame(reason="this frame has no colour image (the teacher reads the colour image)")
        depth = np.asarray(frame.depth_mm)
        if color.shape[:2] != depth.shape[:2]:
            return TeacherFrame(reason=f"colour {color.shape[1]}x{color.shape[0]} is not registered to the "
                                       f"{depth.shape[1]}x{depth.shape[0]} depth")
        found = self._landmarker.detect(color)
        if not found:
            return TeacherFrame(reason="MediaPipe found no hand in the colour image")
        others = self._mirrored.detect(color) if self._mirrored is not None else None
        hands = [h for h in (self._hand(depth, frame, marks, others) for marks in found) if h is not None]
        if not hands:
            return TeacherFrame(reason="the hand's landmarks have no depth (out of range or holes)")
        hands.sort(key=lambda h: h.hand_mm)
        return TeacherFrame(hands)

    def _hand(self, depth: np.ndarray, frame: Frame, marks: Landmarks,
              others: list[Landmarks] | None) -> TeacherHand | None:
        uv_px, world_mm = marks.uv_px, marks.world_mm
        agreement, handedness = np.ones(len(uv_px)), marks.handedness_score
        if others is not None:
            twin = _matching(marks, others)
            if twin is None:
                agreement = np.full(len(uv_px), NO_SECOND_OPINION)
            else:
                agreement = agreement_factors(marks.uv_px, twin.uv_px)
                same = twin.right == marks.right
                handedness = min(marks.handedness_score, twin.handedness_score) if same else 0.5
                uv_px, world_mm = (uv_px + twin.uv_px) / 2.0, (world_mm + twin.world_mm) / 2.0
        lifted = lift_landmarks(depth, uv_px, self.lift_params)
        if np.isfinite(lifted.joint_mm).sum() < MIN_LANDMARKS_WITH_DEPTH:
            return None
        points = uvd_to_xyz(np.column_stack([uv_px, _fill_missing_depth(lifted, world_mm)]), frame.intrinsics)
        evidence = Evidence(
            depth=np.clip(lifted.support / DEPTH_SUPPORT_FULL, 0.0, 1.0),
            bones=bone_factors(points, world_mm), agreement=agreement, handedness=handedness,
        )
        joints = to_nyu14(points, marks.right, self.convention)
        return TeacherHand(
            joints_xyz_mm=joints, joints_uvd=xyz_to_uvd(joints, frame.intrinsics), right=marks.right,
            evidence=evidence, landmarks_uv_px=uv_px, landmarks_xyz_mm=points, hand_mm=lifted.hand_mm,
        )


def _matching(marks: Landmarks, others: list[Landmarks]) -> Landmarks | None:
    """The hand of ``others`` on the same place of the image as ``marks`` (within its 2D size), or None."""
    size = max(float(np.linalg.norm(marks.uv_px[9] - marks.uv_px[0])), 1.0)
    best, best_d = None, size
    for other in others:
        d = float(np.linalg.norm(other.uv_px - marks.uv_px, axis=1).mean())
        if d < best_d:
            best, best_d = other, d
    return best
