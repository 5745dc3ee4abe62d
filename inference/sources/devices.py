"""List the RealSense cameras connected to this computer."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from inference.core.errors import SourceError
from inference.sources.realsense import load_sdk


@dataclass(frozen=True)
class DeviceInfo:
    """One connected camera, as the SDK reports it ("" where the device does not say)."""

    name: str
    serial: str
    firmware: str
    usb_type: str


def list_devices(sdk: Any = None) -> list[DeviceInfo]:
    """Connected RealSense devices (empty when none). ``sdk`` defaults to pyrealsense2 (tests pass a fake)."""
    rs = sdk if sdk is not None else load_sdk()
    try:
        devices = list(rs.context().query_devices())
    except RuntimeError as exc:
        raise SourceError(f"cannot query RealSense devices ({exc})") from None

    def info(device: Any, key: Any) -> str:
        return str(device.get_info(key)) if device.supports(key) else ""

    ci = rs.camera_info
    return [
        DeviceInfo(
            name=info(d, ci.name), serial=info(d, ci.serial_number),
            firmware=info(d, ci.firmware_version), usb_type=info(d, ci.usb_type_descriptor),
        )
        for d in devices
    ]
