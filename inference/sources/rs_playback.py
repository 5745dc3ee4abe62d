"""Play a RealSense recording (.bag / .db3) frame by frame, dropping nothing, through the SDK's own player.

Why not ``rs.pipeline`` with ``enable_device_from_file``: the pipeline starts its player in real time and
``set_real_time(False)`` is only possible after the start, by which time the first framesets may already have
been played and dropped (pyrealsense2 2.59: 0-3 of 8 in tests, even after pause / drain / seek(0)). Here the
player is loaded with ``context.load_device``, switched to non-real-time *before* any sensor starts, and each
sensor delivers into a bounded queue whose full state blocks the SDK's dispatcher, so a slow reader slows the
player down instead of losing frames (memory stays bounded). Depth and colour are paired by timestamp here
and handed on as one SDK frameset, so ``rs.align`` and the post-processing filters work as with a pipeline.
"""

from __future__ import annotations

import atexit
import collections
import logging
import queue
import threading
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)

#: Frames held between the SDK's dispatcher threads and the reader (a full queue blocks the player).
QUEUE_FRAMES = 8
#: Frames of one stream held while waiting for the other stream's partner (bounds memory when one ends early).
MAX_AHEAD = 32
#: A stopped player whose queue stays empty this long (s) has delivered everything.
END_QUIET_S = 0.3
#: A player that stops this far (s) before the recording's duration could not read the rest of the file.
INCOMPLETE_S = 0.1


class RecordingPlayer:
    """Framesets (depth + its colour frame, or depth alone) from a recording, in recorded order.

    Args:
        sdk: the pyrealsense2 module (or a test double of it).
        path: the recording.
        real_time: True = the recorded pace, late frames skipped by the SDK; False = every frame, as fast as read.
        color: also play the colour stream (when the recording has one).

    Raises RuntimeError (the SDK's) when the file cannot be loaded.
    """

    def __init__(self, sdk: Any, path: Path, real_time: bool, color: bool) -> None:
        self._rs = sdk
        self.path = path
        self.device = sdk.context().load_device(str(path))
        self.playback = self.device.as_playback()
        self.playback.set_real_time(real_time)
        self.real_time = real_time
        self._queue: queue.Queue[Any] = queue.Queue(maxsize=QUEUE_FRAMES)
        self._closed = threading.Event()
        self._depth: collections.deque[Any] = collections.deque()
        self._color: collections.deque[Any] = collections.deque()
        self.position_ns = 0  # how far into the file the player has read (ns of recording time)
        self._drained = False  # the player has stopped and every frame it read has been taken
        self.unpaired = 0  # depth frames skipped because the recording holds no colour frame for them
        self._sensors: list[Any] = []
        try:
            for sensor in self.device.query_sensors():
                profiles = [p for p in sensor.get_stream_profiles() if self._wanted(p.stream_type(), color)]
                if profiles:
                    sensor.open(profiles)
                    self._sensors.append(sensor)
            streams = {p.stream_type() for s in self._sensors for p in s.get_active_streams()}
            if sdk.stream.depth not in streams:
                raise RuntimeError("the recording has no depth stream")
        except RuntimeError:
            self.close()  # release the sensors opened so far
            raise
        self.has_color = sdk.stream.color in streams
        self.depth_sensor = self.device.first_depth_sensor()
        self._pair: list[Any] = []
        self._composed = sdk.frame_queue(1)
        self._composer = sdk.processing_block(lambda _f, src: src.frame_ready(src.allocate_composite_frame(self._pair)))
        self._composer.start(self._composed)
        # Paused while the sensors start one by one: a playing file would drop what it reads for a sensor that
        # has not started yet (measured: the first colour frames, ~1 run in 10).
        self.playback.pause()
        atexit.register(self.close)  # SDK threads calling into a finalising interpreter would abort it
        for sensor in self._sensors:
            sensor.start(self._deliver)
        self.playback.resume()

    def _wanted(self, stream: Any, color: bool) -> bool:
        return stream == self._rs.stream.depth or (color and stream == self._rs.stream.color)

    def profile(self, stream: Any) -> Any:
        """The recorded stream profile of ``stream`` (intrinsics, fps)."""
        for sensor in self._sensors:
            for p in sensor.get_active_streams():
                if p.stream_type() == stream:
                    return p
        raise RuntimeError(f"the recording has no {stream} stream")

    def _deliver(self, frame: Any) -> None:
        """SDK dispatcher thread: queue one frame, waiting while the reader is behind (non-real-time)."""
        frame.keep()  # own the pixels, so that the SDK's frame pool is not exhausted by queued frames
        # Read here, next to the player: once it stops, its position reads 0.
        self.position_ns = max(self.position_ns, self.playback.get_position())
        while not self._closed.is_set():
            try:
                self._queue.put(frame, timeout=0.1)
                return
            except queue.Full:
                continue

    def next_frameset(self, timeout_s: float) -> Any:
        """The next frameset; None at the end of the recording.

        Raises RuntimeError when nothing comes for ``timeout_s`` before the end, or when the player stops
        short of the recording's duration (a file that cannot be read further).
        """
        waited = quiet = 0.0
        slice_s = min(0.1, timeout_s)
        while True:
            if self._depth and (not self.has_color or self._drained or self._color_after(self._depth[0])
                                or len(self._depth) > MAX_AHEAD):  # a colour stream that ended early
                depth = self._depth.popleft()
                if not self.has_color:
                    return self._compose([depth])
                color = self._partner(depth)
                if color is not None:
                    return self._compose([depth, color])
                self.unpaired += 1
                if self.real_time:  # the player skipped a late colour frame: expected in real time
                    log.debug("%s: depth frame %d: colour frame skipped by the player", self.path,
                              depth.get_frame_number())
                else:
                    log.warning("%s: depth frame %d has no colour frame in the recording; skipped",
                                self.path, depth.get_frame_number())
                continue
            if self._drained:
                self._check_complete()
                return None
            try:
                frame = self._queue.get(timeout=slice_s)
            except queue.Empty:
                waited += slice_s
                # The player reports 'stopped' when it has read the file, while the per-stream dispatchers may
                # still hold its last frames: the end is a stopped player and a quiet queue.
                quiet = quiet + slice_s if self._stopped() else 0.0
                self._drained = quiet >= END_QUIET_S
                if not self._drained and waited >= timeout_s:
                    raise RuntimeError(f"no frames for {timeout_s:g} s") from None
                continue
            waited = quiet = 0.0
            is_depth = frame.get_profile().stream_type() == self._rs.stream.depth
            (self._depth if is_depth else self._color).append(frame)
            if len(self._color) > MAX_AHEAD:  # a depth stream that ended early: keep memory bounded
                self._color.popleft()

    def _check_complete(self) -> None:
        """Raise when the player stopped well before the recording's end (unreadable rest of the file)."""
        duration_s = self.playback.get_duration().total_seconds()
        read_s = self.position_ns / 1e9
        if duration_s - read_s > INCOMPLETE_S:
            raise RuntimeError(f"the file could not be read beyond {read_s:.2f} s of {duration_s:.2f} s (damaged?)")

    def _stopped(self) -> bool:
        try:
            return self.playback.current_status() == self._rs.playback_status.stopped
        except RuntimeError:
            return True

    def _color_after(self, depth: Any) -> bool:
        """Whether a colour frame at or after ``depth``'s time has arrived (no later one can be nearer)."""
        return any(c.get_timestamp() >= depth.get_timestamp() for c in self._color)

    def _partner(self, depth: Any) -> Any:
        """The colour frame nearest in time to ``depth``, within half a depth frame period; None when none is."""
        t = depth.get_timestamp()
        half_period_ms = 500.0 / max(1, depth.get_profile().fps())
        while self._color and self._color[0].get_timestamp() < t - half_period_ms:
            self._color.popleft()  # too old for this and every later depth frame
        candidates = [c for c in self._color if abs(c.get_timestamp() - t) <= half_period_ms]
        return min(candidates, key=lambda c: abs(c.get_timestamp() - t)) if candidates else None

    def _compose(self, frames: list[Any]) -> Any:
        self._pair = frames
        self._composer.invoke(frames[0])
        return self._composed.wait_for_frame(1000).as_frameset()

    def close(self) -> None:
        """Stop and release the sensors (idempotent); unblocks a dispatcher waiting on a full queue."""
        self._closed.set()
        atexit.unregister(self.close)
        sensors, self._sensors = self._sensors, []
        for sensor in sensors:
            for step in (sensor.stop, sensor.close):
                try:
                    step()
                except RuntimeError as exc:  # not started / already stopped
                    log.debug("%s: %s", self.path, exc)
        self._depth.clear()
        self._color.clear()
