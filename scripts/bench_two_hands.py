"""What following two hands costs against one: `handpose bench` with --max-hands 1 and 2, in rounds.

Each round runs the two benches back to back (so that a slow spell of a shared machine hits both), prints the
median and the mean frame total (ms) of each and their ratios, and at the end the medians over the rounds and the
ratios of those (the median frame is what a frame usually costs; the mean, what throughput follows: work done on
some frames only, such as looking for a new hand every third frame, moves the mean and not the median). A second
source tree (--against) is benched in the same rounds, for a before/after on one machine.

Usage:
    python scripts/bench_two_hands.py --source replay:DIR [--rounds 4] [--frames 150] [--against OTHER_TREE]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def bench_total_ms(tree: Path, source: str, frames: int, max_hands: int) -> tuple[float, float]:
    """The median and the mean frame total (ms) of `handpose bench` run from ``tree``'s code."""
    env = dict(os.environ, PYTHONPATH=str(tree))
    cmd = [sys.executable, "-m", "handpose", "bench", "--source", source, "--frames", str(frames), "--no-bare",
           "--max-hands", str(max_hands), "--json"]
    done = subprocess.run(cmd, cwd=tree, env=env, capture_output=True, text=True)
    if done.returncode != 0:
        last = (done.stderr.strip().splitlines() or ["no output"])[-1]
        sys.exit(f"handpose bench failed in {tree}: {last}")
    report = json.loads(done.stdout)
    mean = report.get("mean_ms", {}).get("total", float("nan"))  # NaN: a tree from before bench reported it
    return float(report["stages_ms"]["total"]["median"]), float(mean)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--source", required=True, help="a source spec, e.g. replay:data/two_D")
    parser.add_argument("--rounds", type=int, default=4)
    parser.add_argument("--frames", type=int, default=150)
    parser.add_argument("--against", type=Path, help="another source tree (e.g. a git worktree of the code before)")
    args = parser.parse_args()
    trees = [ROOT] + ([args.against.resolve()] if args.against else [])
    totals: dict[tuple[Path, int], list[tuple[float, float]]] = {(t, mh): [] for t in trees for mh in (1, 2)}
    for r in range(1, args.rounds + 1):
        for tree in trees:
            one, two = (bench_total_ms(tree, args.source, args.frames, mh) for mh in (1, 2))
            totals[tree, 1].append(one)
            totals[tree, 2].append(two)
            print(f"round {r} {tree}: one hand {one[0]:.1f} ms (mean {one[1]:.1f}), two hands {two[0]:.1f} ms "
                  f"(mean {two[1]:.1f}), {two[0] / one[0]:.2f}x (mean {two[1] / one[1]:.2f}x)", flush=True)
    for tree in trees:
        (one, one_mean), (two, two_mean) = ([statistics.median(x[i] for x in totals[tree, mh]) for i in (0, 1)]
                                            for mh in (1, 2))
        print(f"{tree}: medians one hand {one:.1f} ms (mean {one_mean:.1f}), two hands {two:.1f} ms "
              f"(mean {two_mean:.1f}), {two / one:.2f}x (mean {two_mean / one_mean:.2f}x)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
