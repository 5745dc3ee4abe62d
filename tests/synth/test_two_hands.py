"""`handpose synth --hands 2`: a left hand (the mirrored model, another subject) beside the right one, labelled in
joint_data_left.mat; one-hand data is untouched (see also test_generator_stability / test_reproducible)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from handpose.cli import main
from inference.formats.nyu_io import JOINT_DATA, LEFT_JOINT_DATA, read_joint_data
from inference.handmodel import pose_hand
from inference.synth.generate import HandSpec, make_specs, render_frame, shape_of, subject_ids
from inference.synth.poses import LEFT_REACH_MM, Placement, hands_apart, left_hand_geometry
from inference.synth.scene import PART_HAND, PART_LEFT_HAND


def _chirality(joints: np.ndarray) -> float:
    """Sign of (index MCP - pinky MCP) x (middle MCP - wrist) . (palm centre - back of the hand): + right, - left.

    The palm normal is taken from the thumb side: thumb CMC (29) relative to the palm plane."""
    across = joints[5] - joints[23]  # pinky MCP (KNU1_B of F1) -> index MCP (F4)
    along = joints[17] - 0.5 * (joints[30] + joints[31])  # wrist centre -> middle MCP
    return float(np.cross(across, along) @ (joints[29] - joints[32]))


def test_the_left_hand_is_the_mirror_image_of_the_right() -> None:
    spec = make_specs("random", 1, 3, subject_ids(2, 600), hands=2)[0]
    right = pose_hand(shape_of(spec.subject_id), spec.angles_deg).transformed(spec.placement.rotation,
                                                                               spec.placement.wrist_mm)
    left = left_hand_geometry(shape_of(spec.left.subject_id), spec.left.angles_deg, spec.left.placement)
    # Handedness is a property of the geometry, whatever the rotation: the sign of a triple product flips.
    assert np.sign(_chirality(right.joints)) == -np.sign(_chirality(left.joints)) != 0
    # Same pose and shape mirrored: distances between joints are those of the right hand.
    shape = shape_of(spec.left.subject_id)
    as_right = pose_hand(shape, spec.left.angles_deg).joints
    d_left = np.linalg.norm(left.joints[:, None] - left.joints[None], axis=-1)
    d_right = np.linalg.norm(as_right[:, None] - as_right[None], axis=-1)
    np.testing.assert_allclose(d_left, d_right, atol=1e-9)


def test_two_hand_specs_keep_the_right_hands_and_add_another_subjects_left_hand() -> None:
    subjects = subject_ids(3, 600)
    for mode in ("random", "gestures", "sequence", "still"):
        one = make_specs(mode, 12, 5, subjects)
        two = make_specs(mode, 12, 5, subjects, hands=2)
        for a, b in zip(one, two, strict=True):
            assert a.left is None and b.left is not None
            np.testing.assert_array_equal(a.angles_deg, b.angles_deg)
            np.testing.assert_array_equal(a.placement.wrist_mm, b.placement.wrist_mm)
            assert b.left.subject_id != b.subject_id and b.left.subject_id in subjects
            right = pose_hand(shape_of(b.subject_id), b.angles_deg).transformed(b.placement.rotation,
                                                                                 b.placement.wrist_mm)
            left = left_hand_geometry(shape_of(b.left.subject_id), b.left.angles_deg, b.left.placement)
            assert hands_apart(right, left), mode  # never through each other
        if mode in ("random", "gestures"):
            reach = [np.linalg.norm(_palm(s) - _palm_left(s)) for s in two]
            assert np.mean(np.less_equal(reach, LEFT_REACH_MM)) >= 0.9


def _palm(spec) -> np.ndarray:
    return spec.placement.rotation @ pose_hand(shape_of(spec.subject_id), spec.angles_deg).anchor + \
        spec.placement.wrist_mm


def _palm_left(spec) -> np.ndarray:
    return left_hand_geometry(shape_of(spec.left.subject_id), spec.left.angles_deg, spec.left.placement).anchor


def test_left_labels_lie_on_the_left_hand_and_are_nan_out_of_view() -> None:
    specs = make_specs("random", 6, 9, subject_ids(3, 600), hands=2)
    on_left = 0
    for spec in specs:
        frame = render_frame(spec)
        assert frame.left_joints_uvd.shape == (36, 3)
        u, v = np.round(frame.left_joints_uvd[32, :2]).astype(int)  # palm centre
        window = frame.part[max(v - 3, 0):v + 4, max(u - 3, 0):u + 4]
        assert (window == PART_LEFT_HAND).any() or (window == PART_HAND).any()  # or hidden behind the right hand
        on_left += int((window == PART_LEFT_HAND).any())
    assert on_left >= 4
    gone = specs[0]
    far = Placement(gone.left.placement.rotation, gone.left.placement.wrist_mm + np.array([3000.0, 0.0, 0.0]))
    gone.left = HandSpec(gone.left.subject_id, gone.left.angles_deg, far)
    frame = render_frame(gone)
    assert np.isnan(frame.left_joints_uvd).all() and np.isnan(frame.left_joints_xyz_mm).all()
    assert np.isfinite(frame.joints_uvd).all()  # the right hand is labelled as ever


def test_synth_hands_2_writes_joint_data_left(tmp_path: Path) -> None:
    out = tmp_path / "two"
    assert main(["synth", str(out), "--frames", "4", "--seed", "2", "--subjects", "2", "--subject-offset", "600",
                 "--hands", "2", "--workers", "1"]) == 0
    right, left = read_joint_data(out / JOINT_DATA), read_joint_data(out / LEFT_JOINT_DATA)
    assert right["joint_xyz"].shape == left["joint_xyz"].shape == (1, 4, 36, 3)
    specs = make_specs("random", 4, 2, subject_ids(2, 600), hands=2)
    for k, spec in enumerate(specs):
        frame = render_frame(spec)
        np.testing.assert_allclose(left["joint_uvd"][0, k], frame.left_joints_uvd)
        np.testing.assert_allclose(right["joint_uvd"][0, k], frame.joints_uvd)
    info = json.loads((out / "subjects.json").read_text())
    assert info["hands"] == 2 and info["frame_left_subject"] == [s.left.subject_id for s in specs]
    one = tmp_path / "one"
    assert main(["synth", str(one), "--frames", "2", "--seed", "2", "--workers", "1"]) == 0
    assert not (one / LEFT_JOINT_DATA).exists()
    assert "hands" not in json.loads((one / "subjects.json").read_text())
    # --overwrite clears a two-hand folder completely, left labels included.
    assert main(["synth", str(out), "--frames", "2", "--seed", "2", "--workers", "1", "--overwrite"]) == 0
    assert not (out / LEFT_JOINT_DATA).exists()
