"""scripts/train_gpu.sh end to end on the CPU with tiny settings: the GPU machine's code path (data with every
core, both nets side by side under a time budget, ONNX + weights export, batch-1 timing, one JSON summary), with
the packages that machine lacks made unimportable."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parents[2]
ABSENT_ON_GPU_MACHINE = ("tqdm", "psutil", "matplotlib", "tensorboard", "onnxruntime")


def test_gpu_recipe_runs_end_to_end_without_the_optional_packages(tmp_path: Path) -> None:
    stubs = tmp_path / "stubs"
    stubs.mkdir()
    for name in ABSENT_ON_GPU_MACHINE:
        (stubs / f"{name}.py").write_text("raise ImportError('not installed on the GPU machine')\n")
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(stubs), str(ROOT)]), "PYTHON": sys.executable}
    out = tmp_path / "gpu"
    cmd = ["bash", str(ROOT / "scripts" / "train_gpu.sh"), "--out", str(out), "--frames", "32", "--val-frames", "8",
           "--minutes", "0.03", "--width", "0.125", "--fc-width", "16", "--input-size", "32", "--batch-size", "8",
           "--workers", "2", "--device", "cpu", "--latency-repeats", "3"]
    result = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]
    summary = json.loads(result.stdout)  # stdout holds exactly one JSON object
    assert summary["frames"] == {"train": 32, "val": 8} and summary["train_minutes"] == 0.03
    assert set(summary["stages_s"]) == {"generate", "preprocess", "train", "export", "latency", "total"}
    for name in ("depthnet", "fusenet"):
        model = summary["models"][name]
        onnx_path, weights = Path(model["onnx"]), Path(model["weights"])
        assert onnx_path == out / "models" / f"{name}.onnx" and onnx_path.stat().st_size == model["bytes"]
        assert model["bytes"] <= 16 * 2**20 and onnx_path.with_suffix(".json").is_file()
        assert torch.load(weights, weights_only=True)["model_args"]["width"] == 0.125
        assert model["epochs"] >= 1 and model["samples"] > 0 and model["val_error_mm"] > 0
        assert model["latency_ms"]["provider"] == "torch:cpu" and model["latency_ms"]["torch_backend_ms"] > 0
    assert "tb" not in {p.name for p in (out / "runs" / "depthnet").iterdir()}  # no tensorboard there
    assert json.loads((out / "summary.json").read_text())["models"].keys() == summary["models"].keys()
