"""Persistent app settings (QSettings), as one typed dataclass.

The store is the user's ``handpose/app`` QSettings by default; ``HANDPOSE_APP_SETTINGS`` (or the ``path``
argument) points it at an INI file instead, which is what the tests use so they never touch the user's.
"""

from __future__ import annotations

import os
from dataclasses import asdict, dataclass, fields

from PySide6.QtCore import QSettings

from inference.smoothing import SmoothingParams

_SMOOTHING = SmoothingParams()

SETTINGS_ENV = "HANDPOSE_APP_SETTINGS"


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
    cloud_colour: str = "depth"  # "depth" or "rgb"
    show_ground_truth: bool = True
    image_mode: str = "both"  # "both", "depth" or "rgb"


class SettingsStore:
    """Load and save :class:`AppSettings` through QSettings."""

    def __init__(self, path: str | None = None) -> None:
        path = path or os.environ.get(SETTINGS_ENV)
        if path:
            self._qs = QSettings(path, QSettings.Format.IniFormat)
        else:
            self._qs = QSettings("handpose", "app")

    @property
    def location(self) -> str:
        return self._qs.fileName()

    def load(self) -> AppSettings:
        """The stored settings; missing or unreadable values fall back to the defaults."""
        out = AppSettings()
        for f in fields(AppSettings):
            raw = self._qs.value(f.name)
            if raw is None:
                continue
            default = getattr(out, f.name)
            try:
                if isinstance(default, bool):  # INI stores booleans as "true"/"false"
                    value = raw if isinstance(raw, bool) else str(raw).lower() in ("true", "1", "yes")
                else:
                    value = type(default)(raw)
            except (TypeError, ValueError):
                continue
            setattr(out, f.name, value)
        return out

    def save(self, settings: AppSettings) -> None:
        for key, value in asdict(settings).items():
            self._qs.setValue(key, value)
        self._qs.sync()

    def save_geometry(self, geometry: bytes) -> None:
        self._qs.setValue("window/geometry", geometry)
        self._qs.sync()

    def load_geometry(self) -> bytes | None:
        value = self._qs.value("window/geometry")
        return bytes(value) if value else None
