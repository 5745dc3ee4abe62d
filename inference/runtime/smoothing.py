"""Temporal smoothing of hand joints: a One Euro filter (Casiez, Roussel and Vogel, CHI 2012) that resets itself.

The One Euro filter is a first-order low-pass whose cutoff rises with speed: ``cutoff = min_cutoff_hz +
beta_per_mm * speed``. At rest the cutoff is ``min_cutoff_hz`` (strong smoothing, little jitter); a moving hand
raises it and the lag shrinks. Here the speed is each joint's 3-D speed in mm/s (the norm of its low-passed
velocity), so one joint gets one cutoff whatever the camera axes; the smoothing factor of each step comes from
the real time between frames, so irregular frame rates are handled.

Filtering across a discontinuity averages two different hands, which is worse than not filtering. The filter
therefore starts afresh (the next sample passes through unchanged) when
- :meth:`JointSmoother.reset` is called (hand lost or found, seek, loop, source change: the pipeline does it),
- the clock does not advance, or frames are more than ``max_gap_s`` apart (a pause, independent frames),
- any joint moved further than a hand can between the two frames (``max_speed_mm_s`` times the time step:
  a cut in the data, another hand, a re-detection).

Units: joints in mm, times in s, cutoffs in Hz, ``beta_per_mm`` in Hz per (mm/s). The defaults come from the
sweep in ``docs/smoothing.md`` (``scripts/smoothing_sweep.py``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class SmoothingParams:
    """Parameters of :class:`JointSmoother` (see the module docstring for their units and meaning).

    Attributes:
        min_cutoff_hz: cutoff at rest (Hz): lower = less jitter on a still hand, more lag when it starts moving.
        beta_per_mm: cutoff increase per mm/s of joint speed (Hz per mm/s): higher = less lag in fast motion.
        d_cutoff_hz: cutoff of the low-pass on the speed estimate itself (Hz).
        max_speed_mm_s: a joint moving faster than this between two frames is a jump, not motion: reset.
        max_gap_s: frames further apart than this are not filtered together.
    """

    min_cutoff_hz: float = 0.25
    beta_per_mm: float = 0.1
    d_cutoff_hz: float = 0.5
    max_speed_mm_s: float = 4000.0
    max_gap_s: float = 0.25

    def __post_init__(self) -> None:
        values = (self.min_cutoff_hz, self.d_cutoff_hz, self.max_speed_mm_s, self.max_gap_s)
        if not all(math.isfinite(v) and v > 0 for v in values) or not (
            math.isfinite(self.beta_per_mm) and self.beta_per_mm >= 0
        ):
            raise ValueError(
                "smoothing needs min_cutoff_hz, d_cutoff_hz, max_speed_mm_s, max_gap_s > 0 and beta_per_mm >= 0; got "
                f"{self.min_cutoff_hz}, {self.d_cutoff_hz}, {self.max_speed_mm_s}, {self.max_gap_s}, {self.beta_per_mm}"
            )


def smoothing_factor(cutoff_hz: np.ndarray | float, dt_s: float) -> np.ndarray | float:
    """Exponential smoothing factor ``alpha = 1 / (1 + tau / dt)`` with ``tau = 1 / (2 pi cutoff)``."""
    tau_s = 1.0 / (2.0 * math.pi * np.asarray(cutoff_hz))
    return 1.0 / (1.0 + tau_s / dt_s)


class JointSmoother:
    """One Euro filter over ``(J, 3)`` joints (mm) with the resets of the module docstring.

    Call :meth:`filter` once per frame with the frame's timestamp; :attr:`resets` counts the fresh starts
    (for tests and diagnostics), :attr:`last_reset` says why the last one happened.
    """

    def __init__(self, params: SmoothingParams | None = None) -> None:
        self.params = params or SmoothingParams()
        self.resets = 0
        self.last_reset = ""
        self.reset()

    def reset(self, reason: str = "reset") -> None:
        """Forget the history: the next sample is returned as is."""
        self._raw: np.ndarray | None = None  # (J, 3) last input, for the jump test
        self._x: np.ndarray | None = None  # (J, 3) last output
        self._speed: np.ndarray | None = None  # (J, 3) low-passed velocity, mm/s
        self._t_s: float | None = None
        self.last_reset = reason

    def _discontinuity(self, x: np.ndarray, timestamp_s: float) -> str:
        """Why ``x`` at ``timestamp_s`` cannot be filtered with the history ("" when it can)."""
        if self._x is None or self._t_s is None or self._raw is None:
            return "start"
        if self._x.shape != x.shape:
            return "joint count changed"
        dt_s = timestamp_s - self._t_s
        if not dt_s > 0:
            return "clock did not advance"
        if dt_s > self.params.max_gap_s:
            return f"{dt_s:.3f} s since the last frame"
        moved_mm = float(np.sqrt(((x - self._raw) ** 2).sum(axis=-1)).max())
        if moved_mm > self.params.max_speed_mm_s * dt_s:
            return f"a joint moved {moved_mm:.0f} mm in {dt_s * 1e3:.0f} ms"
        return ""

    def filter(self, x: np.ndarray, timestamp_s: float) -> np.ndarray:
        """Smooth one sample ``x`` ``(J, 3)`` mm taken at ``timestamp_s`` -> the smoothed ``(J, 3)`` float64."""
        x = np.asarray(x, dtype=np.float64)
        t_s = float(timestamp_s)
        why = self._discontinuity(x, t_s)
        if why:
            if why != "start":
                self.resets += 1
            self._raw, self._x, self._speed, self._t_s = x.copy(), x.copy(), np.zeros_like(x), t_s
            self.last_reset = why
            return x.copy()
        assert self._x is not None and self._speed is not None and self._t_s is not None
        p = self.params
        dt_s = t_s - self._t_s
        a_d = smoothing_factor(p.d_cutoff_hz, dt_s)
        self._speed = a_d * (x - self._x) / dt_s + (1.0 - a_d) * self._speed
        speed_mm_s = np.sqrt((self._speed ** 2).sum(axis=-1, keepdims=True))  # (J, 1): one cutoff per joint
        a = smoothing_factor(p.min_cutoff_hz + p.beta_per_mm * speed_mm_s, dt_s)
        self._x = a * x + (1.0 - a) * self._x
        self._raw, self._t_s = x.copy(), t_s
        return self._x.copy()

    __call__ = filter
