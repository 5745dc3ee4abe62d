"""NYU on-disk format: codecs, bit-exact write/read round trips, the real frame, and bad input."""

from __future__ import annotations

import json
import tempfile
from pathlib import Path

import cv2
import numpy as np
import pytest
import scipy.io
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from inference.core.errors import DataFormatError
from inference.core.geometry import NYU_INTRINSICS, Intrinsics
from inference.core.skeleton import NYU_JOINT_NAMES, to_eval_joints
from inference.formats.nyu_io import (
    JOINT_DATA,
    NyuSequence,
    NyuWriter,
    decode_nyu_depth,
    encode_nyu_depth,
    read_depth16_png,
    read_depth_png,
    read_joint_data,
    read_joint_names,
    read_rgb_png,
    write_depth_png,
    write_joint_data,
)
from tests.helpers.real_data import SR305_DEPTH_UNIT_MM, nyu_labels, sr305_paths

small_shapes = st.tuples(st.integers(1, 12), st.integers(1, 12))


@given(arrays(np.uint16, small_shapes))
def test_depth_codec_round_trip(depth: np.ndarray) -> None:
    bgr = encode_nyu_depth(depth)
    assert bgr.dtype == np.uint8 and bgr.shape == (*depth.shape, 3) and not bgr[..., 2].any()  # R unused
    np.testing.assert_array_equal(decode_nyu_depth(bgr), depth)


@settings(max_examples=25, deadline=None)
@given(arrays(np.uint16, small_shapes))
def test_depth_png_round_trip_is_bit_exact(depth: np.ndarray) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "depth_1_0000001.png"
        write_depth_png(path, depth)
        back = read_depth_png(path)
        assert back.dtype == np.uint16
        np.testing.assert_array_equal(back, depth)
        assert [p.name for p in Path(tmp).iterdir()] == [path.name]  # no temporary .part left behind


def test_encode_refuses_values_a_png_cannot_hold() -> None:
    np.testing.assert_array_equal(decode_nyu_depth(encode_nyu_depth(np.array([[0.0, 65535.0]]))), [[0, 65535]])
    for bad in (np.array([[-1.0]]), np.array([[70000]]), np.array([[np.nan]])):
        with pytest.raises(ValueError, match="0-65535"):
            encode_nyu_depth(bad)


_frame = st.fixed_dictionaries({
    "depth": arrays(np.uint16, (5, 7)),
    "rgb": st.one_of(st.none(), arrays(np.uint8, (5, 7, 3))),
    "labelled": st.booleans(),
    "gesture": st.one_of(st.none(), st.sampled_from(["fist", "open", "two"])),
})


@settings(max_examples=15, deadline=None)
@given(frames=st.dictionaries(st.integers(1, 6), _frame, min_size=1, max_size=4), seed=st.integers(0, 2**16))
def test_writer_sequence_round_trip(frames: dict[int, dict], seed: int) -> None:
    rng = np.random.default_rng(seed)
    intr = Intrinsics(fx=100.0, fy=101.0, cx=3.0, cy=2.0, width=7, height=5)
    labels = {n: (rng.normal(0, 500, (36, 3)), rng.normal(0, 500, (36, 3))) for n, f in frames.items() if f["labelled"]}
    with tempfile.TemporaryDirectory() as tmp, NyuWriter(tmp, intrinsics=intr) as writer:
        for n, f in frames.items():
            uvd, xyz = labels.get(n, (None, None))
            writer.write(n, f["depth"], f["rgb"], uvd, xyz, f["gesture"])
        writer.close()
        seq = NyuSequence(tmp)
        assert seq.frame_numbers == sorted(frames) and seq.intrinsics == intr
        for n, f in frames.items():
            frame = seq.frame(n)
            np.testing.assert_array_equal(frame.depth_mm, f["depth"])
            if f["rgb"] is None:
                assert frame.color is None
            else:
                np.testing.assert_array_equal(frame.color, f["rgb"])
            assert frame.index == n - 1 and frame.gesture == f["gesture"]
            if n in labels:
                np.testing.assert_array_equal(frame.joints_uvd, to_eval_joints(labels[n][0]))
            else:
                assert frame.joints_uvd is None  # an unlabelled frame, even with a NaN row in the file
        if labels:
            data = seq.labels()
            assert data["joint_uvd"].shape == (max(labels), 36, 3)
            for n in range(1, max(labels) + 1):
                if n in labels:
                    np.testing.assert_array_equal(data["joint_uvd"][n - 1], labels[n][0])
                    np.testing.assert_array_equal(data["joint_xyz"][n - 1], labels[n][1])
                else:
                    assert np.isnan(data["joint_uvd"][n - 1]).all()  # labels() keeps NaN rows: row = frame number
            assert read_joint_names(Path(tmp) / JOINT_DATA) == NYU_JOINT_NAMES
        else:
            assert seq.labels() is None


def test_writer_rejects_bad_arguments(tmp_path: Path) -> None:
    writer = NyuWriter(tmp_path)
    depth = np.zeros((480, 640), np.uint16)
    with pytest.raises(ValueError, match="start at 1"):
        writer.write(0, depth)
    with pytest.raises(ValueError, match=r"\(36, 3\)"):
        writer.write(1, depth, joints_uvd=np.zeros((14, 3)), joints_xyz=np.zeros((14, 3)))
    with pytest.raises(ValueError, match="both"):
        writer.write(1, depth, joints_uvd=np.zeros((36, 3)))
    assert not (tmp_path / "intrinsics.json").exists()  # NYU's own intrinsics are implied


def test_real_nyu_frame_decodes_to_the_documented_range(nyu_frame_dir: Path) -> None:
    depth = read_depth_png(nyu_frame_dir / "depth_1_0000001.png")
    assert depth.shape == (480, 640) and depth.dtype == np.uint16
    background = depth == 2001
    assert 0.55 < background.mean() < 0.65  # far background and shadows
    assert depth.min() == 731  # the hand is nearest; no zeros in this frame
    gt_uvd, _ = nyu_labels(nyu_frame_dir)
    hull = np.zeros(depth.shape, np.uint8)
    cv2.fillConvexPoly(hull, cv2.convexHull(np.round(gt_uvd[:, :2]).astype(np.int32)), 1)
    hand = depth[(hull > 0) & ~background]
    assert hand.size > 3000 and hand.min() >= 731 and hand.max() <= 832
    # Each labelled joint lies behind the visible surface, never in front of it by more than noise.
    u, v = np.round(gt_uvd[:, 0]).astype(int), np.round(gt_uvd[:, 1]).astype(int)
    seen = depth[v, u].astype(float)
    on_hand = seen < 2001
    assert on_hand.sum() >= 10 and np.all(gt_uvd[on_hand, 2] - seen[on_hand] > -10)
    rgb = read_rgb_png(nyu_frame_dir / "rgb_1_0000001.png")
    assert rgb.shape == (480, 640, 3) and rgb.dtype == np.uint8


def test_real_nyu_frame_through_nyu_sequence(nyu_frame_dir: Path) -> None:
    seq = NyuSequence(nyu_frame_dir)  # no joint_data.mat there: no labels, NYU intrinsics
    assert seq.frame_numbers == [1] and seq.intrinsics == NYU_INTRINSICS and seq.labels() is None
    frame = seq.frame(1)
    assert frame.color is not None and frame.joints_uvd is None and frame.index == 0


def test_sr305_depth16_png(sr305_dir: Path) -> None:
    paths = sr305_paths(sr305_dir)
    assert len(paths) == 19
    raw = cv2.imread(str(paths[0]), cv2.IMREAD_UNCHANGED)
    depth = read_depth16_png(paths[0], SR305_DEPTH_UNIT_MM)
    assert depth.dtype == np.uint16 and depth.shape == (480, 640)
    np.testing.assert_array_equal(depth, np.rint(raw * 0.125).astype(np.uint16))
    valid = depth[depth > 0]
    assert 300 < np.percentile(valid, 1) < 1100  # the hand, nearest, at ~0.46-1.07 m
    with pytest.raises(DataFormatError, match="8-bit RGB"):
        read_depth_png(paths[0])  # a 16-bit gray PNG given as NYU depth


# --- bad input: each one clear line naming the file -------------------------------------------------

def _png(img: np.ndarray) -> bytes:
    ok, buf = cv2.imencode(".png", img)
    assert ok
    return buf.tobytes()


def _assert_one_line(err: pytest.ExceptionInfo, path: Path) -> None:
    message = str(err.value)
    assert str(path) in message and "\n" not in message and "Traceback" not in message


GOOD_DEPTH = encode_nyu_depth(np.full((48, 64), 700, np.uint16))


@pytest.mark.parametrize("content, problem", [
    (b"", "not a PNG"),
    (b"hello, not an image", "not a PNG"),
    (_png(GOOD_DEPTH)[:200], "truncated"),
    (_png(GOOD_DEPTH)[:8] + bytes(range(256)) * 4 + _png(GOOD_DEPTH)[-12:], "corrupt"),
    (_png(np.full((48, 64), 700, np.uint16)), "8-bit RGB"),  # 16-bit gray given as NYU depth
    (_png(np.full((48, 64), 7, np.uint8)), "8-bit RGB"),  # 1-channel 8-bit
    (_png(np.zeros((48, 64, 4), np.uint8)), "8-bit RGB"),  # RGBA
])
def test_bad_depth_png(tmp_path: Path, content: bytes, problem: str) -> None:
    path = tmp_path / "depth_1_0000001.png"
    path.write_bytes(content)
    with pytest.raises(DataFormatError, match=problem) as err:
        read_depth_png(path)
    _assert_one_line(err, path)


def test_bad_rgb_and_depth16_png(tmp_path: Path) -> None:
    path = tmp_path / "x.png"
    path.write_bytes(_png(np.zeros((4, 4), np.uint8)))
    with pytest.raises(DataFormatError, match="8-bit colour") as err:
        read_rgb_png(path)
    _assert_one_line(err, path)
    path.write_bytes(_png(GOOD_DEPTH))
    with pytest.raises(DataFormatError, match="16-bit single-channel") as err:
        read_depth16_png(path)
    _assert_one_line(err, path)
    with pytest.raises(DataFormatError, match="cannot read"):
        read_depth_png(tmp_path / "absent.png")


def test_depth_of_the_wrong_size_for_the_intrinsics(tmp_path: Path) -> None:
    write_depth_png(tmp_path / "depth_1_0000001.png", np.zeros((48, 64), np.uint16))
    with pytest.raises(DataFormatError, match=r"64x48 .*intrinsics say 640x480") as err:
        NyuSequence(tmp_path).frame(1)
    _assert_one_line(err, tmp_path / "depth_1_0000001.png")


def _mat(path: Path, **arrays_: np.ndarray) -> Path:
    scipy.io.savemat(path, arrays_)
    return path


@pytest.mark.parametrize("make, problem", [
    (lambda p: _mat(p, joints=np.zeros((1, 2, 36, 3))), "missing key 'joint_uvd'"),
    (lambda p: _mat(p, joint_uvd=np.zeros((1, 2, 36, 3))), "missing key 'joint_xyz'"),
    (lambda p: _mat(p, joint_uvd=np.zeros((1, 2, 14, 3)), joint_xyz=np.zeros((1, 2, 14, 3))), r"\(views, frames, 36"),
    (lambda p: _mat(p, joint_uvd=np.zeros((1, 2, 36, 3)), joint_xyz=np.zeros((1, 3, 36, 3))), "differ"),
    (lambda p: p.write_text("this is not a MATLAB file, just text that is long enough " * 4), "not a readable MATLAB"),
    (lambda p: p.write_bytes(b""), "not a readable MATLAB"),
])
def test_bad_joint_data(tmp_path: Path, make, problem: str) -> None:
    path = tmp_path / JOINT_DATA
    make(path)
    with pytest.raises(DataFormatError, match=problem) as err:
        read_joint_data(path)
    _assert_one_line(err, path)


def test_single_view_joint_data_without_the_view_axis(tmp_path: Path) -> None:
    uvd = np.random.default_rng(1).normal(size=(3, 36, 3))
    write_joint_data(tmp_path / JOINT_DATA, uvd, uvd * 2)
    data = read_joint_data(tmp_path / JOINT_DATA)
    np.testing.assert_array_equal(data["joint_uvd"], uvd[None])
    scipy.io.savemat(tmp_path / "three.mat", {"joint_uvd": uvd, "joint_xyz": uvd})
    assert read_joint_data(tmp_path / "three.mat")["joint_xyz"].shape == (1, 3, 36, 3)
    assert read_joint_names(tmp_path / "three.mat") is None


def test_nan_label_rows(tmp_path: Path) -> None:
    uvd = np.ones((3, 36, 3))
    uvd[1] = np.nan  # frame 2 never labelled (as NyuWriter writes it)
    uvd[2, 32, 0] = np.nan  # frame 3: a broken label, passed on for the evaluator / dataset to reject
    write_joint_data(tmp_path / JOINT_DATA, uvd, uvd)
    for n in (1, 2, 3):
        write_depth_png(tmp_path / f"depth_1_000000{n}.png", np.zeros((480, 640), np.uint16))
    seq = NyuSequence(tmp_path)
    assert np.isnan(seq.labels()["joint_uvd"][1]).all()  # labels() keeps the NaN row: row index = frame number
    assert seq.frame(1).joints_uvd is not None
    assert seq.frame(2).joints_uvd is None
    assert np.isnan(seq.frame(3).joints_uvd[13, 0]) and np.isfinite(seq.frame(3).joints_uvd[:13]).all()


def test_sequence_directory_errors(tmp_path: Path) -> None:
    with pytest.raises(DataFormatError, match="no NYU depth frames") as err:
        NyuSequence(tmp_path)  # empty directory
    _assert_one_line(err, tmp_path)
    with pytest.raises(DataFormatError, match="not a directory"):
        NyuSequence(tmp_path / "absent")
    write_depth_png(tmp_path / "depth_1_0000001.png", np.zeros((480, 640), np.uint16))
    with pytest.raises(DataFormatError, match="no NYU depth frames"):
        NyuSequence(tmp_path, view=2)
    (tmp_path / "intrinsics.json").write_text(json.dumps({"fx": 500, "fy": 500, "cy": 240}))
    with pytest.raises(DataFormatError, match="lacks cx") as err:
        NyuSequence(tmp_path)
    _assert_one_line(err, tmp_path / "intrinsics.json")
    (tmp_path / "intrinsics.json").unlink()
    write_joint_data(tmp_path / JOINT_DATA, np.zeros((1, 36, 3)), np.zeros((1, 36, 3)))
    (tmp_path / "depth_2_0000001.png").write_bytes((tmp_path / "depth_1_0000001.png").read_bytes())
    with pytest.raises(DataFormatError, match="has 1 views, view 2 asked"):
        NyuSequence(tmp_path, view=2).labels()
    (tmp_path / "gestures.json").write_text("[1, 2]")
    with pytest.raises(DataFormatError, match="bad gestures file"):
        NyuSequence(tmp_path)
