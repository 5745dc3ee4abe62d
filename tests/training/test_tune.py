"""Random search: range shrinking, trials stored in SQLite, resumable, results table and plot."""

from __future__ import annotations

import math
from pathlib import Path

import pytest

from tests.training.conftest import tiny_config
from training.tune import THESIS_RANGES, TuneConfig, shrink_ranges, tune


def test_shrink_ranges_centres_on_best_inside_old_range() -> None:
    best = {"lr": 0.009, "momentum": 0.98, "dropout": 0.03}
    new = shrink_ranges(THESIS_RANGES, best, 0.5)
    lo, hi, log = new["lr"]
    assert log and math.isclose(math.log(hi / lo), 0.5 * math.log(100)) and math.isclose(math.sqrt(lo * hi), 0.009)
    lo, hi, _ = new["momentum"]
    assert hi == pytest.approx(1.0) and lo > 0.8  # pushed inside (0.8, 1) rather than past 1
    lo, hi, log = new["dropout"]
    assert not log and hi - lo == pytest.approx(0.05) and lo == pytest.approx(0.005)


@pytest.mark.slow
def test_tune_runs_rounds_and_resumes(tiny_seq: Path, tmp_path: Path) -> None:
    base = tiny_config(tiny_seq, tmp_path / "tune", tmp_path / "cache", epochs=1)
    rows = tune(base, TuneConfig(rounds=2, trials_per_round=2), progress=False)
    assert len(rows) == 4 and {r["round"] for r in rows} == {1, 2}
    assert rows[0]["val_loss"] <= rows[-1]["val_loss"]
    for r in rows:
        assert 1e-3 <= r["lr"] <= 1e-1 and 0.8 <= r["momentum"] <= 1 and 0 <= r["dropout"] <= 0.1
    assert (tmp_path / "tune" / "tune.db").is_file() and (tmp_path / "tune" / "results.png").is_file()
    assert len((tmp_path / "tune" / "results.csv").read_text().strip().splitlines()) == 5
    again = tune(base, TuneConfig(rounds=2, trials_per_round=2), progress=False)  # nothing left to do
    assert len(again) == 4
