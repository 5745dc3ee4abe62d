"""`handpose` command line: the composition root.

Each subcommand lives in ``handpose/commands/<name>.py`` with ``add_arguments(parser)`` and
``run(args) -> int``; those modules import only the standard library at module level and load
numpy / torch / Qt lazily inside ``run``, so that e.g. ``handpose eval`` never imports torch or Qt.
"""

from __future__ import annotations

import argparse
import importlib
import sys

# name -> one-line help. The module handpose.commands.<name with '-' as '_'> implements it.
COMMANDS: dict[str, str] = {
    "synth": "generate a synthetic NYU-format RGB-D hand sequence",
    "eval": "evaluate predictions against labels (mean/per-joint error, success rate)",
    "nets": "list the thesis networks with their layer and parameter counts",
    "train": "train a network on NYU-format data",
    "tune": "random-search the learning rate, momentum and dropout (thesis sec. 4.3)",
    "export": "export a training run to a self-describing ONNX model",
    "run": "estimate poses from a source and write one JSON line per frame",
    "bench": "measure per-stage latency and FPS of the pipeline",
    "app": "open the desktop app",
    "record": "record a source to an NYU-format directory",
    "label": "label an RGB-D source with the RGB teacher (MediaPipe) into an NYU-format directory",
    "devices": "list connected RealSense cameras",
}


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="handpose",
        description="Real-time 3D hand pose estimation from RGB-D cameras (thesis Depth-Net / Fuse-Net).",
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for name, help_text in COMMANDS.items():
        module = importlib.import_module(f"handpose.commands.{name.replace('-', '_')}")
        doc = (module.__doc__ or help_text).strip()
        p = sub.add_parser(name, help=help_text, description=doc, formatter_class=argparse.RawDescriptionHelpFormatter)
        module.add_arguments(p)
        p.set_defaults(_module=module)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    from inference.errors import HandposeError

    try:
        return int(args._module.run(args) or 0)
    except HandposeError as exc:
        print(f"handpose {args.command}: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"handpose {args.command}: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
