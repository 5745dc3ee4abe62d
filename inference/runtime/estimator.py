"""Pose estimators: a network behind one small interface, configured by the model's own metadata.

:class:`Estimator` is the interface the pipeline uses for networks that read a hand crop; a
:class:`FrameEstimator` reads the whole frame instead (the MediaPipe teacher, :mod:`inference.teacher`), and the
pipeline picks its path once, from the estimator's kind, when it is built.

:class:`OnnxEstimator` runs an exported ONNX file with onnxruntime, trying execution providers GPU-first
(TensorRT -> CUDA -> CPU) and falling back for real when one fails to initialise; a torch backend
(``training/torch_backend.py``) implements the same protocol for GPUs without onnxruntime-gpu, and the CLI (the
composition root) chooses between them.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Protocol, runtime_checkable

import numpy as np

from inference.core.errors import ModelError
from inference.core.frame import Frame, HandCrop
from inference.core.paths import project_root
from inference.runtime.model_meta import OUTPUT_NAME, ModelMetadata, pack_inputs

log = logging.getLogger(__name__)

MODEL_ENV_VAR = "HANDPOSE_MODEL"
DEFAULT_MODEL_FILES = {"depth": "depthnet.onnx", "rgbd": "fusenet.onnx"}

# GPU first; onnxruntime appends CPU itself for nodes a GPU provider cannot run.
AUTO_PROVIDERS: tuple[str, ...] = ("TensorrtExecutionProvider", "CUDAExecutionProvider", "CPUExecutionProvider")
_SHORT_PROVIDER_NAMES = {
    "tensorrt": "TensorrtExecutionProvider", "trt": "TensorrtExecutionProvider",
    "cuda": "CUDAExecutionProvider", "cpu": "CPUExecutionProvider",
}


@runtime_checkable
class Estimator(Protocol):
    """What the pipeline needs from a pose network.

    Attributes:
        metadata: the model's self-description (input layout and size, cube, joints, RGB statistics).
        provider: where it runs, e.g. ``"CUDAExecutionProvider"`` or ``"torch:cuda"``.
    """

    metadata: ModelMetadata
    provider: str

    def predict(self, crop: HandCrop) -> np.ndarray:
        """One crop (batch 1) -> ``(J, 3)`` float32 joints in cube units (eqs. 4.7-4.9)."""
        ...


@runtime_checkable
class FrameEstimator(Protocol):
    """An estimator of whole RGB-D frames (no segmentation, no crop): the pipeline calls it instead of
    segment -> crop -> :class:`Estimator`, and times it as the ``infer`` stage.

    Attributes:
        metadata: self-description (architecture, joints; ``input_layout`` "frame").
        provider: where it runs, for display.
        needs_color: True when it reads ``Frame.color`` (a depth-only source cannot feed it).

    It may also offer ``refine_hand(frame, hand, refiner, skip_when_sure=True) -> (hand, Refinement)``: the hand
    refined by the articulated-hand fit (:class:`inference.fit.refiner.HandRefiner`; ``skip_when_sure``: no fit where
    it would not change the joints, live); the pipeline then refines the nearest hand unless ``refine`` is off.
    """

    metadata: ModelMetadata
    provider: str
    needs_color: bool

    def estimate_frame(self, frame: Frame):  # -> an object with ``hands`` (nearest first) and ``reason``
        """All hands of ``frame``: ``.hands`` each with ``joints_xyz_mm``/``joints_uvd`` ``(J, 3)``,
        ``joint_confidence`` ``(J,)``, ``score``, ``handedness``, ``com_xyz_mm``; ``.reason`` when there is none."""
        ...

    def reset(self) -> None:
        """Forget any state carried between frames (tracking) after a seek or a switch of source."""
        ...


def default_model_path(kind: str = "depth") -> Path:
    """The model to use when none is given: ``$HANDPOSE_MODEL`` (a file, or a teacher name such as ``mediapipe``),
    else ``models/depthnet.onnx`` (kind "depth") or ``models/fusenet.onnx`` (kind "rgbd") under the project root."""
    if kind not in DEFAULT_MODEL_FILES:
        raise ValueError(f"kind must be one of {sorted(DEFAULT_MODEL_FILES)}, got {kind!r}")
    env = os.environ.get(MODEL_ENV_VAR)
    if env:
        return Path(env)
    return project_root() / "models" / DEFAULT_MODEL_FILES[kind]


def resolve_providers(providers: Sequence[str] | str = ("auto",)) -> list[str]:
    """Expand ``"auto"`` and short names (``cuda``, ``tensorrt``/``trt``, ``cpu``) to onnxruntime provider names.

    CPU is always last, so that a failing GPU provider has somewhere to fall back to.
    """
    if isinstance(providers, str):
        providers = [p.strip() for p in providers.split(",") if p.strip()]
    out: list[str] = []
    for name in providers:
        expanded = AUTO_PROVIDERS if name.lower() == "auto" else (_SHORT_PROVIDER_NAMES.get(name.lower(), name),)
        out += [p for p in expanded if p not in out]
    if "CPUExecutionProvider" not in out:
        out.append("CPUExecutionProvider")
    return out


def _provider_options(provider: str) -> dict[str, object]:
    if provider == "TensorrtExecutionProvider":
        # Building a TensorRT engine takes minutes for Depth-Net; cache it next to the user's other caches.
        cache = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "handpose" / "tensorrt"
        cache.mkdir(parents=True, exist_ok=True)
        return {"trt_engine_cache_enable": True, "trt_engine_cache_path": str(cache)}
    return {}


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return (text.splitlines()[0] if text else type(exc).__name__)[:160]


def _short(provider: str) -> str:
    return provider.removesuffix("ExecutionProvider")


class OnnxEstimator:
    """An exported pose model run by onnxruntime, batch 1.

    Reads the model's ``metadata_props`` (:class:`ModelMetadata`) and checks the graph's inputs and output
    against them, tries ``providers`` in order (first that initialises wins; the choice and every fallback are
    logged once, in one line), casts inputs to the model's dtype (fp16 exports) and warms up.

    Args:
        path: the ``.onnx`` file.
        providers: provider names in order of preference, ``"auto"`` = TensorRT -> CUDA -> CPU.
        threads: intra-op threads for the CPU provider (0 = onnxruntime's default, all cores).
        spin: let those threads busy-wait for work between inferences (onnxruntime's default): the lowest latency
            on an otherwise idle machine, but on a few cores shared with other busy threads (the app's UI, capture
            and the model fit) the spinning takes the time they need (the app on 2 cores: 21.8 frames/s with it,
            27.8 without).
        warmup_runs: inferences run on a blank crop before the first real one (allocations, kernel choice).

    Raises:
        ModelError: missing or corrupt file, no handpose metadata, inputs/output that disagree with it.
    """

    def __init__(
        self, path: str | Path, providers: Sequence[str] | str = ("auto",), threads: int = 0, warmup_runs: int = 2,
        spin: bool = True,
    ) -> None:
        import onnxruntime as ort

        self.path = Path(path)
        if self.path.is_dir():
            raise ModelError(f"{self.path}: is a folder, not an .onnx model file (a training run is exported with "
                             "`handpose export RUN --out FILE.onnx`, or run with --backend torch)")
        if not self.path.is_file():
            raise ModelError(f"{self.path}: model file not found (give --model or set ${MODEL_ENV_VAR})")
        if self.path.stat().st_size == 0:
            raise ModelError(f"{self.path}: empty file (0 bytes), not an ONNX model")
        options = ort.SessionOptions()
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        if threads > 0:
            options.intra_op_num_threads = threads
        if not spin:
            options.add_session_config_entry("session.intra_op.allow_spinning", "0")
        options.log_severity_level = 3  # onnxruntime's own warnings would break the one-line rule
        names = providers.split(",") if isinstance(providers, str) else list(providers)
        auto = "auto" in [n.strip().lower() for n in names]
        self.session, self.provider, self.fallbacks, warn = self._open_session(
            ort, options, resolve_providers(providers), missing_is_expected=auto
        )
        self.metadata = self._read_metadata()
        self._input_dtype, self._inputs = self._check_io()
        self.joints = len(self.metadata.joint_ids)
        size = self.metadata.input_size
        # Preallocated batch-1 input buffers, refilled in place every frame.
        self._buffers = {name: np.zeros((1, ch, size, size), self._input_dtype) for name, ch in self._inputs}
        note = f" (fell back: {'; '.join(self.fallbacks)})" if warn else ""
        (log.warning if warn else log.info)(
            "inference on %s, model %s (%s, %s input %dx%d)%s", _short(self.provider), self.path.name,
            self.metadata.architecture, self.metadata.input_layout, size, size, note,
        )
        for _ in range(warmup_runs):
            self.run_raw()

    # --- set-up -----------------------------------------------------------------------------------
    def _open_session(self, ort, options, wanted: list[str], missing_is_expected: bool):  # ort: the module
        """First provider of ``wanted`` that really initialises -> (session, provider, fallback notes, warn).

        ``warn`` is True when a provider failed, or was asked for by name and is missing from the build (under
        "auto", GPU providers missing from a CPU build are expected and not worth a warning).
        """
        from onnxruntime.capi import onnxruntime_pybind11_state as ort_state

        # Failures of the file itself; anything else raised while creating a session is the provider's.
        model_errors = (ort_state.InvalidProtobuf, ort_state.InvalidGraph, ort_state.NoSuchFile)
        available = set(ort.get_available_providers())
        fallbacks: list[str] = []
        warn = False
        for provider in wanted:
            if provider not in available:
                fallbacks.append(f"{_short(provider)} not available in this onnxruntime build")
                warn |= not missing_is_expected
                continue
            try:
                session = ort.InferenceSession(
                    str(self.path), sess_options=options, providers=[(provider, _provider_options(provider))]
                )
            except model_errors as exc:
                raise ModelError(f"{self.path}: not a valid ONNX model ({_first_line(exc)})") from None
            except Exception as exc:  # a provider's own failure (driver, library, out of memory): try the next
                if "Load model from" in str(exc):  # ...unless loading the file itself failed (e.g. no graph in it)
                    raise ModelError(f"{self.path}: not a valid ONNX model ({_first_line(exc)})") from None
                message = _first_line(exc)
                fallbacks.append(f"{_short(provider)} failed to initialise ({message})")
                warn = True
                continue
            # onnxruntime silently drops a provider whose library fails to load: check what it really uses.
            used = session.get_providers()[0]
            if used != provider:
                fallbacks.append(f"{_short(provider)} failed to initialise (onnxruntime fell back to {_short(used)})")
                warn = True
                continue
            return session, provider, fallbacks, warn
        raise ModelError(f"{self.path}: no execution provider could run the model: {'; '.join(fallbacks)}")

    def _read_metadata(self) -> ModelMetadata:
        props = self.session.get_modelmeta().custom_metadata_map
        try:
            return ModelMetadata.from_props(props)
        except ValueError as exc:
            raise ModelError(f"{self.path}: {exc} (export it with `handpose export`)") from None

    def _check_io(self) -> tuple[type, list[tuple[str, int]]]:
        meta = self.metadata
        size = meta.input_size
        expected = [(name, ch) for name, ch in meta.inputs]
        want = ", ".join(f"{name} (1, {ch}, {size}, {size})" for name, ch in expected)
        got_inputs = {i.name: i for i in self.session.get_inputs()}
        got = ", ".join(f"{i.name} {tuple(i.shape)}" for i in self.session.get_inputs())
        problem = (f"inputs do not match its metadata (layout {meta.input_layout!r}): "
                   f"expected {want}; the graph has {got}")
        if set(got_inputs) != {name for name, _ in expected}:
            raise ModelError(f"{self.path}: {problem}")
        dtypes = set()
        for name, ch in expected:
            shape = got_inputs[name].shape
            batch_ok = len(shape) == 4 and (not isinstance(shape[0], int) or shape[0] == 1)
            if not batch_ok or list(shape[1:]) != [ch, size, size]:
                raise ModelError(f"{self.path}: {problem}")
            dtypes.add(got_inputs[name].type)
        if not dtypes <= {"tensor(float)", "tensor(float16)"} or len(dtypes) != 1:
            raise ModelError(f"{self.path}: inputs must all be float32 or all float16, got {sorted(dtypes)}")
        outputs = self.session.get_outputs()
        n_out = 3 * len(meta.joint_ids)
        out_shape = outputs[0].shape if outputs else []
        if (
            len(outputs) != 1 or outputs[0].name != OUTPUT_NAME or len(out_shape) != 2
            or (isinstance(out_shape[1], int) and out_shape[1] != n_out)
        ):
            have = [(o.name, tuple(o.shape)) for o in outputs]
            raise ModelError(f"{self.path}: expected one output '{OUTPUT_NAME}' (1, {n_out}) for "
                             f"{len(meta.joint_ids)} joints; the graph has {have}")
        dtype = np.float16 if dtypes == {"tensor(float16)"} else np.float32
        first = got_inputs[expected[0][0]].shape[0]
        self._batch_dynamic = not isinstance(first, int)  # a graph exported with batch 1 takes one crop a run
        return dtype, expected

    # --- inference --------------------------------------------------------------------------------
    def run_raw(self) -> np.ndarray:
        """One bare ``session.run`` on the current input buffers -> ``(1, 3J)`` (what benchmarks compare to)."""
        return self.session.run([OUTPUT_NAME], self._buffers)[0]

    def _fill(self, crop: HandCrop) -> None:
        self.metadata.check_crop(crop, self.path)
        rgb = crop.rgb[None] if crop.rgb is not None else None
        for name, x in pack_inputs(self.metadata.input_layout, crop.depth[None, None], rgb).items():
            self._buffers[name][...] = x

    def predict(self, crop: HandCrop) -> np.ndarray:
        """``crop`` -> ``(J, 3)`` float32 joints in cube units."""
        self._fill(crop)
        return self.metadata.palm_to_nyu(self.run_raw().reshape(self.joints, 3).astype(np.float32, copy=False))

    def predict_batch(self, crops: Sequence[HandCrop]) -> np.ndarray:
        """Several crops -> ``(B, J, 3)`` float32: one run of the network (several hands cost less than as many
        runs), or one run per crop when the graph's batch is fixed at 1."""
        if len(crops) == 1 or not self._batch_dynamic:
            return np.stack([self.predict(c) for c in crops])
        for crop in crops:
            self.metadata.check_crop(crop, self.path)
        depth = np.stack([c.depth for c in crops])[:, None]
        rgb = np.stack([c.rgb for c in crops]) if self.metadata.uses_rgb else None
        feeds = {name: np.ascontiguousarray(x, self._input_dtype)
                 for name, x in pack_inputs(self.metadata.input_layout, depth, rgb).items()}
        out = self.session.run([OUTPUT_NAME], feeds)[0].reshape(len(crops), self.joints, 3).astype(np.float32)
        return np.stack([self.metadata.palm_to_nyu(joints) for joints in out])


def predict_crops(estimator: Estimator, crops: Sequence[HandCrop]) -> np.ndarray:
    """``(B, J, 3)`` joints of several crops, as one batch where the estimator can (``predict_batch``)."""
    batch = getattr(estimator, "predict_batch", None)
    if batch is not None and len(crops) > 1:
        return np.asarray(batch(crops), np.float32)
    return np.stack([estimator.predict(c) for c in crops])


def load_estimator(
    path: str | Path | None = None, providers: Sequence[str] | str = ("auto",), spin: bool = True
) -> OnnxEstimator | FrameEstimator:
    """The estimator ``path`` names (default: :func:`default_model_path`): a teacher (``mediapipe``,
    ``mediapipe-full``: :class:`inference.teacher.estimator.TeacherEstimator`) or an ONNX file (``spin``: see
    :class:`OnnxEstimator`)."""
    from inference.teacher.estimator import TeacherEstimator, is_teacher_model

    path = default_model_path() if path is None else path
    if is_teacher_model(path):
        return TeacherEstimator(str(path))
    return OnnxEstimator(path, providers=providers, spin=spin)
