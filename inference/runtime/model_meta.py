"""What an exported model says about itself (ONNX ``metadata_props``), read by the runtime.

Written by ``training/export.py``, read by ``inference/runtime/estimator.py``: nothing is configured twice.

Input layouts (``input_layout``), each tensor float32 ``(B, C, S, S)`` with S = ``input_size``:
- ``"depth"``: one input ``depth`` (C=1), the normalised depth crop;
- ``"rgb"``: one input ``rgb`` (C=3), the masked, standardised RGB crop;
- ``"rgbd"``: one input ``rgbd`` (C=4), depth then RGB stacked (input fusion, RGBD-Net);
- ``"depth+rgb"``: two inputs ``depth`` (C=1) and ``rgb`` (C=3) (Fuse-Net, FusePred-Net);
- ``"frame"``: no crop tensors: a frame-level estimator reading the whole RGB-D frame (the MediaPipe teacher,
  :class:`inference.runtime.estimator.FrameEstimator`); never an ONNX file.
The output ``joints`` is ``(B, 3 * J)`` in cube units (eqs. 4.7-4.9), joint order ``joint_ids``.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from inference.core.errors import ModelError
from inference.core.frame import HandCrop
from inference.core.skeleton import EVAL_JOINT_IDS, EVAL_JOINT_NAMES
from inference.handmodel.palm_convention import CONVENTIONS, GENERATOR_V1, NYU, to_nyu_palm
from inference.preprocess.crop_defaults import CROP_SIZE, DEFAULT_CUBE_MM

PREFIX = "handpose."
FORMAT_VERSION = 1
# The crop's planes and their channels, and each layout's inputs as (name, planes stacked along the channels).
PLANE_CHANNELS = {"depth": 1, "rgb": 3}
INPUT_PLANES: dict[str, tuple[tuple[str, tuple[str, ...]], ...]] = {
    "depth": (("depth", ("depth",)),),
    "rgb": (("rgb", ("rgb",)),),
    "rgbd": (("rgbd", ("depth", "rgb")),),
    "depth+rgb": (("depth", ("depth",)), ("rgb", ("rgb",))),
    "frame": (),
}
# layout -> ((input name, channels), ...), in the model's input order.
INPUT_LAYOUTS: dict[str, tuple[tuple[str, int], ...]] = {
    layout: tuple((name, sum(PLANE_CHANNELS[p] for p in planes)) for name, planes in inputs)
    for layout, inputs in INPUT_PLANES.items()
}
OUTPUT_NAME = "joints"


def pack_inputs(layout: str, depth: Any, rgb: Any = None,
                concat: Callable[[Sequence[Any], int], Any] = np.concatenate) -> dict[str, Any]:
    """The model inputs of ``layout`` from a batch of crops: ``{name: (B, C, S, S)}`` in the model's input order.

    The one packing, for the runtime (numpy, one crop) and training (torch batches: ``concat=torch.cat``).

    Args:
        depth: ``(B, 1, S, S)`` normalised depth crops.
        rgb: ``(B, 3, S, S)`` standardised RGB crops, or None for a layout without RGB.
        concat: ``concat(arrays, axis)``, stacking planes along the channel axis (1).
    """
    planes = {"depth": depth, "rgb": rgb}
    out = {}
    for name, parts in INPUT_PLANES[layout]:
        arrays = [planes[p] for p in parts]
        out[name] = arrays[0] if len(arrays) == 1 else concat(arrays, 1)
    return out


@dataclass
class ModelMetadata:
    """Self-description of a pose model. ``rgb_mean``/``rgb_std`` are on the 0-255 scale."""

    architecture: str
    input_layout: str = "depth"
    input_size: int = CROP_SIZE
    cube_mm: float = DEFAULT_CUBE_MM
    joint_ids: list[int] = field(default_factory=lambda: list(EVAL_JOINT_IDS))
    joint_names: list[str] = field(default_factory=lambda: list(EVAL_JOINT_NAMES))
    rgb_mean: list[float] | None = None
    rgb_std: list[float] | None = None
    training: dict[str, Any] = field(default_factory=dict)
    metrics: dict[str, Any] = field(default_factory=dict)
    palm_convention: str = NYU

    @property
    def uses_rgb(self) -> bool:
        return self.input_layout != "depth"

    @property
    def inputs(self) -> tuple[tuple[str, int], ...]:
        """``((name, channels), ...)`` of the model's inputs."""
        return INPUT_LAYOUTS[self.input_layout]

    def palm_to_nyu(self, joints: np.ndarray) -> np.ndarray:
        """The model's ``(J, 3)`` output with its palm points in NYU's convention (unchanged when they are already:
        see :mod:`inference.handmodel.palm_convention`)."""
        return joints if self.palm_convention == NYU else to_nyu_palm(joints, self.joint_ids)

    def to_props(self) -> dict[str, str]:
        """String key/values for ONNX ``metadata_props``."""
        values: dict[str, Any] = {
            "format_version": FORMAT_VERSION,
            "architecture": self.architecture,
            "input_layout": self.input_layout,
            "input_size": self.input_size,
            "cube_mm": self.cube_mm,
            "joint_ids": self.joint_ids,
            "joint_names": self.joint_names,
            "rgb_mean": self.rgb_mean,
            "rgb_std": self.rgb_std,
            "training": self.training,
            "metrics": self.metrics,
            "palm_convention": self.palm_convention,
        }
        return {PREFIX + k: json.dumps(v) for k, v in values.items()}

    def check_crop(self, crop: HandCrop, model_path: object) -> None:
        """Raise ModelError (naming ``model_path``) when ``crop`` cannot feed this model."""
        size = self.input_size
        if crop.depth.shape != (size, size):
            raise ModelError(f"{model_path}: crop is {crop.depth.shape}, the model takes {size}x{size}")
        if self.uses_rgb and crop.rgb is None:
            raise ModelError(f"{model_path}: the model's input layout {self.input_layout!r} needs RGB, the frame has "
                             "none (use a depth-only model or a source with colour)")

    @classmethod
    def from_props(cls, props: dict[str, str]) -> ModelMetadata:
        """Parse ``metadata_props``; raises ValueError naming the missing or bad key."""
        values: dict[str, Any] = {}
        for key, raw in props.items():
            if key.startswith(PREFIX):
                try:
                    values[key[len(PREFIX):]] = json.loads(raw)
                except ValueError:
                    raise ValueError(f"metadata '{key}' is not valid JSON: {raw[:60]!r}") from None
        if "architecture" not in values:
            raise ValueError(f"no '{PREFIX}architecture' in the model's metadata: not a handpose model")
        layout = values.get("input_layout", "depth")
        if layout not in INPUT_LAYOUTS:
            raise ValueError(f"unknown input_layout {layout!r}; expected one of {sorted(INPUT_LAYOUTS)}")
        meta = cls(
            architecture=str(values["architecture"]),
            input_layout=layout,
            input_size=int(values.get("input_size", CROP_SIZE)),
            cube_mm=float(values.get("cube_mm", DEFAULT_CUBE_MM)),
            joint_ids=list(values.get("joint_ids", EVAL_JOINT_IDS)),
            joint_names=list(values.get("joint_names", EVAL_JOINT_NAMES)),
            rgb_mean=values.get("rgb_mean"),
            rgb_std=values.get("rgb_std"),
            training=dict(values.get("training") or {}),
            metrics=dict(values.get("metrics") or {}),
            # A model exported before the key existed was trained on the generator's first palm convention.
            palm_convention=str(values.get("palm_convention", GENERATOR_V1)),
        )
        if meta.palm_convention not in CONVENTIONS:
            raise ValueError(f"unknown palm_convention {meta.palm_convention!r}; expected one of {list(CONVENTIONS)}")
        if meta.uses_rgb and (meta.rgb_mean is None or meta.rgb_std is None):
            raise ValueError(f"input_layout {layout!r} uses RGB but rgb_mean/rgb_std are missing")
        return meta
