"""`handpose label`'s writer (with a stand-in teacher): an NYU folder whose rows are the frames, the nearest right
hand, left hands mirrored, unsure frames all NaN, the confidence file, and nothing of the source's own labels."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from inference.core.geometry import NYU_INTRINSICS, Intrinsics
from inference.core.skeleton import EVAL_JOINT_IDS
from inference.evaluation.metrics import evaluate
from inference.formats.nyu_io import NyuSequence, read_joint_data
from inference.formats.pose_files import load_poses
from inference.sources.replay import ReplaySource
from inference.teacher.labelling import CONFIDENCE_JSONL, Labeller, mirror_image, mirror_uvd
from tests.sources.frames import TEST_INTRINSICS, eval_joints_uvd, make_frame, write_sequence
from tests.teacher.fakes import FakeTeacher, hand_from_uvd


def label(source_dir: Path, out: Path, teacher: FakeTeacher, min_score: float = 0.35) -> list[dict]:
    source = ReplaySource(source_dir)
    with Labeller(teacher, out, min_score) as labeller:  # type: ignore[arg-type]
        while (frame := source.read()) is not None:
            labeller.add(frame)
    return [json.loads(line) for line in (out / CONFIDENCE_JSONL).read_text().splitlines()]


def plan(frame):
    """Frame 0: a right hand; 1: a nearer left and a farther right hand; 2: only a left hand; 3: nothing;
    4: a right hand the teacher is unsure of; 5: a right hand."""
    uvd = eval_joints_uvd(frame.index)
    nearer = uvd - (0.0, 0.0, 150.0)
    return {
        0: [hand_from_uvd(uvd, frame)],
        1: [hand_from_uvd(nearer, frame, right=False), hand_from_uvd(uvd, frame, right=True)],
        2: [hand_from_uvd(uvd, frame, right=False)],
        3: [],
        4: [hand_from_uvd(uvd, frame, quality=0.1)],
        5: [hand_from_uvd(uvd, frame)],
    }[frame.index]


def test_a_labelled_folder(tmp_path: Path) -> None:
    source = write_sequence(tmp_path / "src", 6)
    out = tmp_path / "labelled"
    rows = label(source, out, FakeTeacher(plan=plan))
    assert [r["index"] for r in rows] == list(range(6)) == [r["source_index"] for r in rows]
    assert [r["labelled"] for r in rows] == [True, True, True, False, False, True]
    assert [r["mirrored"] for r in rows] == [False, False, True, False, False, False]
    assert [r["hands"] for r in rows] == [1, 2, 1, 0, 1, 1]
    assert rows[3]["reason"].startswith("no hand") and rows[3]["score"] is None
    assert rows[4]["reason"] == f"score {rows[4]['score']:.2f} < 0.35" and 0.05 < rows[4]["score"] <= 0.1
    assert all(len(r["joint_confidence"]) == 14 for r in rows if r["score"] is not None)

    data = read_joint_data(out / "joint_data.mat")
    assert data["joint_uvd"].shape == data["joint_xyz"].shape == (1, 6, 36, 3)
    uvd = data["joint_uvd"][0]
    others = [j for j in range(36) if j not in EVAL_JOINT_IDS]
    assert np.isnan(uvd[:, others]).all()
    np.testing.assert_allclose(uvd[0, list(EVAL_JOINT_IDS)], eval_joints_uvd(0))
    np.testing.assert_allclose(uvd[1, list(EVAL_JOINT_IDS)], eval_joints_uvd(1))  # the right hand, not the nearer
    np.testing.assert_allclose(uvd[2, list(EVAL_JOINT_IDS)], mirror_uvd(eval_joints_uvd(2), TEST_INTRINSICS))
    assert np.isnan(uvd[[3, 4]]).all()

    # the folder replays, with the teacher's labels only, and the mirrored frame's images are mirrored
    seq = NyuSequence(out)
    assert seq.intrinsics == TEST_INTRINSICS and len(seq) == 6
    assert seq.eval_labels_uvd(4) is None and seq.eval_labels_uvd(5) is None
    depth, rgb = make_frame(2)
    np.testing.assert_array_equal(seq.read_depth(3), depth[:, ::-1])  # cx = 79.5 on 160 columns: exact flip
    np.testing.assert_array_equal(seq.read_rgb(3), rgb[:, ::-1])
    np.testing.assert_array_equal(seq.read_depth(1), make_frame(0)[0])
    assert not (out / "gestures.json").exists()  # nothing of the source's labels passes through

    # handpose eval reads it: the rejected and empty frames count as not found
    result = evaluate(load_poses(source / "joint_data.mat", TEST_INTRINSICS), load_poses(out, TEST_INTRINSICS))
    assert result.not_found == 2 and result.frames == 6


def test_the_source_labels_never_leak_into_the_folder(tmp_path: Path) -> None:
    source = write_sequence(tmp_path / "src", 3)
    label(source, tmp_path / "out", FakeTeacher(plan=lambda frame: []))
    assert np.isnan(read_joint_data(tmp_path / "out" / "joint_data.mat")["joint_uvd"]).all()


def test_temporal_evidence_flags_a_jump_between_two_calm_frames(tmp_path: Path) -> None:
    source = write_sequence(tmp_path / "src", 5)

    def jumpy(frame):
        uvd = eval_joints_uvd(frame.index) + ((0.0, 0.0, 300.0) if frame.index == 2 else 0.0)
        return [hand_from_uvd(uvd, frame)]

    rows = label(source, tmp_path / "out", FakeTeacher(plan=jumpy), min_score=0.0)
    temporal = [r["evidence"]["temporal"] for r in rows]
    assert temporal[2] < 0.01 and min(temporal[:2] + temporal[3:]) > 0.8  # its neighbours have a calm side (~4 mm)


@pytest.mark.parametrize("intr", [TEST_INTRINSICS, NYU_INTRINSICS, Intrinsics(476.0, 476.0, 313.7, 242.8)])
def test_mirroring_reflects_camera_space(intr: Intrinsics) -> None:
    from inference.core.geometry import uvd_to_xyz

    rng = np.random.default_rng(0)
    uvd = np.column_stack([rng.uniform(0, intr.width, 5), rng.uniform(0, intr.height, 5), rng.uniform(400, 900, 5)])
    np.testing.assert_allclose(uvd_to_xyz(mirror_uvd(uvd, intr), intr), uvd_to_xyz(uvd, intr) * (-1, 1, 1))
    np.testing.assert_allclose(mirror_uvd(mirror_uvd(uvd, intr), intr), uvd)
    depth = rng.integers(1, 2000, (intr.height, intr.width)).astype(np.uint16)
    mirrored = mirror_image(depth, intr, nearest=True)
    u = intr.width // 3
    source_u = round(2 * intr.cx - u)
    np.testing.assert_array_equal(mirrored[:, u], depth[:, source_u])
    if 2 * intr.cx > intr.width - 1:  # columns with nothing to mirror from are invalid
        assert (mirrored[:, 0] == 0).all()


def test_label_eval_matches_frames_and_mirrors_the_truth(tmp_path: Path) -> None:
    from inference.teacher.label_eval import frame_errors, operating_point, rejection_curve

    source = write_sequence(tmp_path / "src", 6)
    label(source, tmp_path / "out", FakeTeacher(plan=plan), min_score=0.0)  # frame 2: a left hand, mirrored
    errors = frame_errors([source], [tmp_path / "out"])
    assert errors.frames == 6
    np.testing.assert_allclose(errors.error_mm[[0, 1, 2, 4, 5]], 0.0, atol=1e-6)  # labels = truth, also mirrored
    assert np.isnan(errors.error_mm[3]) and np.isnan(errors.score[3])  # no hand
    _, fraction, mean = rejection_curve(errors.error_mm, errors.score, errors.frames)
    assert fraction[-1] == pytest.approx(5 / 6) and mean[-1] == pytest.approx(0.0, abs=1e-6)
    point = operating_point(errors, 0.35)
    assert point["labelled"] == 4 and point["hand_found_pct"] == pytest.approx(100 * 5 / 6, abs=0.01)


def test_a_rejected_left_hand_is_not_mirrored(tmp_path: Path) -> None:
    source = write_sequence(tmp_path / "src", 2)
    rows = label(source, tmp_path / "out",
                 FakeTeacher(plan=lambda f: [hand_from_uvd(eval_joints_uvd(f.index), f, right=False, quality=0.05)]))
    assert [(r["labelled"], r["mirrored"], r["handedness"]) for r in rows] == [(False, False, "left")] * 2
    np.testing.assert_array_equal(NyuSequence(tmp_path / "out").read_depth(1), make_frame(0)[0])
