"""A stand-in for the MediaPipe teacher (no MediaPipe needed): frame-level estimates made from the frame's labels."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from inference.core.frame import Frame
from inference.core.geometry import uvd_to_xyz
from inference.runtime.model_meta import ModelMetadata
from inference.teacher.confidence import Evidence
from inference.teacher.estimator import TeacherFrame, TeacherHand


def hand_from_uvd(uvd: np.ndarray, frame: Frame, right: bool = True, quality: float = 1.0) -> TeacherHand:
    """A teacher hand at ``uvd`` ``(14, 3)`` whose evidence factors all equal ``quality``."""
    xyz = uvd_to_xyz(uvd, frame.intrinsics)
    ones = np.full(21, quality)
    return TeacherHand(joints_xyz_mm=xyz, joints_uvd=np.asarray(uvd, np.float64), right=right,
                       evidence=Evidence(depth=ones, bones=np.ones(21), handedness=1.0),
                       landmarks_uv_px=np.zeros((21, 2)), landmarks_xyz_mm=np.zeros((21, 3)),
                       hand_mm=float(np.median(uvd[:, 2])))


@dataclass
class FakeTeacher:
    """Implements :class:`inference.runtime.estimator.FrameEstimator`. ``plan(frame) -> list of TeacherHand`` decides
    the hands of each frame (default: one right hand at the frame's labels); frames without colour have none."""

    plan: object = None
    metadata: ModelMetadata = field(default_factory=lambda: ModelMetadata(architecture="fake-teacher",
                                                                          input_layout="frame"))
    provider: str = "test"
    needs_color: bool = True
    name: str = "fake"
    resets: int = 0

    def estimate_frame(self, frame: Frame) -> TeacherFrame:
        if frame.color is None:
            return TeacherFrame(reason="this frame has no colour image")
        if self.plan is not None:
            hands = self.plan(frame)
        else:
            hands = [] if frame.joints_uvd is None else [hand_from_uvd(frame.joints_uvd, frame)]
        return TeacherFrame(sorted(hands, key=lambda h: h.hand_mm), "" if hands else "no hand in the picture")

    def reset(self) -> None:
        self.resets += 1
