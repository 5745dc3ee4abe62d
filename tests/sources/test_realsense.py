"""RealSenseSource through the real SDK with .db3 recordings built without a camera, and the camera-only
behaviour (unplug, reconnect, device list) through a small fake at the SDK boundary."""

from __future__ import annotations

import collections
from pathlib import Path

import numpy as np
import pytest

from inference.core.errors import SourceError
from inference.sources import open_source
from inference.sources.devices import DeviceInfo, list_devices
from inference.sources.realsense import RealSenseConfig, RealSenseSource
from tests.sources.conftest import FIRST_NUMBER, N_RECORDED
from tests.sources.frames import TEST_INTRINSICS, make_frame

pytest.importorskip("pyrealsense2")


RECORDED = list(range(FIRST_NUMBER, FIRST_NUMBER + N_RECORDED))  # every frameset, in order, each once


def read_all(source: RealSenseSource, limit: int = 100) -> list:
    frames = []
    while len(frames) < limit and (frame := source.read()) is not None:
        frames.append(frame)
    return frames


def play(config: RealSenseConfig, limit: int = 100) -> list:
    """Every frame of a recording (at most ``limit``), the source closed afterwards."""
    with RealSenseSource(config) as source:
        return read_all(source, limit)


@pytest.mark.parametrize("align_to", ["color", "depth"])
def test_recording_plays_back_every_frame_in_mm_with_numbers_and_intrinsics(recording: Path, align_to: str) -> None:
    with open_source(f"bag:{recording}", align_to=align_to) as source:
        assert source.intrinsics == TEST_INTRINSICS
        frames = read_all(source)
    numbers = [f.index for f in frames]
    assert numbers == RECORDED
    for frame in frames:
        k = frame.index - FIRST_NUMBER
        depth_mm, rgb = make_frame(k)
        assert frame.depth_mm.dtype == np.uint16
        # The stream that is not reprojected comes back exact; the SDK's reprojection of the other one (even
        # with identity extrinsics) leaves ~5% of pixels unfilled or taken from a neighbour.
        if align_to == "depth":
            np.testing.assert_array_equal(frame.depth_mm, depth_mm)  # recorded in 1/8 mm, read back in mm
            assert (frame.color == rgb).all(axis=2).mean() > 0.9
        else:
            np.testing.assert_array_equal(frame.color, rgb)
            filled = frame.depth_mm > 0
            assert filled.mean() > 0.9
            assert (frame.depth_mm[filled] == depth_mm[filled]).mean() > 0.999  # occlusion at the blob's edge
        assert frame.intrinsics == TEST_INTRINSICS
        assert frame.timestamp_s == pytest.approx(k / 30)


def test_a_bgr8_recording_plays_back_as_rgb(tmp_path: Path) -> None:
    from tests.sources.realsense_fixture import write_db3

    depth_mm, rgb = make_frame(0)
    path = write_db3(tmp_path / "bgr.db3", [(depth_mm, rgb)], TEST_INTRINSICS, color_format="bgr8")
    (frame,) = play(RealSenseConfig(file=path, align_to="depth"))
    assert (frame.color == rgb).all(axis=2).mean() > 0.9  # colour reprojected onto depth, channels in RGB order


def test_a_colour_stream_that_ends_early_keeps_memory_bounded(tmp_path: Path, monkeypatch, caplog) -> None:
    from inference.sources import rs_playback
    from tests.sources.realsense_fixture import write_db3

    monkeypatch.setattr(rs_playback, "MAX_AHEAD", 2)
    frames = [make_frame(k % N_RECORDED) for k in range(10)]
    path = write_db3(tmp_path / "short_colour.db3", frames, TEST_INTRINSICS, first_number=1, color_frames=3)
    class PeakDeque(collections.deque):
        peak = 0

        def append(self, frame) -> None:
            super().append(frame)
            self.peak = max(self.peak, len(self))

    with RealSenseSource(RealSenseConfig(file=path)) as source:
        source._player._depth = held = PeakDeque()
        delivered = [frame.index for frame in read_all(source)]
        unpaired = source._player.unpaired
    assert delivered == [1, 2, 3] and unpaired == 7  # depth frames 4..10 have no colour: skipped, each named
    assert "depth frame 10 has no colour frame in the recording" in caplog.text
    assert held.peak <= rs_playback.MAX_AHEAD + 1  # not the whole rest of the file


def test_decimation_halves_the_grid_and_updates_intrinsics(recording: Path) -> None:
    with RealSenseSource(RealSenseConfig(file=recording, decimation=2)) as source:
        frame = source.read()
        expected = source.intrinsics
    assert frame.depth_mm.shape == (60, 80) and frame.color.shape == (60, 80, 3)
    assert frame.intrinsics.width == 80 and frame.intrinsics.fx == pytest.approx(TEST_INTRINSICS.fx / 2)
    assert frame.intrinsics.cx == pytest.approx(TEST_INTRINSICS.cx / 2, abs=0.5)
    assert expected.width == 80
    # The wall (1200 mm) and the blob (~600 mm) survive decimation.
    assert frame.depth_mm[0, 1:].max() == 1200 and 590 < frame.depth_mm[30, 40] < 620


def test_full_post_processing_chain_keeps_depth_in_mm_and_fills_holes(recording: Path) -> None:
    chain = {"disparity": True, "spatial": True, "temporal": True}
    plain = play(RealSenseConfig(file=recording, **chain))
    filled = play(RealSenseConfig(file=recording, hole_filling=True, **chain))
    assert [f.index for f in filled] == RECORDED
    wall = filled[-1].depth_mm[5:15, 5:15]
    assert np.abs(wall.astype(int) - 1200).max() <= 12  # disparity round trip keeps mm within 1%
    # Aligning onto the colour grid leaves unfilled pixels; hole filling fills almost all of them.
    assert (filled[-1].depth_mm == 0).sum() < (plain[-1].depth_mm == 0).sum() / 10


def test_depth_only_playback(recording: Path) -> None:
    source = RealSenseSource(RealSenseConfig(file=recording, color=False))
    frame = source.read()
    source.close()
    assert frame.color is None
    np.testing.assert_array_equal(frame.depth_mm, make_frame(frame.index - FIRST_NUMBER)[0])


def test_loop_replays_the_recording_again(recording: Path) -> None:
    frames = play(RealSenseConfig(file=recording, loop=True), limit=2 * N_RECORDED + 2)
    assert [f.index for f in frames] == 2 * RECORDED + RECORDED[:2]


def test_truncated_and_missing_recordings_are_clear_errors(recording: Path, tmp_path: Path) -> None:
    truncated = tmp_path / "cut.db3"
    truncated.write_bytes(recording.read_bytes()[: recording.stat().st_size // 2])
    with pytest.raises(SourceError, match=r"bag:.*cut\.db3: cannot start \(.*malformed"):
        open_source(f"bag:{truncated}").open()
    with pytest.raises(SourceError, match="recording file does not exist"):
        open_source(f"bag:{tmp_path / 'none.bag'}").open()


def test_playback_paces_in_real_time_or_runs_as_fast_as_read(recording: Path) -> None:
    import time

    started = time.perf_counter()
    paced = play(RealSenseConfig(file=recording, real_time=True))
    paced_s = time.perf_counter() - started
    assert [f.index for f in paced] == RECORDED  # the fixture's pushes are paced: nothing late
    assert paced_s >= (N_RECORDED - 1) / 30 * 0.8  # ~0.23 s of recorded time


def test_a_slow_reader_slows_the_player_down_instead_of_losing_frames(recording: Path) -> None:
    import time

    from inference.sources import rs_playback

    source = RealSenseSource(RealSenseConfig(file=recording))
    frames = []
    while (frame := source.read()) is not None:
        frames.append(frame.index)
        time.sleep(0.05)  # the player's queue (rs_playback.QUEUE_FRAMES) fills up meanwhile
    source.close()
    assert rs_playback.QUEUE_FRAMES < 2 * N_RECORDED
    assert frames == RECORDED


def test_a_recording_damaged_after_its_first_frames_stops_with_a_message_after_the_good_frames(
    recording: Path, tmp_path: Path
) -> None:
    # Measured with pyrealsense2 2.59: zeroing 4 KiB at 70% of this .db3 leaves the first 5 framesets readable.
    data = bytearray(recording.read_bytes())
    at = int(len(data) * 0.7)
    data[at:at + 4096] = bytes(4096)
    damaged = tmp_path / "damaged.db3"
    damaged.write_bytes(bytes(data))
    source = RealSenseSource(RealSenseConfig(file=damaged))
    good = []
    with pytest.raises(SourceError, match=r"damaged\.db3: recording stopped after frame (\d+) \(the file could not be "
                                          r"read beyond [\d.]+ s of [\d.]+ s \(damaged\?\)\)") as error:
        while (frame := source.read()) is not None:
            good.append(frame.index)
    source.close()
    assert good == RECORDED[: len(good)] and len(good) >= 3
    assert f"after frame {good[-1]} " in str(error.value)


def test_a_camera_raising_mid_stream_stops_with_a_message_after_the_good_frames(recording: Path) -> None:
    from tests.sources.fake_rs import FakeSdk

    sdk = FakeSdk(recording)
    source = RealSenseSource(RealSenseConfig(), sdk=sdk)
    good = read_all(source, limit=3)
    sdk.raise_on_wait = "Frame didn't arrive within 2000"
    with pytest.raises(SourceError, match=rf"camera stopped delivering frames after frame {good[-1].index} "
                                          r"\(Frame didn't arrive"):
        source.read()
    assert len(good) == 3 and np.all(np.diff([f.index for f in good]) > 0)
    source.close()


# --- camera-only behaviour, simulated at the SDK boundary ---------------------------------------------

def test_unplugged_camera_raises_a_clear_error_and_reopen_reconnects(recording: Path) -> None:
    from tests.sources.fake_rs import FakeSdk

    sdk = FakeSdk(recording)
    source = RealSenseSource(RealSenseConfig(timeout_ms=1000), sdk=sdk)  # unplugged, the fake answers at once
    source.open()
    assert source.description == "realsense:f0000001" and source.live
    first = source.read().index
    assert FIRST_NUMBER <= first < FIRST_NUMBER + N_RECORDED
    sdk.plugged = False
    expected = rf"realsense:f0000001: camera stopped delivering frames after frame {first} \(no frames for 1000 ms\)"
    with pytest.raises(SourceError, match=expected + r"; camera unplugged\?"):
        source.read()
    with pytest.raises(SourceError, match=r"cannot start \(No device connected"):
        source.reopen()
    sdk.plugged = True
    source.reopen()
    assert FIRST_NUMBER <= source.read().index < FIRST_NUMBER + N_RECORDED  # streaming again
    source.close()


def test_a_camera_that_is_still_connected_but_silent_is_not_called_unplugged(recording: Path) -> None:
    from tests.sources.fake_rs import FakeSdk

    sdk = FakeSdk(recording)
    sdk.raise_on_wait = "Frame didn't arrive within 50"
    with pytest.raises(SourceError, match=r"didn't arrive within 50\); check the USB cable"):
        RealSenseSource(RealSenseConfig(timeout_ms=50), sdk=sdk).read()


def test_asking_for_a_serial_that_is_not_connected(recording: Path) -> None:
    from tests.sources.fake_rs import FakeSdk

    with pytest.raises(SourceError, match="realsense:999: cannot start"):
        RealSenseSource(RealSenseConfig(serial="999"), sdk=FakeSdk(recording)).open()


def test_list_devices_reports_name_serial_firmware_usb(recording: Path) -> None:
    from tests.sources.fake_rs import FakeDevice, FakeSdk

    sdk = FakeSdk(recording, devices=[FakeDevice("Intel RealSense D435", "f1", "5.16.0.1", "3.2"),
                                      FakeDevice("Intel RealSense SR305", "s2", "5.12.0.0", None)])
    assert list_devices(sdk) == [DeviceInfo("Intel RealSense D435", "f1", "5.16.0.1", "3.2"),
                                 DeviceInfo("Intel RealSense SR305", "s2", "5.12.0.0", "")]
    sdk.plugged = False
    assert list_devices(sdk) == []


# --- hardware ----------------------------------------------------------------------------------------

@pytest.fixture
def camera_serial() -> str:
    devices = list_devices()
    if not devices:
        pytest.skip("no RealSense camera connected")
    return devices[0].serial


@pytest.mark.hardware
def test_live_camera_delivers_aligned_frames_in_mm(camera_serial: str) -> None:
    with open_source(f"realsense:{camera_serial}") as source:
        frames = [source.read() for _ in range(10)]
    assert all(f.depth_mm.shape == f.color.shape[:2] == (480, 640) for f in frames)
    assert np.all(np.diff([f.index for f in frames]) > 0)
