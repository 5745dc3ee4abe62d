"""A small fake of pyrealsense2's camera boundary: a 'camera' that plays a .db3 recording through the real
SDK's pipeline, and that tests can unplug, plug back or make raise. Everything not faked (streams, formats, align,
filters, options) is the real pyrealsense2, so frames still go through the real SDK code path.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any


@dataclass
class FakeDevice:
    """What ``rs.context().query_devices()`` yields: ``supports(info)`` / ``get_info(info)``."""

    name: str
    serial: str
    firmware: str
    usb_type: str | None = "3.2"

    def _infos(self) -> dict[Any, str | None]:
        import pyrealsense2 as rs

        ci = rs.camera_info
        return {ci.name: self.name, ci.serial_number: self.serial, ci.firmware_version: self.firmware,
                ci.usb_type_descriptor: self.usb_type}

    def supports(self, key: Any) -> bool:
        return self._infos().get(key) is not None

    def get_info(self, key: Any) -> str:
        value = self._infos().get(key)
        if value is None:
            raise RuntimeError(f"info {key} not supported by the device!")
        return value


class FakeSdk:
    """pyrealsense2 with one scripted camera (``devices[0]``) whose frames come from ``recording``."""

    def __init__(self, recording: Path, devices: list[FakeDevice] | None = None) -> None:
        import pyrealsense2 as rs

        self._rs = rs
        self.recording = recording
        self.devices = devices if devices is not None else [FakeDevice("Intel RealSense D435", "f0000001", "5.16.0.1")]
        self.plugged = True
        self.raise_on_wait: str | None = None  # the SDK error try_wait_for_frames raises, e.g. mid-stream

    def __getattr__(self, name: str) -> Any:
        return getattr(self._rs, name)

    def context(self) -> Any:
        sdk = self

        class Context:
            def query_devices(self) -> list[FakeDevice]:
                return list(sdk.devices) if sdk.plugged else []

        return Context()

    def config(self) -> Any:
        return _Config(self)

    def pipeline(self) -> Any:
        return _Pipeline(self)


class _Config:
    def __init__(self, sdk: FakeSdk) -> None:
        self.sdk, self.serial, self.streams = sdk, None, []

    def enable_device(self, serial: str) -> None:
        self.serial = serial

    def enable_stream(self, *args: Any) -> None:
        self.streams.append(args)


class _Pipeline:
    def __init__(self, sdk: FakeSdk) -> None:
        self.sdk, self.real = sdk, sdk._rs.pipeline()

    def start(self, config: _Config) -> Any:
        serials = [d.serial for d in self.sdk.context().query_devices()]
        if not serials or (config.serial and config.serial not in serials):
            raise RuntimeError("No device connected")
        real_config = self.sdk._rs.config()
        real_config.enable_device_from_file(str(self.sdk.recording), repeat_playback=False)
        profile = self.real.start(real_config)
        profile.get_device().as_playback().set_real_time(False)
        return _Profile(profile, config.serial or serials[0])

    def try_wait_for_frames(self, timeout_ms: int) -> tuple[bool, Any]:
        if self.sdk.raise_on_wait:
            raise RuntimeError(self.sdk.raise_on_wait)
        if not self.sdk.plugged:
            return False, None
        return self.real.try_wait_for_frames(timeout_ms)

    def stop(self) -> None:
        self.real.stop()


class _Profile:
    """The real playback profile, with a device that reports the fake serial."""

    def __init__(self, real: Any, serial: str) -> None:
        self.real, self.serial = real, serial

    def __getattr__(self, name: str) -> Any:
        return getattr(self.real, name)

    def get_device(self) -> Any:
        real_device, serial = self.real.get_device(), self.serial

        class Device:
            def __getattr__(self, name: str) -> Any:
                return getattr(real_device, name)

            def get_info(self, key: Any) -> str:
                return serial

        return Device()
