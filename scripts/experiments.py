"""The thesis' comparisons (Table 4.3, fusion comparison, fusion functions) at one small, identical budget.

Every net is trained with exactly the same command apart from ``--arch`` (same frames, epochs, batch, optimizer,
width, seed) through the real ``handpose train`` CLI, then every group is scored on the first ``--test-frames``
frames of an unseen test set through the real runtime pipeline (``handpose eval --model ... --max-frames``),
which also draws the group's success-rate / per-joint plot. Results go to ``OUT/results.md`` (markdown tables)
and ``OUT/results.json``; the exact commands run go to ``OUT/commands.sh``.

Runs already trained to ``--epochs`` are reused (a killed driver resumes; each run resumes from its last.pt).

Example (the budget of docs/EXPERIMENTS.md):
    python scripts/experiments.py --data /tmp/hp/train --test /tmp/hp/test --out /tmp/hp/exp \\
        --budget-frames 3000 --epochs 2 --fig-dir docs
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

GROUPS: dict[str, tuple[str, list[str]]] = {
    "fusion": ("Fusion comparison (thesis sec. 4.4.6, Fig. 4.7)",
               ["depthnet", "rgbnet", "rgbdnet", "fusepred", "fusenet-conv"]),
    "fusefn": ("Fusion functions (thesis sec. 4.4.6, Fig. 4.8)",
               ["fusenet-max", "fusenet-sum", "fusenet-cat", "fusenet-conv"]),
    "table43": ("Depth-Net variants (thesis sec. 4.4.5, Table 4.3)", [f"net{k}" for k in range(1, 10)]),
}


def train_command(arch: str, args: argparse.Namespace) -> list[str]:
    """The one ``handpose train`` command of the budget; only ``--arch`` and ``--out`` differ between nets."""
    return ["handpose", "train", args.data, "--arch", arch, "--out", str(Path(args.out) / arch), "--compact",
            "--width", str(args.width), "--epochs", str(args.epochs), "--batch-size", str(args.batch_size),
            "--max-frames", str(args.budget_frames), "--optimizer", "adam", "--lr", str(args.lr),
            "--seed", str(args.seed), "--workers", "1", "--cache-dir", args.cache_dir, "--json"]


def eval_command(group: str, archs: list[str], args: argparse.Namespace) -> list[str]:
    return ["handpose", "eval", "--labels", args.test, "--model", *(str(Path(args.out) / a) for a in archs),
            "--max-frames", str(args.test_frames), "--json", "--plot", str(Path(args.fig_dir) / f"exp_{group}.png")]


def _run(cmd: list[str], log: Path) -> str:
    """Run ``handpose ...`` with this interpreter, stderr to ``log``; returns stdout (raises on failure)."""
    with open(log, "a") as err:
        done = subprocess.run([sys.executable, "-m", *cmd], stdout=subprocess.PIPE, stderr=err, text=True)
    if done.returncode != 0:
        raise SystemExit(f"failed ({done.returncode}): {shlex.join(cmd)}; see {log}")
    return done.stdout


def read_log(run_dir: Path) -> list[dict[str, float]]:
    """The rows of a run's ``log.csv`` as floats ([] when it has none yet)."""
    path = run_dir / "log.csv"
    if not path.exists():
        return []
    with open(path) as fh:
        return [{k: float(v) for k, v in row.items()} for row in csv.DictReader(fh)]


def count_params(run_dir: Path) -> int:
    import torch

    ckpt = torch.load(run_dir / "best.pt", map_location="cpu", weights_only=True)
    return int(sum(t.numel() for t in ckpt["model"].values()))


def run_summary(arch: str, run_dir: Path) -> dict[str, float]:
    """Final epoch's train / val loss (eq. 4.14) and val error, total training time and parameter count."""
    rows = read_log(run_dir)
    last = rows[-1]
    return {"train_loss": last["train_loss"], "val_loss": last["val_loss"],
            "val_error_mm": last["val_mean_error_mm"], "train_time_s": sum(r["time_s"] for r in rows),
            "params": count_params(run_dir)}


def markdown_table(title: str, archs: list[str], runs: dict, tests: dict, test_frames: int) -> str:
    head = (f"### {title}\n\n| net | params | train loss | val loss | val error (mm) | test mean (mm) | "
            f"test median (mm) | test SR@80mm (%) | train time (s) |\n|---|---:|---:|---:|---:|---:|---:|---:|---:|\n")
    lines = []
    for arch in archs:
        r, t = runs[arch], tests[arch]
        lines.append(f"| {arch} | {r['params'] / 1e6:.2f} M | {r['train_loss']:.4f} | {r['val_loss']:.4f} | "
                     f"{r['val_error_mm']:.1f} | {t['mean_error_mm']:.1f} | {t['median_error_mm']:.1f} | "
                     f"{t['success_rate']['80']:.1f} | {r['train_time_s']:.0f} |")
    return head + "\n".join(lines) + f"\n\n(test: first {test_frames} frames of the test set)\n"


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--data", required=True, help="training NYU-format directory")
    p.add_argument("--test", required=True, help="test NYU-format directory (unseen subjects)")
    p.add_argument("--out", required=True, help="folder for the run directories and results")
    p.add_argument("--budget-frames", type=int, required=True, help="--max-frames of every training run")
    p.add_argument("--epochs", type=int, required=True, help="epochs of every training run")
    p.add_argument("--only", choices=list(GROUPS), action="append", help="run only this group (repeatable)")
    p.add_argument("--width", type=float, default=0.25, help="conv width multiplier of every net (default: 0.25)")
    p.add_argument("--batch-size", type=int, default=64, help="batch size of every net (default: 64)")
    p.add_argument("--lr", type=float, default=1e-3, help="Adam learning rate of every net (default: 1e-3)")
    p.add_argument("--seed", type=int, default=0, help="seed of every run (default: 0)")
    p.add_argument("--test-frames", type=int, default=400, help="score the first N test frames (default: 400)")
    p.add_argument("--cache-dir", default="/tmp/hp/cache", help="crop cache folder (default: /tmp/hp/cache)")
    p.add_argument("--fig-dir", default="docs", help="folder for the exp_<group>.png plots (default: docs)")
    args = p.parse_args(argv)

    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    Path(args.fig_dir).mkdir(parents=True, exist_ok=True)
    groups = args.only or list(GROUPS)
    archs = list(dict.fromkeys(a for g in groups for a in GROUPS[g][1]))  # shared nets are trained once
    log = out / "driver.log"
    commands = [train_command(a, args) for a in archs] + [eval_command(g, GROUPS[g][1], args) for g in groups]
    (out / "commands.sh").write_text("\n".join(shlex.join(c) for c in commands) + "\n")

    runs = {}
    for k, arch in enumerate(archs):
        run_dir = out / arch
        if len(read_log(run_dir)) < args.epochs:
            t0 = time.perf_counter()
            print(f"[{k + 1}/{len(archs)}] training {arch}", file=sys.stderr, flush=True)
            _run(train_command(arch, args), log)
            print(f"    {time.perf_counter() - t0:.0f} s", file=sys.stderr, flush=True)
        runs[arch] = run_summary(arch, run_dir)
    tests: dict[str, dict] = {}
    for group in groups:
        print(f"evaluating {group}", file=sys.stderr, flush=True)
        result = json.loads(_run(eval_command(group, GROUPS[group][1], args), log))
        tests.update(result if len(GROUPS[group][1]) > 1 else {GROUPS[group][1][0]: result})
    (out / "results.json").write_text(json.dumps({"runs": runs, "tests": tests, "args": vars(args)}, indent=1))
    md = "\n".join(markdown_table(GROUPS[g][0], GROUPS[g][1], runs, tests, args.test_frames) for g in groups)
    (out / "results.md").write_text(md)
    print(md)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
