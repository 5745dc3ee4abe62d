"""List the thesis networks (Tables 4.1/4.2, Depth-Net, RGB-Net, RGBD-Net, FusePred-Net, Fuse-Net) with
their conv/pool layer counts, parameter counts and inputs, at the thesis defaults (J=14, fc-4096, 128x128).

With --json, stdout holds one object keyed by architecture name, each
{"conv": int, "pool": int, "params": int, "inputs": [...]}.
"""

from __future__ import annotations

import argparse
import json


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--json", action="store_true", help="print one JSON object instead of a table")
    parser.add_argument("--fc-width", type=int, default=4096, help="hidden units of each fc layer (default: 4096)")
    parser.add_argument("--joints", type=int, default=14, help="number of joints J (default: 14)")
    parser.add_argument(
        "--compact", action="store_true",
        help="the compact shipped variant (1x1-conv bottleneck to 16 channels, fc-512) instead of the thesis head",
    )


def run(args: argparse.Namespace) -> int:
    from training.nets import ARCHITECTURES, COMPACT, ModelConfig, describe

    overrides = dict(COMPACT) if args.compact else {"fc_width": args.fc_width}
    table = {arch: describe(ModelConfig(arch=arch, num_joints=args.joints, **overrides)) for arch in ARCHITECTURES}
    if args.json:
        print(json.dumps(table))
        return 0
    print(f"{'architecture':<14} {'conv':>4} {'pool':>4} {'params':>13}  inputs")
    for arch, row in table.items():
        print(f"{arch:<14} {row['conv']:>4} {row['pool']:>4} {row['params']:>13,}  {'+'.join(row['inputs'])}")
    return 0
