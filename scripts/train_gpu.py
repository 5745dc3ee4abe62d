"""The GPU recipe: data, training, ONNX export and latency in ONE command that fits a 9-minute machine slot.

    bash scripts/train_gpu.sh [--minutes 4] [--out runs/gpu] [...]      (this file's options)

On a fresh machine with only the repository copied over and Python with torch (CUDA), numpy, scipy,
opencv-python-headless and onnx installed (tqdm, tensorboard, psutil, matplotlib and onnxruntime are not needed):
1. generates the training and validation sets with every core (`handpose synth`; hands 0..--subjects-1 train,
   480..487 validate); --sensors splits the training frames between sensor models (one folder each);
2. preprocesses the crops once (the cache the nets read);
3. trains the nets (--run, default Depth-Net and Fuse-Net) side by side on the one GPU, bf16 autocast, each
   with its crop cache in GPU memory and its batches cut and augmented there (`--augment-on device`), for the
   minutes left before the deadline (at most --minutes), with a time-based schedule (`handpose train
   --max-minutes`); a run may start from a weights-only checkpoint (e.g. the shipped models/depthnet.pt);
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
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from inference.synth.sensor import SENSORS as SENSOR_MODELS  # noqa: E402 - after the path

MAX_MODEL_BYTES = 16 * 2**20
VAL_SUBJECTS = (480, 8)  # first id, count: above every training range (training subjects stay below 480)
SENSORS = tuple(SENSOR_MODELS)  # the generator's sensor models (handpose synth --sensor)


@dataclass(frozen=True)
class Run:
    """One net to train: ``NAME:ARCH[:WIDTH[:INIT]]`` on the command line (NAME names the exported files)."""

    name: str
    arch: str
    width: float | None = None  # None: --width
    init: Path | None = None  # a weights-only checkpoint to start from

    @classmethod
    def parse(cls, text: str) -> Run:
        parts = text.split(":")
        if not 2 <= len(parts) <= 4 or not all(parts[:2]):
            raise argparse.ArgumentTypeError(f"--run {text!r}: expected NAME:ARCH[:WIDTH[:INIT]]")
        try:
            width = float(parts[2]) if len(parts) > 2 and parts[2] else None
        except ValueError:
            raise argparse.ArgumentTypeError(f"--run {text!r}: width {parts[2]!r} is not a number") from None
        init = Path(parts[3]) if len(parts) > 3 and parts[3] else None
        if init is not None and not (init if init.is_absolute() else ROOT / init).is_file():
            raise argparse.ArgumentTypeError(f"--run {text!r}: no checkpoint {init}")
        return cls(parts[0], parts[1], width, init)


# The shipped nets, each continued from its weights-only checkpoint: what made them on the first GPU run
# (docs/EXPERIMENTS.md); a width-0.5 net from scratch was behind after the same 3.8 minutes, and twice as slow on a CPU.
DEFAULT_RUNS = (Run("depthnet", "depthnet", 0.25, Path("models/depthnet.pt")),
                Run("fusenet", "fusenet-conv", 0.25, Path("models/fusenet.pt")))


def _log(msg: str) -> None:
    print(f"[train_gpu {time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


def _handpose(args: list[str], log: Path, env: dict[str, str] | None = None) -> subprocess.Popen:
    """Start ``python -m handpose ARGS`` (stdout piped, stderr to ``log``)."""
    _log("$ handpose " + shlex.join(args))
    with open(log, "w") as err:  # the child keeps its own handle
        return subprocess.Popen([sys.executable, "-m", "handpose", *args], cwd=ROOT, stdout=subprocess.PIPE,
                                stderr=err, text=True, env=env)


def _jsonable(value: object) -> object:
    """Paths and runs in the summary's settings."""
    if isinstance(value, Run):
        return {**value.__dict__, "init": value.init and str(value.init)}
    return str(value)


def _finish(proc: subprocess.Popen, log: Path, what: str) -> str:
    out, _ = proc.communicate()
    if proc.returncode != 0:
        tail = log.read_text()[-2000:]
        raise SystemExit(f"train_gpu: {what} failed (exit {proc.returncode}); end of {log}:\n{tail}")
    return out


def training_sets(data: Path, args: argparse.Namespace) -> list[tuple[Path, int, int, str]]:
    """``(folder, frames, seed, sensor)`` of each training folder: --frames split evenly over --sensors."""
    n = len(args.sensors)
    return [(data / f"train{i}_{sensor}", args.frames // n + (i < args.frames % n), args.seed + 10 * i, sensor)
            for i, sensor in enumerate(args.sensors)]


def generate(data: Path, args: argparse.Namespace, logs: Path) -> dict[str, int]:
    """Training and validation sets, one after the other, each with every worker."""
    sets = [(folder, frames, seed, args.subjects, 0, sensor, args.hard_fraction)
            for folder, frames, seed, sensor in training_sets(data, args)]
    sets.append((data / "val", args.val_frames, args.seed + 1, VAL_SUBJECTS[1], VAL_SUBJECTS[0], "kinect", 0.0))
    for folder, frames, seed, subjects, offset, sensor, hard in sets:
        proc = _handpose(["synth", str(folder), "--frames", str(frames), "--seed", str(seed), "--subjects",
                          str(subjects), "--subject-offset", str(offset), "--mode", "random", "--sensor", sensor,
                          "--hard-fraction", str(hard), "--workers", str(args.workers), "--overwrite"],
                         logs / f"synth_{folder.name}.log")
        _finish(proc, logs / f"synth_{folder.name}.log", f"generating {folder.name}")
    return {"train": args.frames, "val": args.val_frames}


def build_caches(data: Path, cache: Path, args: argparse.Namespace) -> None:
    """The crop caches the trainings will open (built here with every core, so their clocks start at once)."""
    from training.crop_cache import CacheParams, build_cache

    train = [folder for folder, *_rest in training_sets(data, args)]
    for with_rgb in sorted({r.arch != "depthnet" for r in args.runs}):
        for roots in (train, [data / "val"]):
            build_cache(roots, cache, CacheParams(size=args.input_size, with_rgb=with_rgb), workers=args.workers,
                        progress=False)


def train_args(run: Run, data: Path, args: argparse.Namespace, minutes: float, workers: int) -> list[str]:
    train = [str(folder) for folder, *_rest in training_sets(data, args)]
    width = args.width if run.width is None else run.width
    flags = ["train", *train, "--val-data", str(data / "val"), "--arch", run.arch, "--compact",
             "--width", str(width), "--input-size", str(args.input_size), "--batch-size", str(args.batch_size),
             "--optimizer", "adam", "--lr", str(args.lr), "--schedule", args.schedule, "--epochs", "100000",
             "--max-minutes", f"{minutes:.4f}", "--workers", str(workers), "--cache-dir", str(args.out / "cache"),
             "--device", args.device, "--seed", str(args.seed), "--out", str(args.out / "runs" / run.name), "--json",
             "--augment-on", "device"]  # batches cut on the GPU: loader workers fed 2.7k samples/s per net there
    if args.fc_width:
        flags += ["--fc-width", str(args.fc_width)]
    if args.channels_last:
        flags.append("--channels-last")
    if run.init is not None:
        flags += ["--init", str(run.init if run.init.is_absolute() else ROOT / run.init)]
    return flags


def latency(weights: Path, device_name: str, repeats: int) -> dict[str, object]:
    """Median batch-1 ms of the net in ``weights`` (the export's .pt, which holds every weight by name, as the
    ONNX file need not): the torch backend (CUDA graph + fp16 on a GPU) and the plain fp32 network."""
    import numpy as np
    import torch

    from inference.core.frame import HandCrop
    from training.torch_backend import TorchEstimator, load_for_inference

    backend = TorchEstimator(weights, device=device_name)
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

    model, _ = load_for_inference(weights)
    device = backend.device
    model = model.to(device)
    inputs = [torch.zeros(1, ch, s, s, device=device) for _, ch in meta.inputs]

    @torch.inference_mode()
    def plain() -> None:
        model(*inputs).float().cpu()  # as the backend: the result back on the host

    return {"provider": backend.provider, "torch_backend_ms": timed(lambda: backend.predict(crop)),
            "plain_fp32_ms": timed(plain)}


def _output(proc: subprocess.Popen) -> tuple[int, str]:
    out, _ = proc.communicate()
    return proc.returncode, out


def deliver(run: Run, output: tuple[int, str], args: argparse.Namespace, logs: Path) -> dict[str, object]:
    """Export one finished training run to OUT/models/NAME.onnx (+ .json, .pt); its row of the summary."""
    from training.export import export_run

    code, out = output
    if code != 0:
        tail = (logs / f"train_{run.name}.log").read_text()[-2000:]
        raise RuntimeError(f"training {run.name} failed (exit {code}); end of its log:\n{tail}")
    s = json.loads(out)
    path, _meta = export_run(args.out / "runs" / run.name, args.out / "models" / f"{run.name}.onnx")
    size = path.stat().st_size
    if size > MAX_MODEL_BYTES:
        raise RuntimeError(f"{path} is {size / 2**20:.1f} MiB, over 16 MiB: lower --width or --fc-width")
    with open(args.out / "runs" / run.name / "log.csv") as fh:
        history = [{k: float(v) for k, v in row.items()} for row in csv.DictReader(fh)]
    return {"arch": run.arch, "init": run.init and str(run.init), "onnx": str(path), "bytes": size,
            "weights": str(path.with_suffix(".pt")), "epochs": s["epochs"], "best_epoch": s["best_epoch"],
            "train_time_s": round(s["train_time_s"], 1), "samples": s["epochs"] * s["data"]["splits"]["train"],
            "val_error_mm": history[-1]["val_mean_error_mm"] if history else None,
            "best_val_error_mm": min((r["val_mean_error_mm"] for r in history), default=None)}


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
    p.add_argument("--frames", type=int, default=26000, help="training frames to generate (default: 26000)")
    p.add_argument("--val-frames", type=int, default=1000, help="validation frames (default: 1000)")
    p.add_argument("--sensors", nargs="+", default=["kinect", "kinect", "kinect-edges", "sr305"], choices=SENSORS,
                   metavar="SENSOR", help="depth sensor models of the training frames, an equal share each (list "
                   f"one twice for a double share; {', '.join(SENSORS)}; default: kinect kinect kinect-edges "
                   "sr305); validation is kinect")
    p.add_argument("--subjects", type=int, default=400,
                   help=f"training hand shapes, ids 0..N-1 (default: 400; at most {VAL_SUBJECTS[0]})")
    p.add_argument("--hard-fraction", type=float, default=0.05,
                   help="share of training frames with an object in front of the hand (default: 0.05)")
    p.add_argument("--run", dest="runs", type=Run.parse, action="append", metavar="NAME:ARCH[:WIDTH[:INIT]]",
                   help="a net to train, repeatable; WIDTH overrides --width, INIT a weights-only checkpoint to "
                   "start from (default: the shipped nets continued, depthnet:depthnet:0.25:models/depthnet.pt and "
                   "fusenet:fusenet-conv:0.25:models/fusenet.pt; e.g. depthnet:depthnet for a thesis-width "
                   "Depth-Net from scratch)")
    p.add_argument("--width", type=float, default=1.0,
                   help="conv width of a --run without WIDTH (default: 1.0, the thesis' filters)")
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
    args.runs = args.runs or list(DEFAULT_RUNS)
    if len({r.name for r in args.runs}) < len(args.runs):
        p.error("--run: two runs have the same NAME")
    if not 1 <= args.subjects <= VAL_SUBJECTS[0]:
        p.error(f"--subjects must be 1..{VAL_SUBJECTS[0]} (validation hands start at id {VAL_SUBJECTS[0]})")
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
    _log(f"training {', '.join(r.name for r in args.runs)} for {minutes:.2f} min each, side by side")
    per_run = max(1, (args.workers - 1) // len(args.runs))
    env = {**os.environ, "OMP_NUM_THREADS": str(max(1, args.workers // len(args.runs)))}
    procs = {r.name: _handpose(train_args(r, data, args, minutes, per_run), logs / f"train_{r.name}.log", env)
             for r in args.runs}
    # One net failing must not cost the others (a GPU slot is not given twice): each is finished, exported and
    # timed on its own, a failure is reported in its row, and the exit status says whether all went through.
    outputs = {name: _output(proc) for name, proc in procs.items()}
    t = mark("train", t)
    models: dict[str, dict[str, object]] = {}
    for run in args.runs:
        try:
            models[run.name] = deliver(run, outputs[run.name], args, logs)
        except Exception as exc:  # reported in the summary; the other nets go on
            _log(f"{run.name}: {exc}")
            models[run.name] = {"arch": run.arch, "error": str(exc)[-2000:]}
    t = mark("export", t)
    for row in models.values():
        if "weights" in row:
            try:
                row["latency_ms"] = latency(Path(str(row["weights"])), args.device, args.latency_repeats)
            except Exception as exc:  # the model is delivered all the same
                _log(f"latency: {exc}")
                row["latency_ms"] = {"error": str(exc)[-500:]}
    mark("latency", t)
    stages["total"] = round(time.perf_counter() - t_start, 2)

    import torch

    summary = {"device": "cuda" if args.device != "cpu" and torch.cuda.is_available() else "cpu",
               "gpu": torch.cuda.get_device_name(0) if torch.cuda.is_available() else None,
               "torch": torch.__version__, "python": sys.version.split()[0], "cores": cores,
               "frames": frames, "train_minutes": round(minutes, 3), "stages_s": stages, "models": models,
               "settings": json.loads(json.dumps(vars(args), default=_jsonable))}
    (args.out / "summary.json").write_text(json.dumps(summary, indent=1) + "\n")
    print(json.dumps(summary))
    failed = [name for name, row in models.items() if "error" in row]
    if failed:
        _log(f"failed: {', '.join(failed)} (see their 'error' in the summary)")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
