"""Tiny but real ONNX pose models for tests, built with ``onnx.helper`` (no torch needed).

Every model follows the export contract of :mod:`inference.runtime.model_meta`: one float input per stream named as
the layout says, ``(batch, C, S, S)`` with a symbolic batch dimension, and one output ``joints`` ``(batch, 3J)``
in cube units. The graph per stream is ``Conv 3x3 (C -> 8) -> Relu -> GlobalAveragePool -> Flatten``; the
streams are concatenated (two-input layouts) and fed to ``Gemm -> Tanh``. Weights are seeded random numbers,
so outputs are deterministic, differ per input, and lie in (-1, 1).

Usage::

    from tests.helpers.tiny_models import make_tiny_model
    path = make_tiny_model(tmp_path / "m.onnx", layout="depth+rgb", fp16=True)

Broken variants for error tests: ``metadata=False`` (no handpose metadata), ``metadata=ModelMetadata(...)``
(any metadata, e.g. one that disagrees with the graph), :func:`make_wrong_shape_model` and
:func:`make_corrupt_model`.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

from inference.core.skeleton import EVAL_JOINT_IDS, EVAL_JOINT_NAMES
from inference.runtime.model_meta import INPUT_LAYOUTS, OUTPUT_NAME, ModelMetadata

HIDDEN_CHANNELS = 8
# Plausible 0-255 RGB statistics of masked crops (most pixels are masked to 0).
TINY_RGB_MEAN = [40.0, 32.0, 28.0]
TINY_RGB_STD = [60.0, 50.0, 45.0]


def tiny_metadata(
    layout: str = "depth", input_size: int = 128, joints: int = 14, cube_mm: float = 300.0
) -> ModelMetadata:
    """The metadata :func:`make_tiny_model` writes by default."""
    ids = list(EVAL_JOINT_IDS[:joints]) if joints <= len(EVAL_JOINT_IDS) else list(range(joints))
    names = list(EVAL_JOINT_NAMES[:joints]) if joints <= len(EVAL_JOINT_NAMES) else [f"J{i}" for i in ids]
    uses_rgb = layout != "depth"
    return ModelMetadata(
        architecture="tiny-test",
        input_layout=layout,
        input_size=input_size,
        cube_mm=cube_mm,
        joint_ids=ids,
        joint_names=names,
        rgb_mean=TINY_RGB_MEAN if uses_rgb else None,
        rgb_std=TINY_RGB_STD if uses_rgb else None,
        training={"data": "none (random weights)"},
    )


def _graph(
    layout: str, input_size: int, joints: int, rng: np.random.Generator, elem: int, np_dtype: type
) -> onnx.GraphProto:
    nodes: list[onnx.NodeProto] = []
    inits: list[onnx.TensorProto] = []
    inputs: list[onnx.ValueInfoProto] = []
    pooled: list[str] = []
    for name, channels in INPUT_LAYOUTS[layout]:
        inputs.append(helper.make_tensor_value_info(name, elem, ["batch", channels, input_size, input_size]))
        w = rng.normal(0.0, 0.5, (HIDDEN_CHANNELS, channels, 3, 3)).astype(np_dtype)
        b = rng.normal(0.0, 0.1, (HIDDEN_CHANNELS,)).astype(np_dtype)
        inits += [numpy_helper.from_array(w, f"{name}_w"), numpy_helper.from_array(b, f"{name}_b")]
        nodes += [
            helper.make_node("Conv", [name, f"{name}_w", f"{name}_b"], [f"{name}_conv"], pads=[1, 1, 1, 1]),
            helper.make_node("Relu", [f"{name}_conv"], [f"{name}_relu"]),
            helper.make_node("GlobalAveragePool", [f"{name}_relu"], [f"{name}_gap"]),
            helper.make_node("Flatten", [f"{name}_gap"], [f"{name}_flat"], axis=1),
        ]
        pooled.append(f"{name}_flat")
    features = pooled[0]
    if len(pooled) > 1:
        nodes.append(helper.make_node("Concat", pooled, ["features"], axis=1))
        features = "features"
    width = HIDDEN_CHANNELS * len(pooled)
    fc_w = rng.normal(0.0, 0.3 / np.sqrt(width), (3 * joints, width)).astype(np_dtype)
    fc_b = rng.normal(0.0, 0.2, (3 * joints,)).astype(np_dtype)
    inits += [numpy_helper.from_array(fc_w, "fc_w"), numpy_helper.from_array(fc_b, "fc_b")]
    nodes += [
        helper.make_node("Gemm", [features, "fc_w", "fc_b"], ["fc"], transB=1),
        helper.make_node("Tanh", ["fc"], [OUTPUT_NAME]),
    ]
    output = helper.make_tensor_value_info(OUTPUT_NAME, elem, ["batch", 3 * joints])
    return helper.make_graph(nodes, "tiny_pose", inputs, [output], inits)


def make_tiny_model(
    path: str | Path,
    layout: str = "depth",
    input_size: int = 128,
    joints: int = 14,
    seed: int = 0,
    metadata: bool | ModelMetadata = True,
    fp16: bool = False,
) -> Path:
    """Write a tiny pose model and return its path.

    Args:
        path: where to write the ``.onnx`` file (parent directories are created).
        layout: one of ``inference.runtime.model_meta.INPUT_LAYOUTS`` ("depth", "rgb", "rgbd", "depth+rgb").
        input_size: S of the ``(batch, C, S, S)`` inputs.
        joints: J, the output is ``(batch, 3J)``.
        seed: seeds the random weights.
        metadata: True writes :func:`tiny_metadata`; False writes none; a ModelMetadata is written as given.
        fp16: float16 weights, inputs and output (as a half-precision export would have).
    """
    if layout not in INPUT_LAYOUTS:
        raise ValueError(f"layout must be one of {sorted(INPUT_LAYOUTS)}, got {layout!r}")
    elem, np_dtype = (TensorProto.FLOAT16, np.float16) if fp16 else (TensorProto.FLOAT, np.float32)
    graph = _graph(layout, input_size, joints, np.random.default_rng(seed), elem, np_dtype)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)], producer_name="handpose-tests")
    model.ir_version = 8  # readable by every onnxruntime >= 1.10
    if metadata is True:
        metadata = tiny_metadata(layout, input_size, joints)
    if isinstance(metadata, ModelMetadata):
        helper.set_model_props(model, metadata.to_props())
    onnx.checker.check_model(model)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    onnx.save(model, path)
    return path


def make_wrong_shape_model(path: str | Path, layout: str = "depth") -> Path:
    """A model whose graph takes 64x64 inputs while its metadata claims 128x128."""
    return make_tiny_model(path, layout=layout, input_size=64, metadata=tiny_metadata(layout, input_size=128))


def make_corrupt_model(path: str | Path) -> Path:
    """A file named .onnx holding the first half of a real model (a truncated download)."""
    path = Path(path)
    full = make_tiny_model(path.with_name(path.stem + "_full.onnx")).read_bytes()
    path.write_bytes(full[: len(full) // 2])
    return path
