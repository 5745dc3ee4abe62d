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
    tiny = ["--val-frames", "8", "--minutes", "0.03", "--width", "0.125", "--fc-width", "16", "--input-size", "32",
            "--batch-size", "8", "--workers", "2", "--device", "cpu", "--latency-repeats", "3"]
    cmd = ["bash", str(ROOT / "scripts" / "train_gpu.sh"), "--out", str(out), "--frames", "33", "--sensors", "kinect",
           "sr305", "--subjects", "3", "--hard-fraction", "0.5", "--run", "depthnet:depthnet", "--run",
           "fusenet:fusenet-conv", *tiny]
    result = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]
    summary = json.loads(result.stdout)  # stdout holds exactly one JSON object
    assert summary["frames"] == {"train": 33, "val": 8} and summary["train_minutes"] == 0.03
    assert set(summary["stages_s"]) == {"generate", "preprocess", "train", "export", "latency", "total"}
    # --sensors: one training folder per sensor model, the frames split between them; validation stays kinect
    made = {p.name: json.loads((p / "subjects.json").read_text()) for p in (out / "data").iterdir()}
    assert set(made) == {"train0_kinect", "train1_sr305", "val"}
    assert [made[f"train{i}_{s}"]["frames"] for i, s in enumerate(("kinect", "sr305"))] == [17, 16]
    assert made["train1_sr305"]["sensor"]["name"] == "sr305" and made["val"]["sensor"]["name"] == "kinect"
    assert made["train0_kinect"]["subject_ids"] == [0, 1, 2] and min(made["val"]["subject_ids"]) == 480
    assert made["train0_kinect"]["hard_fraction"] == 0.5 and made["val"]["hard_fraction"] == 0
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


def test_a_run_starts_from_a_shipped_style_checkpoint_and_bad_runs_are_refused(tmp_path: Path) -> None:
    """--run NAME:ARCH:WIDTH:INIT trains that net from the weights given (at lr 0 they come out unchanged, so they
    were loaded); a net that fails costs only itself; a typo is one line and exit 2."""
    from training.export import write_weights
    from training.nets import ModelConfig, build_model

    cfg = ModelConfig(arch="depthnet", num_joints=14, fc_width=16, bottleneck=16, width=0.125, input_size=32)
    start = build_model(cfg)
    init = write_weights({"model_args": cfg.to_dict(), "model": start.state_dict()}, tmp_path / "start.pt")
    out = tmp_path / "gpu"
    cmd = ["bash", str(ROOT / "scripts" / "train_gpu.sh"), "--out", str(out), "--frames", "16", "--val-frames", "8",
           "--minutes", "0.02", "--fc-width", "16", "--input-size", "32", "--batch-size", "8", "--workers", "2",
           "--device", "cpu", "--latency-repeats", "2", "--lr", "0", "--run", f"warm:depthnet:0.125:{init}",
           "--run", "broken:no-such-net"]
    env = {**os.environ, "PYTHON": sys.executable}
    result = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=300)
    assert result.returncode == 1, result.stderr[-3000:]  # one net failed: said by the exit status ...
    summary = json.loads(result.stdout)  # ... and in its row, while the other is delivered
    assert list(summary["models"]) == ["warm", "broken"] and summary["models"]["warm"]["init"] == str(init)
    assert "no-such-net" in summary["models"]["broken"]["error"] and "weights" not in summary["models"]["broken"]
    weights = torch.load(out / "models" / "warm.pt", weights_only=True)
    assert weights["model_args"]["width"] == 0.125
    for name, value in start.named_parameters():  # lr 0: the net exported is the net it started from
        assert torch.equal(weights["model"][name], value.detach()), name
    for bad, says in ((["--run", "x"], "NAME:ARCH"), (["--run", "a:depthnet:wide"], "not a number"),
                      (["--run", f"a:depthnet:0.25:{tmp_path / 'none.pt'}"], "no checkpoint"),
                      (["--run", "a:depthnet", "--run", "a:fusenet-conv"], "same NAME"),
                      (["--subjects", "481"], "1..480")):
        result = subprocess.run(["bash", str(ROOT / "scripts" / "train_gpu.sh"), "--out", str(tmp_path / "bad"), *bad],
                                capture_output=True, text=True, env=env, timeout=60)
        assert result.returncode == 2 and says in result.stderr, (bad, result.stderr)
        assert not (tmp_path / "bad").exists()  # refused before anything is written


def test_the_default_runs_continue_the_shipped_nets() -> None:
    """With no --run the recipe continues models/depthnet.pt and models/fusenet.pt at their own widths (what made
    the shipped models): a re-shipped net of another width must change the defaults too."""
    from tests.helpers.scripts import load_script

    recipe = load_script("train_gpu")
    for run in recipe.DEFAULT_RUNS:
        card = json.loads((ROOT / run.init).with_suffix(".json").read_text())
        assert (ROOT / run.init).is_file() and card["architecture"] == run.arch, run
        assert card["training"]["model_args"]["width"] == run.width, run
