"""`python scripts/fit_overlay.py`: the fitted model drawn on real frames (the figure of docs/fitting.md)."""

from __future__ import annotations

from pathlib import Path

import cv2
import pytest

from tests.helpers.scripts import load_script

SHIPPED = Path(__file__).resolve().parents[2] / "models" / "depthnet.onnx"


def test_draws_one_row_per_real_frame(shared_data: Path, nyu_frame_dir: Path, sr305_dir: Path, tmp_path: Path) -> None:
    script = load_script("fit_overlay")
    out = tmp_path / "figure.png"
    assert script.main(["--model", str(SHIPPED), "--data", str(shared_data), "--frames", "0,3", "--out", str(out)]) == 0
    img = cv2.imread(str(out))
    assert img.shape == (2 * (script.TILE_PX + 24), 3 * script.TILE_PX, 3)
    assert img[: script.TILE_PX].std() > 10  # something is drawn


def test_a_frame_outside_the_set_is_one_line(shared_data: Path, nyu_frame_dir: Path, tmp_path: Path,
                                              capsys: pytest.CaptureFixture) -> None:
    script = load_script("fit_overlay")
    assert script.main(["--data", str(shared_data), "--frames", "99", "--out", str(tmp_path / "x.png")]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "--frames" in err and not (tmp_path / "x.png").exists()
