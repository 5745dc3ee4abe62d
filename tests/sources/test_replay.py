"""ReplaySource: an NYU directory as a deterministic, pace-able, loopable camera; and open_source parsing."""

from __future__ import annotations

import logging
import time
from pathlib import Path

import numpy as np
import pytest

from inference.core.errors import HandposeError, SourceError
from inference.formats.nyu_io import NyuSequence
from inference.sources import open_source
from inference.sources.replay import ReplaySource
from tests.sources.frames import TEST_INTRINSICS, eval_joints_uvd, make_frame, write_sequence


def read_all(source: ReplaySource, limit: int = 1000) -> list:
    frames = []
    while len(frames) < limit and (frame := source.read()) is not None:
        frames.append(frame)
    return frames


def test_frames_come_in_order_with_labels_gestures_and_intrinsics(sequence: Path) -> None:
    with ReplaySource(sequence) as source:
        assert len(source) == 6 and source.intrinsics == TEST_INTRINSICS
        frames = read_all(source)
    assert [f.index for f in frames] == list(range(6))
    for i, frame in enumerate(frames):
        depth, rgb = make_frame(i)
        np.testing.assert_array_equal(frame.depth_mm, depth)
        np.testing.assert_array_equal(frame.color, rgb)
        np.testing.assert_allclose(frame.joints_uvd, eval_joints_uvd(i))
        assert frame.gesture == ("fist" if i % 2 == 0 else "open_palm")
        assert frame.intrinsics == TEST_INTRINSICS
    assert [f.timestamp_s for f in frames] == pytest.approx([i / 30 for i in range(6)])
    assert ReplaySource(sequence).skipped == []


def test_two_replays_are_identical(sequence: Path) -> None:
    a, b = read_all(ReplaySource(sequence)), read_all(ReplaySource(sequence))
    assert all(np.array_equal(x.depth_mm, y.depth_mm) and x.index == y.index for x, y in zip(a, b, strict=True))


def test_loop_restarts_the_frames_and_their_clock(sequence: Path) -> None:
    frames = read_all(ReplaySource(sequence, loop=True), limit=15)
    assert [f.index for f in frames] == [0, 1, 2, 3, 4, 5] * 2 + [0, 1, 2]
    # without timestamps.txt frames are 1/30 s apart (NYU's rate); each loop starts the clock again
    np.testing.assert_allclose([f.timestamp_s for f in frames], [f.index / 30.0 for f in frames])


def test_frames_carry_the_sequences_own_clock_whatever_the_pace(tmp_path: Path) -> None:
    write_sequence(tmp_path, 4)
    (tmp_path / "timestamps.txt").write_text("10.0\n10.125\n10.25\nnan\n")  # 8 frames/s, frame 4 unknown
    source = ReplaySource(tmp_path, fps=200.0)  # paced much faster than it was captured
    assert source.native_fps == pytest.approx(8.0)
    stamps = [f.timestamp_s for f in read_all(source)]
    assert stamps == pytest.approx([10.0, 10.125, 10.25, 3 / 30.0])


def test_a_damaged_timestamps_file_costs_no_frame(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    write_sequence(tmp_path, 3)
    (tmp_path / "timestamps.txt").write_text("0.0\nnot a time\n")
    frames = read_all(ReplaySource(tmp_path))
    assert [f.timestamp_s for f in frames] == pytest.approx([0.0, 1 / 30.0, 2 / 30.0])
    assert "timestamps must be one number" in caplog.text


def test_seek_and_length_for_pause_and_step(sequence: Path) -> None:
    source = ReplaySource(sequence)
    source.seek(4)
    assert [f.index for f in read_all(source)] == [4, 5]
    source.seek(0)
    assert source.read().index == 0 and source.position == 1
    with pytest.raises(SourceError, match="cannot seek to 6"):
        source.seek(6)


def test_depth_only_and_view_selection(tmp_path: Path) -> None:
    write_sequence(tmp_path, 2)
    assert ReplaySource(tmp_path, with_color=False).read().color is None
    with pytest.raises(HandposeError, match="depth_2_NNNNNNN"):
        ReplaySource(tmp_path, view=2)


def test_missing_frame_in_the_middle_is_skipped_counted_and_warned(tmp_path: Path, caplog) -> None:
    write_sequence(tmp_path, 6, skip=(3,))
    with caplog.at_level(logging.WARNING):
        source = ReplaySource(tmp_path)
    assert source.skipped == [(2, "missing depth_1_0000003.png")]
    assert "skipping frame 2" in caplog.text
    frames = read_all(source)
    assert [f.index for f in frames] == [0, 1, 3, 4, 5]
    np.testing.assert_array_equal(frames[2].depth_mm, make_frame(3)[0])
    np.testing.assert_allclose(frames[2].joints_uvd, eval_joints_uvd(3))
    # Seek positions count readable frames: index 3 is position 2; the missing index 2 maps to the next one.
    assert [source.position_of(i) for i in (0, 1, 2, 3, 4, 5)] == [0, 1, 2, 2, 3, 4]
    source.seek(source.position_of(3))
    assert source.read().index == 3


def test_corrupt_frame_is_skipped_once_and_the_rest_delivered(sequence: Path) -> None:
    bad = sequence / "depth_1_0000002.png"
    bad.write_bytes(bad.read_bytes()[:200])  # truncated by a crash
    source = ReplaySource(sequence, loop=True)
    frames = read_all(source, limit=10)
    assert [f.index for f in frames] == [0, 2, 3, 4, 5, 0, 2, 3, 4, 5]
    assert len(source.skipped) == 1
    index, reason = source.skipped[0]
    assert index == 1 and "depth_1_0000002.png" in reason and "truncated" in reason
    assert len(source) == 5


@pytest.mark.parametrize("damage", ["garbled", "wrong shape"])
def test_a_damaged_label_file_costs_no_frame(sequence: Path, damage: str, caplog) -> None:
    """Issue 16 D7: labels are read with frame 0; a damaged joint_data.mat once cost that frame."""
    mat = sequence / "joint_data.mat"
    if damage == "garbled":
        mat.write_bytes(bytes(range(256)) * 2)
    else:
        import scipy.io

        scipy.io.savemat(mat, {"joint_uvd": np.zeros((6, 14, 2)), "joint_xyz": np.zeros((6, 14, 2))})
    with caplog.at_level(logging.WARNING):
        frames = read_all(ReplaySource(sequence))
    assert [f.index for f in frames] == list(range(6)) and all(f.joints_uvd is None for f in frames)
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1 and "joint_data.mat" in warnings[0].getMessage()
    with pytest.raises(HandposeError, match=r"joint_data\.mat"):  # asked for directly, the labels still fail loudly
        NyuSequence(sequence).labels()


def test_a_damaged_colour_frame_costs_the_colour_not_the_frame(sequence: Path, caplog) -> None:
    bad = sequence / "rgb_1_0000002.png"
    bad.write_bytes(bad.read_bytes()[:100])
    with caplog.at_level(logging.WARNING):
        frames = read_all(ReplaySource(sequence, loop=True), limit=12)  # twice round: warned once
    assert [f.index for f in frames] == list(range(6)) * 2
    assert frames[1].color is None and frames[1].joints_uvd is not None and frames[2].color is not None
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1 and "rgb_1_0000002.png" in warnings[0]
    needed = ReplaySource(sequence)
    needed.use_color(True)  # an RGB model cannot use the frame: it is skipped and listed, as a corrupt one
    assert [f.index for f in read_all(needed)] == [0, 2, 3, 4, 5] and needed.skipped[0][0] == 1
    unused = ReplaySource(sequence)
    unused.use_color(False)  # a depth-only model: colour is not even decoded
    assert all(f.color is None for f in read_all(unused)) and unused.skipped == []


def test_all_frames_corrupt_is_an_error_not_a_hang(tmp_path: Path) -> None:
    write_sequence(tmp_path, 2)
    for p in tmp_path.glob("depth_*.png"):
        p.write_bytes(b"not a png")
    with pytest.raises(SourceError, match="no readable frames"):
        read_all(ReplaySource(tmp_path, loop=True))


def test_missing_directory_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(SourceError, match="nowhere: directory does not exist"):
        open_source(f"replay:{tmp_path / 'nowhere'}")


def test_real_nyu_frame_replays_with_nyu_intrinsics(nyu_frame_dir: Path) -> None:
    frame = ReplaySource(nyu_frame_dir).read()
    assert frame.depth_mm.shape == (480, 640) and frame.color.shape == (480, 640, 3)
    assert frame.intrinsics.fx == pytest.approx(588.03)
    # The hand is the nearest thing, at 731-832 mm (FACTS.md); the background is 2001.
    valid = frame.depth_mm[(frame.depth_mm > 0) & (frame.depth_mm < 2001)]
    assert 700 < valid.min() < 760


@pytest.mark.slow
def test_pacing_holds_the_asked_fps_within_5_percent(sequence: Path) -> None:
    source = ReplaySource(sequence, fps=30.0, loop=True)
    source.read()  # the schedule starts at the first frame
    t0 = time.perf_counter()
    for _ in range(90):
        source.read()
    fps = 90 / (time.perf_counter() - t0)
    assert fps == pytest.approx(30.0, rel=0.05)


# --- open_source ------------------------------------------------------------------------------------

def test_open_source_builds_each_form(sequence: Path, tmp_path: Path) -> None:
    replay = open_source(f"replay:{sequence}", fps=None, loop=True, view=1)
    assert isinstance(replay, ReplaySource) and replay.loop and replay.fps is None
    bag = open_source(f"bag:{tmp_path / 'x.db3'}", real_time=True, decimation=2)
    assert bag.config.file == tmp_path / "x.db3" and bag.config.real_time and bag.config.decimation == 2
    cam = open_source("realsense:123456", fps=15.0)
    assert cam.config.serial == "123456" and cam.config.fps == 15 and cam.live
    assert open_source("realsense").config.serial is None


@pytest.mark.parametrize("spec", ["webcam:0", "replay:", "bag:", "", "camera"])
def test_unknown_source_lists_the_valid_forms(spec: str) -> None:
    forms = r"valid forms: replay:DIR, bag:FILE, realsense\[:SERIAL\], synthetic\[:SEED\]"
    with pytest.raises(HandposeError, match=forms):
        open_source(spec)


def test_an_option_the_backend_lacks_is_named(sequence: Path) -> None:
    with pytest.raises(HandposeError, match="has no option decimation"):
        open_source(f"replay:{sequence}", decimation=2)


def test_replay_of_a_sequence_read_by_nyu_io_agrees(sequence: Path) -> None:
    seq = NyuSequence(sequence)
    for frame, number in zip(read_all(ReplaySource(sequence)), seq.frame_numbers, strict=True):
        np.testing.assert_array_equal(frame.depth_mm, seq.read_depth(number))
