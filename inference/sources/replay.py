"""NYU-format directory replayed as a camera: deterministic, optionally paced, looped, with labels."""

from __future__ import annotations

import bisect
import logging
import time
from pathlib import Path

import numpy as np

from inference.core.errors import DataFormatError, SourceError
from inference.core.frame import Frame
from inference.core.geometry import Intrinsics
from inference.formats.nyu_io import NyuSequence
from inference.sources.base import FrameSource

log = logging.getLogger(__name__)

# How far behind its schedule a paced replay may fall and still catch up (beyond that it restarts).
_MAX_CATCH_UP_S = 0.5


class ReplaySource(FrameSource):
    """Replay one view of an NYU-format directory (real NYU, ``handpose synth`` output or a recording).

    Frames come in frame-number order. A frame number missing in the middle of the sequence or a frame
    that cannot be decoded is skipped with a warning and listed once in :attr:`skipped` as
    ``(index, reason)`` (0-based index = file frame number - 1); the rest is delivered.

    Frames carry the sequence's own capture times (``timestamps.txt``, else 1/30 s steps as NYU), whatever the
    pace of the replay, so that smoothing sees the motion as it was recorded; a loop or a seek back restarts
    that clock.

    Args:
        root: the directory with ``depth_{view}_NNNNNNN.png`` (+ rgb, ``joint_data.mat``, ``intrinsics.json``,
            ``timestamps.txt``).
        fps: None = as fast as frames decode; a number = paced to that rate (absolute schedule, no drift);
            :attr:`native_fps` is the rate the sequence was captured at.
        loop: start again at the first frame after the last instead of ending.
        view: NYU view 1..3 (1 = frontal).
        with_color: also load ``rgb_*.png`` when present. A damaged colour image costs the frame its colour (with
            a warning), not the frame, unless :meth:`use_color` said colour is needed.
    """

    def __init__(
        self, root: str | Path, fps: float | None = None, loop: bool = False, view: int = 1, with_color: bool = True
    ) -> None:
        if fps is not None and not fps > 0:
            raise SourceError(f"replay:{root}: fps must be positive, got {fps}")
        if view not in (1, 2, 3):
            raise SourceError(f"replay:{root}: view must be 1, 2 or 3, got {view}")
        root = Path(root)
        if not root.exists():
            raise SourceError(f"replay:{root}: directory does not exist")
        self._seq = NyuSequence(root, view=view)
        self.fps = fps
        self.loop = loop
        self.with_color = with_color
        self._color_needed = False
        self._colorless: set[int] = set()  # indices delivered without their damaged colour (warned once each)
        self.skipped: list[tuple[int, str]] = []
        self._skipped_indices: set[int] = set()
        numbers = self._seq.frame_numbers
        present = set(numbers)
        for number in range(numbers[0], numbers[-1]):
            if number not in present:
                self._skip(number - 1, f"missing {self._seq.depth_path(number).name}")
        self._numbers = list(numbers)  # readable frame numbers; corrupt ones are removed as found
        self._position = 0
        self._t0_s: float | None = None  # pacing schedule origin (perf_counter)
        self._paced = 0  # frames delivered since the schedule origin

    # --- FrameSource ------------------------------------------------------------------------------

    @property
    def description(self) -> str:
        return f"replay:{self._seq.root} ({len(self)} frames)"

    @property
    def intrinsics(self) -> Intrinsics:
        return self._seq.intrinsics

    @property
    def has_color(self) -> bool:
        """True when colour is read and the directory holds colour frames of this view (``rgb_{view}_*.png``)."""
        return self.with_color and any(self._seq.root.glob(f"rgb_{self._seq.view}_*.png"))

    @property
    def root(self) -> Path:
        return self._seq.root

    @property
    def native_fps(self) -> float:
        """The rate the sequence was captured at (frames/s): from its timestamps, else NYU's 30."""
        return self._seq.native_fps

    @property
    def position(self) -> int:
        """Position (0 <= position < len) of the frame the next :meth:`read` returns."""
        return self._position

    def __len__(self) -> int:
        return len(self._numbers)

    def position_of(self, index: int) -> int:
        """Position (0 <= position < len) of the frame with ``Frame.index`` ``index``; differs from the index
        after missing or corrupt frames. An index that is not readable maps to the next readable position."""
        return min(bisect.bisect_left(self._numbers, index + 1), max(len(self._numbers) - 1, 0))

    def seek(self, position: int) -> None:
        """Make the ``position``-th readable frame (0-based, < len) the next one; restarts the pacing clock."""
        if not 0 <= position < len(self._numbers):
            raise SourceError(f"{self.description}: cannot seek to {position}, valid 0..{len(self._numbers) - 1}")
        self._position = position
        self._t0_s = None

    def read(self) -> Frame | None:
        while True:
            if self._position >= len(self._numbers):
                if not self.loop or not self._numbers:
                    if not self._numbers:
                        raise SourceError(f"replay:{self._seq.root}: no readable frames ({len(self.skipped)} skipped)")
                    return None
                self._position = 0
            number = self._numbers[self._position]
            try:
                frame = self._load(number)
            except DataFormatError as exc:
                self._skip(number - 1, str(exc))
                del self._numbers[self._position]  # never retried on a loop
                continue
            self._position += 1
            break
        self._wait_for_slot()
        if frame.joints_uvd is not None and np.isnan(frame.joints_uvd).all():
            frame.joints_uvd = None  # a row never labelled (e.g. a recording without labels for this frame)
        return frame

    def use_color(self, needed: bool) -> None:
        """Needed: a frame whose colour is damaged is skipped. Not needed: colour is not even decoded."""
        self._color_needed = needed
        self.with_color = needed

    # --- internals --------------------------------------------------------------------------------

    def _load(self, number: int) -> Frame:
        """Frame ``number``; a damaged colour image costs only the colour unless colour is needed."""
        try:
            return self._seq.frame(number, with_color=self.with_color)
        except DataFormatError as exc:
            if self._color_needed or exc.path != self._seq.rgb_path(number):
                raise
            if number - 1 not in self._colorless:
                self._colorless.add(number - 1)
                log.warning("replay: frame %d comes without colour: %s", number - 1, exc)
            return self._seq.frame(number, with_color=False)

    def _skip(self, index: int, reason: str) -> None:
        if index not in self._skipped_indices:
            self._skipped_indices.add(index)
            self.skipped.append((index, reason))
            log.warning("replay: skipping frame %d: %s", index, reason)

    def _wait_for_slot(self) -> None:
        """Sleep until this frame's slot on an absolute schedule, so pacing errors do not accumulate."""
        if self.fps is None:
            return
        now = time.perf_counter()
        if self._t0_s is None:
            self._t0_s, self._paced = now, 0
        due = self._t0_s + self._paced / self.fps
        if due - now < -_MAX_CATCH_UP_S:
            # Far behind (paused consumer, slow disk): restart the schedule instead of bursting; a few slow
            # frames are caught up so that the average rate still holds.
            self._t0_s, self._paced = now, 0
        elif due > now:
            time.sleep(due - now)
        self._paced += 1
