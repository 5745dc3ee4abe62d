"""`--max-hands` of `handpose record` and `handpose soak`: two hands by default, one when asked."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from handpose.cli import main

MODEL = Path(__file__).resolve().parents[2] / "models" / "depthnet.onnx"
pytestmark = pytest.mark.skipif(not MODEL.is_file(), reason="the shipped model is not in this checkout")


@pytest.fixture(scope="module")
def two_hands(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("two") / "seq"
    assert main(["synth", str(folder), "--frames", "3", "--seed", "77", "--mode", "sequence", "--subjects", "2",
                 "--subject-offset", "640", "--hands", "2", "--workers", "1"]) == 0
    return folder


@pytest.mark.parametrize("max_hands", [None, 1], ids=["default", "one"])
def test_record_writes_both_hands_unless_asked_for_one(two_hands: Path, tmp_path: Path, max_hands: int | None
                                                       ) -> None:
    out = tmp_path / "rec"
    extra = [] if max_hands is None else ["--max-hands", str(max_hands)]
    assert main(["record", "--source", f"replay:{two_hands}", "--out", str(out), "--model", str(MODEL), *extra]) == 0
    rows = [json.loads(line) for line in (out / "poses.jsonl").read_text().splitlines()]
    assert len(rows) == 3
    if max_hands == 1:  # the single-hand contract: no "hands" lists
        assert all("hands" not in row for row in rows)
    else:  # both hands of these frames are found (measured: all 3), one of each side
        assert sum(len(row["hands"]) == 2 for row in rows) >= 2
        assert all({h["handedness"] for h in row["hands"]} == {"left", "right"} for row in rows
                   if len(row["hands"]) == 2)


def test_soak_counts_frames_with_two_hands(two_hands: Path, capsys: pytest.CaptureFixture) -> None:
    assert main(["soak", "--source", f"replay:{two_hands}", "--model", str(MODEL), "--frames", "6"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["max_hands"] == 2 and result["frames"] == 6 and result["two_hands"] >= 4
    assert main(["soak", "--source", f"replay:{two_hands}", "--model", str(MODEL), "--frames", "6",
                 "--max-hands", "1"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["max_hands"] == 1 and result["two_hands"] == 0
