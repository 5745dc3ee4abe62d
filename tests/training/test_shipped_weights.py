"""Every shipped ONNX model has its weights-only torch checkpoint beside it (models/NAME.pt, what `handpose
train --init` starts from), small enough to ship, and that checkpoint is the same net: it reproduces the ONNX
file's outputs."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import onnxruntime as ort
import pytest
import torch

from training.export import WEIGHTS_KEYS
from training.train import load_checkpoint, load_model

MODELS = Path(__file__).resolve().parents[2] / "models"
MAX_BYTES = 16 * 2**20  # the guide's limit for a shipped file


@pytest.mark.parametrize("onnx_path", sorted(MODELS.glob("*.onnx")), ids=lambda p: p.name)
def test_weights_beside_each_shipped_onnx_reproduce_it(onnx_path: Path) -> None:
    pt = onnx_path.with_suffix(".pt")
    assert pt.is_file(), f"{pt} is missing: `handpose export RUN --out {onnx_path}` writes it"
    assert pt.stat().st_size < MAX_BYTES
    raw = torch.load(pt, map_location="cpu", weights_only=True)  # weights-only: no pickled code
    assert set(raw) <= set(WEIGHTS_KEYS) and {"model_args", "model"} <= set(raw)

    model, _ = load_model(load_checkpoint(pt))
    model.eval()
    session = ort.InferenceSession(str(onnx_path), providers=["CPUExecutionProvider"])
    rng = np.random.default_rng(0)
    # Two crops: normalised depth in [-1, 1] (1 = background), standardised RGB where the net takes it.
    feeds = {}
    for spec in session.get_inputs():
        shape = [2, *spec.shape[1:]]
        if spec.name == "depth":
            feeds[spec.name] = np.clip(rng.normal(0.3, 0.5, shape), -1.0, 1.0).astype(np.float32)
        else:
            feeds[spec.name] = rng.standard_normal(shape).astype(np.float32)
    expected = session.run(None, feeds)[0]
    with torch.no_grad():
        got = model(*(torch.from_numpy(feeds[s.name]) for s in session.get_inputs())).numpy()
    assert got.shape == expected.shape
    np.testing.assert_allclose(got, expected, atol=1e-4)
