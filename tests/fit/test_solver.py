"""The fit's energy has the gradient its Jacobians say, and the solver finds the pose the depth shows."""

from __future__ import annotations

import numpy as np
import pytest

from inference.fit.model import NUM_UNKNOWNS, PosedHand
from inference.fit.solver import FINGER_DOFS, FitWeights, Problem, fit, retry_fingers
from inference.handmodel import DOF_HIGH, DOF_LOW, mean_shape

from .scenes import perturbed, template_scenes


@pytest.fixture(scope="module")
def scenes():
    return template_scenes(20)


@pytest.mark.parametrize(("name", "weights", "tolerance"), [
    # the data term's thenar ellipsoid is carried along its metacarpal only approximately: a few percent
    ("data", FitWeights(silhouette=0, free_space=0, prior=0, angles=0), 0.1),
    ("prior", FitWeights(data=0, silhouette=0, free_space=0, angles=0), 1e-5),
    ("angles", FitWeights(data=0, silhouette=0, free_space=0, prior=0), 1e-5),
])
def test_the_normal_equations_hold_the_energys_gradient(scenes, name: str, weights: FitWeights,
                                                        tolerance: float) -> None:
    scene = scenes[2]
    params = scene.truth.copy()
    params.angles_deg = np.clip(params.angles_deg + 3.0, DOF_LOW + 2, DOF_HIGH - 2)  # away from the limits
    params.translation_mm = params.translation_mm + np.array([10.0, -5.0, 8.0])
    problem = Problem(mean_shape(), scene.obs, scene.joints14_mm + 5.0, scene.truth, weights, fit_scale=True)
    analytic = 2.0 * problem.evaluate(params).jtr
    numeric = np.zeros(NUM_UNKNOWNS)
    for k in range(NUM_UNKNOWNS):
        step = np.zeros(NUM_UNKNOWNS)
        step[k] = 1e-6
        numeric[k] = (problem.evaluate(params.step(step, True)).energy
                      - problem.evaluate(params.step(-step, True)).energy) / 2e-6
    assert np.max(np.abs(numeric - analytic) / (np.abs(numeric) + np.abs(analytic) + 1e-6)) < tolerance


def test_a_pose_that_fits_stays(scenes) -> None:
    """Started at the truth, the fit stays within the sensor's noise of it (the depth is noisy and quantised, so the
    energy's minimum is not exactly the true pose: measured 0.6-2.5 mm)."""
    shape = mean_shape()
    errors = []
    for scene in scenes[:8]:
        result = fit(Problem(shape, scene.obs, None, scene.truth, FitWeights(prior=0.0)), scene.truth)
        errors.append(np.linalg.norm(result.hand.eval_joints - scene.joints14_mm, axis=1).mean())
    assert max(errors) < 3.0 and np.mean(errors) < 2.0, errors


@pytest.mark.slow
def test_a_hand_moved_and_bent_away_from_its_pose_is_recovered(scenes) -> None:
    """Issue 14: global pose 20-30 mm and 15 degrees off, every joint up to 10 degrees: <= 3 mm median, <= 5 mm mean
    over 20 frames (data, silhouette and free space only: no network to lean on)."""
    shape = mean_shape()
    weights = FitWeights(prior=0.0, restart_steps=8)
    errors, starts = [], []
    for k, scene in enumerate(scenes):
        start = perturbed(scene.truth, np.random.default_rng(k))
        starts.append(np.linalg.norm(PosedHand.of(shape, start).eval_joints - scene.joints14_mm, axis=1).mean())
        result = fit(Problem(shape, scene.obs, None, start, weights), start)
        errors.append(np.linalg.norm(result.hand.eval_joints - scene.joints14_mm, axis=1).mean())
    assert len(errors) == 20 and np.mean(starts) > 25.0
    assert np.median(errors) <= 3.0 and np.mean(errors) <= 5.0, (np.median(errors), np.mean(errors))


def test_a_finger_settled_in_a_wrong_bend_is_freed_by_a_retry(scenes) -> None:
    """A finger started curled where the hand holds it straight (or the reverse) stays in that local minimum under
    Gauss-Newton; trying the other bends finger by finger (:func:`retry_fingers`) frees it."""
    shape = mean_shape()
    weights = FitWeights(prior=0.0)
    open_hand, curled = np.zeros_like(scenes[0].truth.angles_deg), np.zeros_like(scenes[0].truth.angles_deg)
    curled[[0, 4, 8, 12]], curled[[2, 6, 10, 14]] = 80.0, 100.0
    plain, retried = [], []
    for scene in scenes[:6]:
        start = scene.truth.copy()
        finger = FINGER_DOFS[2]  # the middle finger: flip its bend to the far end of its range
        bent = scene.truth.angles_deg[finger[0]] > 40.0
        start.angles_deg[finger] = (open_hand if bent else curled)[finger]
        problem = Problem(shape, scene.obs, None, start, weights)
        first = fit(problem, start)
        again = retry_fingers(problem, first, [open_hand, curled], steps=3)
        tip = 4  # F3_KNU3_A, the middle fingertip
        plain.append(np.linalg.norm(first.hand.eval_joints[tip] - scene.joints14_mm[tip]))
        retried.append(np.linalg.norm(again.hand.eval_joints[tip] - scene.joints14_mm[tip]))
        assert again.energy <= first.energy
    # measured: the tip 1-141 mm off (median 110) without the retry, 1-39 mm (median 4) with it
    assert np.median(plain) > 50.0, plain  # stuck without the retry
    assert np.median(retried) < 6.0 and np.mean(retried) < 0.25 * np.mean(plain), (plain, retried)
