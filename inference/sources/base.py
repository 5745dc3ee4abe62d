"""The one frame-source interface: every camera, recording, replay and the synthetic hand implement it."""

from __future__ import annotations

import abc
from types import TracebackType

from inference.core.frame import Frame
from inference.core.geometry import Intrinsics


class FrameSource(abc.ABC):
    """A context manager delivering aligned RGB-D :class:`Frame` objects.

    ``read()`` returns the next frame, or None at the end of a finite source; it raises
    :class:`inference.core.errors.SourceError` when the source fails (camera unplugged, broken file).
    Live sources (``live = True``) return the newest frame and drop stale ones; replay sources are
    deterministic and drop nothing unless asked to pace in real time.
    """

    #: True for cameras / real-time synthetic sources (latest frame wins).
    live: bool = False

    @property
    @abc.abstractmethod
    def description(self) -> str:
        """Human-readable name, e.g. ``"replay:/data/seq (412 frames)"``."""

    @property
    @abc.abstractmethod
    def intrinsics(self) -> Intrinsics:
        """Intrinsics of the depth grid (valid after :meth:`open`)."""

    @property
    def has_color(self) -> bool | None:
        """Whether frames carry a colour image: True, False, or None while unknown (a camera before it opens)."""
        return None

    def open(self) -> None:  # noqa: B027 - optional hook
        """Acquire the device / files. Called by ``__enter__``."""

    @abc.abstractmethod
    def read(self) -> Frame | None:
        """Next frame, or None at the end of the stream."""

    def use_color(self, needed: bool) -> None:  # noqa: B027 - optional hook
        """Say whether the consumer uses colour (e.g. an RGB-D model) or not (a depth-only model).

        A source may then skip decoding colour it need not deliver, and drop a frame whose colour is damaged
        only when colour is needed. Without this call a damaged colour image costs the colour, not the frame.
        """

    def close(self) -> None:  # noqa: B027 - optional hook
        """Release the device / files. Idempotent."""

    def __len__(self) -> int:
        """Number of frames for finite sources; raises TypeError for endless ones."""
        raise TypeError(f"{type(self).__name__} has no length")

    def __enter__(self) -> FrameSource:
        self.open()
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()


def frame_count(source: object) -> int | None:
    """Number of frames of a finite source, or None for an endless one (a camera, the synthetic hand)."""
    try:
        return len(source)  # type: ignore[arg-type]
    except TypeError:
        return None
