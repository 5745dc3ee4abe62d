"""The PySide6 desktop app (the only package that imports Qt)."""

from app.qt_compat import protect_singletons

protect_singletons()  # before any Qt signal is emitted; see app/qt_compat.py
