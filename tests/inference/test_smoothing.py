"""The One Euro filter's documented behaviour: static input converges, a step is followed, beta trades lag."""

from __future__ import annotations

import numpy as np
import pytest

from inference.smoothing import OneEuroFilter

FPS = 30.0


def _run(filt: OneEuroFilter, signal: np.ndarray, fps: float = FPS) -> np.ndarray:
    return np.array([filt.filter(x, k / fps) for k, x in enumerate(signal)])


def test_static_noisy_input_converges_to_its_mean_with_less_jitter() -> None:
    rng = np.random.default_rng(1)
    noisy = 400.0 + rng.normal(0.0, 2.0, size=(300, 14, 3))  # 2 mm jitter on a still hand
    out = _run(OneEuroFilter(min_cutoff=1.0, beta=0.01), noisy)
    settled = out[60:]
    assert np.abs(settled.mean(axis=0) - 400.0).max() < 1.0
    # jitter of the output is a fraction of the input's
    assert settled.std(axis=0).mean() < 0.35 * noisy[60:].std(axis=0).mean()


def test_step_is_followed_without_overshoot() -> None:
    signal = np.r_[np.zeros(30), np.full(60, 100.0)]
    out = _run(OneEuroFilter(min_cutoff=1.0, beta=0.01), signal)
    assert out[:30].max() == 0.0
    assert out.max() <= 100.0 + 1e-9  # first-order low-pass: monotone approach, no overshoot
    assert np.all(np.diff(out[30:]) >= -1e-9)
    reached = int(np.argmax(out >= 95.0))
    assert 30 < reached <= 30 + 15, f"95% of the step reached after {reached - 30} frames"


def test_higher_beta_means_less_lag_on_fast_motion() -> None:
    t = np.arange(90) / FPS
    ramp = 500.0 * t  # 500 mm/s: a quick hand movement
    lags = {}
    for beta in (0.0, 0.005, 0.05):
        out = _run(OneEuroFilter(min_cutoff=1.0, beta=beta), ramp)
        lags[beta] = float(np.mean(ramp[30:] - out[30:]))
    assert lags[0.0] > lags[0.005] > lags[0.05] > 0.0
    assert lags[0.05] < 0.2 * lags[0.0]


def test_reset_and_non_increasing_timestamps_pass_the_sample_through() -> None:
    filt = OneEuroFilter(min_cutoff=0.5, beta=0.0)
    filt.filter(np.zeros(3), 0.0)
    assert filt.filter(np.full(3, 10.0), 1 / FPS)[0] < 10.0
    filt.reset()
    np.testing.assert_array_equal(filt.filter(np.full(3, 50.0), 2 / FPS), 50.0)
    # a replay that restarts (time goes back) starts over instead of dividing by a negative dt
    np.testing.assert_array_equal(filt.filter(np.full(3, -7.0), 0.0), -7.0)


def test_each_coordinate_is_filtered_on_its_own() -> None:
    rng = np.random.default_rng(2)
    signal = rng.normal(0, 20, size=(40, 2, 3)).cumsum(axis=0)
    joint = _run(OneEuroFilter(beta=0.02), signal)
    for i in range(2):
        for c in range(3):
            alone = _run(OneEuroFilter(beta=0.02), signal[:, i, c])
            np.testing.assert_allclose(joint[:, i, c], alone, rtol=0, atol=1e-9)


def test_bad_parameters_are_rejected() -> None:
    with pytest.raises(ValueError, match="min_cutoff"):
        OneEuroFilter(min_cutoff=0.0)
