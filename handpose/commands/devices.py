"""List the connected Intel RealSense cameras (name, serial, firmware, USB type).

Use a serial as `--source realsense:SERIAL` to pick one camera when several are connected.
"""

from __future__ import annotations

import argparse
import json
import sys


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--json", action="store_true", help='print {"devices": [{name, serial, firmware, usb_type}]}')


def run(args: argparse.Namespace) -> int:
    from dataclasses import asdict

    from inference.sources.devices import list_devices

    devices = list_devices()
    if args.json:
        print(json.dumps({"devices": [asdict(d) for d in devices]}))
        return 0
    if not devices:
        print("no RealSense camera connected", file=sys.stderr)
        return 0
    rows = [("NAME", "SERIAL", "FIRMWARE", "USB"), *((d.name, d.serial, d.firmware, d.usb_type) for d in devices)]
    widths = [max(len(r[i]) for r in rows) for i in range(4)]
    for row in rows:
        print("  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip())
    return 0
