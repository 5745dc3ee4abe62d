"""Record a source to an NYU-format directory (depth + rgb PNGs, intrinsics.json when the camera is not
NYU's Kinect, labels when the source has them, and poses.jsonl when a model is given). The result replays
with `--source replay:DIR`.

Frames are written by a background thread from a bounded queue: a replay or recording waits for the
disk (nothing dropped); a live camera drops frames when the disk cannot keep up, and says how many.
Ctrl-C stops capturing and writes every frame already captured before exiting; a second Ctrl-C writes no more
frames but still saves the labels of those written.

examples:
  handpose record --source realsense --out takes/alice --frames 300
  handpose record --source bag:session.db3 --out takes/session
  handpose record --source replay:assets/demo --out /tmp/copy --model models/depthnet.onnx
"""

from __future__ import annotations

import argparse
import json
import signal
import sys
import threading

from handpose.commands.run import add_max_hands_argument, add_refine_argument


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--source", required=True, help="replay:DIR | bag:FILE | realsense[:SERIAL] | synthetic[:SEED]")
    parser.add_argument("--out", required=True, help="output directory (new or empty)")
    parser.add_argument(
        "--frames", type=int, default=0, help="stop after N frames (default: until the source ends or Ctrl-C)"
    )
    parser.add_argument("--model", default=None,
                        help="ONNX model or the RGB teacher (mediapipe, mediapipe-full): also estimate poses and "
                             "write poses.jsonl")
    parser.add_argument("--no-smoothing", action="store_true",
                        help="with --model: write the poses without the temporal smoothing filter")
    add_refine_argument(parser)
    add_max_hands_argument(parser)
    parser.add_argument("--fps", type=float, default=None, help="replay: pace to this rate; camera: stream rate")
    parser.add_argument("--loop", action="store_true", default=None, help="replay / bag: start again at the end")
    parser.add_argument("--real-time", action="store_true", default=None,
                        help="bag: play at the recorded rate (default: every frame, as fast as possible)")
    parser.add_argument("--queue", type=int, default=32, help="frames buffered for the writer thread (default 32)")
    parser.add_argument(
        "--json", action="store_true", help='print {"out", "captured", "written", "dropped", "skipped", "interrupted"}'
    )


def run(args: argparse.Namespace) -> int:
    from tqdm import tqdm

    from inference.core.errors import HandposeError
    from inference.formats.recording import Recorder
    from inference.runtime.pipeline import PipelineSettings
    from inference.sources import frame_count, open_source

    if args.frames < 0:
        raise HandposeError(f"--frames must be >= 0, got {args.frames}")
    options = {"fps": args.fps, "loop": args.loop}
    if args.real_time:
        options["real_time"] = True
    source = open_source(args.source, **options)
    settings = PipelineSettings(smoothing=not args.no_smoothing, refine=args.refine, max_hands=args.max_hands)
    estimate = _pose_estimator(args.model, source, settings) if args.model else None

    stop = threading.Event()
    recorders: list[Recorder] = []

    def on_sigint(signum: int, frame: object) -> None:
        # First Ctrl-C: stop capturing, write every frame captured. Second: write no more frames, but still save
        # the labels of those written (joint_data.mat). A third one interrupts for real.
        if not stop.is_set():
            stop.set()
            return
        print("second Ctrl-C: writing no more frames; saving the labels of those written", file=sys.stderr)
        for recorder in recorders:
            recorder.abandon()
        signal.signal(signal.SIGINT, signal.default_int_handler)

    previous = signal.signal(signal.SIGINT, on_sigint)
    interrupted = False
    try:
        with source:
            recorder = Recorder(args.out, queue_size=args.queue, block=not source.live, poses=estimate is not None)
            recorders.append(recorder)
            try:
                total = args.frames or frame_count(source)
                print(f"recording {source.description} to {args.out} (Ctrl-C stops and saves)",
                      file=sys.stderr, flush=True)
                with tqdm(total=total, unit="frame", file=sys.stderr, disable=None) as bar:
                    while not stop.is_set() and (not args.frames or recorder.stats.captured < args.frames):
                        frame = source.read()
                        if frame is None:
                            break
                        recorder.put(frame, estimate(frame) if estimate else None)
                        bar.update(1)
                interrupted = stop.is_set()
            finally:
                stats = recorder.close()
    finally:
        signal.signal(signal.SIGINT, previous)
    skipped = getattr(source, "skipped", [])
    print(
        f"{'interrupted: ' if interrupted else ''}wrote {stats.written} of {stats.captured} captured frames"
        f" to {args.out}"
        f" ({stats.dropped} dropped, {len(skipped)} skipped in the source)",
        file=sys.stderr,
    )
    if args.json:
        print(json.dumps({
            "out": str(args.out), "captured": stats.captured, "written": stats.written, "dropped": stats.dropped,
            "skipped": [{"index": i, "reason": r} for i, r in skipped], "interrupted": interrupted,
        }))
    return 130 if interrupted else 0


def _pose_estimator(model: str, source: object, settings):  # settings: inference.runtime.pipeline.PipelineSettings
    """A Frame -> HandPose function from the runtime pipeline with ``model`` (checked against ``source``)."""
    from handpose.commands.run import check_source_for
    from inference.runtime.pipeline import Pipeline

    pipeline = Pipeline.from_model(model, settings)
    check_source_for(pipeline.estimator, source)
    return lambda frame: pipeline.process(frame).pose
