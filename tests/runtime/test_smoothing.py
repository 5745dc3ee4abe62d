"""The joint smoother: One Euro behaviour (static input converges, steps followed, beta trades lag) and its resets."""

from __future__ import annotations

import numpy as np
import pytest

from inference.runtime.smoothing import JointSmoother, SmoothingParams

FPS = 30.0


def _run(smoother: JointSmoother, signal: np.ndarray, fps: float = FPS) -> np.ndarray:
    """Filter ``(N, J, 3)`` samples taken at ``fps``."""
    return np.array([smoother.filter(x, k / fps) for k, x in enumerate(signal)])


def _along_x(values_mm: np.ndarray, joints: int = 2) -> np.ndarray:
    """``(N,)`` positions -> ``(N, joints, 3)`` joints moving along x together."""
    out = np.zeros((len(values_mm), joints, 3))
    out[..., 0] = np.asarray(values_mm)[:, None]
    return out


def test_static_noisy_input_converges_to_its_mean_with_less_jitter() -> None:
    rng = np.random.default_rng(1)
    noisy = 400.0 + rng.normal(0.0, 2.0, size=(300, 14, 3))  # 2 mm jitter on a still hand
    out = _run(JointSmoother(SmoothingParams(min_cutoff_hz=1.0, beta_per_mm=0.01)), noisy)
    settled = out[60:]
    assert np.abs(settled.mean(axis=0) - 400.0).max() < 1.0
    assert settled.std(axis=0).mean() < 0.35 * noisy[60:].std(axis=0).mean()


def test_step_is_followed_without_overshoot() -> None:
    signal = _along_x(np.r_[np.zeros(30), np.full(60, 60.0)])  # 60 mm in one frame: fast, but a hand can
    out = _run(JointSmoother(SmoothingParams(min_cutoff_hz=1.0, beta_per_mm=0.01)), signal)[:, 0, 0]
    assert out[:30].max() == 0.0
    assert out.max() <= 60.0 + 1e-9  # first-order low-pass: monotone approach, no overshoot
    assert np.all(np.diff(out[30:]) >= -1e-9)
    reached = int(np.argmax(out >= 57.0))
    assert 30 < reached <= 30 + 15, f"95% of the step reached after {reached - 30} frames"


def test_higher_beta_means_less_lag_on_fast_motion() -> None:
    ramp = 500.0 * np.arange(90) / FPS  # 500 mm/s: a quick hand movement
    lags = {}
    for beta in (0.0, 0.005, 0.05):
        out = _run(JointSmoother(SmoothingParams(min_cutoff_hz=1.0, beta_per_mm=beta)), _along_x(ramp))[:, 0, 0]
        lags[beta] = float(np.mean(ramp[30:] - out[30:]))
    assert lags[0.0] > lags[0.005] > lags[0.05] > 0.0
    assert lags[0.05] < 0.2 * lags[0.0]


def test_speed_is_per_joint_so_the_axes_do_not_matter() -> None:
    """The same motion along x or along a diagonal is smoothed the same (one cutoff per joint, not per axis)."""
    rng = np.random.default_rng(2)
    path = rng.normal(0, 8, size=60).cumsum()
    params = SmoothingParams(min_cutoff_hz=1.0, beta_per_mm=0.02)
    along_x = _run(JointSmoother(params), _along_x(path, 1))[:, 0]
    diagonal = np.ones(3) / np.sqrt(3.0)
    along_d = _run(JointSmoother(params), path[:, None, None] * diagonal[None, None, :])[:, 0]
    np.testing.assert_allclose(along_d @ diagonal, along_x[:, 0], atol=1e-9)


def test_a_jump_faster_than_a_hand_resets_instead_of_averaging_two_hands() -> None:
    smoother = JointSmoother(SmoothingParams(min_cutoff_hz=0.5, beta_per_mm=0.0, max_speed_mm_s=3000.0))
    smoother.filter(np.zeros((14, 3)), 0.0)
    near = smoother.filter(np.full((14, 3), 20.0), 1 / FPS)  # 35 mm in 33 ms: motion, smoothed
    assert near[0, 0] < 20.0 and smoother.resets == 0
    far = np.zeros((14, 3))
    far[3] = [150.0, 0.0, 0.0]  # one joint 150 mm away in 33 ms (4.5 m/s): another hand
    np.testing.assert_array_equal(smoother.filter(far, 2 / FPS), far)
    assert smoother.resets == 1 and "moved" in smoother.last_reset


def test_gaps_and_a_clock_that_does_not_advance_reset() -> None:
    smoother = JointSmoother(SmoothingParams(min_cutoff_hz=0.5, beta_per_mm=0.0, max_gap_s=0.25))
    smoother.filter(np.zeros((2, 3)), 0.0)
    assert smoother.filter(np.full((2, 3), 10.0), 0.1)[0, 0] < 10.0
    np.testing.assert_array_equal(smoother.filter(np.full((2, 3), 11.0), 0.5), 11.0)  # 0.4 s later
    assert "since the last frame" in smoother.last_reset
    # a replay that restarts (time goes back) starts over instead of dividing by a negative dt
    np.testing.assert_array_equal(smoother.filter(np.full((2, 3), -7.0), 0.0), -7.0)
    assert smoother.last_reset == "clock did not advance"
    smoother.reset("seek")
    np.testing.assert_array_equal(smoother.filter(np.full((2, 3), 50.0), 0.1), 50.0)
    assert smoother.resets == 2  # explicit resets are not counted as discontinuities of the data


@pytest.mark.parametrize("bad", [
    {"min_cutoff_hz": 0.0}, {"d_cutoff_hz": -1.0}, {"beta_per_mm": -0.1}, {"max_speed_mm_s": float("nan")},
    {"max_gap_s": 0.0}, {"beta_per_mm": float("inf")},
])
def test_bad_parameters_are_rejected(bad: dict) -> None:
    with pytest.raises(ValueError, match="smoothing needs"):
        SmoothingParams(**bad)
