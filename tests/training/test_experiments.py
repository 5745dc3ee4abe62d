"""scripts/experiments.py: one identical budget for every net, and its log.csv / eval JSON become the tables."""

from __future__ import annotations

import csv
from pathlib import Path

from tests.helpers.scripts import load_script

experiments = load_script("experiments")
GROUPS, eval_command, main = experiments.GROUPS, experiments.eval_command, experiments.main
markdown_table, read_log = experiments.markdown_table, experiments.read_log


def _args(tmp_path: Path):
    import argparse

    return argparse.Namespace(data="D", test="T", out=str(tmp_path), width=0.25, epochs=2, batch_size=64,
                              budget_frames=3000, lr=1e-3, seed=0, cache_dir="C", test_frames=400, fig_dir="figs")


def test_every_net_gets_the_same_command_but_its_arch(tmp_path: Path) -> None:
    train_command = experiments.train_command

    args = _args(tmp_path)
    cmds = {a: train_command(a, args) for g in GROUPS.values() for a in g[1]}
    assert len(cmds) == 17  # fusenet-conv is shared by two groups and trained once
    strip = {a: [x for x in c if x not in (a, str(tmp_path / a))] for a, c in cmds.items()}
    assert len({tuple(c) for c in strip.values()}) == 1
    assert cmds["net4"][cmds["net4"].index("--max-frames") + 1] == "3000"
    ev = eval_command("fusion", GROUPS["fusion"][1], args)
    assert ev[ev.index("--max-frames") + 1] == "400" and ev[-1] == str(Path("figs") / "exp_fusion.png")


def test_log_and_eval_results_become_a_table(tmp_path: Path) -> None:
    run = tmp_path / "net1"
    run.mkdir()
    with open(run / "log.csv", "w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["epoch", "train_loss", "val_loss", "val_mean_error_mm", "lr", "time_s"])
        w.writerows([[1, 0.3, 0.2, 70.0, 0.001, 10.0], [2, 0.15, 0.12, 55.5, 0.001, 11.0]])
    rows = read_log(run)
    assert [r["epoch"] for r in rows] == [1.0, 2.0] and rows[-1]["val_mean_error_mm"] == 55.5
    assert read_log(tmp_path / "absent") == []
    runs = {"net1": {"params": 2.4e6, "train_loss": 0.15, "val_loss": 0.12, "val_error_mm": 55.5,
                     "train_time_s": 21.0}}
    tests = {"net1": {"mean_error_mm": 48.3, "median_error_mm": 42.1, "success_rate": {"80": 51.75}}}
    md = markdown_table("T43", ["net1"], runs, tests, 400)
    assert "| net1 | 2.40 M | 0.1500 | 0.1200 | 55.5 | 48.3 | 42.1 | 51.8 | 21 |" in md
    assert "first 400 frames" in md


def test_unknown_group_is_refused(capsys) -> None:
    import pytest

    with pytest.raises(SystemExit):
        main(["--data", "D", "--test", "T", "--out", "O", "--budget-frames", "1", "--epochs", "1", "--only", "x"])
    assert "invalid choice" in capsys.readouterr().err
