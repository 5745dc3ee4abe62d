"""Evaluate predicted hand poses against labels: mean / median / per-joint 3D error and success rate.

LABELS and each PREDICTIONS file may be:
  - the 42-float uvd text format (one frame per line: 14 joints x u px, v px, d mm; NYU joint order),
    converted to camera space with NYU's intrinsics or --intrinsics;
  - an NYU joint_data.mat (its joint_xyz, view --view) or an NYU-format directory holding one;
  - a poses JSONL written by `handpose run` (rows matched to labels by their 0-based "index").
Two positional files (text, .mat) must have the same number of frames. A labelled frame with no JSONL row
is "missing", one whose row has "found": false is "not found".

Metrics: mean error = mean over all joints of the frames that have a prediction; median error = median of
the per-frame mean joint errors; per-joint error = mean per joint; success rate at T mm = % of ALL labelled
frames whose maximum joint error is <= T (missing and not-found frames count as failures).

Jitter (mm): where the labels hold a hand still (`handpose synth --mode still`), the mean frame-to-frame joint
acceleration |p[k+1] - 2p[k] + p[k-1]| of the predictions over consecutive frames with unmoving labels (null
when the labels never stay still).

--json prints one object {"frames", "missing", "not_found", "mean_error_mm", "median_error_mm",
"per_joint_mm": {P1..C: mm}, "success_rate": {"0": %, "10": %, ..., "80": %}, "jitter_mm"}. With several prediction
files it prints one object keyed by file stem instead: {"<stem>": {...}, ...}.

Two hands: when LABELS is a two-hand folder (`handpose synth --hands 2`: the right hand in joint_data.mat, the left
in joint_data_left.mat) and a poses JSONL carries "hands" lists ({"handedness": "right"|"left", "found",
"joints_xyz_mm" or "joints_uvd", ...}), each side is also scored on its own: the first hand of that handedness on
a line against that side's labels (a line without one: that side "not found"; frames where the left hand is out
of view are not labelled frames of the left side). The JSON object gains "hands": {"right": {...}, "left": {...}}
with the same metrics, and "both": the scores that do not trust the reported sides (each found hand matched to the
labelled hand nearest its palm, within 100 mm): {"frames_both_labelled", "both_found_pct", "hands_matched",
"handedness_correct_pct", "false_hands", "mean_error_mm"}, and where the folder holds its depth frames,
"frames_both_visible" and "both_visible_found_pct": the same share found, of the frames where each hand shows at
least 4 of its 14 joints in the depth (a hand the other one hides entirely is still labelled); the top-level fields
stay those of the lines' top-level pose against joint_data.mat.

With --model instead of --predictions, LABELS must be an NYU-format directory (depth frames + joint_data.mat):
every frame runs through the real runtime pipeline (segmentation -> crop, re-centred on the palm the network
finds -> model -> decode -> model-based refinement unless --no-refine; no smoothing, as `handpose run
--no-smoothing`) with each model M (an .onnx file via onnxruntime, or a training checkpoint / run directory via
the torch backend), and the estimates are scored exactly like a poses JSONL (frames with no hand found are "not
found", corrupt frames "missing"). --centre labels crops around the labelled joints' centre instead (no
re-centring): with --no-refine that measures the network alone. Several models are compared like several
prediction files (one plot, JSON keyed by model file stem).

examples:
  handpose eval --labels nyu_eval/groundtruth/nyu_test_groundtruth_label.txt \\
      --predictions nyu_eval/results/*.txt --plot docs/nyu_comparison.png
  handpose eval --labels data/nyu/test --model models/depthnet.onnx runs/fusenet --plot models.png
  handpose eval --labels data/nyu/test --model models/depthnet.onnx --centre labels --json
  handpose eval --labels data/two_hands --predictions two_hands_poses.jsonl --json
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

CENTRES = ("segment", "labels")  # inference.evaluation.models.CENTRES (not imported here: it loads numpy)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--labels", required=True, type=Path, metavar="L",
                        help="ground truth: uvd text, joint_data.mat, NYU directory or poses JSONL "
                             "(with --model: an NYU-format directory, whose frames are run)")
    what = parser.add_mutually_exclusive_group(required=True)
    what.add_argument("--predictions", nargs="+", type=Path, metavar="P",
                      help="one or more prediction files (same formats); several are compared")
    what.add_argument("--model", nargs="+", type=Path, metavar="M",
                      help="one or more models to run on the frames of --labels: .onnx (onnxruntime), a "
                           "checkpoint / run directory (torch backend) or the RGB teacher (mediapipe, "
                           "mediapipe-full); several are compared")
    parser.add_argument("--centre", choices=CENTRES, default=None,
                        help="with --model: crop centre from the runtime's segmentation (default) or from the "
                             "labelled joints (the network alone)")
    parser.add_argument("--refine", action=argparse.BooleanOptionalAction, default=True,
                        help="with --model: fit the hand model after the network (default on, as `handpose run`); "
                             "--no-refine scores the network's joints")
    parser.add_argument("--max-frames", type=int, default=None, metavar="N",
                        help="with --model: run and score only the first N frames of --labels (default: all)")
    parser.add_argument("--providers", default="auto",
                        help="with --model: onnxruntime providers in order, e.g. cuda,cpu (default: auto)")
    parser.add_argument("--json", action="store_true",
                        help="print one JSON object on stdout (keyed by file stem when several files)")
    parser.add_argument("--plot", type=Path, metavar="PNG",
                        help="write the success-rate curve and per-joint error bars of all files to PNG")
    parser.add_argument("--intrinsics", type=Path, metavar="JSON",
                        help="camera of uvd text files: JSON with fx, fy, cx, cy (default: NYU's Kinect)")
    parser.add_argument("--view", type=int, default=1,
                        help="view of joint_data.mat files, 1 = frontal (default: %(default)s)")


def result_names(paths: list[Path]) -> list[str]:
    """File stems; the paths as given where two stems coincide; numbered (``path [k]``) where even those do."""
    stems = [p.stem for p in paths]
    names = [stem if stems.count(stem) == 1 else str(path) for stem, path in zip(stems, paths, strict=True)]
    return [name if names.count(name) == 1 else f"{name} [{k + 1}]" for k, name in enumerate(names)]


def format_table(results: dict) -> str:
    """A readable summary of ``name -> EvalResult``: counts, mean, median, success rates, per-joint errors.

    Per-side results of two-hand folders come in as names ``"NAME [right]"`` / ``"NAME [left]"``."""
    from inference.core.skeleton import EVAL_SHORT_NAMES
    from inference.evaluation.metrics import REPORT_THRESHOLDS_MM

    width = max(12, *(len(n) for n in results))
    head = f"{'predictions':<{width}} {'frames':>6} {'missing':>7} {'notfound':>8} {'mean_mm':>8} {'median_mm':>9}"
    head += "".join(f" {'SR@' + str(t):>6}" for t in REPORT_THRESHOLDS_MM)
    lines = [head]
    for name, r in results.items():
        row = f"{name:<{width}} {r.frames:>6} {r.missing:>7} {r.not_found:>8} {r.mean_error_mm:>8.2f} "
        row += f"{r.median_error_mm:>9.2f}" + "".join(f" {p:>6.1f}" for p in r.success_rate_pct())
        lines.append(row)
    jitters = {name: r.jitter_mm for name, r in results.items() if r.jitter_mm is not None}
    if jitters:
        lines += ["", "jitter on still-labelled frames (mean |p[k+1] - 2p[k] + p[k-1]|, mm): "
                  + ", ".join(f"{name} {j:.2f}" for name, j in jitters.items())]
    lines += ["", "success rate SR@T: % of all labelled frames with max joint error <= T mm", "",
              "mean error per joint (mm)",
              f"{'predictions':<{width}}" + "".join(f" {j:>5}" for j in EVAL_SHORT_NAMES)]
    for name, r in results.items():
        lines.append(f"{name:<{width}}" + "".join(f" {e:>5.1f}" for e in r.per_joint_mm))
    return "\n".join(lines)


def predict_with_models(args: argparse.Namespace) -> dict:  # name -> inference.formats.pose_files.PoseSet
    """Run each ``--model`` over the frames of the ``--labels`` directory through the runtime pipeline."""
    from tqdm import tqdm

    from handpose.commands.run import check_source_for, make_estimator, setup_logging
    from inference.core.errors import ModelError
    from inference.evaluation.models import check_eval_joints, predict_sequence
    from inference.runtime.pipeline import Pipeline, PipelineSettings
    from inference.sources import open_source

    setup_logging("eval")
    from inference.teacher.estimator import is_teacher_model

    for path in args.model:  # all checked before any slow model load
        if not path.exists() and not is_teacher_model(path):
            raise ModelError(f"{path}: model not found (give an .onnx file, a checkpoint or a training run directory)")
    names = result_names(args.model)
    source = open_source(f"replay:{args.labels}", view=args.view)
    pipelines, paths = {}, {}
    for name, path in zip(names, args.model, strict=True):
        # .onnx runs on onnxruntime; anything else is a checkpoint / run directory only torch can load (or a teacher).
        backend = "onnx" if path.suffix.lower() == ".onnx" else "torch"
        estimator = make_estimator(str(path), backend, args.providers)
        check_source_for(estimator, source)
        pipelines[name] = Pipeline(estimator, PipelineSettings(smoothing=False, gestures=False, refine=args.refine))
        check_eval_joints(pipelines[name], str(path))
        paths[name] = path
    source.use_color(any(p.estimator.metadata.uses_rgb for p in pipelines.values()))
    centre = args.centre or "segment"
    total = len(source) if args.max_frames is None else min(len(source), args.max_frames)
    bar = tqdm(total=total, unit="frame", desc=f"eval ({len(names)} model{'s' * (len(names) > 1)}, "
               f"centre {centre})", file=sys.stderr, disable=None)
    try:
        return predict_sequence(source, pipelines, paths, centre, on_frame=lambda: bar.update(1),
                                max_frames=args.max_frames)
    finally:
        bar.close()


def run(args: argparse.Namespace) -> int:
    import numpy as np
    from tqdm import tqdm

    from inference.core.errors import DataFormatError, HandposeError
    from inference.core.geometry import NYU_INTRINSICS, Intrinsics
    from inference.evaluation.metrics import evaluate, rows_without_label_row
    from inference.evaluation.plots import check_plot_path, plot_comparison
    from inference.evaluation.two_hands import both_visible_in_folder, two_hand_summary
    from inference.formats.pose_files import (
        PoseSet,
        is_poses_jsonl,
        load_left_labels,
        load_poses,
        read_hand_lists,
        read_hands_jsonl,
    )

    intrinsics = Intrinsics.from_json(args.intrinsics) if args.intrinsics else NYU_INTRINSICS
    if args.model is None and args.centre is not None:
        raise HandposeError("--centre applies to --model only (prediction files already hold their poses)")
    if args.model is None and args.max_frames is not None:
        raise HandposeError("--max-frames applies to --model only (prediction files are scored as they are)")
    if args.max_frames is not None and args.max_frames < 1:
        raise HandposeError(f"--max-frames must be >= 1, got {args.max_frames}")
    if args.model is not None and not args.labels.is_dir():
        raise DataFormatError(args.labels, "--model needs --labels to be an NYU-format directory "
                                           "(depth frames + joint_data.mat) whose frames the models run on")
    if args.plot:
        check_plot_path(args.plot)  # before any (possibly long) evaluation
    labels = load_poses(args.labels, intrinsics, args.view)
    if not labels.found.any():
        raise DataFormatError(labels.path, f"no labelled frames: all {len(labels)} rows are empty (NaN / not found)")
    if args.max_frames is not None:
        from inference.evaluation.models import first_frames

        labels = first_frames(labels, args.max_frames)  # the frames not run are not labelled frames of this eval
    results = {}
    sides: dict[str, dict] = {}  # name -> {"right": EvalResult, "left": EvalResult} for two-hand folders
    both: dict[str, dict] = {}  # name -> two_hand_summary (found, sides, errors whatever the sides reported)
    left_labels = load_left_labels(args.labels, args.view) if args.model is None else None

    seen: list[dict[int, bool] | None] = []

    def visible() -> dict[int, bool] | None:
        """Where both labelled hands are seen in the folder's depth frames (read once; None: no depth frames)."""
        if not seen:
            seen.append(None if left_labels is None else both_visible_in_folder(args.labels, labels, left_labels,
                                                                                 intrinsics, args.view))
        return seen[0]

    def score_sides(name: str, path: Path) -> None:
        hands = read_hands_jsonl(path, intrinsics) if left_labels is not None and is_poses_jsonl(path) else None
        if hands is not None:
            sides[name] = {"right": evaluate(labels, hands["right"]), "left": evaluate(left_labels, hands["left"])}
            both[name] = two_hand_summary(labels, left_labels, read_hand_lists(path, intrinsics), visible=visible())

    def score(name: str, predictions: PoseSet) -> None:
        results[name] = evaluate(labels, predictions)
        extra = rows_without_label_row(labels, predictions)
        if extra:
            print(f"handpose eval: warning: {extra} of the {len(predictions)} frames of {name} have no row in the "
                  f"labels {labels.path} ({len(labels)} rows): they are not scored", file=sys.stderr)

    if args.model is not None:
        for name, predictions in predict_with_models(args).items():
            score(name, predictions)
    else:
        names = result_names(args.predictions)
        bar = tqdm(list(zip(names, args.predictions, strict=True)), desc="evaluating", unit="file", file=sys.stderr,
                   disable=len(names) < 2)
        for name, path in bar:
            score(name, load_poses(path, intrinsics, args.view))
            score_sides(name, path)

    if args.plot:
        plot_comparison(results, args.plot)
        print(f"wrote {args.plot}", file=sys.stderr)
    if args.json:
        dicts = {name: r.to_dict() for name, r in results.items()}
        for name, per_side in sides.items():
            dicts[name]["hands"] = {side: r.to_dict() for side, r in per_side.items()}
            dicts[name]["hands"]["both"] = {k: (round(v, 3) if isinstance(v, float) and np.isfinite(v) else
                                                None if isinstance(v, float) else v) for k, v in both[name].items()}
        out = next(iter(dicts.values())) if len(dicts) == 1 else dicts
        print(json.dumps(out, indent=2))
    else:
        rows = dict(results)
        for name, per_side in sides.items():
            rows.update({f"{name} [{side}]": r for side, r in per_side.items()})
        print(format_table(rows))
        for name, summary in both.items():
            visible_part = (f" ({summary['both_visible_found_pct']:.1f}% of the {summary['frames_both_visible']} "
                            "where both are seen)" if "frames_both_visible" in summary else "")
            print(f"{name}: both hands found in {summary['both_found_pct']:.1f}% of {summary['frames_both_labelled']} "
                  f"frames{visible_part}; side right for {summary['handedness_correct_pct']:.1f}% of "
                  f"{summary['hands_matched']} hands found; {summary['false_hands']} false hands; "
                  f"{summary['mean_error_mm']:.1f} mm over the hands found")
    return 0
