"""Training the left/right classifier (training/side_classifier.py): examples from a two-hand folder, a short
training run, the export read back by the runtime; and the shipped weights reproduce the shipped ONNX."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch

from handpose.cli import main
from inference.runtime.estimator import project_root
from inference.runtime.side_classifier import SideClassifier
from training.side_classifier import (
    LEFT,
    NOT_A_HAND,
    RIGHT,
    SideTrainConfig,
    export_side_classifier,
    extract_examples,
    load_side_net,
    predict_logits,
    train_side_classifier,
)

SHIPPED = project_root() / "models" / "side" / "sidenet.onnx"


def test_examples_train_and_export_to_what_the_runtime_reads(tmp_path: Path) -> None:
    folder = tmp_path / "two"
    assert main(["synth", str(folder), "--frames", "4", "--seed", "3", "--mode", "random", "--subjects", "2",
                 "--subject-offset", "40", "--hands", "2", "--workers", "1"]) == 0
    x, y = extract_examples(folder, np.random.default_rng(0))
    assert x.shape[1:] == (128, 128) and x.dtype == np.float16 and len(x) == len(y) >= 4
    assert {RIGHT, LEFT} <= set(y.tolist()) <= {RIGHT, LEFT, NOT_A_HAND}
    net, log = train_side_classifier(x, y, SideTrainConfig(epochs=1, batch_size=4, threads=1))
    assert len(log["history"]) == 1 and np.isfinite(log["history"][0]["loss"])
    out = export_side_classifier(net, tmp_path / "side" / "sidenet.onnx", {"cube_mm": 300.0})
    card = json.loads(out.with_suffix(".json").read_text())
    assert card["file"] == "sidenet.onnx" and card["params"] > 0
    runtime = SideClassifier(out)  # the runtime takes it for a side classifier (its metadata says so)
    from inference.core.frame import HandCrop

    crops = [HandCrop(depth=x[k].astype(np.float32), rgb=None, com_uvd=np.zeros(3), com_xyz_mm=np.zeros(3),
                      cube_mm=300.0, mask=np.ones((128, 128), bool), window_px=(0, 0, 1, 1)) for k in range(3)]
    np.testing.assert_allclose(runtime.logits(crops, symmetric=False), predict_logits(net, x[:3]), atol=1e-4)
    np.testing.assert_allclose(predict_logits(load_side_net(out.with_suffix(".pt")), x[:3]),
                               predict_logits(net, x[:3]), atol=1e-5)


@pytest.mark.skipif(not SHIPPED.is_file(), reason="the shipped side classifier is not in this checkout")
def test_the_shipped_weights_reproduce_the_shipped_onnx() -> None:
    raw = torch.load(SHIPPED.with_suffix(".pt"), map_location="cpu", weights_only=True)  # weights only, no code
    assert set(raw) == {"model_args", "model"}
    net = load_side_net(SHIPPED.with_suffix(".pt"))
    x = np.clip(np.random.default_rng(0).normal(0.3, 0.5, (2, 128, 128)), -1, 1).astype(np.float32)
    import onnxruntime as ort

    session = ort.InferenceSession(str(SHIPPED), providers=["CPUExecutionProvider"])
    np.testing.assert_allclose(session.run(None, {"depth": x[:, None]})[0], predict_logits(net, x), atol=1e-4)
