"""Where :class:`app.settings.AppSettings` persists: QSettings.

The store is the user's ``handpose/app`` QSettings by default; ``HANDPOSE_APP_SETTINGS`` (or the ``path``
argument) points it at an INI file instead, which is what the tests use so they never touch the user's.
"""

from __future__ import annotations

import os
from dataclasses import asdict, fields, replace

from PySide6.QtCore import QSettings

from app.settings import AppSettings

SETTINGS_ENV = "HANDPOSE_APP_SETTINGS"


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

    def update(self, **changes: object) -> AppSettings:
        """Store the named fields (e.g. ``refine=False`` from the command line) over what is stored; the result."""
        settings = replace(self.load(), **changes)
        self.save(settings)
        return settings

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
