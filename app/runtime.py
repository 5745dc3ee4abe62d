"""The app's one doorway to the inference runtime (Qt-free): sources, models, pipeline, tracker, recorder.

Everything the app needs from ``inference`` goes through these few functions, so the widgets never
depend on the runtime's details and the choices the app makes (replays loop, recordings play in real
time, what opens by default) live in one place.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from app.settings import AppSettings
from inference.core.errors import HandposeError
from inference.core.paths import project_root
from inference.formats.recording import Recorder
from inference.preprocess.segmentation import SegmentationParams
from inference.runtime.estimator import default_model_path, load_estimator
from inference.runtime.pipeline import FrameResult, Pipeline, PipelineSettings
from inference.runtime.smoothing import SmoothingParams
from inference.runtime.tracker import Tracker
from inference.sources import FrameSource, frame_count, open_source, require_color
from inference.teacher.estimator import TEACHER_MODELS
from inference.teacher.mediapipe_hands import mediapipe_available

log = logging.getLogger(__name__)

DEMO_DIR = project_root() / "assets" / "demo"
MODELS_DIR = project_root() / "models"
SYNTHETIC_SPEC = "synthetic:0"

# Replays are paced like a camera by default (None = as fast as they decode); set by `handpose app --replay-fps`.
replay_fps: float | None = 30.0
# Replays and recordings loop by default; a screenshot run plays a source once, stopping after `max_frames`,
# so that it always ends on the same frame (set by `app.launch`).
replay_loop: bool = True
max_frames: int | None = None


def default_model() -> Path:
    return default_model_path()


def demo_spec() -> str:
    return f"replay:{DEMO_DIR}"


def connected_cameras() -> list[tuple[str, str]]:
    """``(label, spec)`` of connected RealSense cameras; empty when none or when the SDK is missing."""
    try:
        from inference.sources.devices import list_devices

        devices = list_devices()
    except HandposeError as exc:
        log.info("no RealSense cameras listed: %s", exc)
        return []
    return [(f"RealSense {d.name} ({d.serial})", f"realsense:{d.serial}") for d in devices]


def default_source() -> str:
    """A connected RealSense if there is one, else the bundled demo sequence (else the synthetic hand)."""
    cameras = connected_cameras()
    if cameras:
        return cameras[0][1]
    return demo_spec() if DEMO_DIR.is_dir() else SYNTHETIC_SPEC


def source_choices() -> list[tuple[str, str]]:
    """What the source picker offers: cameras, the demo sequence, the synthetic hand."""
    choices = connected_cameras()
    if DEMO_DIR.is_dir():
        choices.append(("Demo sequence (assets/demo)", demo_spec()))
    choices.append(("Synthetic hand (live)", SYNTHETIC_SPEC))
    return choices


def model_choices() -> list[Path]:
    """The shipped models (``models/*.onnx``), then the RGB teacher's two models when MediaPipe is installed."""
    shipped = sorted(MODELS_DIR.glob("*.onnx")) if MODELS_DIR.is_dir() else []
    return shipped + ([Path(name) for name in TEACHER_MODELS] if mediapipe_available() else [])


def play_source(spec: str) -> FrameSource:
    """Build the source for ``spec`` the way the app plays it: replays and recordings loop."""
    kind = spec.partition(":")[0]
    if kind == "replay":
        return open_source(spec, loop=replay_loop, fps=replay_fps)
    if kind == "bag":
        return open_source(spec, loop=replay_loop, real_time=True)
    return open_source(spec)


def display_text(text: str) -> str:
    """``text`` with absolute paths under the working directory made relative and the home folder as ``~``, for
    labels and screenshots (a user's own folder names stay out of shared pictures)."""
    cwd, home = str(Path.cwd()), str(Path.home())
    if cwd != "/":
        text = text.replace(cwd + "/", "")
    return text.replace(home + "/", "~/") if home not in ("", "/") else text


def seekable_length(source: FrameSource) -> int | None:
    """Number of frames of a source that can seek (replays), else None."""
    return frame_count(source) if hasattr(source, "seek") else None


def position_of(source: FrameSource, index: int) -> int:
    """Seek position of the frame with ``Frame.index`` ``index`` (replays skip missing frames); else ``index``."""
    lookup = getattr(source, "position_of", None)
    return lookup(index) if lookup is not None else index


def load_model(path: str | Path) -> Any:
    """An ONNX model file, or the teacher (``mediapipe``, ``mediapipe-full``). The app shares the cores between its
    UI, capture, the network and the fit: onnxruntime's threads do not spin between frames."""
    return load_estimator(path, spin=False)


def pipeline_settings(s: AppSettings) -> PipelineSettings:
    return PipelineSettings(
        segmentation=SegmentationParams(near_mm=s.near_mm, far_mm=s.far_mm),
        cube_mm=s.cube_override_mm or None,  # None: the model's cube (its metadata)
        smoothing=s.smoothing,
        smoothing_params=SmoothingParams(min_cutoff_hz=s.smooth_min_cutoff_hz, beta_per_mm=s.smooth_beta_per_mm),
        refine=s.refine,
        max_hands=s.max_hands if s.max_hands in (1, 2) else AppSettings.max_hands,  # a hand-edited file cannot break it
    )


def make_pipeline(estimator: Any, s: AppSettings, source: FrameSource | None = None) -> Pipeline:
    """The pipeline of ``estimator``; HandposeError when ``source`` cannot feed it (no colour for the teacher)."""
    if source is not None and getattr(estimator, "needs_color", False):
        require_color(source, getattr(estimator, "name", "this model"))
    return Pipeline(estimator, pipeline_settings(s))


def update_pipeline(pipeline: Pipeline, s: AppSettings) -> None:
    """Apply changed settings to a running pipeline (thread-safe on the pipeline's side); they take effect on the
    next frame. Switching refinement on or off restarts the tracking (smoothing and the fit's track), so that a fit
    never starts from a pose that is frames old and the joints do not glide between the network's and the fit's."""
    new = pipeline_settings(s)
    restart = pipeline.settings.refine != new.refine or pipeline.settings.max_hands != new.max_hands
    pipeline.update_settings(new)
    if restart:  # refinement or the number of hands switched: every track starts afresh
        pipeline.reset()


def make_tracker(source: FrameSource, pipeline: Pipeline, on_result: Any, on_error: Any) -> Tracker:
    return Tracker(source, pipeline, on_result=on_result, on_error=on_error, max_frames=max_frames)


def make_recorder(directory: str | Path, live: bool) -> Recorder:
    """A recorder of frames + poses; live sources never wait for the disk (a full queue drops)."""
    return Recorder(directory, block=not live, poses=True)


def end_to_end_ms(state: Any, rendered_s: float) -> float:
    """From the frame in memory to its pixels updated, in ms: pipeline (segment, crop, infer, fit, post) + hand-over to
    the UI thread + render. Capture (decoding, the SDK's wait, a paced replay's sleep) is plotted apart."""
    timings = state.timings_ms
    pipeline_ms = timings.get("total")
    if pipeline_ms is None:
        pipeline_ms = sum(timings.get(k, 0.0) for k in ("segment", "crop", "infer", "fit", "post"))
    return pipeline_ms + max(rendered_s - state.delivered_s, 0.0) * 1000.0


__all__ = ["FrameResult", "default_model", "default_source", "end_to_end_ms", "play_source"]
