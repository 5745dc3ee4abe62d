"""The thesis' random search (sec. 4.4.3, eq. 4.19) on Optuna's RandomSampler.

Round 1 samples lr and momentum log-uniformly in (1e-3, 1e-1) and (0.8, 1) and dropout uniformly in
(0, 0.1); each later round samples inside ranges shrunk around the best trial so far (by ``shrink`` of the
previous width, in log space for the log-uniform ones, clipped to the previous range). Each trial is a short
training run (its own run directory, so a killed search resumes trial by trial) scored by its best validation
loss. Trials live in an Optuna storage: SQLite in the tune directory by default, or any RDB URL so several
machines can share one study. Results: ``results.csv`` (one row per trial) and ``results.png``.
"""

from __future__ import annotations

import csv
import math
import sys
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from inference.core.outputs import atomic_write, check_output_dir
from training.train import TrainConfig, train

# name -> (low, high, log scale)
THESIS_RANGES: dict[str, tuple[float, float, bool]] = {
    "lr": (1e-3, 1e-1, True),
    "momentum": (0.8, 1.0, True),
    "dropout": (0.0, 0.1, False),
}


@dataclass
class TuneConfig:
    rounds: int = 3
    trials_per_round: int = 50
    shrink: float = 0.5  # each round's range width relative to the previous one
    storage: str | None = None  # default: sqlite:///<out>/tune.db
    study: str = "handpose"
    seed: int = 0


def shrink_ranges(
    ranges: dict[str, tuple[float, float, bool]], best: dict[str, float], factor: float
) -> dict[str, tuple[float, float, bool]]:
    """Ranges ``factor`` times as wide, centred on ``best`` (log space for log ranges), inside the old ones."""
    out = {}
    for name, (lo, hi, log) in ranges.items():
        tr = math.log if log else (lambda x: x)
        inv = math.exp if log else (lambda x: x)
        half = 0.5 * factor * (tr(hi) - tr(lo))
        centre = min(max(tr(best[name]), tr(lo) + half), tr(hi) - half)  # keep the full width inside
        out[name] = (inv(centre - half), inv(centre + half), log)
    return out


def _sample(trial: Any, ranges: dict[str, tuple[float, float, bool]]) -> dict[str, float]:
    return {name: trial.suggest_float(name, lo, hi, log=log) for name, (lo, hi, log) in ranges.items()}


def tune(base: TrainConfig, cfg: TuneConfig, progress: bool = True) -> list[dict[str, Any]]:
    """Run (or resume) the search; ``base.out`` is the tune directory. Returns the trial rows."""
    import optuna

    out = check_output_dir(base.out, "--out")  # before the first trial
    out.mkdir(parents=True, exist_ok=True)
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    storage = cfg.storage or f"sqlite:///{(out / 'tune.db').resolve()}"
    study = optuna.create_study(study_name=cfg.study, storage=storage, direction="minimize", load_if_exists=True,
                                sampler=optuna.samplers.RandomSampler(seed=cfg.seed))
    ranges = dict(THESIS_RANGES)
    for round_index in range(cfg.rounds):
        done = [t for t in study.trials if t.user_attrs.get("round") == round_index
                and t.state == optuna.trial.TrialState.COMPLETE]
        for _ in range(cfg.trials_per_round - len(done)):
            trial = study.ask()
            params = _sample(trial, ranges)
            trial.set_user_attr("round", round_index)
            run_dir = out / f"trial_{trial.number:04d}"
            summary = train(replace(base, out=str(run_dir), seed=base.seed, **params), progress=False)
            value = summary["best_val_loss"]
            trial.set_user_attr("val_mean_error_mm", min(h["val_mean_error_mm"] for h in summary["history"]))
            study.tell(trial, value if math.isfinite(value) else float("inf"))
            if progress:
                print(f"round {round_index + 1} trial {trial.number}: lr {params['lr']:.4g} momentum "
                      f"{params['momentum']:.4f} dropout {params['dropout']:.4f} -> val {value:.5f}", file=sys.stderr)
        ranges = shrink_ranges(ranges, study.best_trial.params, cfg.shrink)
    rows = results_table(study)
    write_results(rows, out)
    return rows


def results_table(study: Any) -> list[dict[str, Any]]:
    import optuna

    rows = []
    for t in study.trials:
        if t.state != optuna.trial.TrialState.COMPLETE:
            continue
        rows.append({"trial": t.number, "round": t.user_attrs.get("round", 0) + 1, **t.params,
                     "val_loss": t.value, "val_mean_error_mm": t.user_attrs.get("val_mean_error_mm")})
    return sorted(rows, key=lambda r: r["val_loss"])


def write_results(rows: list[dict[str, Any]], out: Path) -> None:
    """``results.csv`` (best first) and ``results.png`` (validation loss against each hyperparameter by round)."""
    if not rows:
        return
    with atomic_write(out / "results.csv", "w", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 3, figsize=(13, 4), constrained_layout=True)
    for ax, (name, (_, _, log)) in zip(axes, THESIS_RANGES.items(), strict=True):
        for rnd in sorted({r["round"] for r in rows}):
            sel = [r for r in rows if r["round"] == rnd]
            ax.scatter([r[name] for r in sel], [r["val_loss"] for r in sel], s=18, label=f"round {rnd}")
        ax.set_xscale("log" if log else "linear")
        ax.set_yscale("log")
        ax.set_xlabel(name)
        ax.set_ylabel("validation loss")
        ax.grid(alpha=0.3)
    axes[0].legend()
    best = rows[0]
    fig.suptitle(f"random search: best lr {best['lr']:.4g}, momentum {best['momentum']:.4f}, "
                 f"dropout {best['dropout']:.4f} (val {best['val_loss']:.5f})")
    with atomic_write(out / "results.png", "wb") as fh:
        fig.savefig(fh, format="png", dpi=100)
    plt.close(fig)
