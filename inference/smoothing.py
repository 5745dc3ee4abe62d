"""The One Euro filter (Casiez, Roussel and Vogel, CHI 2012): jitter removal with little lag.

A first-order low-pass filter whose cutoff rises with the signal's speed: ``cutoff = min_cutoff + beta *
|dx/dt|``. At rest the cutoff is ``min_cutoff`` (strong smoothing, no jitter); when the hand moves fast the
cutoff rises and the lag shrinks. Each coordinate is filtered independently; the smoothing factor of each
step comes from the real time between samples, so irregular frame rates are handled.

Tuning (for joints in mm): lower ``min_cutoff`` (Hz) to remove more jitter at rest; raise ``beta`` (1/mm) to
reduce lag during fast motion. ``d_cutoff`` (Hz) low-passes the speed estimate itself.
"""

from __future__ import annotations

import math

import numpy as np


def smoothing_factor(cutoff_hz: np.ndarray | float, dt_s: float) -> np.ndarray | float:
    """Exponential smoothing factor ``alpha = 1 / (1 + tau / dt)`` with ``tau = 1 / (2 pi cutoff)``."""
    tau_s = 1.0 / (2.0 * math.pi * np.asarray(cutoff_hz))
    return 1.0 / (1.0 + tau_s / dt_s)


class OneEuroFilter:
    """One Euro filter over arrays of any fixed shape (e.g. ``(14, 3)`` joints in mm).

    Args:
        min_cutoff: cutoff frequency at rest (Hz).
        beta: speed coefficient (Hz per unit/s; for mm, 1/mm).
        d_cutoff: cutoff of the derivative's low-pass (Hz).

    Call ``filter(x, timestamp_s)`` for every sample; :meth:`reset` (e.g. when the hand is lost) makes the next
    sample pass through unchanged. A timestamp that does not advance (a replay restarted, a repeated stamp)
    also resets, since no speed can be computed across it.
    """

    def __init__(self, min_cutoff: float = 1.0, beta: float = 0.01, d_cutoff: float = 1.0) -> None:
        if min_cutoff <= 0 or d_cutoff <= 0 or beta < 0:
            raise ValueError(f"need min_cutoff > 0, d_cutoff > 0, beta >= 0; got {min_cutoff}, {d_cutoff}, {beta}")
        self.min_cutoff = min_cutoff
        self.beta = beta
        self.d_cutoff = d_cutoff
        self.reset()

    def reset(self) -> None:
        """Forget the history: the next sample is returned as is."""
        self._x: np.ndarray | None = None
        self._dx: np.ndarray | None = None
        self._t_s: float | None = None

    def filter(self, x: np.ndarray, timestamp_s: float) -> np.ndarray:
        """Filter one sample ``x`` (any shape, same every call) taken at ``timestamp_s`` -> the smoothed sample."""
        x = np.asarray(x, dtype=np.float64)
        if self._x is None or self._t_s is None or timestamp_s <= self._t_s or self._x.shape != x.shape:
            self._x, self._dx, self._t_s = x.copy(), np.zeros_like(x), float(timestamp_s)
            return x.copy()
        dt_s = float(timestamp_s) - self._t_s
        dx = (x - self._x) / dt_s
        a_d = smoothing_factor(self.d_cutoff, dt_s)
        self._dx = a_d * dx + (1.0 - a_d) * self._dx
        cutoff_hz = self.min_cutoff + self.beta * np.abs(self._dx)
        a = smoothing_factor(cutoff_hz, dt_s)
        self._x = a * x + (1.0 - a) * self._x
        self._t_s = float(timestamp_s)
        return self._x.copy()

    __call__ = filter
