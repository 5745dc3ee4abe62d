"""Measure how real the synthetic depth looks: the same statistics on real and generated frames.

    python scripts/synth_realism.py [--frames N] [--data DIR] [--sensor NAME ...]

The command line of :mod:`inference.synth.realism`; what it measures and prints is described there.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from inference.core.paths import shared_data_dir
from inference.synth import realism
from inference.synth.realism import real_rows, synthetic_rows


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python scripts/synth_realism.py", description=realism.__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--frames", type=int, default=60, help="synthetic frames to measure (default 60)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--data", type=Path, default=shared_data_dir(),
                        help="directory holding real_frames/ (default ../shared/data)")
    parser.add_argument("--sensor", nargs="+", default=["kinect"],
                        help="sensor models of the synthetic rows (inference.synth.sensor.SENSORS; default kinect); "
                             "with several, one row per model over all distances")
    args = parser.parse_args(argv)
    print(f"{'source':<28} {'n':>3} {'hand_mm':>7} {'invalid':>7} {'sil_holes':>9} {'in_holes':>8} "
          f"{'noise':>7} {'step':>6} {'rough':>6} {'mixed':>6}")
    rows = real_rows(args.data)
    for sensor in args.sensor:
        rows += synthetic_rows(args.frames, args.seed, sensor, by_range=len(args.sensor) == 1)
    for row in rows:
        print(row)
    return 0


if __name__ == "__main__":
    sys.exit(main())
