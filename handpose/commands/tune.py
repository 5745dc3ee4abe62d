"""Random-search the learning rate, momentum and dropout (thesis sec. 4.4.3) with Optuna's RandomSampler.

Round 1: lr ~ log-uniform(1e-3, 1e-1), momentum ~ log-uniform(0.8, 1), dropout ~ uniform(0, 0.1); each later
round shrinks the ranges around the best trial. Every trial is a short training run under OUT/trial_NNNN.
Trials are stored in OUT/tune.db (SQLite) or --storage URL (e.g. postgresql://... to share a study between
machines); running again resumes. Writes OUT/results.csv (best first) and OUT/results.png.

Example:  handpose tune data/train --arch depthnet --epochs 10 --rounds 3 --trials 50 --out runs/tune
"""

from __future__ import annotations

import argparse
import json

from handpose.commands.train import add_model_arguments, config_from_args


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_model_arguments(parser)
    parser.add_argument("--out", required=True, metavar="TUNE_DIR", help="folder for trials, storage and results")
    parser.add_argument("--rounds", type=int, default=3, help="search rounds (default: 3, as in the thesis)")
    parser.add_argument("--trials", type=int, default=50, help="trials per round (default: 50, as in the thesis)")
    parser.add_argument("--shrink", type=float, default=0.5, help="range width kept per round (default: 0.5)")
    parser.add_argument("--storage", default=None, help="Optuna RDB URL (default: sqlite:///TUNE_DIR/tune.db)")
    parser.add_argument("--study", default="handpose", help="study name in the storage (default: handpose)")
    parser.add_argument("--json", action="store_true", help="print the results table as JSON on stdout")
    parser.set_defaults(epochs=10)


def run(args: argparse.Namespace) -> int:
    import sys

    from training.tune import TuneConfig, tune

    base = config_from_args(args, args.out)
    rows = tune(base, TuneConfig(rounds=args.rounds, trials_per_round=args.trials, shrink=args.shrink,
                                 storage=args.storage, study=args.study, seed=args.seed))
    if args.json:
        print(json.dumps({"trials": rows}))
    else:
        print(f"{'trial':>5} {'round':>5} {'lr':>9} {'momentum':>8} {'dropout':>7} {'val_loss':>9} {'val_mm':>7}")
        for r in rows[:10]:
            mm = r["val_mean_error_mm"]
            print(f"{r['trial']:>5} {r['round']:>5} {r['lr']:>9.4g} {r['momentum']:>8.4f} {r['dropout']:>7.4f} "
                  f"{r['val_loss']:>9.5f} {mm if mm is None else round(mm, 1):>7}")
        print(f"results: {args.out}/results.csv, {args.out}/results.png", file=sys.stderr)
    return 0
