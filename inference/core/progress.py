"""A progress bar on stderr: tqdm when it is installed, else a plain line every few seconds.

Long work (data generation, the crop cache, training) must also run where tqdm is absent (the bare GPU machine
of ``scripts/train_gpu.sh``); callers use :func:`progress_bar` with tqdm's keyword arguments and methods
(``update``, ``set_description``, ``set_postfix``, ``write``, ``close``, context manager, iteration).
"""

from __future__ import annotations

import sys
import time
from collections.abc import Iterable, Iterator
from typing import Any


class PlainProgress:
    """The subset of tqdm's interface the project uses, printing ``desc: n/total`` at most every ``interval_s``."""

    def __init__(self, iterable: Iterable | None = None, total: int | None = None, desc: str = "",
                 disable: bool | None = False, interval_s: float = 10.0, file: Any = None, **_: Any) -> None:
        self.iterable = iterable
        self.total = total if total is not None else (len(iterable) if hasattr(iterable, "__len__") else None)
        self.desc = desc
        self.disable = bool(disable)
        self.interval_s = interval_s
        self.file = file or sys.stderr
        self.n = 0
        self.postfix = ""
        self._t0 = self._last = time.monotonic()

    def _maybe_print(self, force: bool = False) -> None:
        now = time.monotonic()
        if self.disable or not (force or now - self._last >= self.interval_s):
            return
        self._last = now
        rate = self.n / max(now - self._t0, 1e-9)
        of = f"/{self.total}" if self.total else ""
        print(f"{self.desc}: {self.n}{of} ({rate:.1f}/s) {self.postfix}".rstrip(), file=self.file, flush=True)

    def update(self, n: int = 1) -> None:
        self.n += n
        self._maybe_print()

    def set_description(self, desc: str) -> None:
        self.desc = desc

    def set_postfix(self, **values: Any) -> None:
        self.postfix = " ".join(f"{k}={v}" for k, v in values.items())

    def write(self, text: str, file: Any = None) -> None:
        print(text, file=file or self.file, flush=True)

    def close(self) -> None:
        if self.n:
            self._maybe_print(force=True)

    def __iter__(self) -> Iterator:
        assert self.iterable is not None
        for item in self.iterable:
            yield item
            self.update(1)
        self.close()

    def __enter__(self) -> PlainProgress:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def progress_bar(iterable: Iterable | None = None, **kwargs: Any) -> Any:
    """``tqdm(iterable, file=sys.stderr, dynamic_ncols=True, **kwargs)``, or :class:`PlainProgress` without tqdm."""
    try:
        from tqdm import tqdm
    except ImportError:
        return PlainProgress(iterable, **kwargs)
    kwargs.setdefault("file", sys.stderr)
    kwargs.setdefault("dynamic_ncols", True)
    return tqdm(iterable, **kwargs)
