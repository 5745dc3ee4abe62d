"""The app's persistent settings as one typed dataclass (Qt-free: the model layer reads it; the Qt store that
loads and saves it is :mod:`app.settings_store`)."""

from __future__ import annotations

from dataclasses import dataclass

from inference.runtime.smoothing import SmoothingParams

_SMOOTHING = SmoothingParams()


@dataclass
class AppSettings:
    """What the user chose last time. Depth range and cube in mm; One Euro cutoff in Hz, beta in Hz per mm/s.

    The smoothing keys carry a ``smooth_`` prefix since their defaults were re-chosen by measurement: values
    stored under the old names (``min_cutoff_hz``, ``beta``) are not read back. Likewise the cube: 0 crops with
    the cube the model was trained with (its metadata), any other value overrides it, and the old ``cube_mm`` key
    (always 300, whatever the model) is not read back.
    """

    source: str = ""
    model: str = ""
    cube_override_mm: float = 0.0  # 0: the model's own cube
    near_mm: float = 200.0
    far_mm: float = 1500.0
    smoothing: bool = True
    smooth_min_cutoff_hz: float = _SMOOTHING.min_cutoff_hz
    smooth_beta_per_mm: float = _SMOOTHING.beta_per_mm
    refine: bool = True  # fit the articulated hand model to the depth after the network (inference.fit)
    max_hands: int = 2  # 1: the nearest hand; 2: both hands, labelled L/R (inference.runtime.hands; "Two hands")
    cloud_colour: str = "depth"  # "depth" or "rgb"
    show_ground_truth: bool = True
    show_fit: bool = True  # draw the fitted hand model in the 3D view
    image_mode: str = "both"  # "both", "depth" or "rgb"
