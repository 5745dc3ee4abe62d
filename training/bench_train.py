"""Training throughput: samples/s of the bare step (tensors already on the device) vs the full pipeline
(memory-mapped cache -> augmentation -> DataLoader workers -> step), for one architecture.

    python -m training.bench_train DATA_DIR [--arch depthnet] [--compact] [--batch-size 128] [--steps 20] [--json]

The pipeline share (pipeline / bare) shows whether the data path starves the device (target >= 90%).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import torch

from training.dataset import Augment, CacheParams, HandPoseDataset, build_cache
from training.nets import COMPACT, ModelConfig, build_model
from training.train import _autocast, _pick_device, default_cache_dir, model_inputs, training_loss


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def bench(data: list[str], cfg: ModelConfig, batch_size: int, steps: int, warmup: int, workers: int,
          device_name: str = "auto", cache_dir: str | None = None) -> dict[str, float | int | str]:
    """``{"bare_samples_per_s", "pipeline_samples_per_s", "pipeline_share", ...}``."""
    device = _pick_device(device_name)
    uses_rgb = cfg.input_layout != "depth"
    cache = build_cache(data, Path(cache_dir) if cache_dir else default_cache_dir(),
                        CacheParams(size=cfg.input_size, with_rgb=uses_rgb))
    ds = HandPoseDataset(cache, torch.arange(len(cache)).numpy(), Augment(),
                         [0.0] * 3 if uses_rgb else None, [1.0] * 3 if uses_rgb else None)
    model = build_model(cfg).to(device).train()
    optimizer = torch.optim.SGD(model.parameters(), lr=1e-4, momentum=0.9)

    def step(batch: dict[str, torch.Tensor]) -> None:
        with _autocast(device):
            loss = training_loss(model, model_inputs(batch, cfg.input_layout, device),
                                 batch["joints"].to(device, non_blocking=True))
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()

    # Bare: one batch kept on the device, reused.
    first = next(iter(torch.utils.data.DataLoader(ds, batch_size=batch_size)))
    fixed = {k: (v.to(device) if isinstance(v, torch.Tensor) else v) for k, v in first.items()}
    for _ in range(warmup):
        step(fixed)
    _sync(device)
    t0 = time.perf_counter()
    for _ in range(steps):
        step(fixed)
    _sync(device)
    bare_s = time.perf_counter() - t0

    # Pipeline: the training loader (shuffled, augmented, workers), cycled as needed.
    loader = torch.utils.data.DataLoader(ds, batch_size=batch_size, shuffle=True, drop_last=True,
                                         num_workers=workers, pin_memory=device.type == "cuda",
                                         persistent_workers=workers > 0, **({"prefetch_factor": 4} if workers else {}))

    def batches():
        while True:
            yield from loader

    it = batches()
    for _ in range(warmup):
        step(next(it))
    _sync(device)
    t0 = time.perf_counter()
    for _ in range(steps):
        step(next(it))
    _sync(device)
    pipe_s = time.perf_counter() - t0
    n = steps * batch_size
    return {"arch": cfg.arch, "compact": bool(cfg.bottleneck), "device": str(device), "batch_size": batch_size,
            "steps": steps, "workers": workers, "frames": len(cache), "threads": torch.get_num_threads(),
            "bare_samples_per_s": n / bare_s, "pipeline_samples_per_s": n / pipe_s, "pipeline_share": bare_s / pipe_s}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m training.bench_train", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("data", nargs="+", metavar="DATA_DIR")
    parser.add_argument("--arch", default="depthnet")
    parser.add_argument("--compact", action="store_true", help="the compact shipped head (training.nets.COMPACT)")
    parser.add_argument("--batch-size", type=int, default=128)
    parser.add_argument("--steps", type=int, default=20)
    parser.add_argument("--warmup", type=int, default=3)
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--device", default="auto")
    parser.add_argument("--cache-dir", default=None)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    cfg = ModelConfig(arch=args.arch, **(COMPACT if args.compact else {}))
    result = bench(args.data, cfg, args.batch_size, args.steps, args.warmup, args.workers, args.device, args.cache_dir)
    if args.json:
        print(json.dumps(result))
    else:
        print(f"{result['arch']}{' (compact)' if result['compact'] else ''} on {result['device']}, batch "
              f"{result['batch_size']}: bare {result['bare_samples_per_s']:.1f} samples/s, pipeline "
              f"{result['pipeline_samples_per_s']:.1f} samples/s ({100 * result['pipeline_share']:.0f}%)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
