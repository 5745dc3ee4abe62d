"""Training knows which palm convention its data follows, refuses a mix, and exports it with the model."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from handpose.cli import main
from inference.core.errors import HandposeError
from training.crop_cache import palm_convention
from training.export import metadata_from_checkpoint


@pytest.fixture(scope="module")
def synth_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("palm") / "new"
    assert main(["synth", str(root), "--frames", "2", "--seed", "3", "--workers", "1"]) == 0
    return root


def test_synth_folders_record_nyus_convention_and_older_ones_are_recognised(synth_dir: Path, tmp_path: Path,
                                                                            tiny_seq: Path) -> None:
    assert json.loads((synth_dir / "subjects.json").read_text())["palm_convention"] == "nyu"
    assert palm_convention([synth_dir, tiny_seq]) == "nyu"  # a folder not made by handpose synth: NYU's
    old = tmp_path / "old"
    shutil.copytree(synth_dir, old)
    info = json.loads((old / "subjects.json").read_text())
    del info["palm_convention"]  # as handpose synth wrote it before
    (old / "subjects.json").write_text(json.dumps(info))
    assert palm_convention([old]) == "generator-v1"
    with pytest.raises(HandposeError, match=r"generator-v1: .*old.*nyu: .*new"):
        palm_convention([synth_dir, old])


def test_train_refuses_mixed_folders_before_any_work(synth_dir: Path, tmp_path: Path, capsys) -> None:
    old = tmp_path / "old"
    shutil.copytree(synth_dir, old)
    info = json.loads((old / "subjects.json").read_text())
    del info["palm_convention"]
    (old / "subjects.json").write_text(json.dumps(info))
    code = main(["train", str(synth_dir), "--val-data", str(old), "--out", str(tmp_path / "run"), "--arch", "net1",
                 "--epochs", "1", "--cache-dir", str(tmp_path / "cache")])
    assert code == 2 and "palm labels" in capsys.readouterr().err
    assert not (tmp_path / "cache").exists()


def test_export_writes_the_datas_convention_and_old_runs_are_the_first() -> None:
    ckpt = {"model_args": {"arch": "depthnet", "width": 0.25}, "data": {"palm_convention": "nyu"}}
    assert metadata_from_checkpoint(ckpt).palm_convention == "nyu"
    assert metadata_from_checkpoint({**ckpt, "data": {"roots": ["x"]}}).palm_convention == "generator-v1"
