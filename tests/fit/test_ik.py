"""Inverse kinematics: the hand model's pose from 14 joints, the fit's start from a network's estimate."""

from __future__ import annotations

import numpy as np

from inference.fit.ik import solve_ik

from .scenes import template_scenes


def test_the_exact_joints_of_curled_and_open_hands_give_their_pose_back() -> None:
    """From a relaxed hand Gauss-Newton alone did not reach a curled finger and shrank the hand instead (template
    fists 20-30 mm off at 0.6 of the size); bending each finger first, at the palm's size, recovers every pose."""
    scenes = template_scenes(12, seed=8) + template_scenes(6, seed=9, mode="random")
    curled = [s for s in scenes if s.truth.angles_deg[[0, 4, 8, 12]].mean() > 60.0]
    assert len(curled) >= 4  # the test must see fists
    errors, scales = [], []
    for scene in scenes:
        result = solve_ik(scene.joints14_mm)
        errors.append(np.linalg.norm(result.hand.eval_joints - scene.joints14_mm, axis=1).mean())
        scales.append(result.params.scale)
    # measured: 0.3 mm mean, every scale 1.00 (before: 13.7 mm mean, scales down to 0.56)
    assert max(errors) < 2.0 and np.mean(errors) < 1.0, errors
    np.testing.assert_allclose(scales, 1.0, atol=0.03)


def test_the_size_is_held_when_asked() -> None:
    scene = template_scenes(1, seed=8)[0]
    result = solve_ik(scene.joints14_mm * 1.0, fit_scale=False)
    assert np.linalg.norm(result.hand.eval_joints - scene.joints14_mm, axis=1).mean() < 2.0
