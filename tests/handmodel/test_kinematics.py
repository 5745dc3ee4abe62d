"""The shared hand model: the articulation's analytic derivatives match finite differences; shapes scale."""

from __future__ import annotations

import numpy as np
import pytest

from inference.handmodel import (
    CAPSULE_CHAINS,
    DOF_HIGH,
    DOF_LOW,
    ELLIPSOID_CHAINS,
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
    for k in range(NUM_DOF):
        plus, minus = angles.copy(), angles.copy()
        plus[k] += step_deg
        minus[k] -= step_deg
        gp, gm = pose_hand(shape, plus), pose_hand(shape, minus)
        moved = np.concatenate([gp.joints - gm.joints, gp.capsules[:, 0:3] - gm.capsules[:, 0:3],
                                gp.capsules[:, 3:6] - gm.capsules[:, 3:6]]) / np.radians(2 * step_deg)
        np.testing.assert_allclose(analytic[:, k], moved, atol=1e-4, err_msg=f"DOF {k}")
    # the forearm ellipsoid's centre turns with the wrist too
    for k in (20, 21):
        plus, minus = angles.copy(), angles.copy()
        plus[k] += step_deg
        minus[k] -= step_deg
        moved = (pose_hand(shape, plus).ellipsoids[2, :3] - pose_hand(shape, minus).ellipsoids[2, :3])
        expected = _analytic(geometry.ellipsoids[2:3, :3], ELLIPSOID_CHAINS[2:3], art)[0, k]
        np.testing.assert_allclose(expected, moved / np.radians(2 * step_deg), atol=1e-4)


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


def test_compiled_and_plain_python_kinematics_agree() -> None:
    """One kinematics, two ways to run it: compiled (the fitter) and plain Python (the fallback without numba)."""
    from inference.handmodel import kinematics

    compiled = getattr(kinematics._forward, "py_func", None)
    assert compiled is not None, "numba is a dependency (pyproject.toml): the kinematics must be compiled"
    rng = np.random.default_rng(7)
    shape = kinematics._shape_vector(sample_shape(3))
    for _ in range(20):
        angles = rng.uniform(DOF_LOW - 5, DOF_HIGH + 5)
        outs = []
        for fn in (kinematics._forward, compiled):
            arrays = (np.empty((36, 3)), np.empty((21, 7)), np.empty((3, 12)), np.empty((22, 3)), np.empty((22, 3)),
                      np.empty(4))
            fn(angles, shape, *arrays)
            outs.append(arrays)
        for a, b in zip(*outs, strict=True):
            np.testing.assert_allclose(a, b, rtol=0, atol=1e-10)
