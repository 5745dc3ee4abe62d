"""Soak: run for a long while and report memory growth; with --app, the desktop window's FPS and latency too.

Without --app, the runtime alone (pipeline on a looped source, no window, no torch) processes --frames frames and
prints {"frames", "found", "wall_s", "rss_start_mb", "rss_end_mb", "rss_growth_mb"}. With --app, the real window
runs on the source for --minutes and prints frames processed and shown, their rates, the end-to-end latency
(median and p95 ms, from the frame in memory to its pixels), per-stage medians, resident memory (MB) sampled
every --sample-s seconds and its growth after the first minute. One JSON object on stdout; progress on stderr.

examples:
  handpose soak --source replay:assets/demo --frames 10000
  xvfb-run -a -s "-screen 0 1920x1080x24 +extension GLX" \\
      handpose soak --app --source replay:assets/demo --minutes 10 --replay-fps 0
"""

from __future__ import annotations

import argparse
import json

from handpose.commands.run import SOURCE_HELP, add_max_hands_argument, add_model_arguments


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--source", help=f"{SOURCE_HELP} (required without --app; with --app as `handpose app`)")
    add_model_arguments(parser)
    parser.add_argument("--refine", action=argparse.BooleanOptionalAction, default=None,
                        help="fit the hand model after the network (default: on; with --app and --settings: as "
                             "stored there)")
    add_max_hands_argument(parser, default=None)
    parser.add_argument("--frames", type=int, default=10000, help="frames to process without --app (default 10000)")
    parser.add_argument("--app", action="store_true", help="soak the desktop window instead (needs a display)")
    parser.add_argument("--minutes", type=float, default=10.0, help="with --app: how long to run (default 10)")
    parser.add_argument("--sample-s", type=float, default=60.0, help="with --app: memory sampling period (default 60)")
    parser.add_argument("--replay-fps", type=float, default=30.0,
                        help="with --app: replay pacing; 0 = as fast as possible (default 30)")
    parser.add_argument("--settings", metavar="INI",
                        help="with --app: use and update this settings INI (default: start from the user's stored "
                             "settings and keep changes in a throw-away copy)")


def run(args: argparse.Namespace) -> int:
    from inference.core.errors import HandposeError

    if args.app:
        result = _soak_app(args)
    else:
        if not args.source:
            raise HandposeError("--source is required (or --app for the window)")
        if args.frames < 1:
            raise HandposeError(f"--frames must be at least 1, got {args.frames}")
        result = _soak_runtime(args)
    print(json.dumps(result))
    return 0


def _soak_runtime(args: argparse.Namespace) -> dict:
    from handpose.commands.run import check_source_for, make_estimator, setup_logging
    from inference.evaluation.bench import LoopedSource, soak
    from inference.runtime.pipeline import Pipeline, PipelineSettings
    from inference.sources import open_source

    setup_logging("soak")
    first = open_source(args.source)  # an unknown source spec fails here, before the model loads
    estimator = make_estimator(args.model, args.backend, args.providers)
    try:
        check_source_for(estimator, first)
    finally:
        first.close()
    max_hands = args.max_hands or PipelineSettings.max_hands
    pipeline = Pipeline(estimator, PipelineSettings(refine=args.refine is not False, max_hands=max_hands))
    return soak(LoopedSource(lambda: open_source(args.source)), pipeline, args.frames)


def _soak_app(args: argparse.Namespace) -> dict:
    from app import runtime
    from app.soak import soak

    runtime.replay_fps = args.replay_fps or None
    # Without --settings the window starts from the user's stored settings and keeps its own in a scratch file.
    return soak(args.source, args.model, args.minutes, args.sample_s, args.settings, args.refine, args.max_hands)
