"""``synthetic[:SEED]``: a live procedural camera showing one hand performing gestures, with ground truth.

It shares the generator (:mod:`inference.synth`): a :class:`~inference.synth.poses.GestureTimeline` drives the
hand of subject ``seed`` through the named gestures at natural speeds, rendered with the sensor model. With
``real_time`` (default) the pose follows the wall clock and frames are paced at ``fps`` (a live source: it
shows the newest pose, never a backlog); without it frame ``i`` shows time ``i / fps`` (deterministic).
"""

from __future__ import annotations

import time

import numpy as np

from inference.core.frame import Frame
from inference.core.geometry import NYU_INTRINSICS, Intrinsics
from inference.core.skeleton import to_eval_joints
from inference.handmodel import pose_hand
from inference.sources.base import FrameSource
from inference.synth.generate import FrameSpec, render_frame, shape_of
from inference.synth.poses import GestureTimeline
from inference.synth.sensor import SensorModel


class SyntheticSource(FrameSource):
    """Endless synthetic RGB-D frames of a gesturing hand; ``Frame.joints_uvd`` (14 eval joints) and ``gesture`` set.

    Args:
        seed: picks the hand (subject id = seed) and the gesture performance.
        fps: frame rate (frames per second).
        real_time: pace to the wall clock (live); False gives frame i at t = i / fps, as fast as rendered.
        intrinsics: camera to render with (default NYU's Kinect).
        sensor: depth / RGB sensor model.
        max_frames: stop after this many frames (None = endless).
    """

    live = True

    def __init__(self, seed: int = 0, fps: float = 30.0, real_time: bool = True,
                 intrinsics: Intrinsics = NYU_INTRINSICS, sensor: SensorModel | None = None,
                 max_frames: int | None = None) -> None:
        if fps <= 0:
            raise ValueError(f"fps must be positive, got {fps}")
        self.seed = int(seed)
        self.fps = float(fps)
        self.real_time = real_time
        self.live = real_time
        self._intr = intrinsics
        self.sensor = sensor or SensorModel()
        self.max_frames = max_frames
        self._timeline = GestureTimeline(self.seed, shape_of(self.seed))
        self._index = 0
        self._start_s: float | None = None
        self._anchor: np.ndarray | None = None

    @property
    def description(self) -> str:
        return f"synthetic:{self.seed} ({self.fps:g} fps{', real time' if self.real_time else ''})"

    @property
    def intrinsics(self) -> Intrinsics:
        return self._intr

    @property
    def has_color(self) -> bool:
        return True

    def open(self) -> None:
        self._start_s = time.monotonic()
        self._index = 0

    def __len__(self) -> int:
        if self.max_frames is None:
            raise TypeError("synthetic source is endless (no max_frames)")
        return self.max_frames

    def read(self) -> Frame | None:
        if self.max_frames is not None and self._index >= self.max_frames:
            return None
        if self._start_s is None:
            self.open()
        assert self._start_s is not None
        if self.real_time:
            # Pace to fps, then show the pose of *now* (a slow consumer skips poses, never queues them).
            due = self._start_s + self._index / self.fps
            wait = due - time.monotonic()
            if wait > 0:
                time.sleep(wait)
            t_s = time.monotonic() - self._start_s
        else:
            t_s = self._index / self.fps
        angles, placement, gesture = self._timeline.at(t_s)
        if self._anchor is None:  # one room for the whole session, built around the first pose
            self._anchor = placement.rotation @ pose_hand(shape_of(self.seed), angles).anchor + placement.wrist_mm
        spec = FrameSpec(self._index, self.seed, angles, placement, gesture, False, (self.seed, 0x11FE, self._index),
                         (self.seed, 0x5CE7), self._anchor)
        rendered = render_frame(spec, self._intr, self.sensor)
        frame = Frame(
            depth_mm=rendered.depth_mm, color=rendered.rgb, intrinsics=self._intr, timestamp_s=t_s,
            index=self._index, joints_uvd=to_eval_joints(rendered.joints_uvd).astype(np.float64), gesture=gesture,
        )
        self._index += 1
        return frame
