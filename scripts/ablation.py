"""Accuracy per CPU-hour: one-factor-at-a-time training ablation at a fixed budget of training samples.

Every setting is the baseline `handpose train` command (today's shipped recipe: compact Depth-Net, width 0.25,
fc-512, Adam lr 1e-3 with the plateau rule, batch 64, 128x128 crops) with ONE change, trained for the same
number of epochs over the same training set (so the same number of samples), validated on a separate set of
unseen hands after every epoch. The table holds the validation error at the budget (last epoch) and, once
measured with --bench on a quiet machine, the training samples/s of the same flags (scripts/bench_train.py);
together they give accuracy per CPU-hour. Runs are resumable: finished ones are skipped, a killed one resumes
from its last epoch. The exact commands go to OUT/commands.sh, the table to OUT/results.md and results.json.

Usage:
    python scripts/ablation.py --data TRAIN --val VAL --out OUT --epochs 6 --cache-dir CACHE \
        [--refresh-data NEW] [--only NAME ...] [--bench] [--list]
"""

from __future__ import annotations

import argparse
import csv
import json
import shlex
import subprocess
import sys
import time
from pathlib import Path

# name -> (what changes, the flags that change). The baseline's flags are BASE below.
SETTINGS: dict[str, tuple[str, dict[str, str | None]]] = {
    "baseline": ("today's recipe", {}),
    "size96": ("input 96x96", {"--input-size": "96"}),
    "size64": ("input 64x64", {"--input-size": "64"}),
    "width0.5": ("conv width x0.5 (2x filters)", {"--width": "0.5"}),
    "width0.125": ("conv width x0.125 (half the filters)", {"--width": "0.125"}),
    "gap": ("global-average-pool head instead of bottleneck + flatten", {"--head": "gap"}),
    "cosine": ("cosine lr schedule over the budget", {"--schedule": "cosine"}),
    "onecycle": ("one-cycle lr schedule (peak 2e-3)", {"--schedule": "onecycle", "--lr": "0.002"}),
    "batch128": ("batch 128 (half the steps)", {"--batch-size": "128"}),
    "batch32": ("batch 32 (twice the steps)", {"--batch-size": "32"}),
    "refresh": ("pool refreshed with 25% new frames per epoch", {"--refresh-fraction": "0.25"}),
    "seed1": ("the baseline with another seed (initialisation, order, augmentation): the noise", {"--seed": "1"}),
}
# Speed settings: the baseline's training step with one change that leaves the arithmetic as it is; timed only.
SPEED: dict[str, tuple[str, dict[str, str | None]]] = {
    "threads1": ("1 torch thread", {"--threads": "1"}),
    "threads2": ("2 torch threads (one per core, torch's default here)", {"--threads": "2"}),
    "channels_last": ("channels-last memory format", {"--channels-last": None}),
    "compile": ("torch.compile", {"--compile": None}),
    "workers0": ("augmentation in the training process", {"--workers": "0"}),
    "workers2": ("2 loader processes", {"--workers": "2"}),
}


def base_flags(args: argparse.Namespace) -> dict[str, str | None]:
    return {"--arch": "depthnet", "--compact": None, "--width": "0.25", "--batch-size": "64", "--optimizer": "adam",
            "--lr": "0.001", "--epochs": str(args.epochs), "--seed": "0", "--workers": "1",
            "--cache-dir": args.cache_dir, "--val-data": args.val}


def flags_of(name: str, args: argparse.Namespace) -> list[str]:
    """The flags of setting ``name`` (the baseline's with its changes), as a list of arguments."""
    flags = base_flags(args) | {**SETTINGS, **SPEED}[name][1]
    if "--refresh-fraction" in flags:
        if not args.refresh_data:
            raise SystemExit(f"setting {name} needs --refresh-data")
        flags["--refresh-data"] = args.refresh_data
    out: list[str] = []
    for key, value in flags.items():
        out += [key] if value is None else [key, value]
    return out


def train_command(name: str, args: argparse.Namespace) -> list[str]:
    threads = ["--threads", str(args.train_threads)] if args.train_threads else []
    return ["handpose", "train", args.data, "--out", str(Path(args.out) / name), *flags_of(name, args), *threads,
            "--json"]


def bench_command(name: str, args: argparse.Namespace) -> list[str]:
    return ["scripts/bench_train.py", args.data, *[f for f in flags_of(name, args)],
            "--steps", str(args.bench_steps), "--json"]


def read_log(run_dir: Path) -> list[dict[str, float]]:
    path = run_dir / "log.csv"
    if not path.exists():
        return []
    with open(path) as fh:
        return [{k: float(v) for k, v in row.items()} for row in csv.DictReader(fh)]


def _run(cmd: list[str], log: Path) -> str:
    """Run a `handpose` command or a script with this interpreter; stderr to ``log``; returns stdout."""
    head = ["-m", "handpose", *cmd[1:]] if cmd[0] == "handpose" else cmd
    with open(log, "a") as err:
        done = subprocess.run([sys.executable, *head], stdout=subprocess.PIPE, stderr=err, text=True)
    if done.returncode != 0:
        raise SystemExit(f"failed ({done.returncode}): {shlex.join(cmd)}; see {log}")
    return done.stdout


def summary(name: str, args: argparse.Namespace) -> dict | None:
    rows = read_log(Path(args.out) / name)
    if not rows:
        return None
    bench_file = Path(args.out) / "bench" / f"{name}.json"
    bench = json.loads(bench_file.read_text()) if bench_file.exists() else None
    ckpt = Path(args.out) / name / "last.pt"
    frames = None
    if ckpt.exists():
        import torch

        state = torch.load(ckpt, map_location="cpu", weights_only=True)
        frames = state["data"]["splits"]["train"]
        params = int(sum(t.numel() for t in state["model"].values()))
    errors = [r["val_mean_error_mm"] for r in rows]
    epochs = int(rows[-1]["epoch"])
    return {"name": name, "change": SETTINGS[name][0], "epochs": epochs,
            "samples": None if frames is None else frames * epochs, "params": params if frames else None,
            "val_error_mm": errors[-1], "best_val_error_mm": min(errors), "curve_mm": [round(e, 1) for e in errors],
            "train_time_s": sum(r["time_s"] for r in rows), "bench": bench}


def markdown(rows: list[dict], epochs: int) -> str:
    lines = ["| setting | change | params | samples/s (bare) | samples/s (pipeline) | val error at budget (mm) | "
             "best (mm) | val error per epoch (mm) | CPU-h to budget |",
             "|---|---|---:|---:|---:|---:|---:|---|---:|"]
    for r in rows:
        b = r["bench"]
        bare = f"{b['bare_samples_per_s']:.0f}" if b else "-"
        pipe = f"{b['pipeline_samples_per_s']:.0f}" if b else "-"
        hours = f"{r['samples'] / b['pipeline_samples_per_s'] / 3600:.2f}" if b and r["samples"] else "-"
        done = "" if r["epochs"] >= epochs else f" (epoch {r['epochs']}/{epochs})"
        params = f"{r['params'] / 1e6:.2f} M" if r["params"] else "-"
        lines.append(f"| {r['name']} | {r['change']} | {params} | {bare} | {pipe} | {r['val_error_mm']:.1f}{done} | "
                     f"{r['best_val_error_mm']:.1f} | {' '.join(map(str, r['curve_mm']))} | {hours} |")
    return "\n".join(lines) + "\n"


def speed_table(speed: dict[str, dict], rows: list[dict]) -> str:
    """The speed settings against the baseline's own benchmark."""
    base = next((r["bench"] for r in rows if r["name"] == "baseline" and r["bench"]), None)
    lines = ["| speed setting | samples/s (bare) | samples/s (pipeline) | vs baseline (pipeline) | warm-up (s) |",
             "|---|---:|---:|---:|---:|"]
    for name, b in speed.items():
        rel = f"{b['pipeline_samples_per_s'] / base['pipeline_samples_per_s']:.2f}x" if base else "-"
        lines.append(f"| {name}: {SPEED[name][0]} | {b['bare_samples_per_s']:.0f} | "
                     f"{b['pipeline_samples_per_s']:.0f} | {rel} | {b['warmup_s']:.1f} |")
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python scripts/ablation.py", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--data", required=True, help="training NYU-format directory (the fixed set)")
    p.add_argument("--val", required=True, help="validation directory (hands not in --data)")
    p.add_argument("--out", required=True, help="folder for the runs and the results")
    p.add_argument("--epochs", type=int, required=True, help="the budget: epochs over --data of every run")
    p.add_argument("--cache-dir", required=True, help="crop cache folder")
    p.add_argument("--refresh-data", help="new frames for the 'refresh' setting")
    p.add_argument("--train-threads", type=int, default=None,
                   help="torch threads of the training runs (wall time on a loaded machine only; the benchmark "
                        "uses the setting's own)")
    p.add_argument("--only", nargs="+", choices=[*SETTINGS, *SPEED],
                   help="run only these settings, in this order (the speed settings: with --bench only)")
    p.add_argument("--bench", action="store_true",
                   help="time the settings (scripts/bench_train.py) instead of training them")
    p.add_argument("--bench-steps", type=int, default=30, help="timed steps per benchmark (default: 30)")
    p.add_argument("--list", action="store_true", help="print the commands and the table so far, run nothing")
    args = p.parse_args(argv)

    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    names = args.only or [n for n in SETTINGS if n != "refresh" or args.refresh_data]
    if not args.bench and set(names) & set(SPEED):
        raise SystemExit(f"speed settings ({', '.join(SPEED)}) are timed only: add --bench")
    log = out / "driver.log"
    cmds = [train_command(n, args) for n in names]
    (out / "commands.sh").write_text("\n".join(shlex.join(c) for c in cmds) + "\n")
    if not args.list:
        for k, name in enumerate(names):
            if args.bench:
                (out / "bench").mkdir(exist_ok=True)
                print(f"[{k + 1}/{len(names)}] timing {name}", file=sys.stderr, flush=True)
                result = _run(bench_command(name, args), log)
                (out / "bench" / f"{name}.json").write_text(result)
            elif len(read_log(out / name)) < args.epochs:
                t0 = time.perf_counter()
                print(f"[{k + 1}/{len(names)}] training {name}", file=sys.stderr, flush=True)
                _run(train_command(name, args), log)
                print(f"    {time.perf_counter() - t0:.0f} s", file=sys.stderr, flush=True)
    rows = [r for r in (summary(n, args) for n in SETTINGS) if r is not None]
    speed = {n: json.loads(f.read_text()) for n in SPEED if (f := out / "bench" / f"{n}.json").exists()}
    (out / "results.json").write_text(json.dumps({"runs": rows, "speed": speed}, indent=1))
    table = markdown(rows, args.epochs) + "\n" + speed_table(speed, rows)
    (out / "results.md").write_text(table)
    print(table)
    return 0


if __name__ == "__main__":
    sys.exit(main())
