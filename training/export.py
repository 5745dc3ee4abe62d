"""Export a training run to a self-describing ONNX model (``handpose export RUN --out FILE.onnx``).

The graph's inputs follow :data:`inference.runtime.model_meta.INPUT_LAYOUTS` (``depth`` / ``rgb`` / ``rgbd`` /
``depth`` + ``rgb`` for the two-stream nets, FusePred-Net included as ONE graph), float32 ``(B, C, S, S)``
with a dynamic batch; the output ``joints`` is ``(B, 3J)`` in cube units. ``metadata_props`` carry a
:class:`inference.runtime.model_meta.ModelMetadata` (architecture, layout, cube, joints, RGB statistics, training
data and metrics) so the runtime configures itself from the file. A model card ``FILE.json`` is written beside,
and the net's fp32 weights as a weights-only torch checkpoint ``FILE.pt`` (model arguments, weights, RGB
statistics, data and metrics; no optimizer state): ``handpose train --init FILE.pt`` starts from it and the torch
backend runs it.

Options: ``fp16`` stores weights and computes in half precision (inputs and output stay float32: the graph
casts); ``int8`` quantises the fc/Gemm weights dynamically to int8 (99.5% of Depth-Net's weights), with
onnxruntime's quantiser.
"""

from __future__ import annotations

import json
import tempfile
import warnings
from pathlib import Path
from typing import Any

import torch
from torch import nn

from inference.core.errors import ModelError
from inference.core.outputs import atomic_write, check_output_file, output_error, write_bytes_atomic, write_text_atomic
from inference.handmodel.palm_convention import GENERATOR_V1
from inference.preprocess.crop_defaults import DEFAULT_CUBE_MM
from inference.runtime.model_meta import INPUT_LAYOUTS, OUTPUT_NAME, ModelMetadata
from training.nets import ModelConfig, count_params
from training.train import load_checkpoint, load_model

OPSET = 17


def metadata_from_checkpoint(ckpt: dict[str, Any], precision: str = "fp32") -> ModelMetadata:
    """The :class:`ModelMetadata` of a loaded checkpoint (model args, data and metrics included)."""
    cfg = ModelConfig.from_dict(ckpt["model_args"])
    train_cfg = ckpt.get("train_config") or {}
    recipe = {k: train_cfg.get(k) for k in ("lr", "momentum", "dropout", "batch_size", "epochs", "centre", "seed")}
    return ModelMetadata(
        architecture=cfg.arch,
        input_layout=cfg.input_layout,
        input_size=cfg.input_size,
        cube_mm=float(ckpt.get("cube_mm", DEFAULT_CUBE_MM)),
        rgb_mean=ckpt.get("rgb_mean"),
        rgb_std=ckpt.get("rgb_std"),
        training={"model_args": cfg.to_dict(), "precision": precision, "epoch": ckpt.get("epoch"),
                  "data": ckpt.get("data", {}), "recipe": recipe},
        metrics=dict(ckpt.get("metrics") or {}),
        # Runs from before the data's palm convention was recorded were all trained on the generator's first one.
        palm_convention=str((ckpt.get("data") or {}).get("palm_convention", GENERATOR_V1)),
    )


class _CastHalf(nn.Module):
    """Float32 in and out around a half-precision net (the runtime feeds float32)."""

    def __init__(self, net: nn.Module) -> None:
        super().__init__()
        self.net = net.half()

    def forward(self, *inputs: torch.Tensor) -> torch.Tensor:
        return self.net(*(x.half() for x in inputs)).float()


def export_onnx(model: nn.Module, meta: ModelMetadata, out: str | Path, fp16: bool = False, int8: bool = False) -> Path:
    """Write ``model`` (eval mode, CPU) as ONNX with ``meta`` in its metadata_props; returns the path."""
    import onnx

    if fp16 and int8:
        raise ModelError("choose one of --fp16 and --int8")
    out = check_output_file(out, "--out")  # one clear line, not a traceback from deep inside the exporter
    model = model.cpu().eval()
    names = [name for name, _ in INPUT_LAYOUTS[meta.input_layout]]
    size = meta.input_size
    dummy = tuple(torch.zeros(1, ch, size, size) for _, ch in INPUT_LAYOUTS[meta.input_layout])
    net: nn.Module = _CastHalf(model) if fp16 else model
    out.parent.mkdir(parents=True, exist_ok=True)
    # Intermediate files in a hidden folder beside the output (same disk; a device such as /dev/null: the
    # system's temporary folder), removed whatever happens.
    beside = None if out.exists() and not out.is_file() else out.parent
    try:
        with tempfile.TemporaryDirectory(prefix=f".{out.name}.", dir=beside) as work:
            tmp = Path(work) / "model.onnx"
            with torch.no_grad(), warnings.catch_warnings():
                warnings.simplefilter("ignore")  # the legacy exporter's deprecation and tracer notes are not the user's
                torch.onnx.export(
                    net, dummy, str(tmp), input_names=names, output_names=[OUTPUT_NAME], opset_version=OPSET,
                    dynamic_axes={n: {0: "batch"} for n in [*names, OUTPUT_NAME]}, do_constant_folding=True,
                    dynamo=False,
                )
            if int8:
                from onnxruntime.quantization import QuantType, quantize_dynamic

                quantised = Path(work) / "int8.onnx"
                quantize_dynamic(str(tmp), str(quantised), weight_type=QuantType.QInt8,
                                 op_types_to_quantize=["Gemm", "MatMul"])
                tmp = quantised
            proto = onnx.load(str(tmp))
    except OSError as exc:  # the disk filled up while exporting
        raise output_error(out, exc, "--out", kept=out.exists()) from None
    del proto.metadata_props[:]
    for key, value in meta.to_props().items():
        entry = proto.metadata_props.add()
        entry.key, entry.value = key, value
    proto.producer_name = "handpose"
    onnx.checker.check_model(proto)
    write_bytes_atomic(out, proto.SerializeToString(), "--out")
    return out


def write_model_card(onnx_path: Path, meta: ModelMetadata, params: int) -> Path:
    """``FILE.json`` beside the model: its metadata plus size and parameter count, machine-readable."""
    card = {
        "file": onnx_path.name, "bytes": onnx_path.stat().st_size, "params": params,
        "architecture": meta.architecture, "input_layout": meta.input_layout, "input_size": meta.input_size,
        "inputs": {name: [None, ch, meta.input_size, meta.input_size] for name, ch in meta.inputs},
        "output": {OUTPUT_NAME: [None, 3 * len(meta.joint_ids)], "units": "cube units, (xyz - com) / (cube_mm / 2)"},
        "cube_mm": meta.cube_mm, "joint_ids": meta.joint_ids, "joint_names": meta.joint_names,
        "rgb_mean": meta.rgb_mean, "rgb_std": meta.rgb_std, "training": meta.training, "metrics": meta.metrics,
    }
    path = onnx_path.with_suffix(".json")
    write_text_atomic(path, json.dumps(card, indent=2) + "\n")
    return path


WEIGHTS_KEYS = ("model_args", "model", "train_config", "rgb_mean", "rgb_std", "cube_mm", "input_size", "data",
                "epoch", "metrics")


def write_weights(ckpt: dict[str, Any], path: str | Path) -> Path:
    """A portable weights-only checkpoint of a loaded checkpoint: what rebuilding and describing the net needs,
    without optimizer state or history (``torch.load(weights_only=True)`` loads it)."""
    path = Path(path)
    with atomic_write(path, "wb") as fh:  # whole or not at all; a full disk leaves no .part file
        torch.save({k: ckpt[k] for k in WEIGHTS_KEYS if k in ckpt}, fh)
    return path


def export_run(run: str | Path, out: str | Path, fp16: bool = False, int8: bool = False) -> tuple[Path, ModelMetadata]:
    """Export ``RUN/best.pt`` (or a checkpoint file) to ``out`` (+ the card ``.json`` and weights ``.pt`` beside);
    returns the path and its metadata."""
    check_output_file(out, "--out")  # before loading anything
    ckpt = load_checkpoint(run)
    model, _ = load_model(ckpt)
    meta = metadata_from_checkpoint(ckpt, "fp16" if fp16 else "int8" if int8 else "fp32")
    path = export_onnx(model, meta, out, fp16=fp16, int8=int8)
    write_model_card(path, meta, count_params(model))
    if path.with_suffix(".pt").resolve() != Path(ckpt["path"]).resolve():
        write_weights(ckpt, path.with_suffix(".pt"))
    return path, meta
