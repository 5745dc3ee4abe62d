"""The teacher's evidence: bone lengths against MediaPipe's own hand, two opinions agreeing, motion between frames,
and how they make per-joint confidences and the frame score."""

from __future__ import annotations

import numpy as np
import pytest

from inference.teacher.confidence import (
    AGREEMENT_TOL,
    MOTION_TOL_MM,
    Evidence,
    agreement_factors,
    bone_factors,
    motion_factor,
)
from tests.teacher.test_mapping import flat_right_hand


def test_a_lifted_hand_shaped_like_mediapipes_is_plausible() -> None:
    lifted = flat_right_hand()
    world = (lifted - lifted.mean(axis=0)) * 0.8  # MediaPipe's hand: same shape, its own scale and origin
    np.testing.assert_allclose(bone_factors(lifted, world), 1.0)


def test_a_landmark_lifted_onto_the_wrong_surface_stretches_its_bones() -> None:
    lifted = flat_right_hand()
    world = lifted - lifted.mean(axis=0)
    wrong = lifted.copy()
    wrong[8, 2] += 200.0  # the index tip lifted onto the wall behind it
    factors = bone_factors(wrong, world)
    assert factors[8] < 0.2 and factors[7] < 0.2  # both ends of the stretched bone
    assert np.all(np.delete(factors, [7, 8]) > 0.99)  # the scale comes from x, y: the rest is untouched


def test_agreement_and_motion_factors() -> None:
    uv = flat_right_hand()[:, :2] + 300.0
    np.testing.assert_allclose(agreement_factors(uv, uv), 1.0)
    size = np.linalg.norm(uv[9] - uv[0])
    moved = uv.copy()
    moved[4] += (AGREEMENT_TOL * size, 0.0)
    assert agreement_factors(uv, moved)[4] == pytest.approx(np.exp(-1))
    joints = np.zeros((14, 3))
    assert motion_factor(joints, []) == 1.0
    far, near = joints + np.array([0, 0, 300.0]), joints + np.array([0, 0, MOTION_TOL_MM])
    assert motion_factor(joints, [far, near]) == pytest.approx(np.exp(-1))  # the nearer neighbour counts


def test_joint_confidence_takes_the_worst_of_its_landmarks_and_the_frame_wide_factors() -> None:
    depth = np.ones(21)
    depth[20] = 0.0  # the pinky tip has no depth
    depth[17] = 0.5  # the pinky MCP half
    evidence = Evidence(depth=depth, bones=np.ones(21), handedness=0.9, temporal=0.8)
    conf = evidence.joint_confidence()
    assert conf[0] == 0.0  # P1 = landmark 20
    assert conf[1] == pytest.approx(0.72)  # P2 = landmark 18
    assert conf[11] == conf[12] == conf[13] == pytest.approx(0.72 * 0.5)  # the palm joints use 0, 5, 9, 17
    assert evidence.score() == pytest.approx(0.72)  # the median landmark is fine
    assert set(evidence.to_json()) == {"depth", "bones", "agreement", "handedness", "temporal"}
