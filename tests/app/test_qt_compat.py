"""The PySide6 refcount workaround keeps True/None alive through many signal emits."""

from __future__ import annotations

import sys

from PySide6.QtCore import QObject, Signal

import app  # noqa: F401 - applies the workaround


class _Emitter(QObject):
    ping = Signal(object)


def test_many_emits_do_not_exhaust_true(qapp) -> None:
    emitter = _Emitter()
    received = []
    emitter.ping.connect(received.append)
    before = sys.getrefcount(True)
    for i in range(5000):
        emitter.ping.emit(i)
    assert len(received) == 5000
    # Whatever PySide6 does to True's count, it stays far from zero (it started below 10^4 without the fix).
    assert sys.getrefcount(True) > before - 5001 > 10**9 or sys.version_info >= (3, 12)
