"""Training with the thesis recipe (sec. 4.4.3), read top to bottom in :func:`train`.

SGD with momentum (lr 0.009, momentum 0.98), batch 128, up to 100 epochs, shuffled each epoch, dropout
0.03, loss ``||f - y||^2 / (2J)`` (eq. 4.14), lr x0.5 when the validation loss stops improving, early
stopping on it. bf16 autocast on CUDA. Multi-GPU (or multi-process CPU with gloo) via ``torchrun``.

A run directory holds:
- ``last.pt``: the state after the last completed epoch (model, optimizer, scheduler, RNG, history), written
  atomically (temporary file + ``os.replace``) so that a kill at any moment leaves a loadable checkpoint.
  Running the same command again resumes from it and reproduces the uninterrupted run exactly.
- ``best.pt``: the weights with the lowest validation loss (what ``handpose export`` exports).
- ``log.csv`` and ``tb/`` (TensorBoard): one row / scalar set per epoch.
Checkpoints hold only tensors and plain Python values (the model's arguments as a dict), so they load
with ``torch.load(weights_only=True)``.
"""

from __future__ import annotations

import csv
import math
import os
import sys
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn
from torch.utils.data import DataLoader

from inference.errors import HandposeError, ModelError, check_seed
from inference.model_meta import INPUT_LAYOUTS
from inference.outputs import atomic_write, check_output_dir
from training.dataset import Augment, CacheParams, HandPoseDataset, build_cache, rgb_stats, split_indices
from training.nets import COMPACT, FusePredNet, ModelConfig, build_model

LAST = "last.pt"
BEST = "best.pt"


def default_cache_dir() -> Path:
    return Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "handpose" / "crops"


@dataclass
class TrainConfig:
    """A training run. Defaults are the thesis recipe (sec. 4.4.3)."""

    data: list[str]
    out: str
    arch: str = "depthnet"
    compact: bool = False  # the shipped variant: 1x1-conv bottleneck + narrow head (training.nets.COMPACT)
    fc_width: int | None = None  # None: 4096 (thesis), or COMPACT's when compact
    fuse_at: int = 4
    width: float = 1.0  # conv filter multiplier (training.nets.ModelConfig.width)
    optimizer: str = "sgd"  # "sgd" (thesis, with momentum) or "adam" (momentum unused)
    epochs: int = 100
    batch_size: int = 128
    lr: float = 0.009
    momentum: float = 0.98
    dropout: float = 0.03
    plateau_patience: int = 4  # epochs without improvement before lr x0.5
    early_stop_patience: int = 12  # epochs without improvement before stopping
    val_fraction: float = 0.25
    test_subjects: list[str] | None = None
    centre: str = "segment"
    cube_mm: float = 300.0
    input_size: int = 128
    augment: Augment | None = field(default_factory=Augment)
    seed: int = 0
    workers: int = 2  # DataLoader worker processes
    cache_dir: str | None = None
    max_frames: int | None = None
    device: str = "auto"

    def __post_init__(self) -> None:
        if self.optimizer not in ("sgd", "adam"):
            raise HandposeError(f"optimizer must be 'sgd' or 'adam', got {self.optimizer!r}")
        _check_ranges(self)

    def model_config(self) -> ModelConfig:
        extra: dict[str, Any] = dict(COMPACT) if self.compact else {}
        if self.fc_width is not None:
            extra["fc_width"] = self.fc_width
        return ModelConfig(arch=self.arch, dropout=self.dropout, input_size=self.input_size, fuse_at=self.fuse_at,
                           width=self.width, **extra)

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["augment"] = None if self.augment is None else asdict(self.augment)
        return d


def _check_ranges(cfg: TrainConfig) -> None:
    """One line naming the flag of a value training cannot use, before any data is read."""
    check_seed(cfg.seed)
    positive = {"epochs": cfg.epochs, "batch_size": cfg.batch_size, "lr": cfg.lr, "cube_mm": cfg.cube_mm,
                "width": cfg.width, "fc_width": cfg.fc_width, "max_frames": cfg.max_frames}
    for name, value in positive.items():
        if value is not None and not (math.isfinite(value) and value > 0):
            raise HandposeError(f"--{name.replace('_', '-')} must be a positive number, got {value}")
    for name, value, ok, limits in (("momentum", cfg.momentum, 0 <= cfg.momentum <= 1, "0 <= x <= 1"),
                                    ("dropout", cfg.dropout, 0 <= cfg.dropout < 1, "0 <= x < 1"),
                                    ("val-fraction", cfg.val_fraction, 0 < cfg.val_fraction < 1, "0 < x < 1")):
        if not ok:  # NaN fails every comparison
            raise HandposeError(f"--{name} must be within {limits}, got {value}")
    if cfg.workers < 0:
        raise HandposeError(f"--workers must be >= 0, got {cfg.workers}")


# --- checkpoints -------------------------------------------------------------------------------------

def save_atomic(obj: dict[str, Any], path: Path) -> None:
    """``torch.save`` whole or not at all (:func:`inference.outputs.atomic_write`): readers never see a
    half-written file, a full disk leaves the previous checkpoint and no ``.part`` file."""
    with atomic_write(path, "wb", fsync=True) as fh:
        torch.save(obj, fh)


def load_checkpoint(path: str | Path) -> dict[str, Any]:
    """Load a checkpoint with ``weights_only=True``; a file that is missing, corrupt or not ours -> ModelError."""
    path = Path(path)
    if path.is_dir():
        if not (path / BEST).exists() and not (path / LAST).exists():
            raise ModelError(f"{path}: no {BEST} or {LAST} in this run directory (has it trained an epoch yet?)")
        path = path / BEST if (path / BEST).exists() else path / LAST
    if not path.is_file():
        raise ModelError(f"{path}: checkpoint not found")
    try:
        ckpt = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # pickle / zip errors of several types
        raise ModelError(f"{path}: not a loadable weights-only checkpoint ({type(exc).__name__})") from None
    if not isinstance(ckpt, dict) or "model_args" not in ckpt or "model" not in ckpt:
        raise ModelError(f"{path}: not a handpose checkpoint (no model_args/model)")
    ckpt["path"] = str(path)
    return ckpt


def load_model(ckpt: dict[str, Any], expect_arch: str | None = None) -> tuple[nn.Module, ModelConfig]:
    """Rebuild the net of a loaded checkpoint; a different architecture than ``expect_arch`` -> ModelError."""
    cfg = ModelConfig.from_dict(ckpt["model_args"])
    where = ckpt.get("path", "checkpoint")
    if expect_arch is not None and cfg.arch != expect_arch:
        raise ModelError(f"{where}: checkpoint is a {cfg.arch!r} model, not {expect_arch!r}")
    model = build_model(cfg, init=False)
    try:
        model.load_state_dict(ckpt["model"])
    except RuntimeError as exc:
        first = str(exc).strip().splitlines()
        detail = first[1].strip() if len(first) > 1 else first[0]
        raise ModelError(f"{where}: weights do not fit {cfg.arch} ({detail})") from None
    return model, cfg


# --- one step / evaluation ---------------------------------------------------------------------------

def model_inputs(batch: dict[str, torch.Tensor], input_layout: str, device: torch.device) -> tuple[torch.Tensor, ...]:
    """The net's positional inputs in the order of ``inference.model_meta.INPUT_LAYOUTS[input_layout]``."""
    if input_layout == "rgbd":
        return (torch.cat([batch["depth"], batch["rgb"]], dim=1).to(device, non_blocking=True),)
    return tuple(batch[name].to(device, non_blocking=True) for name, _ in INPUT_LAYOUTS[input_layout])


def pose_loss(pred: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """Eq. 4.14 averaged over the batch: ``(B, 3J)`` x2 -> scalar ``mean ||f - y||^2 / (2J)``."""
    return (pred.float() - target).pow(2).sum(1).mean() / (2 * (target.shape[1] // 3))


def _net(model: nn.Module) -> nn.Module:
    return model.module if isinstance(model, nn.parallel.DistributedDataParallel) else model


def training_loss(model: nn.Module, inputs: tuple[torch.Tensor, ...], target: torch.Tensor) -> torch.Tensor:
    """FusePred-Net's two nets are trained independently (thesis): the sum of their own losses."""
    if isinstance(_net(model), FusePredNet):
        pd, pr = model(*inputs, streams=True)  # through the (DDP) wrapper, so gradients are synchronised
        return pose_loss(pd, target) + pose_loss(pr, target)
    return pose_loss(model(*inputs), target)


def _autocast(device: torch.device):
    """bf16 autocast on CUDA; plain fp32 elsewhere."""
    if device.type == "cuda":
        return torch.autocast("cuda", dtype=torch.bfloat16)
    return torch.autocast("cpu", enabled=False)


@torch.no_grad()
def evaluate(model: nn.Module, loader: DataLoader, input_layout: str, device: torch.device) -> dict[str, float]:
    """``{"loss", "mean_error_mm"}`` over a loader; fits FusePred-Net's per-output weights on it first."""
    net = _net(model)
    net.eval()
    preds, targets, cubes, streams = [], [], [], []
    for batch in loader:
        inputs = model_inputs(batch, input_layout, device)
        with _autocast(device):
            if isinstance(net, FusePredNet):
                streams.append([p.float().cpu() for p in net.forward_streams(*inputs)])
            else:
                preds.append(net(*inputs).float().cpu())
        targets.append(batch["joints"])
        cubes.append(batch["cube_mm"])
    target = torch.cat(targets)
    if isinstance(net, FusePredNet):
        pd, pr = (torch.cat(s) for s in zip(*streams, strict=True))
        net.fit_weights(pd - target, pr - target)
        w = net.depth_weight.cpu()
        preds = [w * pd + (1 - w) * pr]
    pred = torch.cat(preds)
    err_mm = (pred - target).view(len(target), -1, 3).norm(dim=2) * (torch.cat(cubes)[:, None] / 2)
    return {"loss": float(pose_loss(pred, target)), "mean_error_mm": float(err_mm.mean())}


# --- distributed ---------------------------------------------------------------------------------------

@dataclass
class Dist:
    rank: int = 0
    world: int = 1

    @property
    def main(self) -> bool:
        return self.rank == 0

    def barrier(self) -> None:
        if self.world > 1:
            torch.distributed.barrier()


def _init_dist(device: torch.device) -> Dist:
    world = int(os.environ.get("WORLD_SIZE", "1"))
    if world <= 1:
        return Dist()
    if not torch.distributed.is_initialized():
        torch.distributed.init_process_group("nccl" if device.type == "cuda" else "gloo")
    return Dist(rank=torch.distributed.get_rank(), world=world)


def _pick_device(name: str) -> torch.device:
    if name == "auto":
        name = "cuda" if torch.cuda.is_available() else "cpu"
    if name.startswith("cuda"):
        if not torch.cuda.is_available():
            raise HandposeError(f"--device {name}: CUDA is not available on this machine")
        local = int(os.environ.get("LOCAL_RANK", "0"))
        return torch.device("cuda", local) if name == "cuda" else torch.device(name)
    return torch.device(name)


# --- the loop ------------------------------------------------------------------------------------------

def _epoch_order(n: int, seed: int, epoch: int, dist: Dist) -> list[int]:
    """This rank's share of a fresh shuffle (same on every rank, a function of seed and epoch only)."""
    order = torch.randperm(n, generator=torch.Generator().manual_seed(seed * 100_003 + epoch)).tolist()
    if dist.world > 1:
        order += order[: (-len(order)) % dist.world]  # pad so every rank takes as many steps
        order = order[dist.rank::dist.world]
    return order


def _write_csv(path: Path, history: list[dict[str, Any]]) -> None:
    if not history:
        return
    with atomic_write(path, "w", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=list(history[0]))
        writer.writeheader()
        writer.writerows(history)


def train(cfg: TrainConfig, stop_after_epochs: int | None = None, progress: bool = True) -> dict[str, Any]:
    """Train (or resume) the run ``cfg.out``; returns a summary dict.

    Args:
        stop_after_epochs: stop this call after that many epochs of this call (as if killed after the checkpoint);
            running again resumes.
    """
    from tqdm import tqdm

    out = Path(cfg.out)
    device = _pick_device(cfg.device)
    dist = _init_dist(device)
    cache_dir = Path(cfg.cache_dir) if cfg.cache_dir else default_cache_dir()
    if dist.main:  # before minutes of preprocessing: a path that cannot be written is one line now
        check_output_dir(out, "--out")
        check_output_dir(cache_dir, "--cache-dir")
    torch.manual_seed(cfg.seed)
    np.random.seed(cfg.seed)
    model_cfg = cfg.model_config()
    layout = model_cfg.input_layout
    uses_rgb = layout != "depth"

    # Data: rank 0 builds the cache, the others then open it.
    cache_params = CacheParams(cube_mm=cfg.cube_mm, size=cfg.input_size, centre=cfg.centre, with_rgb=uses_rgb)
    cache = None
    if dist.main:
        cache = build_cache(cfg.data, cache_dir, cache_params, progress=progress, max_frames=cfg.max_frames)
    dist.barrier()
    if cache is None:
        cache = build_cache(cfg.data, cache_dir, cache_params, progress=False, max_frames=cfg.max_frames)
    if uses_rgb and not cache.has_rgb:
        raise HandposeError(f"--arch {cfg.arch} needs RGB frames; {', '.join(cfg.data)} has none")
    splits = split_indices(len(cache), cfg.val_fraction, cfg.seed, cache.subjects, cfg.test_subjects)
    if len(splits["train"]) == 0 or len(splits["val"]) == 0:
        raise HandposeError(f"too few usable frames ({len(cache)}) for a train/validation split")
    rgb_mean, rgb_std = rgb_stats(cache, splits["train"]) if uses_rgb else (None, None)
    train_ds = HandPoseDataset(cache, splits["train"], cfg.augment, rgb_mean, rgb_std, cfg.seed)
    val_ds = HandPoseDataset(cache, splits["val"], None, rgb_mean, rgb_std, cfg.seed)
    per_rank_batch = max(1, cfg.batch_size // dist.world)
    loader_kw: dict[str, Any] = {"num_workers": cfg.workers, "pin_memory": device.type == "cuda"}
    if cfg.workers > 0:
        loader_kw |= {"prefetch_factor": 4}
    val_loader = DataLoader(val_ds, batch_size=per_rank_batch, shuffle=False, **loader_kw)

    # Model, optimizer, scheduler; resume from last.pt when the run exists.
    model = build_model(model_cfg).to(device)
    if cfg.optimizer == "sgd":
        optimizer: torch.optim.Optimizer = torch.optim.SGD(model.parameters(), lr=cfg.lr, momentum=cfg.momentum)
    else:  # narrow nets without normalisation layers stall under the thesis' SGD (measured: see docs)
        optimizer = torch.optim.Adam(model.parameters(), lr=cfg.lr)
    scheduler = torch.optim.lr_scheduler.ReduceLROnPlateau(optimizer, factor=0.5, patience=cfg.plateau_patience)
    state: dict[str, Any] = {"epoch": 0, "best_val": math.inf, "best_epoch": -1, "history": []}
    if (out / LAST).exists():
        ckpt = load_checkpoint(out / LAST)
        resumed, _ = load_model(ckpt, expect_arch=cfg.arch)
        if ckpt["model_args"] != model_cfg.to_dict():
            raise ModelError(f"{out / LAST}: run was started with model {ckpt['model_args']}, not {model_cfg.to_dict()}"
                             " (use another --out)")
        model.load_state_dict(resumed.state_dict())
        optimizer.load_state_dict(ckpt["optimizer"])
        scheduler.load_state_dict(ckpt["scheduler"])
        torch.set_rng_state(ckpt["rng_torch"])
        state = {k: ckpt[k] for k in state}
        if dist.main:
            print(f"resuming {out} after epoch {state['epoch']}", file=sys.stderr)
    if dist.world > 1:
        model = nn.parallel.DistributedDataParallel(model)
    out.mkdir(parents=True, exist_ok=True)

    writer = None
    if dist.main:
        from torch.utils.tensorboard import SummaryWriter

        writer = SummaryWriter(str(out / "tb"), purge_step=state["epoch"] or None)
    data_info = {"roots": cache.manifest["roots"], "cache": str(cache.path), "frames": len(cache),
                 "skipped": cache.skipped, "splits": {k: len(v) for k, v in splits.items()}}
    common = {"model_args": model_cfg.to_dict(), "train_config": cfg.to_dict(), "rgb_mean": rgb_mean,
              "rgb_std": rgb_std, "cube_mm": cfg.cube_mm, "input_size": cfg.input_size, "data": data_info}
    if dist.main and cache.skipped:
        print(f"skipped frames: {cache.skipped} of {cache.manifest['total']}", file=sys.stderr)

    steps_per_epoch = math.ceil(len(_epoch_order(len(train_ds), cfg.seed, 0, dist)) / per_rank_batch)
    bar = tqdm(total=(cfg.epochs - state["epoch"]) * steps_per_epoch, disable=not (progress and dist.main),
               file=sys.stderr, unit="step", dynamic_ncols=True)
    epochs_run = 0
    stopped_early = False
    try:
        for epoch in range(state["epoch"], cfg.epochs):
            if stop_after_epochs is not None and epochs_run >= stop_after_epochs:
                break
            t0 = time.perf_counter()
            train_ds.set_epoch(epoch)
            loader = DataLoader(train_ds, batch_size=per_rank_batch, sampler=_epoch_order(len(train_ds), cfg.seed,
                                                                                          epoch, dist), **loader_kw)
            model.train()
            total, count = 0.0, 0
            for batch in loader:
                inputs = model_inputs(batch, layout, device)
                target = batch["joints"].to(device, non_blocking=True)
                with _autocast(device):
                    loss = training_loss(model, inputs, target)
                optimizer.zero_grad(set_to_none=True)
                loss.backward()
                optimizer.step()
                total += float(loss.detach()) * len(target)
                count += len(target)
                bar.update(1)
                bar.set_description(f"epoch {epoch + 1}/{cfg.epochs}")
                bar.set_postfix(loss=f"{total / count:.5f}", lr=f"{optimizer.param_groups[0]['lr']:.2g}")
            val = evaluate(model, val_loader, layout, device)
            scheduler.step(val["loss"])
            improved = val["loss"] < state["best_val"]
            if improved:
                state["best_val"], state["best_epoch"] = val["loss"], epoch
            row = {"epoch": epoch + 1, "train_loss": total / max(count, 1), "val_loss": val["loss"],
                   "val_mean_error_mm": val["mean_error_mm"], "lr": optimizer.param_groups[0]["lr"],
                   "time_s": time.perf_counter() - t0}
            state["history"].append(row)
            state["epoch"] = epoch + 1
            epochs_run += 1
            if dist.main:
                # Checkpoints first, then the logs: a save that fails (full disk) leaves the previous last.pt and
                # logs that claim no epoch it does not hold. best.pt before last.pt, so last.pt never names a
                # best epoch that best.pt lacks (a resume redoes an epoch whose last.pt failed).
                weights = _net(model).state_dict()
                if improved:
                    save_atomic({**common, "model": weights, "epoch": epoch + 1,
                                 "metrics": {"val_loss": val["loss"], "val_mean_error_mm": val["mean_error_mm"]}},
                                out / BEST)
                save_atomic({**common, **state, "model": weights, "optimizer": optimizer.state_dict(),
                             "scheduler": scheduler.state_dict(), "rng_torch": torch.get_rng_state()}, out / LAST)
                _write_csv(out / "log.csv", state["history"])
                assert writer is not None
                for key in ("train_loss", "val_loss", "val_mean_error_mm", "lr"):
                    writer.add_scalar(key, row[key], epoch + 1)
                writer.flush()
                bar.write(f"epoch {epoch + 1}: train {row['train_loss']:.5f} val {val['loss']:.5f} "
                          f"({val['mean_error_mm']:.1f} mm){' *' if improved else ''}", file=sys.stderr)
            if epoch - state["best_epoch"] >= cfg.early_stop_patience:
                stopped_early = True
                break
    except KeyboardInterrupt:
        if dist.main:
            bar.write(f"interrupted: {out / LAST} holds the last completed epoch; run again to resume",
                      file=sys.stderr)
        raise
    finally:
        bar.close()
        if writer is not None:
            writer.close()
    return {"run": str(out), "epochs": state["epoch"], "best_epoch": state["best_epoch"] + 1,
            "best_val_loss": state["best_val"], "stopped_early": stopped_early, "history": state["history"],
            "data": data_info}
