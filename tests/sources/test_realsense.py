"""RealSenseSource through the real SDK with .db3 recordings built without a camera, and the camera-only
behaviour (unplug, reconnect, device list) through a small fake at the SDK boundary."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from inference.errors import SourceError
from inference.sources import open_source
from inference.sources.devices import DeviceInfo, list_devices
from inference.sources.realsense import RealSenseConfig, RealSenseSource
from tests.sources.conftest import FIRST_NUMBER, N_RECORDED
from tests.sources.frames import TEST_INTRINSICS, make_frame

pytest.importorskip("pyrealsense2")


def read_all(source: RealSenseSource, limit: int = 100) -> list:
    frames = []
    while len(frames) < limit and (frame := source.read()) is not None:
        frames.append(frame)
    return frames


@pytest.mark.parametrize("align_to", ["color", "depth"])
def test_recording_plays_back_every_frame_in_mm_with_numbers_and_intrinsics(recording: Path, align_to: str) -> None:
    with open_source(f"bag:{recording}", align_to=align_to) as source:
        assert source.intrinsics == TEST_INTRINSICS
        frames = read_all(source)
    numbers = [f.index for f in frames]
    assert numbers == recorded_numbers(numbers)
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


LEADING_LOSS_MAX = 2  # framesets the SDK player may lose at the start of a playback (see recorded_numbers)


def recorded_numbers(numbers: list[int]) -> list[int]:
    """The numbers a playback must deliver: all recorded, in order, each once, from where the run starts.

    Known SDK limitation (pyrealsense2 2.59): the player starts in real time before ``set_real_time(False)`` is
    possible; even after the source's pause / drain / seek-to-0 rewind, up to the first two framesets of 8 are
    occasionally lost (measured: 1 run in 5 under load). Everything after the start must come, once, in order.
    """
    start = numbers[0] if numbers and FIRST_NUMBER <= numbers[0] <= FIRST_NUMBER + LEADING_LOSS_MAX else FIRST_NUMBER
    return list(range(start, FIRST_NUMBER + N_RECORDED))


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
    plain = read_all(RealSenseSource(RealSenseConfig(file=recording, **chain)))
    filled = read_all(RealSenseSource(RealSenseConfig(file=recording, hole_filling=True, **chain)))
    assert [f.index for f in filled] == recorded_numbers([f.index for f in filled])
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
    frames = read_all(RealSenseSource(RealSenseConfig(file=recording, loop=True)), limit=2 * N_RECORDED + 2)
    numbers = [f.index for f in frames]
    first_pass = recorded_numbers(numbers)
    assert numbers[: len(first_pass)] == first_pass
    again = numbers[len(first_pass):]
    assert again[:3] in [[FIRST_NUMBER + lost + k for k in range(3)] for lost in range(LEADING_LOSS_MAX + 1)]


def test_truncated_and_missing_recordings_are_clear_errors(recording: Path, tmp_path: Path) -> None:
    truncated = tmp_path / "cut.db3"
    truncated.write_bytes(recording.read_bytes()[: recording.stat().st_size // 2])
    with pytest.raises(SourceError, match=r"bag:.*cut\.db3: cannot start \(.*malformed"):
        open_source(f"bag:{truncated}").open()
    with pytest.raises(SourceError, match="recording file does not exist"):
        open_source(f"bag:{tmp_path / 'none.bag'}").open()


def test_player_raising_mid_stream_stops_with_a_message_after_the_good_frames(recording: Path) -> None:
    from tests.sources.fake_rs import FakeSdk

    sdk = FakeSdk(recording)
    source = RealSenseSource(RealSenseConfig(file=recording), sdk=sdk)
    good = read_all(source, limit=3)
    sdk.raise_on_wait = "Failed to read message from file"
    with pytest.raises(SourceError, match=rf"recording stopped after frame {good[-1].index} \(Failed to read message"):
        source.read()
    assert [f.index for f in good] == recorded_numbers([f.index for f in good])[:3]
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
