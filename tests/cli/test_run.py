"""`handpose run`: JSONL per frame as in ARCHITECTURE.md, --max-frames, bad input as one clear line."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from handpose.cli import main
from inference.formats.pose_files import read_poses_jsonl
from tests.helpers.blob_frames import write_blob_sequence
from tests.helpers.processes import interruptible
from tests.helpers.tiny_models import make_tiny_model, make_wrong_shape_model

KEYS = {"index", "timestamp_s", "found", "joints_uvd", "joints_xyz_mm", "com_xyz_mm", "gesture",
        "gesture_confidence", "timings_ms"}
# With up to two hands (--max-hands 2, the default): every hand found, and the nearest one's side at the top level.
HAND_KEYS = {"hands", "handedness", "score", "joint_confidence"}
HAND_ENTRY_KEYS = {"handedness", "found", "joints_uvd", "joints_xyz_mm", "com_xyz_mm", "score", "joint_confidence",
                   "gesture", "hidden"}


@pytest.fixture(scope="module")
def model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_tiny_model(tmp_path_factory.mktemp("m") / "d.onnx")


@pytest.fixture(scope="module")
def sequence(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_blob_sequence(tmp_path_factory.mktemp("seq"), frames=8, seed=2)


def _rows(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines()]


def test_run_writes_one_line_per_frame(
    model: Path, sequence: Path, tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    out, one = tmp_path / "poses.jsonl", tmp_path / "one.jsonl"
    assert main(["run", "--source", f"replay:{sequence}", "--model", str(model), "--out", str(one),
                 "--max-hands", "1"]) == 0
    assert all(set(row) == KEYS | {"fit_residual_mm", "fit_status"} for row in _rows(one))  # the single-hand lines
    # Two hands by default.
    assert main(["run", "--source", f"replay:{sequence}", "--model", str(model), "--out", str(out), "--headless"]) == 0
    rows = _rows(out)
    assert [r["index"] for r in rows] == list(range(8))
    for row in rows:
        assert set(row) == KEYS | HAND_KEYS | {"fit_residual_mm", "fit_status"} and row["found"] is True
        assert len(row["joints_xyz_mm"]) == 14 and all(len(j) == 3 for j in row["joints_uvd"])
        nearest = row["hands"][0]  # one blob: one hand, the top-level pose
        assert len(row["hands"]) == 1 and set(nearest) == HAND_ENTRY_KEYS
        assert nearest["joints_xyz_mm"] == row["joints_xyz_mm"] and nearest["handedness"] == row["handedness"]
        assert nearest["handedness"] in ("left", "right") and 0.0 <= nearest["score"] <= 1.0
        assert set(row["timings_ms"]) == {"capture", "segment", "crop", "infer", "fit", "post", "total"}
    assert rows[1]["timestamp_s"] > rows[0]["timestamp_s"]
    poses = read_poses_jsonl(out)  # the evaluator reads it back
    assert poses.found.all() and poses.joints_xyz_mm.shape == (8, 14, 3)
    err = capsys.readouterr().err
    assert "8 frames" in err and "hand found in 8 (100.0%)" in err


def test_no_refine_and_36_joints(model: Path, sequence: Path, tmp_path: Path) -> None:
    """--no-refine --max-hands 1 writes exactly the 14-joint contract; --joints 36 adds the fitted model's joints
    (null without a fit: a random test network's hand does not fit the blob, so those rows carry the reason
    instead)."""
    plain, full = tmp_path / "plain.jsonl", tmp_path / "full.jsonl"
    assert main(["run", "--source", f"replay:{sequence}", "--model", str(model), "--out", str(plain),
                 "--no-refine", "--max-hands", "1"]) == 0
    assert all(set(row) == KEYS for row in _rows(plain))
    assert main(["run", "--source", f"replay:{sequence}", "--model", str(model), "--out", str(full),
                 "--joints", "36"]) == 0
    for row in _rows(full):
        assert {"joints36_xyz_mm", "joints36_uvd", "fit_status", "fit_residual_mm"} <= set(row)
        if row["fit_status"] == "ok":
            assert len(row["joints36_xyz_mm"]) == 36 and len(row["joints36_uvd"]) == 36
        else:
            assert row["joints36_xyz_mm"] is None and row["fit_status"]


def test_max_frames_and_stdout(model: Path, sequence: Path) -> None:
    env = {**os.environ, "HANDPOSE_MODEL": str(model)}  # the default model comes from the environment
    proc = subprocess.run(
        [sys.executable, "-m", "handpose", "run", "--source", f"replay:{sequence}", "--max-frames", "3"],
        capture_output=True, text=True, env=env, timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.splitlines()
    assert [json.loads(line)["index"] for line in lines] == [0, 1, 2]  # stdout holds only the JSON lines
    assert "inference on CPU" in proc.stderr


def test_not_found_frames_have_null_joints(model: Path, tmp_path: Path) -> None:
    from inference.formats.nyu_io import NyuWriter

    with NyuWriter(tmp_path / "empty") as writer:
        import numpy as np

        writer.write(1, np.zeros((480, 640), np.uint16))
    out = tmp_path / "p.jsonl"
    assert main(["run", "--source", f"replay:{tmp_path / 'empty'}", "--model", str(model), "--out", str(out)]) == 0
    (row,) = _rows(out)
    assert row["found"] is False and row["joints_xyz_mm"] is None and row["joints_uvd"] is None
    assert row["gesture"] is None


def test_corrupt_frames_are_skipped_counted_and_reported(
    model: Path, tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    root = write_blob_sequence(tmp_path / "seq", frames=5, seed=3)
    (root / "depth_1_0000002.png").write_bytes((root / "depth_1_0000002.png").read_bytes()[:300])  # truncated
    out = tmp_path / "p.jsonl"
    assert main(["run", "--source", f"replay:{root}", "--model", str(model), "--out", str(out)]) == 0
    assert [r["index"] for r in _rows(out)] == [0, 2, 3, 4]
    err = capsys.readouterr().err
    assert "1 corrupt frames skipped" in err and "skipped frame 1:" in err and "truncated" in err


def test_damaged_labels_and_colour_cost_no_frame(model: Path, tmp_path: Path, caplog) -> None:
    """Issue 16 D7: with a depth-only model neither the labels nor the colour may cost a depth frame."""
    seq = write_blob_sequence(tmp_path / "seq", frames=4, seed=3)
    (seq / "joint_data.mat").write_bytes(b"not a MATLAB file" * 20)
    rgb = seq / "rgb_1_0000001.png"
    rgb.write_bytes(rgb.read_bytes()[:100])
    out = tmp_path / "p.jsonl"
    with caplog.at_level("WARNING"):
        assert main(["run", "--source", f"replay:{seq}", "--model", str(model), "--out", str(out)]) == 0
    assert [r["index"] for r in _rows(out)] == [0, 1, 2, 3]
    warnings = [r.getMessage() for r in caplog.records if r.levelname == "WARNING"]
    assert len(warnings) == 1 and "joint_data.mat" in warnings[0]  # the unused colour is not even read


def test_unwritable_out_fails_before_any_work(tmp_path: Path, sequence: Path, capsys: pytest.CaptureFixture) -> None:
    # the model does not exist either: the --out check must come first
    code = main(["run", "--source", f"replay:{sequence}", "--model", str(tmp_path / "none.onnx"),
                 "--out", str(tmp_path / "no" / "such" / "dir" / "p.jsonl")])
    err = capsys.readouterr().err
    assert code == 2 and "--out" in err and "cannot write" in err and err.count("\n") == 1


def test_unknown_source_lists_valid_forms(model: Path, tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    assert main(["run", "--source", "webcam:0", "--model", str(model), "--out", str(tmp_path / "p.jsonl")]) == 2
    err = capsys.readouterr().err
    assert "unknown source 'webcam:0'" in err and "replay:DIR" in err and "synthetic[:SEED]" in err


def test_wrong_shape_model_is_one_clear_line(sequence: Path, tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    bad = make_wrong_shape_model(tmp_path / "bad.onnx")
    assert main(["run", "--source", f"replay:{sequence}", "--model", str(bad), "--out", str(tmp_path / "p")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err[-1].startswith("handpose run: error:") and "expected depth (1, 1, 128, 128)" in err[-1]


def test_rgb_model_on_a_depth_only_source_is_a_clear_error(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    root = write_blob_sequence(tmp_path / "seq", frames=2, seed=1, with_rgb=False)
    fuse = make_tiny_model(tmp_path / "fuse.onnx", layout="depth+rgb")
    assert main(["run", "--source", f"replay:{root}", "--model", str(fuse), "--out", str(tmp_path / "p")]) == 2
    assert "needs RGB" in capsys.readouterr().err


@pytest.mark.slow
def test_end_to_end_on_a_generated_sequence(model: Path, tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    """`handpose synth` (a seed nothing was tuned to) -> `handpose run` -> `handpose eval`: every frame answered,
    the hand found in >= 95% of them, and the evaluator accepts the JSONL against the sequence's labels."""
    seq = tmp_path / "synth"
    assert main(["synth", str(seq), "--frames", "30", "--seed", "8675309", "--mode", "sequence", "--subjects", "2",
                 "--subject-offset", "6000", "--workers", "1"]) == 0
    out = tmp_path / "poses.jsonl"
    assert main(["run", "--source", f"replay:{seq}", "--model", str(model), "--out", str(out), "--no-smoothing"]) == 0
    rows = _rows(out)
    assert [r["index"] for r in rows] == list(range(30))
    assert sum(r["found"] for r in rows) >= 0.95 * 30
    capsys.readouterr()
    assert main(["eval", "--labels", str(seq / "joint_data.mat"), "--predictions", str(out), "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["frames"] == 30 and report["missing"] == 0


@pytest.mark.slow
def test_ctrl_c_keeps_every_line_written(model: Path, tmp_path: Path) -> None:
    out = tmp_path / "p.jsonl"
    proc = interruptible(
        [sys.executable, "-m", "handpose", "run", "--source", "synthetic:5", "--model", str(model), "--out", str(out)],
        stderr=subprocess.PIPE, text=True,
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and (not out.exists() or len(out.read_text().splitlines()) < 3):
        time.sleep(0.05)
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=30)
    assert proc.returncode == 130, err
    rows = _rows(out)  # every line is complete JSON
    indices = [r["index"] for r in rows]
    assert len(rows) >= 3 and indices == sorted(set(indices))  # a live source may skip stale frames, never reorder
    assert f"interrupted: {len(rows)} frames" in err


def test_a_failed_run_does_not_destroy_or_leave_an_out_file(sequence: Path, tmp_path: Path) -> None:
    previous = tmp_path / "previous.jsonl"
    previous.write_text('{"index": 0}\n')
    assert main(["run", "--source", f"replay:{sequence}", "--model", str(tmp_path / "none.onnx"),
                 "--out", str(previous)]) == 2
    assert previous.read_text() == '{"index": 0}\n'  # the model was missing: the old results are intact
    fresh = tmp_path / "fresh.jsonl"
    assert main(["run", "--source", "nowhere:1", "--out", str(fresh)]) == 2
    assert not fresh.exists()
