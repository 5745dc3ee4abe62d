"""Label an RGB-D source with the RGB teacher (MediaPipe Hands lifted by the depth): write an NYU-format folder
that `handpose train` and `handpose eval` read directly.

DIR gets every frame of the source (depth_1_*.png, rgb_1_*.png, intrinsics.json when not NYU's camera), a
joint_data.mat whose row i holds the 14 NYU joints of frame i (the other 22 joints NaN; all NaN where no hand was
found or the teacher was unsure: score below --min-score), and confidence.jsonl: one JSON object per frame with
"index", "source_index", "labelled", "reason", "score", "handedness", "mirrored", "hands", "joint_confidence"
(14 values) and "evidence" (the factors of the score). Format details: inference/teacher/labelling.py.

One hand per frame: the nearest right hand; when there are only left hands, the nearest one mirrored into a
right hand (frame and labels reflected about the principal point's column; "mirrored": true).
The source's own labels, if any, are never read. Needs colour (an RGB-D source) and the optional MediaPipe
package. Ctrl-C stops and keeps every frame already labelled.

examples:
  handpose label --source bag:session.db3 --out data/session_labelled
  handpose label --source replay:takes/alice --out data/alice_labelled --model mediapipe --json
  handpose eval --labels data/alice_labelled --model models/depthnet.onnx
"""

from __future__ import annotations

import argparse
import json
import signal
import sys
import threading

from handpose.commands.run import SOURCE_HELP


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--source", required=True, help=SOURCE_HELP + " (with colour)")
    parser.add_argument("--out", required=True, help="output folder (new or empty)")
    parser.add_argument("--model", choices=("mediapipe", "mediapipe-full"), default="mediapipe-full",
                        help="teacher landmark model: lite or full (default: %(default)s)")
    parser.add_argument("--convention", choices=("nyu", "generator-v1"), default="nyu",
                        help="where W1, W2, C and T3 go: nyu = as the real NYU labels and today's `handpose synth` "
                             "(default); generator-v1 = as `handpose synth` put them before it followed NYU (to "
                             "compare or mix with synthetic data made then)")
    parser.add_argument("--min-score", type=float, default=None, metavar="S",
                        help="reject frames whose confidence score is below S, 0-1 (default: the rule chosen in "
                             "docs/teacher.md, inference.teacher.confidence.REJECT_BELOW); 0 labels every hand")
    parser.add_argument("--max-frames", type=int, default=None, metavar="N", help="stop after N frames")
    parser.add_argument("--refine", action=argparse.BooleanOptionalAction, default=True,
                        help="refine each labelled hand by the articulated-hand fit to the depth, the teacher's 2-D "
                             "landmarks a term of it (docs/teacher.md; default on); --no-refine writes the teacher's "
                             "lifted landmarks as they are")
    parser.add_argument("--json", action="store_true",
                        help='print {"out", "model", "convention", "min_score", "refine", "frames", "labelled", '
                             '"labelled_pct", "mirrored", "no_hand", "rejected", "interrupted"}')


def run(args: argparse.Namespace) -> int:
    from tqdm import tqdm

    from handpose.commands.run import setup_logging
    from inference.core.errors import HandposeError
    from inference.sources import frame_count, open_source, require_color
    from inference.teacher.confidence import REJECT_BELOW
    from inference.teacher.estimator import TeacherEstimator
    from inference.teacher.labelling import LABEL_MIN_CONFIDENCE, Labeller, label_frames, source_frames
    from inference.teacher.nyu_mapping import CONVENTIONS

    setup_logging("label")
    if args.max_frames is not None and args.max_frames <= 0:
        raise HandposeError(f"--max-frames must be positive, got {args.max_frames}")
    min_score = REJECT_BELOW if args.min_score is None else args.min_score
    source = open_source(args.source)
    estimator = TeacherEstimator(args.model, max_hands=2, second_opinion=True, convention=CONVENTIONS[args.convention],
                                 min_confidence=LABEL_MIN_CONFIDENCE)
    stop = threading.Event()

    def on_sigint(signum: int, frame: object) -> None:  # first Ctrl-C: finish the frame, flush; second: now
        stop.set()
        signal.signal(signal.SIGINT, signal.default_int_handler)

    previous = signal.signal(signal.SIGINT, on_sigint)
    try:
        with source:
            require_color(source, args.model)
            labeller = Labeller(estimator, args.out, min_score, refine=args.refine)
            try:
                length = frame_count(source)
                total = min(length, args.max_frames) if length and args.max_frames else length or args.max_frames
                print(f"labelling {source.description} with {args.model} into {args.out} (Ctrl-C stops and saves)",
                      file=sys.stderr, flush=True)
                frames = (f for f in source_frames(source, args.max_frames) if not stop.is_set())
                with tqdm(total=total, unit="frame", desc="label", file=sys.stderr, disable=None) as bar:
                    label_frames(frames, labeller, on_frame=lambda: bar.update(1))
            finally:
                stats = labeller.close()
    finally:
        signal.signal(signal.SIGINT, previous)
        estimator.close()
    interrupted = stop.is_set()
    summary = {"out": str(args.out), "model": args.model, "convention": args.convention, "min_score": min_score,
               "refine": args.refine,
               **stats.to_json(),
               "interrupted": interrupted}
    print(f"{'interrupted: ' if interrupted else ''}{stats.frames} frames -> {args.out}: {stats.labelled} labelled "
          f"({summary['labelled_pct']:.1f}%, {stats.mirrored} of them mirrored left hands), {stats.rejected} "
          f"rejected (score < {min_score:g}), {stats.no_hand} without a hand", file=sys.stderr)
    if args.json:
        print(json.dumps(summary))
    return 130 if interrupted else 0


