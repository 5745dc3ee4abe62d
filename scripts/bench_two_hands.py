"""What following two hands costs against one: `handpose bench` with --max-hands 1 and 2, in rounds.

Each round runs the two benches back to back (so that a slow spell of a shared machine hits both), prints the
median total (ms) of each and their ratio, and at the end the medians over the rounds and the ratio of those
medians. A second source tree (--against) is benched in the same rounds, for a before/after on one machine.

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


def bench_total_ms(tree: Path, source: str, frames: int, max_hands: int) -> float:
    """Median total (ms) of `handpose bench` run from ``tree``'s code."""
    env = dict(os.environ, PYTHONPATH=str(tree))
    cmd = [sys.executable, "-m", "handpose", "bench", "--source", source, "--frames", str(frames), "--no-bare",
           "--max-hands", str(max_hands), "--json"]
    done = subprocess.run(cmd, cwd=tree, env=env, capture_output=True, text=True)
    if done.returncode != 0:
        last = (done.stderr.strip().splitlines() or ["no output"])[-1]
        sys.exit(f"handpose bench failed in {tree}: {last}")
    return float(json.loads(done.stdout)["stages_ms"]["total"]["median"])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--source", required=True, help="a source spec, e.g. replay:data/two_D")
    parser.add_argument("--rounds", type=int, default=4)
    parser.add_argument("--frames", type=int, default=150)
    parser.add_argument("--against", type=Path, help="another source tree (e.g. a git worktree of the code before)")
    args = parser.parse_args()
    trees = [ROOT] + ([args.against.resolve()] if args.against else [])
    totals: dict[tuple[Path, int], list[float]] = {(t, mh): [] for t in trees for mh in (1, 2)}
    for r in range(1, args.rounds + 1):
        for tree in trees:
            one, two = (bench_total_ms(tree, args.source, args.frames, mh) for mh in (1, 2))
            totals[tree, 1].append(one)
            totals[tree, 2].append(two)
            print(f"round {r} {tree}: one hand {one:.1f} ms, two hands {two:.1f} ms, {two / one:.2f}x", flush=True)
    for tree in trees:
        one, two = statistics.median(totals[tree, 1]), statistics.median(totals[tree, 2])
        print(f"{tree}: medians one hand {one:.1f} ms, two hands {two:.1f} ms, {two / one:.2f}x")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
