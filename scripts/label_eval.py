"""What teacher labels are worth: label error against true labels as a function of the confidence score.

    python scripts/label_eval.py --truth T1 [T2 ...] --labelled L1 [L2 ...] [--plot PNG] [--json]

The command line of :mod:`inference.teacher.label_eval`; what it measures and prints is described there.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from inference.core.errors import HandposeError
from inference.teacher import label_eval
from inference.teacher.confidence import REJECT_BELOW
from inference.teacher.label_eval import best_fraction_within, frame_errors, operating_point, plot


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python scripts/label_eval.py", description=label_eval.__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--truth", nargs="+", type=Path, required=True, help="folders with the true labels")
    parser.add_argument("--labelled", nargs="+", type=Path, required=True, help="`handpose label` folders, same order")
    parser.add_argument("--min-score", type=float, default=REJECT_BELOW, help="operating point (default: the rule)")
    parser.add_argument("--plot", type=Path, help="write the rejection curve and score scatter to this PNG")
    parser.add_argument("--title", default="teacher labels vs true labels", help="plot title")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    args = parser.parse_args(argv)
    try:
        if len(args.truth) != len(args.labelled):
            raise HandposeError(f"give as many --truth ({len(args.truth)}) as --labelled ({len(args.labelled)})")
        errors = frame_errors(args.truth, args.labelled)
    except HandposeError as exc:
        print(f"label_eval: error: {exc}", file=sys.stderr)
        return 2
    result = operating_point(errors, args.min_score)
    result["all_hands"] = operating_point(errors, 0.0)
    result["best_pct_within_20mm"] = {
        name: round(100 * best_fraction_within(errors.error_mm, values, errors.frames, 20.0), 1)
        for name, values in (("score", errors.score), *errors.factors.items())
    }
    if args.plot:
        plot(errors, args.min_score, args.plot, args.title)
        print(f"wrote {args.plot}", file=sys.stderr)
    if args.json:
        print(json.dumps(result))
    else:
        print(json.dumps(result, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
