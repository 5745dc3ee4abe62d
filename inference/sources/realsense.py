"""Intel RealSense cameras and their recordings (.bag / .db3) through one pyrealsense2 pipeline.

pyrealsense2 is imported lazily (inside :func:`load_sdk`) so that the rest of handpose works without it.
Tests inject a small fake of the SDK through the ``sdk`` argument to simulate unplugging and device lists.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any, Literal

import numpy as np

from inference.core.errors import SourceError
from inference.core.frame import Frame
from inference.core.geometry import Intrinsics
from inference.sources.base import FrameSource
from inference.sources.rs_playback import RecordingPlayer

log = logging.getLogger(__name__)


def load_sdk() -> ModuleType:
    """Import pyrealsense2, or raise a :class:`SourceError` that says how to install it."""
    try:
        import pyrealsense2 as rs
    except ImportError as exc:
        raise SourceError(
            f"pyrealsense2 is not installed ({exc}); install it with: pip install 'handpose[realsense]'"
        ) from None
    return rs


@dataclass(frozen=True)
class RealSenseConfig:
    """How to open a camera or a recording.

    Attributes:
        serial: camera serial number; None = the first camera found. Ignored for a recording.
        file: a ``.bag`` / ``.db3`` recording to play instead of a camera.
        width, height, fps: stream resolution (px) and rate of a live camera (recordings use what they hold).
        color: also stream colour (rgb8); False = depth-only frames.
        align_to: "color" reprojects depth onto the colour grid (intrinsics = colour's); "depth" maps colour
            onto the depth grid (intrinsics = depth's).
        real_time: recordings only: True plays at the recorded rate (demos; late frames are skipped by the
            SDK); False delivers every frame as fast as it is read (processing; nothing dropped).
        loop: recordings only: start again at the end instead of ending.
        decimation: 1 = off; 2..8 = the decimation filter's magnitude (intrinsics are updated).
        disparity, spatial, temporal, hole_filling: the rest of the post-processing chain, each switchable;
            the spatial and temporal filters run in the disparity domain when ``disparity`` is on.
        visual_preset: a live camera's depth visual preset by name (e.g. "high_accuracy"), None = leave it.
        auto_exposure_priority: False keeps the frame rate steady in low light (the colour sensor may
            otherwise lower it to lengthen exposure).
        timeout_ms: how long one read waits for a frameset.
    """

    serial: str | None = None
    file: Path | None = None
    width: int = 640
    height: int = 480
    fps: int = 30
    color: bool = True
    align_to: Literal["color", "depth"] = "color"
    real_time: bool = False
    loop: bool = False
    decimation: int = 1
    disparity: bool = False
    spatial: bool = False
    temporal: bool = False
    hole_filling: bool = False
    visual_preset: str | None = None
    auto_exposure_priority: bool = False
    timeout_ms: int = 2000


class RealSenseSource(FrameSource):
    """Frames from a RealSense camera (``realsense[:SERIAL]``) or recording (``bag:FILE``).

    Each frame: depth in mm (the device's depth scale applied), colour rgb8 registered to the same grid,
    intrinsics of that grid read from the SDK's profile, ``index`` = the SDK frame number (a recording
    keeps the numbers it was recorded with), ``timestamp_s`` = the SDK timestamp. A camera that stops
    (unplugged) raises :class:`SourceError`; :meth:`reopen` reconnects without restarting the program.
    """

    def __init__(self, config: RealSenseConfig, sdk: Any = None) -> None:
        self.config = config
        self.live = config.file is None
        if config.align_to not in ("color", "depth"):
            raise SourceError(f"align_to must be 'color' or 'depth', got {config.align_to!r}")
        if not 1 <= config.decimation <= 8:
            raise SourceError(f"decimation must be 1 (off) to 8, got {config.decimation}")
        self._sdk = sdk
        self._pipeline: Any = None
        self._align: Any = None
        self._filters: list[Any] = []
        self._depth_scale_mm = 1.0
        self._intrinsics: Intrinsics | None = None
        self._serial: str | None = config.serial
        self._last_index: int | None = None
        self._player: RecordingPlayer | None = None  # a recording's player (cameras use the pipeline)

    # --- FrameSource ------------------------------------------------------------------------------

    @property
    def description(self) -> str:
        if self.config.file is not None:
            return f"bag:{self.config.file}"
        return f"realsense:{self._serial}" if self._serial else "realsense"

    @property
    def intrinsics(self) -> Intrinsics:
        if self._intrinsics is None:
            raise SourceError(f"{self.description}: intrinsics are known once the source is open")
        return self._intrinsics

    @property
    def has_color(self) -> bool | None:
        """False when colour was not asked for; once open, whether the device or recording delivers it."""
        if not self.config.color:
            return False
        if self._pipeline is None and self._player is None:
            return None
        return self._align is not None

    def open(self) -> None:
        if self._pipeline is not None or self._player is not None:
            return
        if self.config.file is not None:
            self._open_recording()
        else:
            self._open_camera()
        log.info("opened %s (depth scale %.4f mm)", self.description, self._depth_scale_mm)

    def _open_camera(self) -> None:
        rs = self._rs()
        cfg = self.config
        pipeline, rs_config = rs.pipeline(), rs.config()
        if self._serial:
            rs_config.enable_device(self._serial)
        rs_config.enable_stream(rs.stream.depth, cfg.width, cfg.height, rs.format.z16, cfg.fps)
        if cfg.color:
            rs_config.enable_stream(rs.stream.color, cfg.width, cfg.height, rs.format.rgb8, cfg.fps)
        try:
            profile = pipeline.start(rs_config)
        except RuntimeError as exc:
            raise SourceError(f"{self.description}: cannot start ({_first_line(exc)})") from None
        self._pipeline = pipeline
        try:
            device = profile.get_device()
            self._serial = device.get_info(rs.camera_info.serial_number)
            self._configure_camera(rs, device)
            self._depth_scale_mm = device.first_depth_sensor().get_depth_scale() * 1000.0
            has_color = cfg.color and any(s.stream_type() == rs.stream.color for s in profile.get_streams())
        except RuntimeError as exc:
            self.close()
            raise SourceError(f"{self.description}: cannot configure ({_first_line(exc)})") from None
        self._set_grid(rs, has_color, profile.get_stream)

    def _open_recording(self) -> None:
        rs = self._rs()
        cfg = self.config
        if not Path(cfg.file).is_file():
            raise SourceError(f"{self.description}: recording file does not exist")
        try:
            self._player = RecordingPlayer(rs, Path(cfg.file), real_time=cfg.real_time, color=cfg.color)
        except RuntimeError as exc:
            raise SourceError(f"{self.description}: cannot start ({_first_line(exc)})") from None
        try:
            self._depth_scale_mm = self._player.depth_sensor.get_depth_scale() * 1000.0
            self._set_grid(rs, self._player.has_color, self._player.profile)
        except RuntimeError as exc:
            self.close()
            raise SourceError(f"{self.description}: cannot configure ({_first_line(exc)})") from None

    def _set_grid(self, rs: Any, has_color: bool, profile_of: Any) -> None:
        """Aligner, filters and the intrinsics of the grid frames are delivered on (``profile_of(stream)``)."""
        cfg = self.config
        self._align = rs.align(rs.stream.color if cfg.align_to == "color" else rs.stream.depth) if has_color else None
        self._filters = self._make_filters(rs)
        grid = rs.stream.color if self._align is not None and cfg.align_to == "color" else rs.stream.depth
        self._intrinsics = _intrinsics_of(profile_of(grid), cfg.decimation)

    def read(self) -> Frame | None:
        if self._pipeline is None and self._player is None:
            self.open()
        while True:
            frames = self._next_frameset()
            if frames is None:
                if not self.config.loop:
                    return None
                self.reopen()
                continue
            try:
                if frames.get_depth_frame().get_frame_number() == self._last_index:
                    continue  # the syncer re-sent a depth frame with a newer colour frame: deliver each once
                return self._to_frame(frames)
            except RuntimeError as exc:
                raise SourceError(self._stopped_message(_first_line(exc))) from None

    def close(self) -> None:
        player, self._player = self._player, None
        if player is not None:
            player.close()
        pipeline, self._pipeline = self._pipeline, None
        if pipeline is not None:
            try:
                pipeline.stop()
            except RuntimeError as exc:  # already stopped by the SDK (e.g. device gone)
                log.debug("pipeline.stop: %s", exc)

    def reopen(self) -> None:
        """Reconnect (e.g. after a :class:`SourceError` for an unplugged camera) without restarting the program."""
        self.close()
        self.open()

    # --- internals --------------------------------------------------------------------------------

    def _rs(self) -> Any:
        if self._sdk is None:
            self._sdk = load_sdk()
        return self._sdk

    def _configure_camera(self, rs: Any, device: Any) -> None:
        """Visual preset on the depth sensor; auto-exposure priority on every sensor that has it."""
        cfg = self.config
        if cfg.visual_preset is not None:
            depth_sensor = device.first_depth_sensor()
            preset = getattr(rs.rs400_visual_preset, cfg.visual_preset, None)
            if preset is None or not depth_sensor.supports(rs.option.visual_preset):
                raise SourceError(f"{self.description}: visual preset {cfg.visual_preset!r} is not available")
            depth_sensor.set_option(rs.option.visual_preset, int(preset))
        for sensor in device.query_sensors():
            if sensor.supports(rs.option.auto_exposure_priority):
                sensor.set_option(rs.option.auto_exposure_priority, float(cfg.auto_exposure_priority))

    def _make_filters(self, rs: Any) -> list[Any]:
        """decimation -> disparity -> spatial -> temporal -> back to depth -> hole filling, as switched on."""
        cfg = self.config
        chain: list[Any] = []
        if cfg.decimation > 1:
            decimation = rs.decimation_filter()
            decimation.set_option(rs.option.filter_magnitude, float(cfg.decimation))
            chain.append(decimation)
        if cfg.disparity:
            chain.append(rs.disparity_transform(True))
        if cfg.spatial:
            chain.append(rs.spatial_filter())
        if cfg.temporal:
            chain.append(rs.temporal_filter())
        if cfg.disparity:
            chain.append(rs.disparity_transform(False))
        if cfg.hole_filling:
            chain.append(rs.hole_filling_filter())
        return chain

    def _next_frameset(self) -> Any:
        """The next SDK frameset; None at the end of a recording; SourceError when a camera stops."""
        if self._player is not None:
            try:
                return self._player.next_frameset(self.config.timeout_ms / 1000.0)
            except RuntimeError as exc:
                raise SourceError(self._stopped_message(_first_line(exc))) from None
        try:
            ok, frames = self._pipeline.try_wait_for_frames(self.config.timeout_ms)
        except RuntimeError as exc:
            raise SourceError(self._stopped_message(_first_line(exc))) from None
        if not ok:
            raise SourceError(self._stopped_message(f"no frames for {self.config.timeout_ms} ms"))
        return frames

    def _to_frame(self, frames: Any) -> Frame:
        if self._align is not None:
            frames = self._align.process(frames)
        depth = frames.get_depth_frame()
        if not depth:
            raise RuntimeError("frameset without a depth frame")
        index = int(depth.get_frame_number())
        timestamp_s = depth.get_timestamp() / 1000.0
        for f in self._filters:
            depth = f.process(depth)
        raw = np.asanyarray(depth.get_data())  # (H, W) uint16 in device units
        if abs(self._depth_scale_mm - 1.0) < 1e-6:
            depth_mm = raw.copy()
        else:
            depth_mm = np.clip(np.rint(raw * self._depth_scale_mm), 0, 65535).astype(np.uint16)
        color = None
        if self._align is not None:
            color_frame = frames.get_color_frame()
            if color_frame:
                color = self._rgb(color_frame)
                if color.shape[:2] != depth_mm.shape:  # decimated depth: bring colour to the same grid
                    import cv2

                    color = cv2.resize(color, depth_mm.shape[::-1], interpolation=cv2.INTER_AREA)
        self._intrinsics = _intrinsics_of(depth.profile, 1)  # the SDK updates the profile when decimating
        self._last_index = index
        return Frame(depth_mm=depth_mm, color=color, intrinsics=self._intrinsics, timestamp_s=timestamp_s, index=index)

    def _rgb(self, color_frame: Any) -> np.ndarray:
        """``(H, W, 3)`` uint8 RGB copied out of the SDK's buffer (recordings may hold bgr8 / rgba8 / bgra8)."""
        rs = self._rs()
        fmt = color_frame.profile.format()
        channels = {rs.format.rgb8: [0, 1, 2], rs.format.bgr8: [2, 1, 0], rs.format.rgba8: [0, 1, 2],
                    rs.format.bgra8: [2, 1, 0]}.get(fmt)
        if channels is None:
            raise SourceError(f"{self.description}: colour format {fmt} is not supported (rgb8, bgr8, rgba8, bgra8)")
        return np.ascontiguousarray(np.asanyarray(color_frame.get_data())[..., channels])

    def _stopped_message(self, why: str) -> str:
        where = f" after frame {self._last_index}" if self._last_index is not None else ""
        if self.live:
            gone = self._serial is not None and self._serial not in _connected_serials(self._rs())
            hint = "camera unplugged? reconnect it and reopen the source" if gone else "check the USB cable and power"
            return f"{self.description}: camera stopped delivering frames{where} ({why}); {hint}"
        return f"{self.description}: recording stopped{where} ({why})"


def _intrinsics_of(stream_profile: Any, decimation: int) -> Intrinsics:
    """Intrinsics of an SDK video stream profile, divided by ``decimation`` as the decimation filter does."""
    intr = stream_profile.as_video_stream_profile().get_intrinsics()
    return Intrinsics(
        fx=intr.fx / decimation, fy=intr.fy / decimation, cx=intr.ppx / decimation, cy=intr.ppy / decimation,
        width=intr.width // decimation, height=intr.height // decimation,
    )


def _connected_serials(rs: Any) -> set[str]:
    try:
        return {d.get_info(rs.camera_info.serial_number) for d in rs.context().query_devices()}
    except RuntimeError:
        return set()


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__
