"""Sim-to-real check: a pose model through the runtime pipeline on the real NYU and SR305 frames.

    python scripts/sim2real.py --model models/depthnet.onnx [--out-figure docs/sim2real.png] [--json]

The command line of :mod:`inference.evaluation.sim2real`; what it measures and prints is described there.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from inference.core.errors import HandposeError
from inference.core.paths import shared_data_dir
from inference.evaluation.sim2real import draw_figure, run


def print_table(report: dict) -> None:
    nyu = report["nyu"]
    print(f"model {report['model']} ({report['architecture']}, {report['input_layout']})")
    if nyu["found"]:
        print(f"NYU test frame 1: mean 3D error {nyu['mean_error_mm']:.1f} mm, max {nyu['max_error_mm']:.1f} mm, "
              f"gesture {nyu['gesture']}")
        print("  " + "  ".join(f"{k} {v:.0f}" for k, v in nyu["per_joint_mm"].items()))
    else:
        print(f"NYU test frame 1: not found ({nyu['reason']})")
    sr = report["sr305"]
    print(f"\nSR305: found {sr['found']}/{sr['total']}, gesture agrees with the annotation {sr['gesture_agrees']}/"
          f"{sr['total']}")
    if sr["surface_mm_after"] is not None:
        print(f"observed hand points to the model surface: {sr['surface_mm_before']:.2f} mm with the network's pose, "
              f"{sr['surface_mm_after']:.2f} mm fitted (mean over the frames)")
    print(f"{'frame':36s} {'found':5s} {'gesture':10s} {'conf':>5s} {'annotation':12s} {'agrees':6s} surface mm")
    for row in sr["frames"]:
        conf = f"{row['gesture_confidence']:.2f}" if row["found"] else ""
        gesture = row["gesture"] or ("-" if row["found"] else row["reason"][:10])
        surface = "" if row["surface_mm_after"] is None else f"{row['surface_mm_before']} -> {row['surface_mm_after']}"
        print(f"{row['frame']:36s} {row['found']!s:5s} {gesture:10s} {conf:>5s} {row['annotation']['name']:12s} "
              f"{row['gesture_agrees']!s:6s} {surface}")
    print(f"\npipeline time {report['pipeline_s']:.2f} s for {sr['total'] + 1} frames")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python scripts/sim2real.py",
        description="Run a pose model through the runtime pipeline on the real NYU test frame 1 (3D error vs its "
                    "labels) and the 19 SR305 frames (found, gesture vs annotation); optionally draw a figure.",
    )
    parser.add_argument("--model", type=Path, required=True, help="the ONNX pose model (14 NYU eval joints)")
    parser.add_argument("--data", type=Path, default=None,
                        help="the shared data directory holding real_frames/ "
                             "(default: $HANDPOSE_SHARED_DATA or <project root>/../shared/data)")
    parser.add_argument("--out-figure", type=Path, help="write the grid of frames with skeletons to this PNG")
    parser.add_argument("--no-refine", dest="refine", action="store_false",
                        help="the network alone, without the model fit (default: fit, as `handpose run` does)")
    parser.add_argument("--json", action="store_true", help="print one JSON object instead of tables")
    args = parser.parse_args(argv)
    real_dir = (args.data or shared_data_dir()) / "real_frames"
    try:
        report, done = run(args.model, real_dir, refine=args.refine)
        report["figure"] = str(draw_figure(done, args.out_figure)) if args.out_figure else None
    except HandposeError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    if args.json:
        print(json.dumps(report))
    else:
        print_table(report)
        if report["figure"]:
            print(f"figure: {report['figure']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
