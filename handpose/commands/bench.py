"""Measure per-stage latency and FPS of the pose pipeline on a source (looped when shorter than --frames).

Stages (ms per frame, median and 95th percentile): capture (the source delivering the frame: PNG decoding
or the camera SDK's wait, reported apart), segment, crop, infer (every network pass of the frame: one, or more
when the crop is re-centred on the palm the network found), fit (model-based refinement: observation, inverse
kinematics, the fit), post (decode, smoothing, gesture) and total = segment + crop + infer + fit + post. Also:
bare_infer_ms (the network alone: one session.run on the same input right after each frame), overhead_ms (per
frame, total minus fit minus that bare call: what the pipeline adds to the network besides the fit),
segment_crop_ms and process_cpu_ms (CPU time of all threads while a frame was processed: on a machine busy with
other work it stays near what an idle machine's wall time would be).
By default frames are captured and processed one after another so each stage is timed alone; --threaded
runs the capture thread + worker of `handpose run` / the app and reports their throughput as fps.

examples:
  handpose bench --source replay:assets/demo --frames 300 --json
  handpose bench --model models/fusenet.onnx --source synthetic:1 --frames 500 --threaded
"""

from __future__ import annotations

import argparse
import json
import sys

from handpose.commands.run import SOURCE_HELP, add_max_hands_argument, add_model_arguments, add_refine_argument


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--source", required=True, help=SOURCE_HELP)
    add_model_arguments(parser)
    add_refine_argument(parser)
    add_max_hands_argument(parser)
    parser.add_argument("--frames", type=int, default=200, help="frames to measure (default 200)")
    parser.add_argument("--warmup", type=int, default=5, help="unmeasured frames first (default 5)")
    parser.add_argument("--no-bare", action="store_true",
                        help="skip the bare network call after each frame (no overhead_ms; halves the run time)")
    parser.add_argument("--threaded", action="store_true", help="time the threaded tracker instead (real throughput)")
    parser.add_argument("--json", action="store_true", help="print one JSON object on stdout")


def _table(result: dict) -> str:
    lines = [f"{result['frames']} frames, {result['fps']:.1f} FPS, hand found in {result['found']}"]
    for stage, values in result["stages_ms"].items():
        lines.append(f"  {stage:<8} median {values['median']:8.3f} ms   p95 {values['p95']:8.3f} ms")
    for key in ("segment_crop_ms", "bare_infer_ms", "overhead_ms", "process_cpu_ms"):
        if key in result:
            values = result[key]
            p95 = f"   p95 {values['p95']:8.3f} ms" if "p95" in values else ""
            lines.append(f"  {key.removesuffix('_ms'):<13} median {values['median']:8.3f} ms{p95}")
    return "\n".join(lines)


def run(args: argparse.Namespace) -> int:
    from handpose.commands.run import check_source_for, make_estimator, setup_logging
    from inference.core.errors import HandposeError
    from inference.evaluation.bench import LoopedSource, bare_inference_ms, bench_sequential, bench_threaded
    from inference.runtime.pipeline import Pipeline, PipelineSettings
    from inference.sources import open_source

    setup_logging("bench")
    if args.frames <= 0 or args.warmup < 0:
        raise HandposeError(f"--frames must be positive and --warmup >= 0, got {args.frames} and {args.warmup}")
    first = open_source(args.source)  # an unknown source spec fails here, before the model loads
    estimator = make_estimator(args.model, args.backend, args.providers)
    try:
        check_source_for(estimator, first)
    finally:
        first.close()  # a camera opened to see its streams is released for the looped source
    pipeline = Pipeline(estimator, PipelineSettings(refine=args.refine, max_hands=args.max_hands))
    source = LoopedSource(lambda: open_source(args.source))
    if args.threaded:
        report = bench_threaded(source, pipeline, args.frames, warmup=args.warmup)
        if not args.no_bare:  # the worker thread owns the session while running: time the bare calls after
            report.bare_infer_ms = bare_inference_ms(estimator, min(args.frames, 50))
    else:
        report = bench_sequential(source, pipeline, args.frames, warmup=args.warmup, bare=not args.no_bare)
    result = report.to_json()
    result.update(model=str(getattr(estimator, "path", args.model)), provider=estimator.provider,
                  mode="threaded" if args.threaded else "sequential")
    if args.json:
        print(json.dumps(result))
    else:
        print(_table(result))
    if report.found == 0:
        print("warning: no hand was found in any frame; the infer stage never ran", file=sys.stderr)
    return 0
