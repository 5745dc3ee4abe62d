"""Training throughput (samples/s) of a `handpose train` configuration: the bare step and the whole data pipeline.

Takes `handpose train`'s options, so a setting of the ablation (docs/EXPERIMENTS.md) is timed with exactly the
flags it was trained with. Needs a quiet machine: every other process on the cores lowers the numbers.

Usage:
    python scripts/bench_train.py DATA_DIR --arch depthnet --compact --width 0.25 --batch-size 64 \
        --optimizer adam --workers 1 [--threads N] [--channels-last] [--compile] [--steps 30] [--json]
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from handpose.commands.train import add_arguments, config_from_args


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python scripts/bench_train.py", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    add_arguments(parser)
    parser.set_defaults(out="-")
    for action in parser._actions:  # --out is a training run's; a benchmark writes nothing
        if action.dest == "out":
            action.required = False
    parser.add_argument("--steps", type=int, default=20, help="timed steps per measurement (default: 20)")
    parser.add_argument("--warmup", type=int, default=3, help="untimed steps first (default: 3)")
    args = parser.parse_args(argv)
    from inference.core.errors import HandposeError
    from training.bench_train import bench

    try:
        result = bench(config_from_args(args, "-"), args.steps, args.warmup, progress=True)
    except HandposeError as exc:
        print(f"bench_train: error: {exc}", file=sys.stderr)
        return 2
    if args.json:
        print(json.dumps(result))
    else:
        print(f"{result['arch']} {result['model_args']} on {result['device']} ({result['threads']} threads), batch "
              f"{result['batch_size']}: bare {result['bare_samples_per_s']:.1f} samples/s, pipeline "
              f"{result['pipeline_samples_per_s']:.1f} samples/s ({100 * result['pipeline_share']:.0f}%)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
