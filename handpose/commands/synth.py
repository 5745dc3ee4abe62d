"""Generate a synthetic, labelled RGB-D hand sequence in the NYU on-disk format.

Writes depth_1_NNNNNNN.png (depth mm = (G << 8) | B) and rgb_1_NNNNNNN.png (registered RGB), joint_data.mat
(joint_uvd / joint_xyz (1, N, 36, 3), y up, with joint_names), subjects.json (per-frame subject id, every
subject's hand parameters, hard frames, the generator settings), gestures.json (gestures and sequence modes)
and intrinsics.json (when --intrinsics is not NYU's). Output is identical for a seed whatever --workers.

Subjects: frames use hand shapes --subject-offset .. --subject-offset + --subjects - 1. Give training,
validation and test sets disjoint ranges (e.g. offsets 0, 1000, 2000) so test hands are never seen in training.

Two hands (--hands 2): every frame also shows a left hand (the mirrored hand model with the next subject's hand
shape, its own pose) within reach of the right one, sometimes in front of it or crossed over. joint_data.mat keeps
the right hand (every NYU reader still reads the folder); joint_data_left.mat holds the left hand in the same
layout, NaN on frames where it is out of view. `handpose eval` scores each side of such a folder.

Sensor models (--sensor): kinect (default; the generator's original model, byte-identical output for a seed),
kinect-edges (plus the fattened, ragged silhouettes and flying pixels of NYU's Kinect frames), sr305 (RealSense
SR305: smoothed surfaces, fattened edges, range to 1.5 m). The model and its parameters go to subjects.json.

Examples:
  handpose synth data/synth_train --frames 20000 --seed 1 --subjects 40
  handpose synth data/synth_test --frames 2000 --seed 2 --subjects 10 --subject-offset 2000
  handpose synth assets/demo --frames 40 --seed 8 --mode sequence --fps 8 --subjects 1 --subject-offset 900
  handpose synth data/two_hands --frames 300 --seed 5 --mode sequence --subjects 4 --subject-offset 600 --hands 2
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import sys
from pathlib import Path

MAX_FRAMES = 10_000_000


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("out_dir", type=Path, help="output directory (created; must be empty unless --overwrite)")
    parser.add_argument("--frames", type=int, default=100, help="number of frames (default 100)")
    parser.add_argument("--seed", type=int, default=0, help="random seed; same seed, same output (default 0)")
    parser.add_argument("--subjects", type=int, default=8, help="number of distinct hands (default 8)")
    parser.add_argument("--subject-offset", type=int, default=0,
                        help="first subject id; use disjoint ranges for train / test (default 0)")
    parser.add_argument("--mode", choices=("random", "gestures", "sequence", "still"), default="random",
                        help="random: independent random articulations; gestures: independent named gestures; "
                             "sequence: smooth gesture performances at --fps; still: one held pose per subject "
                             "with only sensor noise changing, at --fps (to measure jitter) (default random)")
    parser.add_argument("--fps", type=float, default=30.0,
                        help="frame rate of --mode sequence and still, written to timestamps.txt (default 30; "
                             "lower = more gestures per frame)")
    parser.add_argument("--hard-fraction", type=float, default=0.0,
                        help="fraction of frames with an object nearer than the hand (default 0; listed in "
                             "subjects.json 'hard_frames')")
    parser.add_argument("--hands", type=int, default=1, choices=(1, 2),
                        help="1: a right hand (default); 2: also a left hand, labelled in joint_data_left.mat")
    parser.add_argument("--preview", type=Path, metavar="PNG", help="also write a contact sheet with skeletons")
    parser.add_argument("--workers", type=int, default=None, help="processes (default: all cores)")
    parser.add_argument("--overwrite", action="store_true", help="replace an existing sequence in OUT_DIR")
    parser.add_argument("--intrinsics", type=Path, metavar="JSON",
                        help="camera intrinsics JSON (fx, fy, cx, cy, width, height); default NYU's Kinect")
    parser.add_argument("--png-compression", type=int, default=1, choices=range(10), metavar="0-9",
                        help="PNG compression level; 1 = fast (default), 9 = small files")
    parser.add_argument("--sensor", default="kinect", metavar="NAME",
                        help="depth sensor model: kinect (default), kinect-edges or sr305 (see above)")
    parser.add_argument("--invalid-value", type=int, default=0,
                        help="depth value of invalid pixels: 0 (default) or 2001 as NYU's own files")


def _check_output(out_dir: Path, overwrite: bool) -> None:
    from inference.core.errors import HandposeError
    from inference.core.outputs import check_output_dir
    from inference.synth.generate import clear_outputs

    check_output_dir(out_dir)  # a file in the way, read-only, not creatable: one line, nothing created
    if out_dir.is_dir() and any(out_dir.iterdir()):
        if not overwrite:
            raise HandposeError(f"{out_dir}: directory is not empty (pass --overwrite to replace its sequence)")
        clear_outputs(out_dir)


def run(args: argparse.Namespace) -> int:
    from inference.core.errors import HandposeError, check_seed

    if not 1 <= args.frames <= MAX_FRAMES:
        raise HandposeError(f"--frames must be between 1 and {MAX_FRAMES}, got {args.frames}")
    check_seed(args.seed)
    if args.subjects < 1:
        raise HandposeError(f"--subjects must be at least 1, got {args.subjects}")
    if args.subject_offset < 0:
        raise HandposeError(f"--subject-offset must be >= 0, got {args.subject_offset}")
    if not 0.0 <= args.hard_fraction <= 1.0:
        raise HandposeError(f"--hard-fraction must be within 0-1, got {args.hard_fraction}")
    if args.invalid_value not in (0, 2001):
        raise HandposeError(f"--invalid-value must be 0 or 2001, got {args.invalid_value}")
    if not args.fps > 0:
        raise HandposeError(f"--fps must be positive, got {args.fps}")
    from inference.synth.sensor import SENSORS

    if args.sensor not in SENSORS:
        raise HandposeError(f"--sensor must be one of {', '.join(SENSORS)}, got {args.sensor!r}")
    workers = args.workers if args.workers is not None else (os.cpu_count() or 1)
    if workers < 1:
        raise HandposeError(f"--workers must be at least 1, got {workers}")

    from inference.core.geometry import NYU_INTRINSICS, Intrinsics
    from inference.handmodel.palm_convention import NYU as PALM_CONVENTION
    from inference.synth.generate import generate, make_specs, subject_ids

    intr = Intrinsics.from_json(args.intrinsics) if args.intrinsics else NYU_INTRINSICS
    _check_output(args.out_dir, args.overwrite)
    subjects = subject_ids(args.subjects, args.subject_offset)
    specs = make_specs(args.mode, args.frames, args.seed, subjects, args.hard_fraction, intr, args.fps, args.hands)
    metadata = {
        "generator": "handpose synth", "seed": args.seed, "mode": args.mode, "frames": args.frames,
        "subject_ids": subjects, "fps": args.fps if args.mode in ("sequence", "still") else None,
        "hard_fraction": args.hard_fraction, "invalid_value": args.invalid_value,
        "palm_convention": PALM_CONVENTION,  # where W1, W2, C lie: NYU's (inference.handmodel.palm_convention)
    }
    if args.hands > 1:  # only then: one-hand folders keep their subjects.json as it was
        metadata["hands"] = args.hands
    sensor = dataclasses.replace(SENSORS[args.sensor], invalid_mm=args.invalid_value)
    metadata["sensor"] = {"name": args.sensor, **dataclasses.asdict(sensor)}
    from inference.core.progress import progress_bar

    with progress_bar(total=len(specs), unit="frame", desc="synth") as bar:
        done = generate(args.out_dir, specs, intr, sensor, workers=min(workers, len(specs)),
                        png_compression=args.png_compression, metadata=metadata, progress=bar.update)
    print(f"wrote {done} frames to {args.out_dir}", file=sys.stderr)
    if args.preview:
        from inference.synth.preview import contact_sheet

        print(f"preview: {contact_sheet(args.out_dir, args.preview)}", file=sys.stderr)
    return 0
