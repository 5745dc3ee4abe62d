"""Build RealSense recordings (.db3) without a camera: rs.software_device + rs.recorder (FACTS.md).

The software device has a depth sensor (z16, with a chosen depth unit) and a colour sensor (rgb8)
sharing intrinsics, with identity extrinsics registered so that ``rs.align`` works on playback.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from inference.core.geometry import Intrinsics


def write_db3(
    path: Path,
    frames: Sequence[tuple[np.ndarray, np.ndarray]],
    intr: Intrinsics,
    depth_unit_m: float = 0.001,
    first_number: int = 1,
    fps: int = 30,
    color_format: str = "rgb8",
    color_frames: int | None = None,
) -> Path:
    """Record ``frames`` = [(depth in device units (H, W) uint16, rgb (H, W, 3) uint8)] to ``path`` (.db3).

    Frame ``k`` gets frame number ``first_number + k`` and timestamp ``k / fps`` s on both streams; frames are
    pushed at ``fps`` (so 8 frames take ~0.27 s). ``color_format``: "rgb8" or "bgr8" (as some cameras record);
    ``color_frames``: record colour only for the first that many frames (a colour stream that ends early).
    """
    import pyrealsense2 as rs

    w, h = intr.width, intr.height
    device = rs.software_device()
    depth_sensor, color_sensor = device.add_sensor("Depth"), device.add_sensor("Color")
    rs_intr = rs.intrinsics()
    rs_intr.width, rs_intr.height, rs_intr.fx, rs_intr.fy = w, h, intr.fx, intr.fy
    rs_intr.ppx, rs_intr.ppy, rs_intr.model, rs_intr.coeffs = intr.cx, intr.cy, rs.distortion.none, [0.0] * 5

    def stream(kind: object, uid: int, bpp: int, fmt: object) -> object:
        s = rs.video_stream()
        s.type, s.index, s.uid, s.width, s.height, s.fps = kind, 0, uid, w, h, fps
        s.bpp, s.fmt, s.intrinsics = bpp, fmt, rs_intr
        return s

    depth_profile = depth_sensor.add_video_stream(stream(rs.stream.depth, 0, 2, rs.format.z16))
    color_profile = color_sensor.add_video_stream(stream(rs.stream.color, 1, 3, getattr(rs.format, color_format)))
    depth_sensor.add_read_only_option(rs.option.depth_units, depth_unit_m)
    identity = rs.extrinsics()
    identity.rotation, identity.translation = [1, 0, 0, 0, 1, 0, 0, 0, 1], [0, 0, 0]
    depth_profile.register_extrinsics_to(color_profile, identity)

    recorder = rs.recorder(str(path), device)
    queues = rs.frame_queue(len(frames) + 1), rs.frame_queue(len(frames) + 1)
    depth_sensor.open(depth_profile)
    color_sensor.open(color_profile)
    depth_sensor.start(queues[0])
    color_sensor.start(queues[1])
    alive = []  # the SDK reads the pixel buffers asynchronously: keep them alive until the sensors stop
    for k, (depth, rgb) in enumerate(frames):
        streams = [(depth_sensor, depth_profile, depth, 2), (color_sensor, color_profile, rgb, 3)]
        for sensor, profile, pixels, bpp in streams[: 1 if color_frames is not None and k >= color_frames else 2]:
            if bpp == 3 and color_format == "bgr8":
                pixels = pixels[..., ::-1]
            pixels = np.ascontiguousarray(pixels)
            alive.append(pixels)
            f = rs.software_video_frame()
            f.pixels, f.stride, f.bpp = pixels, w * bpp, bpp
            f.timestamp, f.domain = k * 1000.0 / fps, rs.timestamp_domain.hardware_clock
            f.frame_number = first_number + k
            f.profile = profile.as_video_stream_profile()
            sensor.on_video_frame(f)
        # The recorder stamps messages with the wall clock: pace like a camera so that real-time playback
        # takes the recorded time.
        time.sleep(1.0 / fps)
    for sensor in (depth_sensor, color_sensor):
        sensor.stop()
        sensor.close()
    del recorder  # flushes and closes the file
    return path
