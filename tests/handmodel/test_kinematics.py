"""The shared hand model: the articulation's analytic derivatives match finite differences; shapes scale."""

from __future__ import annotations

import numpy as np
import pytest

from inference.handmodel import (
    CAPSULE_CHAINS,
    DOF_HIGH,
    DOF_LOW,
    JOINT_CHAINS,
    NUM_DOF,
    mean_shape,
    pose_hand,
    pose_hand_articulated,
    sample_shape,
)


def _analytic(points: np.ndarray, chains: np.ndarray, art) -> np.ndarray:
    """``(P, NUM_DOF, 3)`` d point / d DOF (mm per rad) from the generators: sum_g w[g, k] a_g x (p - o_g)."""
    moved = np.cross(art.axes[None, :, :], points[:, None, :] - art.origins[None, :, :])  # (P, G, 3)
    moved = moved * chains[:, :, None]
    return np.einsum("pgc,gk->pkc", moved, art.dof_weights)


@pytest.mark.parametrize("seed", range(6))
def test_articulation_derivatives_match_finite_differences(seed: int) -> None:
    rng = np.random.default_rng(seed)
    shape = sample_shape(seed)
    margin = 3.0  # degrees inside the limits, so a small step never clips
    angles = rng.uniform(DOF_LOW + margin, DOF_HIGH - margin)
    geometry, art = pose_hand_articulated(shape, angles)
    points = np.concatenate([geometry.joints, geometry.capsules[:, 0:3], geometry.capsules[:, 3:6]])
    chains = np.concatenate([JOINT_CHAINS, CAPSULE_CHAINS, CAPSULE_CHAINS])
    analytic = _analytic(points, chains, art)
    step_deg = 1e-4
    for k in range(NUM_DOF - 2):  # the wrist DOFs move only the forearm, which the fitter does not model
        plus, minus = angles.copy(), angles.copy()
        plus[k] += step_deg
        minus[k] -= step_deg
        gp, gm = pose_hand(shape, plus), pose_hand(shape, minus)
        moved = np.concatenate([gp.joints - gm.joints, gp.capsules[:, 0:3] - gm.capsules[:, 0:3],
                                gp.capsules[:, 3:6] - gm.capsules[:, 3:6]]) / np.radians(2 * step_deg)
        hand = np.ones(len(points), bool)
        hand[36 + 20] = hand[36 + 21 + 20] = False  # the forearm capsule
        np.testing.assert_allclose(analytic[hand, k], moved[hand], atol=1e-4, err_msg=f"DOF {k}")


def test_a_coupled_dip_at_its_limit_does_not_move() -> None:
    angles = np.zeros(NUM_DOF)
    angles[2] = 110.0  # pinky PIP fully flexed: 2/3 of it plus the offset puts the DIP past its 80 degree limit
    angles[3] = 10.0
    _, art = pose_hand_articulated(mean_shape(), angles)
    assert art.dof_weights[3, 2] == 0.0 and art.dof_weights[3, 3] == 0.0


def test_scaled_shape_scales_every_length() -> None:
    base = mean_shape()
    big = base.scaled(1.1)
    pose = np.zeros(NUM_DOF)
    np.testing.assert_allclose(pose_hand(big, pose).joints, 1.1 * pose_hand(base, pose).joints, atol=1e-9)
    np.testing.assert_allclose(pose_hand(big, pose).capsules[:, 6], 1.1 * pose_hand(base, pose).capsules[:, 6])
    assert base.subject_id == -1 and big.finger_bones_mm[2, 0] == pytest.approx(45.0 * 1.1)
