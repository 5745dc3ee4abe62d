"""The solver's small compiled kernels against their textbook definitions."""

from __future__ import annotations

import numpy as np
from scipy.spatial.transform import Rotation

from inference.fit.kernels import damped_step, rotate_left


def test_the_damped_step_solves_the_damped_normal_equations_of_the_free_unknowns() -> None:
    rng = np.random.default_rng(0)
    jac = rng.normal(size=(200, 29))
    jtj, jtr = jac.T @ (jac * rng.uniform(0.0, 2.0, 200)[:, None]), rng.normal(size=29)
    free = rng.uniform(size=29) < 0.6
    delta, ok = damped_step(jtj, jtr, free, 0.1)
    h = jtj[np.ix_(free, free)]
    want = np.linalg.solve(h + 0.1 * np.diag(np.diag(h)) + 1e-6 * np.eye(len(h)), -jtr[free])
    assert ok
    np.testing.assert_allclose(delta[free], want, rtol=1e-9, atol=1e-12)
    assert not delta[~free].any()  # the held unknowns do not move


def test_a_degenerate_system_gives_no_step() -> None:
    jtj = np.eye(5)
    jtj[2, 2] = np.nan
    delta, ok = damped_step(jtj, np.ones(5), np.ones(5, bool), 0.1)
    assert not ok and not delta.any()
    delta, ok = damped_step(-np.eye(5), np.ones(5), np.ones(5, bool), 0.1)  # not positive definite
    assert not ok


def test_rotate_left_is_the_rotation_vectors_rotation_applied_first() -> None:
    rng = np.random.default_rng(1)
    start = Rotation.from_rotvec(rng.normal(size=3)).as_matrix()
    for omega in [*rng.normal(0, 1.0, (5, 3)), np.zeros(3), np.array([1e-14, 0.0, 0.0])]:
        want = Rotation.from_rotvec(omega).as_matrix() @ start
        np.testing.assert_allclose(rotate_left(omega, start), want, atol=1e-12)
