"""Recorder and `handpose record`: round trip through replay, drop accounting, Ctrl-C keeps every captured frame."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from inference.core.errors import HandposeError
from inference.core.frame import HandPose
from inference.formats.pose_files import read_poses_jsonl
from inference.formats.recording import Recorder
from inference.sources.replay import ReplaySource
from tests.helpers.processes import interruptible
from tests.sources.frames import write_sequence


def replay_all(root: Path) -> list:
    source, frames = ReplaySource(root), []
    while (frame := source.read()) is not None:
        frames.append(frame)
    return frames


def test_record_a_replay_and_replay_the_recording_identically(sequence: Path, tmp_path: Path) -> None:
    original = replay_all(sequence)
    with Recorder(tmp_path / "rec") as recorder:
        for frame in original:
            recorder.put(frame)
    assert (recorder.stats.captured, recorder.stats.written, recorder.stats.dropped) == (6, 6, 0)
    again = replay_all(tmp_path / "rec")
    assert [f.index for f in again] == list(range(6))
    for a, b in zip(original, again, strict=True):
        np.testing.assert_array_equal(a.depth_mm, b.depth_mm)
        np.testing.assert_array_equal(a.color, b.color)
        np.testing.assert_allclose(a.joints_uvd, b.joints_uvd)
        assert a.gesture == b.gesture and a.intrinsics == b.intrinsics
        assert a.timestamp_s == pytest.approx(b.timestamp_s, abs=1e-6)  # the capture clock is kept


def test_the_capture_clock_is_recorded(sequence: Path, tmp_path: Path) -> None:
    frames = replay_all(sequence)[:4]
    for k, frame in enumerate(frames):
        frame.timestamp_s = 100.0 + 0.05 * k**2  # an irregular camera clock
    with Recorder(tmp_path / "rec") as recorder:
        for frame in frames:
            recorder.put(frame)
    assert [f.timestamp_s for f in replay_all(tmp_path / "rec")] == pytest.approx([100.0, 100.05, 100.2, 100.45])


def test_poses_are_written_in_the_run_format(sequence: Path, tmp_path: Path) -> None:
    frames = replay_all(sequence)[:3]
    with Recorder(tmp_path / "rec", poses=True) as recorder:
        for frame in frames:
            joints = np.asarray(frame.joints_uvd)
            recorder.put(frame, HandPose(found=frame.index != 1, joints_uvd=joints, joints_xyz_mm=joints + 1.0))
    poses = read_poses_jsonl(tmp_path / "rec" / "poses.jsonl")
    rows = [json.loads(line) for line in (tmp_path / "rec" / "poses.jsonl").read_text().splitlines()]
    assert [r["index"] for r in rows] == [0, 1, 2] and [r["found"] for r in rows] == [True, False, True]
    assert len(poses) == 3


def test_a_full_queue_drops_only_when_not_blocking_and_leaves_no_gap(sequence: Path, tmp_path: Path) -> None:
    frames = replay_all(sequence) * 5
    with Recorder(tmp_path / "rec", queue_size=1, block=False) as recorder:
        accepted = [recorder.put(frame) for frame in frames]
    stats = recorder.stats
    assert stats.captured == 30 and stats.written + stats.dropped == 30 and stats.dropped == accepted.count(False) > 0
    replayed = ReplaySource(tmp_path / "rec")
    assert len(replayed) == stats.written and replayed.skipped == []


def test_never_records_over_an_existing_recording(sequence: Path) -> None:
    with pytest.raises(HandposeError, match="already holds NYU frames"):
        Recorder(sequence)


def test_an_unwritable_output_is_one_clear_error(tmp_path: Path) -> None:
    (tmp_path / "a_file").write_text("x")
    with pytest.raises(HandposeError, match="a_file/rec: cannot write there"):
        Recorder(tmp_path / "a_file" / "rec")


def test_cli_record_then_replay(sequence: Path, tmp_path: Path) -> None:
    out = tmp_path / "cli"
    result = subprocess.run(
        [sys.executable, "-m", "handpose", "record", "--source", f"replay:{sequence}", "--out", str(out),
         "--frames", "4", "--json"], capture_output=True, text=True, timeout=60,
    )
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert (report["captured"], report["written"], report["dropped"]) == (4, 4, 0)
    assert [f.index for f in replay_all(out)] == [0, 1, 2, 3]


def test_cli_record_of_damaged_labels_and_colour_writes_every_frame(sequence: Path, tmp_path: Path) -> None:
    """Issue 16 D7: a garbled joint_data.mat or colour PNG costs no depth frame; each is warned about once."""
    (sequence / "joint_data.mat").write_bytes(b"not a MATLAB file" * 20)
    rgb = sequence / "rgb_1_0000003.png"
    rgb.write_bytes(rgb.read_bytes()[:100])
    out = tmp_path / "cli"
    result = subprocess.run(
        [sys.executable, "-m", "handpose", "record", "--source", f"replay:{sequence}", "--out", str(out), "--json"],
        capture_output=True, text=True, timeout=60,
    )
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert (report["captured"], report["written"], report["skipped"]) == (6, 6, [])
    frames = replay_all(out)
    assert [f.index for f in frames] == list(range(6)) and frames[2].color is None and frames[3].color is not None
    assert result.stderr.count("joint_data.mat") == 1 and result.stderr.count("rgb_1_0000003.png") == 1


@pytest.mark.slow
def test_ctrl_c_during_recording_loses_no_captured_frame(tmp_path: Path) -> None:
    seq = write_sequence(tmp_path / "seq", 4)
    out = tmp_path / "rec"
    proc = interruptible(
        [sys.executable, "-m", "handpose", "record", "--source", f"replay:{seq}", "--fps", "25", "--loop",
         "--out", str(out), "--json"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )
    assert "recording replay:" in proc.stderr.readline()  # capture has started
    time.sleep(1.0)
    proc.send_signal(signal.SIGINT)
    stdout, stderr = proc.communicate(timeout=30)
    assert proc.returncode == 130, stderr
    report = json.loads(stdout)
    assert report["interrupted"] and report["captured"] > 5 and report["dropped"] == 0
    assert report["written"] == report["captured"]
    frames = replay_all(out)
    assert len(frames) == report["captured"]
    assert [f.index for f in frames] == list(range(report["captured"]))
