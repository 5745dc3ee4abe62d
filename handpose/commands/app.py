"""Open the desktop app: 2D depth/RGB views with the skeleton, an embedded 3D point-cloud view, an Open3D
window, live FPS/latency plots and the recognised gesture.

With no arguments it opens a connected RealSense camera if there is one, else the bundled demo sequence
(assets/demo), with the shipped model (models/depthnet.onnx or $HANDPOSE_MODEL). Settings persist between
runs (QSettings; --settings INI to use a file instead).

examples:
  handpose app
  handpose app --source replay:assets/demo --model models/depthnet.onnx
  handpose app --screenshot docs/app_screenshot.png --frames 60
"""

from __future__ import annotations

import argparse


def _size(text: str) -> tuple[int, int]:
    try:
        w, h = (int(v) for v in text.lower().split("x"))
    except ValueError:
        raise argparse.ArgumentTypeError(f"size must be WIDTHxHEIGHT, e.g. 1280x800, got {text!r}") from None
    if w < 1280 or h < 800:
        raise argparse.ArgumentTypeError(f"the window needs at least 1280x800, got {text!r}")
    return w, h


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--source", metavar="SRC",
                        help="replay:DIR, bag:FILE, realsense[:SERIAL] or synthetic[:SEED] "
                             "(default: a connected RealSense, else the demo sequence)")
    parser.add_argument("--model", metavar="M",
                        help="ONNX model, or the RGB teacher: mediapipe | mediapipe-full (default: "
                             "models/depthnet.onnx or $HANDPOSE_MODEL)")
    parser.add_argument("--screenshot", metavar="PNG",
                        help="process --frames frames, save a screenshot of the whole window to PNG and exit")
    parser.add_argument("--frames", type=int, default=30, metavar="N",
                        help="frames to process before the screenshot (default 30)")
    parser.add_argument("--size", type=_size, default=(1280, 800), metavar="WxH",
                        help="window size for --screenshot (default 1280x800)")
    parser.add_argument("--replay-fps", type=float, default=30.0, metavar="F",
                        help="pace replays at F frames/s like a camera; 0 = as fast as they process (default 30)")
    parser.add_argument("--settings", metavar="INI", help="keep settings in this INI file instead of the user's")
    parser.add_argument("--refine", action=argparse.BooleanOptionalAction, default=None,
                        help="fit the hand model to the depth after the network (the 'Refine' box; default: as "
                             "last time, on at first)")


def run(args: argparse.Namespace) -> int:
    from inference.core.errors import HandposeError

    if args.frames < 1:
        raise HandposeError(f"--frames must be at least 1, got {args.frames}")
    if args.screenshot:
        from inference.core.outputs import check_output_file

        check_output_file(args.screenshot, "--screenshot")  # before the window opens and the frames run
    from app.launch import launch

    return launch(
        source=args.source, model=args.model, screenshot=args.screenshot, frames=args.frames, size=args.size,
        replay_fps=args.replay_fps or None, settings_path=args.settings, refine=args.refine,
    )
