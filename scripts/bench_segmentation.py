"""Benchmark and picture of hand segmentation + cube crop on the real frames.

    python scripts/bench_segmentation.py [--data DIR] [--repeats N] [--json] [--figure PNG]

The command line of :mod:`inference.evaluation.bench_segmentation`; what it measures and prints is described there.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import cv2

from inference.core.errors import HandposeError
from inference.core.paths import shared_data_dir
from inference.evaluation.bench_segmentation import bench_frame, draw_figure, frame_row, load_real_frames


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python scripts/bench_segmentation.py",
        description="Time segment_hand + make_crop on the real NYU and SR305 frames; print a per-frame table.",
    )
    parser.add_argument("--data", type=Path, default=shared_data_dir(),
                        help="the shared data directory holding real_frames/ (default: ../shared/data)")
    parser.add_argument("--repeats", type=int, default=300, help="timed calls per measurement (default 300)")
    parser.add_argument("--sr305-frame", default="sr305/20210326-230536/110.png",
                        help="which SR305 frame to time (default: %(default)s)")
    parser.add_argument("--json", action="store_true", help="print one JSON object instead of tables")
    parser.add_argument("--figure", type=Path, help="also draw the depth + mask + crop picture to this PNG")
    args = parser.parse_args(argv)
    cv2.setNumThreads(1)  # the runtime budget is per frame on one core
    try:
        frames = load_real_frames(args.data)
        by_name = {f.name: f for f in frames}
        if args.sr305_frame not in by_name:
            raise HandposeError(f"{args.sr305_frame}: no such SR305 frame under {args.data}")
        timed = {name: bench_frame(by_name[name], args.repeats) for name in ("nyu_test_0000001", args.sr305_frame)}
        rows = [frame_row(f) for f in frames]
        if args.figure:
            draw_figure(frames, args.figure)
    except HandposeError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    if args.json:
        print(json.dumps({"timings_ms": timed, "frames": rows}))
        return 0
    print(f"{'frame':36s} {'stage':8s} {'median ms':>10s} {'p95 ms':>8s}")
    for name, stages in timed.items():
        for stage, t in stages.items():
            print(f"{name:36s} {stage:8s} {t['median']:10.3f} {t['p95']:8.3f}")
    print()
    print(f"{'frame':36s} {'found':5s} {'centre uvd (px, px, mm)':28s} {'crop valid':>10s}")
    for row in rows:
        centre = "" if not row["found"] else "({:.1f}, {:.1f}, {:.1f})".format(*row["com_uvd"])
        valid = "" if not row["found"] else f"{row['crop_valid_fraction']:.3f}"
        print(f"{row['frame']:36s} {row['found']!s:5s} {centre or row['reason']:28s} {valid:>10s}")
    if args.figure:
        print(f"\nfigure: {args.figure}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
