"""A frame-level estimator in the pipeline: chosen once at construction, timed as `infer`, several hands,
no crop, smoothing and gestures on the nearest hand, the poses JSONL's added fields."""

from __future__ import annotations

import json

import numpy as np
import pytest

from inference.core.frame import Frame
from inference.formats.pose_files import read_poses_jsonl
from inference.formats.poses_jsonl import pose_record
from inference.runtime.estimator import FrameEstimator
from inference.runtime.pipeline import STAGES, Pipeline, PipelineSettings
from inference.runtime.smoothing import SmoothingParams
from inference.sources.replay import ReplaySource
from tests.sources.frames import eval_joints_uvd, write_sequence
from tests.teacher.fakes import FakeTeacher, hand_from_uvd


def frames(tmp_path, n: int = 4) -> list[Frame]:
    write_sequence(tmp_path / "seq", n, labels=True)
    source, out = ReplaySource(tmp_path / "seq"), []
    while (frame := source.read()) is not None:
        out.append(frame)
    return out


def test_the_pipeline_runs_a_frame_estimator_instead_of_segment_crop_network(tmp_path) -> None:
    teacher = FakeTeacher()
    assert isinstance(teacher, FrameEstimator)
    pipeline = Pipeline(teacher, PipelineSettings(smoothing=False))
    frame = frames(tmp_path)[0]
    result = pipeline.process(frame, capture_ms=2.0)
    pose = result.pose
    assert pose.found and result.crop is None and result.segmentation.found
    np.testing.assert_allclose(pose.joints_uvd, eval_joints_uvd(0))
    assert set(pose.timings_ms) == set(STAGES)
    assert pose.timings_ms["segment"] == pose.timings_ms["crop"] == 0.0 and pose.timings_ms["infer"] > 0
    assert pose.timings_ms["total"] == pytest.approx(sum(pose.timings_ms[k] for k in ("infer", "fit", "post")))
    assert pose.handedness == "right" and pose.score == 1.0 and pose.joint_confidence.shape == (14,)
    assert len(pose.hands) == 1 and pose.gesture is not None


def test_nearest_hand_first_and_every_hand_reported(tmp_path) -> None:
    def two_hands(frame: Frame) -> list:
        near, far = eval_joints_uvd(frame.index).copy(), eval_joints_uvd(frame.index).copy()
        far[:, 2] += 200.0
        return [hand_from_uvd(far, frame, right=True), hand_from_uvd(near, frame, right=False, quality=0.5)]

    pose = Pipeline(FakeTeacher(plan=two_hands), PipelineSettings(smoothing=False)).process(frames(tmp_path)[1]).pose
    assert [h.handedness for h in pose.hands] == ["left", "right"]
    assert pose.handedness == "left" and pose.score == pytest.approx(0.5)
    np.testing.assert_allclose(pose.joints_uvd, pose.hands[0].joints_uvd)
    record = json.loads(json.dumps(pose_record(1, 0.03, pose)))
    assert record["handedness"] == "left" and len(record["joint_confidence"]) == 14
    assert [h["handedness"] for h in record["hands"]] == ["left", "right"]
    assert record["hands"][1]["joints_xyz_mm"][0][2] == pytest.approx(record["joints_xyz_mm"][0][2] + 200, abs=0.01)


def test_no_colour_is_not_found_with_the_reason(tmp_path) -> None:
    frame = frames(tmp_path)[0]
    frame.color = None
    result = Pipeline(FakeTeacher()).process(frame)
    assert not result.pose.found and result.pose.joints_xyz_mm is None and result.pose.hands == []
    assert "colour" in result.segmentation.reason
    record = pose_record(0, 0.0, result.pose)
    assert record["found"] is False and record["handedness"] is None and record["hands"] == []


def test_smoothing_applies_to_the_nearest_hand_and_resets_when_lost(tmp_path) -> None:
    seq = frames(tmp_path, 4)
    heavy = SmoothingParams(min_cutoff_hz=0.01, beta_per_mm=0.0)
    pipeline = Pipeline(FakeTeacher(), PipelineSettings(smoothing=True, smoothing_params=heavy))
    first = pipeline.process(seq[0]).pose
    second = pipeline.process(seq[1]).pose
    np.testing.assert_allclose(first.joints_uvd, eval_joints_uvd(0), atol=1e-6)  # the first frame passes through
    assert not np.allclose(second.joints_uvd, eval_joints_uvd(1), atol=0.1)  # heavily smoothed toward frame 0
    seq[2].color = None
    assert not pipeline.process(seq[2]).pose.found
    third = pipeline.process(seq[3]).pose  # after a loss: no pull toward the old hand
    np.testing.assert_allclose(third.joints_uvd, eval_joints_uvd(3), atol=1e-6)


def test_reset_reaches_the_estimator_and_a_crop_centre_is_refused(tmp_path) -> None:
    teacher = FakeTeacher()
    pipeline = Pipeline(teacher)
    pipeline.reset()
    assert teacher.resets == 0  # applied by the processing thread, before its next frame, never mid-frame
    with pytest.raises(ValueError, match="whole frames"):
        pipeline.process(frames(tmp_path)[0], com_uvd=np.array([80.0, 60.0, 600.0]))
    assert teacher.resets == 1


def test_run_jsonl_of_a_teacher_reads_back_in_eval(tmp_path) -> None:
    from inference.formats.poses_jsonl import PosesJsonlWriter

    pipeline = Pipeline(FakeTeacher(), PipelineSettings(smoothing=False))
    with PosesJsonlWriter(tmp_path / "poses.jsonl") as writer:
        for frame in frames(tmp_path, 3):
            writer.write(frame.index, frame.timestamp_s, pipeline.process(frame).pose)
    poses = read_poses_jsonl(tmp_path / "poses.jsonl")
    assert poses.found.all() and len(poses.frame_index) == 3
