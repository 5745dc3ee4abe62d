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

Beyond the thesis (all off by default, so the thesis recipe is unchanged): a separate validation set
(``val_data``: all of ``data`` then trains), Adam, per-step cosine or one-cycle schedules over the run,
a start from another run's weights (``init``: any weights-only checkpoint of the same net, e.g.
``models/depthnet.pt``), a training pool partly refreshed with new frames every epoch (``refresh_data``,
``refresh_fraction``), a global-pool head, and CPU/GPU speed settings (threads, channels-last, torch.compile).
Checkpoints hold only tensors and plain Python values (the model's arguments as a dict), so they load
with ``torch.load(weights_only=True)``.
"""

from __future__ import annotations

import csv
import math
import os
import sys
import time
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn
from torch.utils.data import DataLoader

from inference.core.errors import HandposeError, ModelError, check_seed
from inference.core.outputs import atomic_write, check_output_dir
from inference.core.progress import progress_bar
from inference.runtime.model_meta import pack_inputs
from training.augment import Augment
from training.crop_cache import CacheParams, build_cache, palm_convention, rgb_stats, split_indices
from training.dataset import HandPoseDataset
from training.defaults import RECIPE
from training.device_batches import DeviceBatches
from training.nets import (
    COMPACT,
    FuseNet,
    FusePredNet,
    ModelConfig,
    PoseNet,
    build_model,
    fusenet_from_depthnet,
    resample_input_grid,
)

LAST = "last.pt"
BEST = "best.pt"
SCHEDULES = ("plateau", "cosine", "onecycle")


def default_cache_dir() -> Path:
    return Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "handpose" / "crops"


@dataclass
class TrainConfig:
    """A training run. Defaults are the thesis recipe (sec. 4.4.3)."""

    data: list[str]
    out: str
    arch: str = RECIPE.arch
    compact: bool = False  # the shipped variant: 1x1-conv bottleneck + narrow head (training.nets.COMPACT)
    fc_width: int | None = None  # None: 4096 (thesis), or COMPACT's when compact
    fuse_at: int = RECIPE.fuse_at
    width: float = RECIPE.width  # conv filter multiplier (training.nets.ModelConfig.width)
    head: str = RECIPE.head  # training.nets.HEADS
    optimizer: str = RECIPE.optimizer  # "sgd" (thesis, with momentum) or "adam" (momentum unused)
    # "plateau" (thesis: lr x0.5 when validation stalls), or per-step "cosine" (lr -> 0 over the run) or
    # "onecycle" (warm-up to lr over 30% of the steps, then cosine down): both need the run's length fixed.
    schedule: str = RECIPE.schedule
    epochs: int = RECIPE.epochs
    batch_size: int = RECIPE.batch_size
    lr: float = RECIPE.lr
    momentum: float = RECIPE.momentum
    dropout: float = RECIPE.dropout
    plateau_patience: int = 4  # epochs without improvement before lr x0.5
    early_stop_patience: int = 12  # epochs without improvement before stopping (plateau schedule only)
    val_fraction: float = RECIPE.val_fraction
    test_subjects: list[str] | None = None
    centre: str = RECIPE.centre
    cube_mm: float = RECIPE.cube_mm
    input_size: int = RECIPE.input_size
    augment: Augment | None = field(default_factory=Augment)
    seed: int = RECIPE.seed
    workers: int = RECIPE.workers  # DataLoader worker processes
    cache_dir: str | None = None
    max_frames: int | None = None
    device: str = "auto"
    val_data: list[str] | None = None  # separate validation directories; then all of `data` trains
    init: str | None = None  # weights-only checkpoint of the same net to start from (a new run only)
    refresh_data: list[str] | None = None  # frames that enter the training pool over the run, in order
    # share of the pool replaced by new frames before each epoch after the first
    refresh_fraction: float = RECIPE.refresh_fraction
    threads: int | None = None  # torch intra-op threads (None: torch's default, one per core)
    channels_last: bool = False
    compile: bool = False  # torch.compile the net for training
    # Where training batches are cut and augmented: "workers" (DataLoader processes), "device" (the cache in the
    # training device's memory, training.device_batches) or "auto" (device on CUDA, workers elsewhere).
    augment_on: str = "auto"
    # Stop once this much training time is spent (at the end of the epoch that would overrun it); per-step
    # schedules then follow the clock (lr reaches its end when the time is up), not the step count.
    max_minutes: float | None = None

    def __post_init__(self) -> None:
        if self.optimizer not in ("sgd", "adam"):
            raise HandposeError(f"optimizer must be 'sgd' or 'adam', got {self.optimizer!r}")
        _check_ranges(self)

    def model_config(self) -> ModelConfig:
        extra: dict[str, Any] = dict(COMPACT) if self.compact else {}
        if self.fc_width is not None:
            extra["fc_width"] = self.fc_width
        return ModelConfig(arch=self.arch, dropout=self.dropout, input_size=self.input_size, fuse_at=self.fuse_at,
                           width=self.width, head=self.head, **extra)

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["augment"] = None if self.augment is None else asdict(self.augment)
        return d


AUGMENT_ON = ("auto", "workers", "device")


def _check_ranges(cfg: TrainConfig) -> None:
    """One line naming the flag of a value training cannot use, before any data is read."""
    check_seed(cfg.seed)
    positive = {"epochs": cfg.epochs, "batch_size": cfg.batch_size, "cube_mm": cfg.cube_mm,
                "width": cfg.width, "fc_width": cfg.fc_width, "max_frames": cfg.max_frames}
    for name, value in positive.items():
        if value is not None and not (math.isfinite(value) and value > 0):
            raise HandposeError(f"--{name.replace('_', '-')} must be a positive number, got {value}")
    if not (math.isfinite(cfg.lr) and cfg.lr >= 0):  # 0 trains nothing but is a valid way to re-validate a start
        raise HandposeError(f"--lr must be a finite number >= 0, got {cfg.lr}")
    for name, value, ok, limits in (("momentum", cfg.momentum, 0 <= cfg.momentum <= 1, "0 <= x <= 1"),
                                    ("dropout", cfg.dropout, 0 <= cfg.dropout < 1, "0 <= x < 1"),
                                    ("val-fraction", cfg.val_fraction, 0 < cfg.val_fraction < 1, "0 < x < 1")):
        if not ok:  # NaN fails every comparison
            raise HandposeError(f"--{name} must be within {limits}, got {value}")
    if cfg.workers < 0:
        raise HandposeError(f"--workers must be >= 0, got {cfg.workers}")
    if cfg.augment_on not in AUGMENT_ON:
        raise HandposeError(f"--augment-on must be one of {', '.join(AUGMENT_ON)}, got {cfg.augment_on!r}")
    if cfg.schedule not in SCHEDULES:
        raise HandposeError(f"--schedule must be one of {', '.join(SCHEDULES)}, got {cfg.schedule!r}")
    if not 0.0 <= cfg.refresh_fraction <= 1.0:
        raise HandposeError(f"--refresh-fraction must be within 0-1, got {cfg.refresh_fraction}")
    if cfg.refresh_fraction > 0 and not cfg.refresh_data:
        raise HandposeError("--refresh-fraction needs --refresh-data (directories of new frames)")
    if cfg.max_minutes is not None and not (math.isfinite(cfg.max_minutes) and cfg.max_minutes > 0):
        raise HandposeError(f"--max-minutes must be a positive number, got {cfg.max_minutes}")
    if cfg.threads is not None and cfg.threads < 1:
        raise HandposeError(f"--threads must be at least 1, got {cfg.threads}")


# --- checkpoints -------------------------------------------------------------------------------------

def save_atomic(obj: dict[str, Any], path: Path) -> None:
    """``torch.save`` whole or not at all (:func:`inference.core.outputs.atomic_write`): readers never see a
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


def init_weights(model: nn.Module, path: str | Path, model_cfg: ModelConfig) -> None:
    """Load the weights of the weights-only checkpoint ``path`` into ``model`` (a new run's start).

    The checkpoint must hold the same net (dropout aside, which has no weights), the same net for another input
    size (the fc layer on the feature map is resampled: :func:`training.nets.resample_input_grid`), or a Depth-Net
    of the same layout when ``model`` is a conv-fusion Fuse-Net (:func:`training.nets.fusenet_from_depthnet`);
    anything else is a ModelError naming the differing arguments.
    """
    ckpt = load_checkpoint(path)
    theirs = ModelConfig.from_dict(ckpt["model_args"]).to_dict()
    ours = model_cfg.to_dict()
    if ours["arch"] == "fusenet-conv" and theirs["arch"] == "depthnet":
        ours = ours | {"arch": "depthnet", "fuse_at": theirs["fuse_at"]}
    free = ("dropout", "input_size")  # no weights / resampled below
    differ = {k: (theirs.get(k), v) for k, v in ours.items() if k not in free and theirs.get(k) != v}
    if differ:
        detail = ", ".join(f"{k} {a!r} (this run: {b!r})" for k, (a, b) in differ.items())
        raise ModelError(f"--init {path}: a different net: {detail}")
    resumed, _ = load_model(ckpt, expect_arch=theirs["arch"])
    if theirs["input_size"] != ours["input_size"]:
        if type(resumed) is not type(model):
            raise ModelError(f"--init {path}: a Fuse-Net starts from a Depth-Net of its own input size")
        model.load_state_dict(resample_input_grid(resumed.state_dict(), model, theirs["input_size"]))
    elif isinstance(model, FuseNet) and isinstance(resumed, PoseNet):
        fusenet_from_depthnet(model, resumed)
    else:
        model.load_state_dict(resumed.state_dict())


def pool_indices(base: np.ndarray, fresh: np.ndarray, epoch: int, fraction: float, seed: int) -> np.ndarray:
    """The training pool of ``epoch``: a first-in first-out queue of ``len(base)`` frames.

    Before each epoch after the first, ``fraction`` of the pool is replaced by the next frames of ``fresh`` (in
    order, as a generator running beside the training would deliver them), the base frames leaving in a seeded
    random order; once ``fresh`` is used up the pool stays as it is. Deterministic in (epoch, seed): resumable.
    """
    n = len(base)
    arrived = min(round(fraction * n) * epoch, len(fresh))
    if arrived == 0:
        return base
    queue = np.concatenate([np.random.default_rng(seed).permutation(base), fresh[:arrived]])
    return np.sort(queue[-n:])


def schedule_factor(schedule: str, progress: float) -> float:
    """lr / peak lr of a per-step schedule at ``progress`` (0-1) of the run, as torch's CosineAnnealingLR and
    OneCycleLR (30% warm-up from 1/25 of the peak, cosine down to ~0)."""
    p = min(max(progress, 0.0), 1.0)
    if schedule == "cosine":
        return 0.5 * (1.0 + math.cos(math.pi * p))
    if p < 0.3:
        return 1 / 25 + (1 - 1 / 25) * 0.5 * (1.0 - math.cos(math.pi * p / 0.3))
    return 0.5 * (1.0 + math.cos(math.pi * (p - 0.3) / 0.7))


def make_scheduler(cfg: TrainConfig, optimizer: torch.optim.Optimizer, total_steps: int,
                   clock: Any = None):
    """The lr schedule: ``(scheduler, per_step)``; plateau steps once per epoch on the validation loss.

    With ``cfg.max_minutes``, per-step schedules follow ``clock()`` (the elapsed share of the time budget).
    """
    if cfg.schedule != "plateau" and cfg.max_minutes is not None:
        return torch.optim.lr_scheduler.LambdaLR(optimizer, lambda _: schedule_factor(cfg.schedule, clock())), True
    if cfg.schedule == "cosine":
        return torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=max(1, total_steps)), True
    if cfg.schedule == "onecycle":
        return torch.optim.lr_scheduler.OneCycleLR(optimizer, max_lr=cfg.lr, total_steps=max(2, total_steps),
                                                   pct_start=0.3), True
    return torch.optim.lr_scheduler.ReduceLROnPlateau(optimizer, factor=0.5, patience=cfg.plateau_patience), False


# --- one step / evaluation ---------------------------------------------------------------------------

def model_inputs(batch: dict[str, torch.Tensor], input_layout: str, device: torch.device,
                 channels_last: bool = False) -> tuple[torch.Tensor, ...]:
    """The net's positional inputs in the order of ``inference.runtime.model_meta.INPUT_LAYOUTS[input_layout]``."""
    inputs = tuple(pack_inputs(input_layout, batch["depth"], batch.get("rgb"), torch.cat).values())
    fmt = torch.channels_last if channels_last else torch.contiguous_format
    return tuple(x.to(device, non_blocking=True).contiguous(memory_format=fmt) for x in inputs)


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
    out = Path(cfg.out)
    device = _pick_device(cfg.device)
    dist = _init_dist(device)
    cache_dir = Path(cfg.cache_dir) if cfg.cache_dir else default_cache_dir()
    if dist.main:  # before minutes of preprocessing: a path that cannot be written is one line now
        check_output_dir(out, "--out")
        check_output_dir(cache_dir, "--cache-dir")
    if cfg.threads is not None:
        torch.set_num_threads(cfg.threads)
    torch.manual_seed(cfg.seed)
    np.random.seed(cfg.seed)
    model_cfg = cfg.model_config()
    layout = model_cfg.input_layout
    uses_rgb = layout != "depth"

    # Data: rank 0 builds the cache, the others then open it.
    cache_params = CacheParams(cube_mm=cfg.cube_mm, size=cfg.input_size, centre=cfg.centre, with_rgb=uses_rgb)
    # The refresh frames share the training cache (rows after the base directories' rows).
    roots = list(cfg.data) + list(cfg.refresh_data or [])
    convention = palm_convention(roots + list(cfg.val_data or []))  # before any work: mixed folders are refused
    caches = {}
    for name, dirs in (("train", roots), ("val", cfg.val_data)):
        if not dirs:
            continue
        if dist.main:
            caches[name] = build_cache(dirs, cache_dir, cache_params, progress=progress, max_frames=cfg.max_frames)
        dist.barrier()
        if name not in caches:
            caches[name] = build_cache(dirs, cache_dir, cache_params, progress=False, max_frames=cfg.max_frames)
    cache = caches["train"]
    if uses_rgb and not cache.has_rgb:
        raise HandposeError(f"--arch {cfg.arch} needs RGB frames; {', '.join(cfg.data)} has none")
    n_base = int(np.sum(cache.arrays["source"][:, 0] < len(cfg.data)))
    fresh = np.arange(n_base, len(cache))
    if cfg.val_data:  # a separate validation set: every base frame trains
        splits = {"train": np.arange(n_base), "val": np.arange(len(caches["val"])), "test": np.arange(0)}
    else:
        splits = split_indices(n_base, cfg.val_fraction, cfg.seed, cache.subjects[:n_base], cfg.test_subjects)
    if len(splits["train"]) == 0 or len(splits["val"]) == 0:
        raise HandposeError(f"too few usable frames ({len(cache)}) for a train/validation split")
    rgb_mean, rgb_std = rgb_stats(cache, splits["train"]) if uses_rgb else (None, None)
    train_ds = HandPoseDataset(cache, splits["train"], cfg.augment, rgb_mean, rgb_std, cfg.seed)
    val_ds = HandPoseDataset(caches.get("val", cache), splits["val"], None, rgb_mean, rgb_std, cfg.seed)
    per_rank_batch = max(1, cfg.batch_size // dist.world)
    loader_kw: dict[str, Any] = {"num_workers": cfg.workers, "pin_memory": device.type == "cuda"}
    if cfg.workers > 0:
        loader_kw |= {"prefetch_factor": 4}
    val_loader = DataLoader(val_ds, batch_size=per_rank_batch, shuffle=False, **loader_kw)
    on_device = cfg.augment_on == "device" or (cfg.augment_on == "auto" and device.type == "cuda")
    device_batches = DeviceBatches(cache, cfg.augment, rgb_mean, rgb_std, cfg.seed, device) if on_device else None

    # Model, optimizer, scheduler; resume from last.pt when the run exists.
    model = build_model(model_cfg)
    if cfg.init and not (out / LAST).exists():
        init_weights(model, cfg.init, model_cfg)
    model = model.to(device, memory_format=torch.channels_last if cfg.channels_last else torch.preserve_format)
    if cfg.optimizer == "sgd":
        optimizer: torch.optim.Optimizer = torch.optim.SGD(model.parameters(), lr=cfg.lr, momentum=cfg.momentum)
    else:  # narrow nets without normalisation layers stall under the thesis' SGD (measured: see docs)
        optimizer = torch.optim.Adam(model.parameters(), lr=cfg.lr)
    steps_per_epoch = math.ceil(len(_epoch_order(len(train_ds), cfg.seed, 0, dist)) / per_rank_batch)
    budget_s = None if cfg.max_minutes is None else 60.0 * cfg.max_minutes
    spent = {"s": 0.0, "since": time.perf_counter()}  # training time so far (epochs of this call)

    def clock() -> float:
        assert budget_s is not None
        return (spent["s"] + time.perf_counter() - spent["since"]) / budget_s

    scheduler, per_step = make_scheduler(cfg, optimizer, cfg.epochs * steps_per_epoch, clock)
    state: dict[str, Any] = {"epoch": 0, "best_val": math.inf, "best_epoch": -1, "history": []}
    if (out / LAST).exists():
        ckpt = load_checkpoint(out / LAST)
        resumed, _ = load_model(ckpt, expect_arch=cfg.arch)
        if ModelConfig.from_dict(ckpt["model_args"]).to_dict() != model_cfg.to_dict():
            raise ModelError(f"{out / LAST}: run was started with model {ckpt['model_args']}, not {model_cfg.to_dict()}"
                             " (use another --out)")
        started = ckpt.get("train_config") or {}
        if cfg.max_minutes is not None:
            raise ModelError(f"{out / LAST}: a run with a time budget (--max-minutes) does not resume; use another "
                             "--out, or --init from this run")
        if per_step and (started.get("schedule"), started.get("epochs")) != (cfg.schedule, cfg.epochs):
            raise ModelError(f"{out / LAST}: run was started with schedule {started.get('schedule')!r} over "
                             f"{started.get('epochs')} epochs; a {cfg.schedule} schedule's length is fixed (start a "
                             "new run with --init from this one to train longer)")
        model.load_state_dict(resumed.state_dict())
        optimizer.load_state_dict(ckpt["optimizer"])
        scheduler.load_state_dict(ckpt["scheduler"])
        torch.set_rng_state(ckpt["rng_torch"])
        state = {k: ckpt[k] for k in state}
        if dist.main:
            print(f"resuming {out} after epoch {state['epoch']}", file=sys.stderr)
    if dist.world > 1:
        model = nn.parallel.DistributedDataParallel(model)
    step_model = torch.compile(model) if cfg.compile else model
    out.mkdir(parents=True, exist_ok=True)

    writer = None
    if dist.main:
        try:
            from torch.utils.tensorboard import SummaryWriter
        except ImportError:  # tensorboard is optional (a bare GPU machine): log.csv still holds every epoch
            SummaryWriter = None
        if SummaryWriter is not None:
            writer = SummaryWriter(str(out / "tb"), purge_step=state["epoch"] or None)
    data_info = {"roots": cache.manifest["roots"][: len(cfg.data)], "cache": str(cache.path), "frames": n_base,
                 "skipped": cache.skipped, "splits": {k: len(v) for k, v in splits.items()},
                 "palm_convention": convention}
    if cfg.val_data:
        data_info["val"] = {"roots": caches["val"].manifest["roots"], "frames": len(caches["val"]),
                            "skipped": caches["val"].skipped}
    if cfg.refresh_data:
        data_info["refresh"] = {"roots": cache.manifest["roots"][len(cfg.data):], "frames": len(fresh),
                                "fraction": cfg.refresh_fraction}
    common = {"model_args": model_cfg.to_dict(), "train_config": cfg.to_dict(), "rgb_mean": rgb_mean,
              "rgb_std": rgb_std, "cube_mm": cfg.cube_mm, "input_size": cfg.input_size, "data": data_info}
    if dist.main and cache.skipped:
        print(f"skipped frames: {cache.skipped} of {cache.manifest['total']}", file=sys.stderr)

    bar = progress_bar(total=(cfg.epochs - state["epoch"]) * steps_per_epoch, disable=not (progress and dist.main),
                       unit="step")
    epochs_run = 0
    stopped_early = stopped_on_time = False
    try:
        for epoch in range(state["epoch"], cfg.epochs):
            if stop_after_epochs is not None and epochs_run >= stop_after_epochs:
                break
            t0 = spent["since"] = time.perf_counter()
            train_ds.set_epoch(epoch)
            if cfg.refresh_data:
                train_ds.indices = pool_indices(splits["train"], fresh, epoch, cfg.refresh_fraction, cfg.seed)
            order = _epoch_order(len(train_ds), cfg.seed, epoch, dist)
            if device_batches is not None:
                batches: Iterable[dict[str, Any]] = device_batches.batches(train_ds.indices[order], epoch,
                                                                            per_rank_batch)
            else:
                batches = DataLoader(train_ds, batch_size=per_rank_batch, sampler=order, **loader_kw)
            model.train()
            total, count = 0.0, 0
            for batch in batches:
                inputs = model_inputs(batch, layout, device, cfg.channels_last)
                target = batch["joints"].to(device, non_blocking=True)
                with _autocast(device):
                    loss = training_loss(step_model, inputs, target)
                optimizer.zero_grad(set_to_none=True)
                loss.backward()
                optimizer.step()
                if per_step:
                    scheduler.step()
                total += float(loss.detach()) * len(target)
                count += len(target)
                bar.update(1)
                bar.set_description(f"epoch {epoch + 1}/{cfg.epochs}")
                bar.set_postfix(loss=f"{total / count:.5f}", lr=f"{optimizer.param_groups[0]['lr']:.2g}")
            val = evaluate(model, val_loader, layout, device)
            if not per_step:
                scheduler.step(val["loss"])
            improved = val["loss"] < state["best_val"]
            if improved:
                state["best_val"], state["best_epoch"] = val["loss"], epoch
            row = {"epoch": epoch + 1, "train_loss": total / max(count, 1), "val_loss": val["loss"],
                   "val_mean_error_mm": val["mean_error_mm"], "lr": optimizer.param_groups[0]["lr"],
                   "time_s": time.perf_counter() - t0}
            if cfg.refresh_data:
                row["pool_new_frames"] = int(np.sum(train_ds.indices >= n_base))
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
                if writer is not None:  # TensorBoard is optional
                    for key in ("train_loss", "val_loss", "val_mean_error_mm", "lr"):
                        writer.add_scalar(key, row[key], epoch + 1)
                    writer.flush()
                bar.write(f"epoch {epoch + 1}: train {row['train_loss']:.5f} val {val['loss']:.5f} "
                          f"({val['mean_error_mm']:.1f} mm){' *' if improved else ''}", file=sys.stderr)
            spent["s"] += time.perf_counter() - t0
            # A per-step schedule (one-cycle, cosine) reaches its low learning rate only at its end: a plateau on
            # the way is not convergence (a run from --init gets worse while the rate warms up), so only the
            # plateau schedule stops early.
            if not per_step and epoch - state["best_epoch"] >= cfg.early_stop_patience:
                stopped_early = True
                break
            if budget_s is not None and spent["s"] + (time.perf_counter() - t0) > budget_s:
                stopped_on_time = True  # another epoch (about as long as this one) would overrun the budget
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
            "best_val_loss": state["best_val"], "stopped_early": stopped_early, "stopped_on_time": stopped_on_time,
            "train_time_s": sum(row["time_s"] for row in state["history"]), "history": state["history"],
            "data": data_info}
