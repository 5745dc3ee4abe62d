"""Training throughput of one training configuration: samples/s of the bare step (one batch kept on the device,
reused) and of the full pipeline (memory-mapped cache -> augmentation -> DataLoader workers -> step).

The step is the one :func:`training.train.train` runs, with the same net, optimizer, batch size, threads,
memory format and torch.compile setting of a :class:`training.train.TrainConfig`, so a setting's speed and its
accuracy at a fixed number of samples (docs/EXPERIMENTS.md) combine into accuracy per CPU-hour. The command
line is ``python scripts/bench_train.py`` (it takes ``handpose train``'s options).

The pipeline share (bare time / pipeline time) shows whether the data path starves the device (target >= 90%).
``cpu_per_wall`` (this process's CPU seconds per wall second while timing) flags a measurement disturbed by other
processes: it should be close to the number of threads.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import torch

from training.crop_cache import CacheParams, build_cache
from training.dataset import HandPoseDataset
from training.nets import build_model
from training.train import TrainConfig, _autocast, _pick_device, default_cache_dir, model_inputs, training_loss


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def bench(cfg: TrainConfig, steps: int = 20, warmup: int = 3, progress: bool = False) -> dict[str, Any]:
    """``{"bare_samples_per_s", "pipeline_samples_per_s", "pipeline_share", ...}`` of ``cfg``'s training step."""
    device = _pick_device(cfg.device)
    if cfg.threads is not None:
        torch.set_num_threads(cfg.threads)
    model_cfg = cfg.model_config()
    uses_rgb = model_cfg.input_layout != "depth"
    cache = build_cache(cfg.data, Path(cfg.cache_dir) if cfg.cache_dir else default_cache_dir(),
                        CacheParams(cube_mm=cfg.cube_mm, size=cfg.input_size, centre=cfg.centre, with_rgb=uses_rgb),
                        progress=progress, max_frames=cfg.max_frames)
    ds = HandPoseDataset(cache, torch.arange(len(cache)).numpy(), cfg.augment,
                         [0.0] * 3 if uses_rgb else None, [1.0] * 3 if uses_rgb else None, cfg.seed)
    model = build_model(model_cfg).to(device).train()
    if cfg.channels_last:
        model = model.to(memory_format=torch.channels_last)
    step_model = torch.compile(model) if cfg.compile else model
    if cfg.optimizer == "sgd":
        optimizer: torch.optim.Optimizer = torch.optim.SGD(model.parameters(), lr=1e-5, momentum=cfg.momentum)
    else:
        optimizer = torch.optim.Adam(model.parameters(), lr=1e-5)

    def step(batch: dict[str, torch.Tensor]) -> None:
        with _autocast(device):
            loss = training_loss(step_model, model_inputs(batch, model_cfg.input_layout, device, cfg.channels_last),
                                 batch["joints"].to(device, non_blocking=True))
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()

    cpu = {}

    def timed(batches, name: str) -> float:
        for _ in range(warmup):
            step(next(batches))
        _sync(device)
        t0, c0 = time.perf_counter(), time.process_time()
        for _ in range(steps):
            step(next(batches))
        _sync(device)
        wall = time.perf_counter() - t0
        cpu[name] = (time.process_time() - c0) / wall  # ~threads when nothing else competed for the cores
        return wall

    first = next(iter(torch.utils.data.DataLoader(ds, batch_size=cfg.batch_size)))
    fixed = {k: (v.to(device) if isinstance(v, torch.Tensor) else v) for k, v in first.items()}

    def same():
        while True:
            yield fixed

    t_compile = time.perf_counter()
    bare_s = timed(same(), "bare")
    first_s = time.perf_counter() - t_compile - bare_s  # warm-up, including torch.compile's compilation
    loader = torch.utils.data.DataLoader(ds, batch_size=cfg.batch_size, shuffle=True, drop_last=True,
                                         num_workers=cfg.workers, pin_memory=device.type == "cuda",
                                         persistent_workers=cfg.workers > 0,
                                         **({"prefetch_factor": 4} if cfg.workers else {}))

    def cycled():
        while True:
            yield from loader

    pipe_s = timed(cycled(), "pipeline")
    n = steps * cfg.batch_size
    return {"arch": cfg.arch, "model_args": model_cfg.to_dict(), "device": str(device), "batch_size": cfg.batch_size,
            "optimizer": cfg.optimizer, "steps": steps, "workers": cfg.workers, "threads": torch.get_num_threads(),
            "channels_last": cfg.channels_last, "compile": cfg.compile, "frames": len(cache),
            "warmup_s": first_s, "bare_samples_per_s": n / bare_s, "pipeline_samples_per_s": n / pipe_s,
            "pipeline_share": bare_s / pipe_s, "cpu_per_wall": {k: round(v, 2) for k, v in cpu.items()}}
