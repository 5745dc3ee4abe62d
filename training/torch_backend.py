"""A torch pose estimator behind the runtime's Estimator protocol (``inference.runtime.estimator.Estimator``).

For GPU machines without onnxruntime-gpu: it runs a training checkpoint (``.pt`` or a run directory) or an
fp32 ONNX export from ``handpose export`` (the net is rebuilt from the model arguments in the file's metadata
and its weights are read from the ONNX initializers, whose names are the torch parameter names).
On CUDA it runs in fp16 with a captured CUDA graph (one kernel-launch replay per frame); on CPU it runs eager
fp32 under ``torch.inference_mode``.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
from torch import nn

from inference.core.errors import ModelError
from inference.core.frame import HandCrop
from inference.runtime.model_meta import ModelMetadata, pack_inputs
from training.nets import ModelConfig, build_model


def _load_onnx(path: Path) -> tuple[nn.Module, ModelMetadata]:
    import onnx
    from onnx import numpy_helper

    try:
        proto = onnx.load(str(path))
    except Exception as exc:  # protobuf decode errors of several types
        raise ModelError(f"{path}: not a readable ONNX file ({type(exc).__name__})") from None
    try:
        meta = ModelMetadata.from_props({p.key: p.value for p in proto.metadata_props})
    except ValueError as exc:
        raise ModelError(f"{path}: {exc}") from None
    args = meta.training.get("model_args")
    if not args:
        raise ModelError(f"{path}: metadata has no training.model_args; the torch backend cannot rebuild the net")
    model = build_model(ModelConfig.from_dict(args), init=False)
    weights = {init.name: numpy_helper.to_array(init) for init in proto.graph.initializer}
    state = model.state_dict()
    missing = [k for k in state if k not in weights]
    if missing:
        raise ModelError(f"{path}: weights {missing[:2]}... not found by name (an fp16/int8 export?); "
                         "give the checkpoint or an fp32 export to the torch backend")
    model.load_state_dict({k: torch.from_numpy(np.array(weights[k], dtype=np.float32)).reshape(v.shape)
                           for k, v in state.items()})
    return model, meta


def load_for_inference(path: str | Path) -> tuple[nn.Module, ModelMetadata]:
    """``(eval-mode net, metadata)`` from a checkpoint, run directory or fp32 ONNX export."""
    from training.export import metadata_from_checkpoint
    from training.train import load_checkpoint, load_model

    path = Path(path)
    if path.suffix == ".onnx":
        if not path.is_file():
            raise ModelError(f"{path}: model file not found")
        model, meta = _load_onnx(path)
    else:
        ckpt = load_checkpoint(path)
        model, _ = load_model(ckpt)
        meta = metadata_from_checkpoint(ckpt)
    return model.eval(), meta


class TorchEstimator:
    """Batch-1 pose estimation with torch; same interface as ``inference.runtime.estimator.OnnxEstimator``.

    Args:
        path: checkpoint, run directory or fp32 ``.onnx`` from ``handpose export``.
        device: ``"auto"`` (CUDA when available), ``"cuda"``, ``"cuda:N"`` or ``"cpu"``.
        fp16: half precision (default: on CUDA).
        cuda_graph: capture the forward pass in a CUDA graph (CUDA only).
    """

    def __init__(
        self, path: str | Path, device: str = "auto", fp16: bool | None = None, cuda_graph: bool = True
    ) -> None:
        if device == "auto":
            device = "cuda" if torch.cuda.is_available() else "cpu"
        if device.startswith("cuda") and not torch.cuda.is_available():
            raise ModelError(f"torch backend: device {device!r} asked but CUDA is not available")
        self.device = torch.device(device)
        on_gpu = self.device.type == "cuda"
        self.fp16 = on_gpu if fp16 is None else fp16
        model, self.metadata = load_for_inference(path)
        self.path = Path(path)
        self.dtype = torch.float16 if self.fp16 else torch.float32
        self.model = model.to(self.device, self.dtype)
        size = self.metadata.input_size
        self._inputs = {name: torch.zeros(1, ch, size, size, device=self.device, dtype=self.dtype)
                        for name, ch in self.metadata.inputs}
        self._graph: torch.cuda.CUDAGraph | None = None
        self._output: torch.Tensor | None = None
        if on_gpu and cuda_graph:
            self._capture()
        self.provider = f"torch:{self.device.type}{':fp16' if self.fp16 else ''}{'+cudagraph' if self._graph else ''}"

    def _forward(self) -> torch.Tensor:
        return self.model(*self._inputs.values())

    def _capture(self) -> None:
        stream = torch.cuda.Stream()
        stream.wait_stream(torch.cuda.current_stream())
        with torch.cuda.stream(stream), torch.inference_mode():
            for _ in range(3):  # warm-up on a side stream, as CUDA graph capture requires
                self._forward()
        torch.cuda.current_stream().wait_stream(stream)
        graph = torch.cuda.CUDAGraph()
        with torch.cuda.graph(graph), torch.inference_mode():
            self._output = self._forward()
        self._graph = graph

    def _fill(self, crop: HandCrop) -> None:
        self.metadata.check_crop(crop, self.path)
        rgb = crop.rgb[None] if crop.rgb is not None else None
        for name, x in pack_inputs(self.metadata.input_layout, crop.depth[None, None], rgb).items():
            self._inputs[name].copy_(torch.from_numpy(np.ascontiguousarray(x)))

    @torch.inference_mode()
    def predict(self, crop: HandCrop) -> np.ndarray:
        """``crop`` -> ``(J, 3)`` float32 joints in cube units."""
        self._fill(crop)
        if self._graph is not None:
            self._graph.replay()
            out = self._output
        else:
            out = self._forward()
        assert out is not None
        return self.metadata.palm_to_nyu(out.float().cpu().numpy().reshape(-1, 3))
