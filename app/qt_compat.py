"""Work around a reference-counting bug of PySide6 6.12 on CPython < 3.12.

Measured here (PySide6 6.12.0, Python 3.11.7): every ``Signal.emit()`` called from Python drops one
reference to ``True`` that it never took (and some paths drop one to ``None``). ``True`` starts with ~150
references, so after a few hundred emits (pyqtgraph emits several per plot update; the app several per
frame) CPython frees ``True`` and aborts with "Fatal Python error: bool_dealloc" - within seconds of a live
session. CPython 3.12+ makes these singletons immortal, which is exactly the cure: here we give them a
reference count no run can exhaust (2**40 emits). The extra references are harmless if PySide6 fixes the
bug (the singletons are never freed anyway).
"""

from __future__ import annotations

import ctypes
import sys

_HEADROOM = 1 << 40
_applied = False


def protect_singletons() -> None:
    """Make ``True``, ``False`` and ``None`` effectively immortal on CPython < 3.12 (idempotent)."""
    global _applied
    if _applied or sys.implementation.name != "cpython" or sys.version_info >= (3, 12):
        return
    for obj in (True, False, None):
        # ob_refcnt is the first field of every PyObject (Py_ssize_t) in a release build of CPython 3.11.
        ctypes.c_ssize_t.from_address(id(obj)).value += _HEADROOM
    _applied = True
