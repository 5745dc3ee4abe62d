"""Estimate hand poses from a source and write one JSON line per frame (to --out, or stdout).

Each line: {"index", "timestamp_s", "found", "joints_uvd", "joints_xyz_mm" (14x3, mm, y up; null when no
hand), "com_xyz_mm", "gesture", "gesture_confidence", "timings_ms"} and, with refinement (the default),
"fit_residual_mm" (mean distance of the hand's points to the fitted model) and "fit_status" ("ok", or why the
network's joints were kept); with --joints 36 also "joints36_xyz_mm" and "joints36_uvd" (36x3). With up to two
hands (--max-hands 2, the default) also "hands": [{"handedness": "left"|"right", "found", "joints_uvd",
"joints_xyz_mm", "com_xyz_mm", "score", "joint_confidence", "gesture"}, ...] nearest first, and the nearest hand's
"handedness", "score"; the top-level joints stay the nearest hand's. --max-hands 1 writes the single-hand lines
(the nearest hand, no handedness). Progress and the summary go to stderr.
Frames that cannot be decoded are skipped, counted and listed at the end. Ctrl-C stops; every line already
written is kept. Never needs a display.

examples:
  handpose run --source replay:assets/demo --out poses.jsonl
  handpose run --source realsense --model models/fusenet.onnx --max-frames 300 --out take.jsonl
  handpose eval --labels assets/demo/joint_data.mat --predictions poses.jsonl
"""

from __future__ import annotations

import argparse
import logging
import os
import sys

SOURCE_HELP = "replay:DIR | bag:FILE | realsense[:SERIAL] | synthetic[:SEED]"


def add_model_arguments(parser: argparse.ArgumentParser) -> None:
    """--model, --backend, --providers (shared with `handpose bench`)."""
    parser.add_argument("--model", default=None,
                        help="pose model .onnx, or the RGB teacher: mediapipe (lite) | mediapipe-full (needs colour "
                             "and the optional MediaPipe package) (default: $HANDPOSE_MODEL, else "
                             "models/depthnet.onnx)")
    parser.add_argument("--backend", choices=("auto", "onnx", "torch"), default="auto",
                        help="onnx = onnxruntime; torch = training/torch_backend.py (CUDA graphs + fp16 on a GPU); "
                             "auto = onnx unless onnxruntime has no GPU provider while torch sees an NVIDIA GPU")
    parser.add_argument("--providers", default="auto",
                        help="onnxruntime providers in order, e.g. cuda,cpu (default auto = tensorrt,cuda,cpu)")


def add_refine_argument(parser: argparse.ArgumentParser) -> None:
    """--refine / --no-refine (shared by run, bench, eval, record and app)."""
    parser.add_argument("--refine", action=argparse.BooleanOptionalAction, default=True,
                        help="fit the articulated hand model to the depth after the network (model-based "
                             "refinement, docs/fitting.md; default on); --no-refine keeps the network's joints")


# Two hands by default, as people tracking hands live expect: with one hand in view the two-hand path costs about what
# the single-hand path does (README, "Two hands"); --max-hands 1 is the single-hand path, bit for bit.
def add_max_hands_argument(parser: argparse.ArgumentParser, default: int | None = 2) -> None:
    """--max-hands (shared by run, bench, record and soak; default None: as stored, for the app's soak)."""
    shown = "as stored in the app's settings with --app, else 2" if default is None else default
    parser.add_argument("--max-hands", type=int, choices=(1, 2), default=default,
                        help="2: up to two hands, each labelled left/right and followed over time (a JSONL line "
                             "gains \"hands\"; the top-level fields stay the nearest hand's); 1: the nearest hand "
                             f"only, without handedness (default {shown})")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--source", required=True, help=SOURCE_HELP)
    add_model_arguments(parser)
    add_refine_argument(parser)
    add_max_hands_argument(parser)
    parser.add_argument("--out", default=None, help="poses JSONL file (default: stdout)")
    parser.add_argument("--max-frames", type=int, default=None, metavar="N", help="stop after N frames")
    parser.add_argument("--headless", action="store_true",
                        help="accepted for scripts; `run` never opens a window (use `handpose app` for one)")
    parser.add_argument("--joints", type=int, choices=(14, 36), default=14,
                        help="36: also write all 36 NYU joints of the fitted hand model (joints36_xyz_mm, "
                             "joints36_uvd; null on frames without a fit)")
    parser.add_argument("--no-smoothing", action="store_true",
                        help="turn off the temporal smoothing filter (One Euro, docs/smoothing.md) and write each "
                             "frame's own estimate")


def setup_logging(command: str) -> None:
    """Runtime log lines (provider choice, skipped frames) to stderr, prefixed with the command."""
    if not logging.getLogger().handlers:
        logging.basicConfig(level=logging.INFO, stream=sys.stderr, format=f"handpose {command}: %(message)s")


def _nvidia_gpu_present() -> bool:
    # Without importing torch (seconds): the driver's device node exists on any machine with an NVIDIA GPU.
    return os.path.exists("/dev/nvidiactl")


def make_estimator(model: str | None, backend: str, providers: str):  # -> inference.runtime.estimator.Estimator
    """The estimator the flags ask for (the CLI is the only place allowed to choose the torch backend)."""
    import importlib.util

    import onnxruntime

    from inference.core.errors import HandposeError
    from inference.runtime.estimator import OnnxEstimator, default_model_path
    from inference.teacher.estimator import TeacherEstimator, is_teacher_model

    path = model or default_model_path()
    if is_teacher_model(path):  # MediaPipe on the CPU: --backend and --providers do not apply
        return TeacherEstimator(str(path))
    if backend == "auto":
        ort_gpu = {"CUDAExecutionProvider", "TensorrtExecutionProvider"} & set(onnxruntime.get_available_providers())
        use_torch = not ort_gpu and _nvidia_gpu_present() and importlib.util.find_spec("torch") is not None
        backend = "torch" if use_torch else "onnx"
    if backend == "onnx":
        return OnnxEstimator(path, providers=providers)
    try:
        from training.torch_backend import TorchEstimator
    except ImportError as exc:
        raise HandposeError(f"--backend torch needs torch and training/torch_backend.py ({exc})") from None
    return TorchEstimator(path)


def check_source_for(estimator: object, source: object) -> None:
    """A model that reads colour (the teacher) refuses a depth-only source, before any frame is processed."""
    if getattr(estimator, "needs_color", False):
        from inference.sources import require_color

        require_color(source, getattr(estimator, "name", "this model"))  # type: ignore[arg-type]


def run(args: argparse.Namespace) -> int:
    from tqdm import tqdm

    from inference.core.errors import DataFormatError, HandposeError
    from inference.formats.poses_jsonl import PosesJsonlWriter
    from inference.runtime.pipeline import FrameResult, Pipeline, PipelineSettings
    from inference.runtime.tracker import Tracker
    from inference.sources import frame_count, open_source

    setup_logging("run")
    if args.max_frames is not None and args.max_frames <= 0:
        raise HandposeError(f"--max-frames must be positive, got {args.max_frames}")
    writer = PosesJsonlWriter(args.out)  # fails on an unwritable path before any other work
    try:
        source = open_source(args.source)
        estimator = make_estimator(args.model, args.backend, args.providers)
        check_source_for(estimator, source)
        source.use_color(estimator.metadata.uses_rgb)  # unused colour is not decoded, so it cannot cost a frame
        pipeline = Pipeline(estimator, PipelineSettings(smoothing=not args.no_smoothing, refine=args.refine,
                                                        max_hands=args.max_hands))
        length = frame_count(source)
        total = min(length, args.max_frames) if length is not None and args.max_frames else length or args.max_frames
        bar = tqdm(total=total, unit="frame", desc="run", file=sys.stderr, disable=None)
        found = 0
        errors: list[Exception] = []
        corrupt: list[str] = []

        def on_result(result: FrameResult) -> None:
            nonlocal found
            writer.write(result.frame.index, result.frame.timestamp_s, result.pose, joints36=args.joints == 36)
            found += int(result.pose.found)
            bar.update(1)

        def on_error(exc: Exception) -> None:
            (corrupt if isinstance(exc, DataFormatError) else errors).append(exc)

        tracker = Tracker(source, pipeline, on_result, on_error, max_frames=args.max_frames)
        tracker.start()
        interrupted = False
        try:
            while not tracker.wait(0.2):  # short waits keep the main thread responsive to Ctrl-C
                pass
        except KeyboardInterrupt:
            interrupted = True
        finally:
            tracker.stop()
            bar.close()
    finally:
        writer.close()

    skipped = [f"{i}: {reason}" for i, reason in getattr(source, "skipped", [])] + [str(e) for e in corrupt]
    where = args.out or "stdout"
    n = writer.lines
    print(f"{'interrupted: ' if interrupted else ''}{n} frames -> {where}; hand found in {found} "
          f"({100.0 * found / max(n, 1):.1f}%); {len(skipped)} corrupt frames skipped", file=sys.stderr)
    for line in skipped:
        print(f"  skipped frame {line}", file=sys.stderr)
    if errors:
        raise errors[0]  # a HandposeError prints as one line; anything else is a bug worth its traceback
    if interrupted:
        raise KeyboardInterrupt
    return 0
