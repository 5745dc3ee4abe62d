"""`python scripts/sim2real.py`: the real NYU frame's error, the SR305 rows, the figure, bad data paths."""

from __future__ import annotations

import json
from pathlib import Path

import cv2
import numpy as np
import pytest

from inference.core.skeleton import EVAL_SHORT_NAMES
from tests.helpers.real_data import nyu_labels, sr305_paths
from tests.helpers.scripts import load_script
from tests.helpers.tiny_models import make_tiny_model

main = load_script("sim2real").main


@pytest.fixture(scope="module")
def model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_tiny_model(tmp_path_factory.mktemp("m") / "d.onnx")


def _run_json(argv: list[str], capsys: pytest.CaptureFixture) -> dict:
    assert main([*argv, "--json"]) == 0
    return json.loads(capsys.readouterr().out)  # stdout is exactly one JSON object


def test_report_error_and_figure(
    model: Path, shared_data: Path, nyu_frame_dir: Path, sr305_dir: Path, tmp_path: Path,
    capsys: pytest.CaptureFixture,
) -> None:
    figure = tmp_path / "docs" / "s2r.png"
    report = _run_json(["--model", str(model), "--data", str(shared_data), "--out-figure", str(figure)], capsys)

    nyu = report["nyu"]
    assert nyu["frame"] == "nyu_test_0000001" and nyu["found"]
    _, gt_xyz = nyu_labels(nyu_frame_dir)
    errors = np.linalg.norm(np.asarray(nyu["joints_xyz_mm"]) - gt_xyz, axis=1)  # joints are rounded to 0.01 mm
    assert nyu["mean_error_mm"] == pytest.approx(errors.mean(), abs=0.02)
    assert nyu["max_error_mm"] == pytest.approx(errors.max(), abs=0.02)
    assert list(nyu["per_joint_mm"]) == list(EVAL_SHORT_NAMES)
    assert np.allclose(list(nyu["per_joint_mm"].values()), errors, atol=0.02)

    annotations = {line.split()[0]: int(line.split()[1])
                   for line in (sr305_dir / "annotations.txt").read_text().splitlines() if line.strip()}
    sr = report["sr305"]
    paths = sr305_paths(sr305_dir)
    assert sr["total"] == len(paths) == len(sr["frames"]) == 19
    for row, path in zip(sr["frames"], paths, strict=True):
        assert row["frame"] == f"sr305/{path.parent.name}/{path.name}"
        assert row["annotation"]["label"] == annotations[path.parent.name]
        if row["found"]:
            assert np.asarray(row["joints_uvd"]).shape == (14, 3)
            assert np.isfinite(row["joints_xyz_mm"]).all()
        expected = {1: {"open_palm"}, 2: {"v_sign"}}.get(row["annotation"]["label"])
        named = {"open_palm", "v_sign"}
        agrees = row["found"] and (row["gesture"] in expected if expected else row["gesture"] not in named)
        assert row["gesture_agrees"] == agrees
    assert sr["found"] == sum(r["found"] for r in sr["frames"])
    assert sr["gesture_agrees"] == sum(r["gesture_agrees"] for r in sr["frames"])

    img = cv2.imread(str(figure))
    assert report["figure"] == str(figure)
    assert img is not None and img.shape[0] > 256 and img.shape[1] > 256 * 4


def test_rgb_model_skips_depth_only_frames(
    shared_data: Path, tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    model = make_tiny_model(tmp_path / "fuse.onnx", layout="depth+rgb")
    report = _run_json(["--model", str(model), "--data", str(shared_data)], capsys)
    assert report["nyu"]["found"] and report["figure"] is None
    assert report["sr305"]["found"] == 0
    assert all("needs RGB" in r["reason"] for r in report["sr305"]["frames"])


def test_missing_data_is_one_clear_line(model: Path, tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    assert main(["--model", str(model), "--data", str(tmp_path / "nowhere")]) == 1
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and "real frames not found" in err and "nowhere" in err


def test_the_fit_brings_the_shipped_model_closer_to_the_real_frames(
    shared_data: Path, nyu_frame_dir: Path, sr305_dir: Path, capsys: pytest.CaptureFixture,
) -> None:
    """Issue 14 on real data: the model fit explains the observed SR305 hand points better than the network's pose
    (measured 12.4 -> 3.7 mm mean point-to-surface distance, 19 of 19 fits accepted), reads the open palms of sequence
    20210326-230536 as open (6 of 8; the network alone 1; the turned view and the thumb rule, docs/fitting.md) and
    lowers the NYU frame's error (31.6 -> 9.1 mm)."""
    shipped = Path(__file__).resolve().parents[2] / "models" / "depthnet.onnx"
    network = _run_json(["--model", str(shipped), "--data", str(shared_data), "--no-refine"], capsys)
    fitted = _run_json(["--model", str(shipped), "--data", str(shared_data)], capsys)
    assert network["sr305"]["surface_mm_after"] is None  # no fit, nothing to report
    sr = fitted["sr305"]
    assert sr["surface_mm_after"] < 0.6 * sr["surface_mm_before"], sr
    assert sum(r["fit_status"] == "ok" for r in sr["frames"]) >= len(sr["frames"]) - 1
    assert fitted["nyu"]["mean_error_mm"] < network["nyu"]["mean_error_mm"] - 10.0
    open_palms = [r for r in sr["frames"] if r["annotation"]["label"] == 1]
    assert len(open_palms) == 8
    assert sum(r["gesture"] == "open_palm" for r in open_palms) >= 6, [r["gesture"] for r in open_palms]
