"""The GPU recipe: data, training, ONNX export and latency in ONE command that fits a 9-minute machine slot.

    bash scripts/train_gpu.sh [--minutes 4] [--out runs/gpu] [...]      (this file's options)

On a fresh machine with only the repository copied over and Python with torch (CUDA), numpy, scipy,
opencv-python-headless and onnx installed (tqdm, tensorboard, psutil, matplotlib and onnxruntime are not needed):
1. generates the training and validation sets with every core (`handpose synth`; hands 0..47 train, 400..407
   validate);
2. preprocesses the crops once (the cache both nets read);
3. trains Depth-Net and Fuse-Net side by side on the one GPU, bf16 autocast, for the minutes left before the
   deadline (at most --minutes), with a time-based schedule (`handpose train --max-minutes`);
4. exports each to OUT/models/<name>.onnx (+ .json card, + .pt weights), refusing files over 16 MiB;
5. times batch-1 inference: the torch backend (CUDA graph + fp16 on a GPU) against the plain fp32 network;
6. prints one JSON summary on stdout (progress and logs go to stderr and OUT/logs/).
The same code path runs on a CPU with tiny settings (tests/training/test_train_gpu_recipe.py).
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import shlex
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

MAX_MODEL_BYTES = 16 * 2**20
NAMES = {"depthnet": "depthnet", "fusenet-conv": "fusenet"}  # arch -> shipped file name


def _log(msg: str) -> None:
    print(f"[train_gpu {time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


def _handpose(args: list[str], log: Path, env: dict[str, str] | None = None) -> subprocess.Popen:
    """Start ``python -m handpose ARGS`` (stdout piped, stderr to ``log``)."""
    _log("$ handpose " + shlex.join(args))
    with open(log, "w") as err:  # the child keeps its own handle
        return subprocess.Popen([sys.executable, "-m", "handpose", *args], cwd=ROOT, stdout=subprocess.PIPE,
                                stderr=err, text=True, env=env)


def _finish(proc: subprocess.Popen, log: Path, what: str) -> str:
    out, _ = proc.communicate()
    if proc.returncode != 0:
        tail = log.read_text()[-2000:]
        raise SystemExit(f"train_gpu: {what} failed (exit {proc.returncode}); end of {log}:\n{tail}")
    return out


def generate(out: Path, args: argparse.Namespace, logs: Path) -> dict[str, int]:
    """Training and validation sets, one after the other, each with every worker."""
    sets = {"train": (args.frames, args.seed, 48, 0), "val": (args.val_frames, args.seed + 1, 8, 400)}
    for name, (frames, seed, subjects, offset) in sets.items():
        proc = _handpose(["synth", str(out / name), "--frames", str(frames), "--seed", str(seed), "--subjects",
                          str(subjects), "--subject-offset", str(offset), "--mode", "random", "--sensor", args.sensor,
                          "--workers", str(args.workers), "--overwrite"], logs / f"synth_{name}.log")
        _finish(proc, logs / f"synth_{name}.log", f"generating {name}")
    return {name: frames for name, (frames, *_rest) in sets.items()}


def build_caches(data: Path, cache: Path, args: argparse.Namespace) -> None:
    """The crop caches the trainings will open (built here with every core, so their clocks start at once)."""
    from training.crop_cache import CacheParams, build_cache

    for with_rgb in sorted({a != "depthnet" for a in args.archs}):
        for split in ("train", "val"):
            build_cache([data / split], cache, CacheParams(size=args.input_size, with_rgb=with_rgb),
                        workers=args.workers, progress=False)


def train_args(arch: str, data: Path, args: argparse.Namespace, minutes: float, workers: int) -> list[str]:
    flags = ["train", str(data / "train"), "--val-data", str(data / "val"), "--arch", arch, "--compact",
             "--width", str(args.width), "--input-size", str(args.input_size), "--batch-size", str(args.batch_size),
             "--optimizer", "adam", "--lr", str(args.lr), "--schedule", args.schedule, "--epochs", "100000",
             "--max-minutes", f"{minutes:.4f}", "--workers", str(workers), "--cache-dir", str(args.out / "cache"),
             "--device", args.device, "--seed", str(args.seed), "--out", str(args.out / "runs" / arch), "--json"]
    if args.fc_width:
        flags += ["--fc-width", str(args.fc_width)]
    if args.channels_last:
        flags.append("--channels-last")
    return flags


def latency(onnx_path: Path, device_name: str, repeats: int) -> dict[str, object]:
    """Median batch-1 ms: the torch backend (CUDA graph + fp16 on a GPU) and the plain fp32 network."""
    import numpy as np
    import torch

    from inference.core.frame import HandCrop
    from training.torch_backend import TorchEstimator, load_for_inference

    backend = TorchEstimator(onnx_path, device=device_name)
    meta = backend.metadata
    s = meta.input_size
    crop = HandCrop(depth=np.zeros((s, s), np.float32), rgb=np.zeros((3, s, s), np.float32) if meta.uses_rgb else None,
                    com_uvd=np.array([320.0, 240.0, 600.0]), com_xyz_mm=np.zeros(3), cube_mm=meta.cube_mm,
                    mask=np.ones((s, s), bool), window_px=(0, 0, 1, 1))

    def timed(fn) -> float:
        for _ in range(10):
            fn()
        times = []
        for _ in range(repeats):
            t0 = time.perf_counter()
            fn()
            times.append(1e3 * (time.perf_counter() - t0))
        return float(np.median(times))

    model, _ = load_for_inference(onnx_path)
    device = backend.device
    model = model.to(device)
    inputs = [torch.zeros(1, ch, s, s, device=device) for _, ch in meta.inputs]

    @torch.inference_mode()
    def plain() -> None:
        model(*inputs).float().cpu()  # as the backend: the result back on the host

    return {"provider": backend.provider, "torch_backend_ms": timed(lambda: backend.predict(crop)),
            "plain_fp32_ms": timed(plain)}


def main(argv: list[str] | None = None) -> int:
    cores = os.cpu_count() or 1
    p = argparse.ArgumentParser(prog="scripts/train_gpu.sh", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--out", type=Path, default=ROOT / "runs" / "gpu", help="output folder (default: runs/gpu)")
    p.add_argument("--minutes", type=float, default=4.0, help="training minutes at most (default: 4)")
    p.add_argument("--deadline-min", type=float, default=8.5,
                   help="the whole command's limit (default: 8.5 of a 9-minute slot); training gets what is left")
    p.add_argument("--reserve-min", type=float, default=0.75,
                   help="kept after training for export and timing (default: 0.75)")
    p.add_argument("--frames", type=int, default=24000, help="training frames to generate (default: 24000)")
    p.add_argument("--val-frames", type=int, default=1000, help="validation frames (default: 1000)")
    p.add_argument("--sensor", default="kinect", help="depth sensor model of the data (default: kinect)")
    p.add_argument("--archs", nargs="+", default=list(NAMES), choices=list(NAMES), help="nets to train (both)")
    p.add_argument("--width", type=float, default=1.0, help="conv width (default: 1.0, the thesis' filters)")
    p.add_argument("--fc-width", type=int, default=None, help="fc width (default: the compact head's 512)")
    p.add_argument("--input-size", type=int, default=128)
    p.add_argument("--batch-size", type=int, default=128)
    p.add_argument("--lr", type=float, default=1e-3, help="Adam peak learning rate (default: 1e-3)")
    p.add_argument("--schedule", default="onecycle", choices=["plateau", "cosine", "onecycle"])
    p.add_argument("--no-channels-last", dest="channels_last", action="store_false")
    p.add_argument("--device", default="auto", help="auto (CUDA when available), cuda or cpu")
    p.add_argument("--workers", type=int, default=cores, help=f"generator / preprocessing processes (default: {cores})")
    p.add_argument("--latency-repeats", type=int, default=300, help="timed batch-1 calls per measurement")
    p.add_argument("--seed", type=int, default=1)
    args = p.parse_args(argv)
    t_start = time.perf_counter()
    args.out.mkdir(parents=True, exist_ok=True)
    logs = args.out / "logs"
    logs.mkdir(exist_ok=True)
    data = args.out / "data"
    stages: dict[str, float] = {}

    def mark(stage: str, since: float) -> float:
        stages[stage] = round(time.perf_counter() - since, 2)
        return time.perf_counter()

    t = time.perf_counter()
    frames = generate(data, args, logs)
    t = mark("generate", t)
    build_caches(data, args.out / "cache", args)
    t = mark("preprocess", t)
    elapsed_min = (time.perf_counter() - t_start) / 60
    minutes = min(args.minutes, args.deadline_min - elapsed_min - args.reserve_min)
    if minutes <= 0:
        raise SystemExit(f"train_gpu: no time left to train ({elapsed_min:.1f} of {args.deadline_min} min spent on "
                         "data); lower --frames or raise --deadline-min")
    _log(f"training {', '.join(args.archs)} for {minutes:.2f} min each, side by side")
    per_run = max(1, (args.workers - 1) // len(args.archs))
    env = {**os.environ, "OMP_NUM_THREADS": str(max(1, args.workers // len(args.archs)))}
    procs = {a: _handpose(train_args(a, data, args, minutes, per_run), logs / f"train_{a}.log", env)
             for a in args.archs}
    summaries = {a: json.loads(_finish(proc, logs / f"train_{a}.log", f"training {a}")) for a, proc in procs.items()}
    t = mark("train", t)

    from training.export import export_run

    models: dict[str, dict[str, object]] = {}
    for arch in args.archs:
        path, _meta = export_run(args.out / "runs" / arch, args.out / "models" / f"{NAMES[arch]}.onnx")
        size = path.stat().st_size
        if size > MAX_MODEL_BYTES:
            raise SystemExit(f"train_gpu: {path} is {size / 2**20:.1f} MiB, over 16 MiB: lower --width or --fc-width")
        s = summaries[arch]
        with open(args.out / "runs" / arch / "log.csv") as fh:
            history = [{k: float(v) for k, v in row.items()} for row in csv.DictReader(fh)]
        models[NAMES[arch]] = {"arch": arch, "onnx": str(path), "bytes": size, "weights": str(path.with_suffix(".pt")),
                               "epochs": s["epochs"], "best_epoch": s["best_epoch"],
                               "train_time_s": round(s["train_time_s"], 1),
                               "samples": s["epochs"] * s["data"]["splits"]["train"],
                               "val_error_mm": history[-1]["val_mean_error_mm"] if history else None,
                               "best_val_error_mm": min((r["val_mean_error_mm"] for r in history), default=None)}
    t = mark("export", t)
    for row in models.values():
        row["latency_ms"] = latency(Path(str(row["onnx"])), args.device, args.latency_repeats)
    mark("latency", t)
    stages["total"] = round(time.perf_counter() - t_start, 2)

    import torch

    summary = {"device": "cuda" if args.device != "cpu" and torch.cuda.is_available() else "cpu",
               "gpu": torch.cuda.get_device_name(0) if torch.cuda.is_available() else None,
               "torch": torch.__version__, "python": sys.version.split()[0], "cores": cores,
               "frames": frames, "train_minutes": round(minutes, 3), "stages_s": stages, "models": models,
               "settings": {k: (str(v) if isinstance(v, Path) else v) for k, v in vars(args).items()}}
    (args.out / "summary.json").write_text(json.dumps(summary, indent=1) + "\n")
    print(json.dumps(summary))
    return 0


if __name__ == "__main__":
    sys.exit(main())
