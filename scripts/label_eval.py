"""What teacher labels are worth: label error against true labels as a function of the confidence score.

    python scripts/label_eval.py --truth T1 [T2 ...] --labelled L1 [L2 ...] [--plot PNG] [--json]

Each ``L`` is a folder written by ``handpose label`` (best with ``--min-score 0``, so that every hand found is
labelled and the whole curve can be drawn); ``T`` the NYU-format folder of the same frames with their true labels
(e.g. the ``handpose synth`` output the labelled source was a label-free copy of). Frame ``i`` of ``L`` is matched
to row ``source_index`` of ``T`` (``confidence.jsonl``); for a frame labelled as a mirrored left hand the true
joints are mirrored the same way first. The error of a frame is its mean 3D joint error (mm, 14 NYU joints).

For every threshold on the score it reports the fraction of ALL frames labelled (score >= threshold) and the
mean error over them; the same for each evidence factor alone (which one predicts the error best). ``--plot``
draws error vs fraction labelled (the rejection curve) and per-frame error vs score. ``--min-score`` (default:
the rule in :data:`inference.teacher.confidence.REJECT_BELOW`) is the operating point reported in the summary.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from inference.core.errors import HandposeError
from inference.teacher.confidence import REJECT_BELOW
from inference.teacher.label_eval import best_fraction_within, frame_errors, operating_point, plot


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python scripts/label_eval.py", description=__doc__,
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
