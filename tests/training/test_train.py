"""Training: overfitting a tiny set, exact resume, checkpoints, bad input, DDP with gloo."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from inference.core.errors import ModelError
from tests.training.conftest import tiny_config
from training.train import load_checkpoint, load_model, train


def _weights(run: Path) -> dict[str, torch.Tensor]:
    return torch.load(run / "last.pt", weights_only=True)["model"]


@pytest.mark.slow
def test_small_net_overfits_a_tiny_set(tiny_seq: Path, tmp_path: Path) -> None:
    cfg = tiny_config(tiny_seq, tmp_path / "run", tmp_path / "cache", epochs=150, lr=0.05, fc_width=64, dropout=0.0,
                      augment=None, plateau_patience=1000, early_stop_patience=1000)
    history = train(cfg, progress=False)["history"]
    assert history[0]["train_loss"] / history[-1]["train_loss"] >= 10


def test_resume_reproduces_the_uninterrupted_run(tiny_seq: Path, tmp_path: Path) -> None:
    """Stopping after epoch 1 and running the same config again gives bit-identical weights to one run of 2."""
    whole = tiny_config(tiny_seq, tmp_path / "whole", tmp_path / "cache", epochs=2)
    train(whole, progress=False)
    split = tiny_config(tiny_seq, tmp_path / "split", tmp_path / "cache", epochs=2)
    train(split, stop_after_epochs=1, progress=False)
    assert torch.load(tmp_path / "split" / "last.pt", weights_only=True)["epoch"] == 1
    train(split, progress=False)
    a, b = _weights(tmp_path / "whole"), _weights(tmp_path / "split")
    assert all(torch.equal(a[k], b[k]) for k in a)
    rows = (tmp_path / "split" / "log.csv").read_text().strip().splitlines()
    assert len(rows) == 3 and rows[0].startswith("epoch,train_loss,val_loss")


def test_checkpoint_is_weights_only_with_plain_model_args(tiny_seq: Path, tmp_path: Path) -> None:
    train(tiny_config(tiny_seq, tmp_path / "run", tmp_path / "cache", epochs=1), progress=False)
    ckpt = torch.load(tmp_path / "run" / "best.pt", weights_only=True)
    assert ckpt["model_args"]["arch"] == "net1" and isinstance(ckpt["model_args"], dict)
    _model, cfg = load_model(load_checkpoint(tmp_path / "run"))
    assert cfg.fc_width == 32 and (tmp_path / "run" / "tb").is_dir()


def test_checkpoint_of_another_architecture_is_a_clear_error(tiny_seq: Path, tmp_path: Path) -> None:
    train(tiny_config(tiny_seq, tmp_path / "run", tmp_path / "cache", epochs=1), progress=False)
    with pytest.raises(ModelError, match="checkpoint is a 'net1' model, not 'net2'"):
        train(tiny_config(tiny_seq, tmp_path / "run", tmp_path / "cache", epochs=2, arch="net2"), progress=False)
    with pytest.raises(ModelError, match="checkpoint is a 'net1' model, not 'depthnet'"):
        load_model(load_checkpoint(tmp_path / "run"), expect_arch="depthnet")


def test_corrupt_checkpoint_is_a_clear_error(tmp_path: Path) -> None:
    bad = tmp_path / "x.pt"
    bad.write_bytes(b"garbage")
    with pytest.raises(ModelError, match="not a loadable weights-only checkpoint"):
        load_checkpoint(bad)


def test_two_stream_nets_train(tiny_seq: Path, tmp_path: Path) -> None:
    for arch in ("fusepred", "fusenet-conv", "rgbdnet"):
        summary = train(tiny_config(tiny_seq, tmp_path / arch, tmp_path / "cache", epochs=1, arch=arch),
                        progress=False)
        assert summary["epochs"] == 1
    ckpt = load_checkpoint(tmp_path / "fusepred")
    assert len(ckpt["rgb_mean"]) == 3 and ckpt["model"]["depth_weight"].shape == (42,)


def test_cli_unknown_arch_lists_valid_names(tiny_seq: Path, tmp_path: Path) -> None:
    from handpose.cli import main

    assert main(["train", str(tiny_seq), "--arch", "vgg16", "--out", str(tmp_path / "r")]) == 2


@pytest.mark.slow
def test_ddp_two_gloo_processes_run_an_epoch(tiny_seq: Path, tmp_path: Path) -> None:
    out = tmp_path / "ddp"
    cmd = [sys.executable, "-m", "torch.distributed.run", "--nproc_per_node", "2", "--master_port", "29533",
           "-m", "handpose", "train", str(tiny_seq), "--arch", "net1", "--fc-width", "32", "--epochs", "1",
           "--batch-size", "8", "--workers", "0", "--cache-dir", str(tmp_path / "cache"), "--out", str(out),
           "--device", "cpu", "--json"]
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    result = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=300)
    assert result.returncode == 0, result.stderr[-2000:]
    ckpt = torch.load(out / "last.pt", weights_only=True)
    assert ckpt["epoch"] == 1 and ckpt["history"][0]["train_loss"] > 0


def test_adam_option_trains_and_unknown_optimizer_is_refused(tiny_seq: Path, tmp_path: Path) -> None:
    from inference.core.errors import HandposeError

    cfg = tiny_config(tiny_seq, tmp_path / "run", tmp_path / "cache", epochs=4, optimizer="adam", lr=1e-3,
                      augment=None, dropout=0.0)
    history = train(cfg, progress=False)["history"]
    assert history[-1]["train_loss"] < history[0]["train_loss"]
    with pytest.raises(HandposeError, match="optimizer"):
        tiny_config(tiny_seq, tmp_path / "r2", tmp_path / "cache", optimizer="rmsprop")


@pytest.mark.parametrize(("flag", "value", "message"), [
    ("--epochs", "0", "--epochs must be a positive number, got 0"),
    ("--batch-size", "0", "--batch-size must be a positive number, got 0"),
    ("--lr", "nan", "--lr must be a finite number >= 0, got nan"),
    ("--momentum", "-0.5", "--momentum must be within 0 <= x <= 1"),
    ("--val-fraction", "1", "--val-fraction must be within 0 < x < 1"),
])
def test_cli_values_training_cannot_use_are_one_line(tiny_seq: Path, tmp_path: Path, capsys, flag: str, value: str,
                                                     message: str) -> None:
    """Issue 16: refused before any data is read (no cache, no run directory)."""
    from handpose.cli import main

    short = [] if flag == "--epochs" else ["--epochs", "1"]  # where the value is accepted, it trains briefly
    args = ["train", str(tiny_seq), "--out", str(tmp_path / "r"), "--cache-dir", str(tmp_path / "c"), *short,
            "--arch", "net1", "--fc-width", "16", "--workers", "0", flag, value]
    assert main(args) == 2
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"handpose train: error: {message}")
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize(("schedule", "epochs_run"), [("plateau", 1), ("onecycle", 3), ("cosine", 3)])
def test_only_the_plateau_schedule_stops_early(tiny_seq: Path, tmp_path: Path, schedule: str, epochs_run: int) -> None:
    """Patience 0 stops a plateau run after its first epoch; a one-cycle or cosine run (its learning rate low only at
    its end, and rising at first from an --init) runs its course."""
    cfg = tiny_config(tiny_seq, tmp_path / "run", tmp_path / "cache", epochs=3, schedule=schedule,
                      early_stop_patience=0)
    result = train(cfg, progress=False)
    assert result["epochs"] == epochs_run and result["stopped_early"] == (schedule == "plateau")
