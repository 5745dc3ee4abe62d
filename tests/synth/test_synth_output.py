"""The generator's output, decoded independently (numpy + scipy + cv2 only, not inference.formats.nyu_io's reader)."""

from __future__ import annotations

import json
from pathlib import Path

import cv2
import numpy as np
import pytest
import scipy.io

from handpose.cli import main
from inference.core.geometry import NYU_INTRINSICS
from inference.core.gesture_names import GESTURES

FRAMES = 12


def _decode_depth(path: Path) -> np.ndarray:
    bgr = cv2.imread(str(path), cv2.IMREAD_UNCHANGED)
    assert bgr is not None and bgr.dtype == np.uint8 and bgr.shape == (480, 640, 3), path
    return (bgr[..., 1].astype(np.uint16) << 8) | bgr[..., 0].astype(np.uint16)


@pytest.fixture(scope="module")
def gesture_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("synth") / "seq"
    assert main(["synth", str(out), "--frames", str(FRAMES), "--seed", "3", "--subjects", "3",
                 "--mode", "gestures", "--workers", "1"]) == 0
    return out


def test_files_and_depth_encoding(gesture_dir: Path) -> None:
    names = sorted(p.name for p in gesture_dir.iterdir())
    depth_names = [n for n in names if n.startswith("depth_")]
    assert depth_names == [f"depth_1_{i:07d}.png" for i in range(1, FRAMES + 1)]
    assert [n for n in names if n.startswith("rgb_")] == [f"rgb_1_{i:07d}.png" for i in range(1, FRAMES + 1)]
    assert not [n for n in names if n.startswith(".")], "temporary files left behind"
    assert "intrinsics.json" not in names  # NYU intrinsics: no side file
    bgr = cv2.imread(str(gesture_dir / depth_names[0]), cv2.IMREAD_UNCHANGED)
    assert (bgr[..., 2] == 0).all()  # R unused
    depth = _decode_depth(gesture_dir / depth_names[0])
    valid = depth > 0
    assert 0.05 < valid.mean() < 0.98
    assert 300 <= depth[valid].min() and depth[valid].max() <= 2000  # sensor range, in mm
    rgb = cv2.imread(str(gesture_dir / "rgb_1_0000001.png"), cv2.IMREAD_UNCHANGED)
    assert rgb.shape == (480, 640, 3) and rgb.dtype == np.uint8
    assert (rgb[~valid] == 0).all()  # registered RGB is black where depth is missing, as on NYU


def test_joint_data_matches_intrinsics(gesture_dir: Path) -> None:
    mat = scipy.io.loadmat(gesture_dir / "joint_data.mat")
    uvd, xyz = mat["joint_uvd"], mat["joint_xyz"]
    assert uvd.shape == (1, FRAMES, 36, 3) and xyz.shape == (1, FRAMES, 36, 3)
    names = [str(np.asarray(c).ravel()[0]) for c in mat["joint_names"].ravel()]
    assert names[0] == "F1_KNU3_A" and names[32] == "PALM_3" and len(names) == 36
    intr = NYU_INTRINSICS
    x, y, z = xyz[..., 0], xyz[..., 1], xyz[..., 2]
    u = intr.cx + intr.fx * x / z
    v = intr.cy - intr.fy * y / z  # y up, as NYU
    assert np.abs(u - uvd[..., 0]).max() < 0.5 and np.abs(v - uvd[..., 1]).max() < 0.5
    assert np.allclose(z, uvd[..., 2])
    assert 300 < z.min() and z.max() < 1500


def test_gesture_and_subject_labels(gesture_dir: Path) -> None:
    gestures = json.loads((gesture_dir / "gestures.json").read_text())["frames"]
    assert sorted(int(k) for k in gestures) == list(range(FRAMES))
    assert set(gestures.values()) <= set(GESTURES) and len(set(gestures.values())) > 2
    subjects = json.loads((gesture_dir / "subjects.json").read_text())
    assert subjects["frame_subject"] == [i % 3 for i in range(FRAMES)]
    assert sorted(subjects["subjects"]) == ["0", "1", "2"]
    assert subjects["subjects"]["1"]["palm_length_mm"] > 60 and subjects["seed"] == 3


def test_determinism_across_workers(gesture_dir: Path, tmp_path: Path) -> None:
    out = tmp_path / "again"
    assert main(["synth", str(out), "--frames", "4", "--seed", "3", "--subjects", "3", "--mode", "gestures",
                 "--workers", "2"]) == 0
    for i in range(1, 5):
        for kind in ("depth", "rgb"):
            name = f"{kind}_1_{i:07d}.png"
            a = cv2.imread(str(out / name), cv2.IMREAD_UNCHANGED)
            b = cv2.imread(str(gesture_dir / name), cv2.IMREAD_UNCHANGED)
            assert np.array_equal(a, b), name
    mat_a = scipy.io.loadmat(out / "joint_data.mat")["joint_uvd"]
    mat_b = scipy.io.loadmat(gesture_dir / "joint_data.mat")["joint_uvd"][:, :4]
    assert np.array_equal(mat_a, mat_b)


def test_other_seed_differs(gesture_dir: Path, tmp_path: Path) -> None:
    out = tmp_path / "other"
    assert main(["synth", str(out), "--frames", "1", "--seed", "4", "--workers", "1"]) == 0
    first = "depth_1_0000001.png"
    assert not np.array_equal(_decode_depth(out / first), _decode_depth(gesture_dir / first))
    assert not (out / "gestures.json").exists()  # random mode has no gesture labels


def test_custom_intrinsics_written(tmp_path: Path) -> None:
    intr_path = tmp_path / "cam.json"
    intr_path.write_text(json.dumps({"fx": 300.0, "fy": 300.0, "cx": 159.5, "cy": 119.5, "width": 320, "height": 240}))
    out = tmp_path / "small"
    args = ["synth", str(out), "--frames", "2", "--seed", "1", "--workers", "1", "--intrinsics", str(intr_path)]
    assert main(args) == 0
    assert json.loads((out / "intrinsics.json").read_text())["fx"] == 300.0
    assert cv2.imread(str(out / "depth_1_0000001.png"), cv2.IMREAD_UNCHANGED).shape == (240, 320, 3)
    uvd = scipy.io.loadmat(out / "joint_data.mat")["joint_uvd"][0]
    assert (uvd[..., 0] < 320).all() and (uvd[..., 1] < 240).all()


def test_still_mode_holds_one_pose_per_subject_on_a_30_fps_clock(tmp_path: Path) -> None:
    out = tmp_path / "still"
    assert main(["synth", str(out), "--frames", "6", "--seed", "4", "--subjects", "2", "--mode", "still",
                 "--workers", "1"]) == 0
    xyz = scipy.io.loadmat(out / "joint_data.mat")["joint_xyz"][0]  # (6, 36, 3)
    np.testing.assert_array_equal(xyz[0], xyz[2])  # subject 1: frames 0-2, one pose
    np.testing.assert_array_equal(xyz[3], xyz[5])  # subject 2: frames 3-5
    assert not np.allclose(xyz[2], xyz[3])
    depths = [_decode_depth(out / f"depth_1_{n:07d}.png") for n in (1, 2)]
    assert np.count_nonzero(depths[0] != depths[1]) > 100  # only the sensor noise changes
    stamps = np.loadtxt(out / "timestamps.txt")
    np.testing.assert_allclose(stamps, np.arange(6) / 30.0, atol=1e-6)


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--frames", "0"], "--frames must be between"),
        (["--frames", "-5"], "--frames must be between"),
        (["--subjects", "0"], "--subjects must be at least 1"),
        (["--hard-fraction", "1.5"], "--hard-fraction"),
        (["--workers", "0"], "--workers must be at least 1"),
    ],
)
def test_bad_counts(tmp_path: Path, capsys: pytest.CaptureFixture[str], extra: list[str], message: str) -> None:
    assert main(["synth", str(tmp_path / "x"), *extra]) == 2
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err and len(err.strip().splitlines()) == 1


def test_refuses_non_empty_dir_unless_overwrite(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "full"
    out.mkdir()
    (out / "depth_1_0000009.png").write_bytes(b"stale")
    (out / "notes.txt").write_text("mine")
    assert main(["synth", str(out), "--frames", "1", "--workers", "1"]) == 2
    assert "not empty" in capsys.readouterr().err
    assert main(["synth", str(out), "--frames", "1", "--workers", "1", "--overwrite"]) == 0
    assert not (out / "depth_1_0000009.png").exists()  # the old sequence is replaced...
    assert (out / "notes.txt").read_text() == "mine"  # ...but unrelated files are kept
    assert (out / "depth_1_0000001.png").exists()


def test_unwritable_dir(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("x")
    assert main(["synth", str(blocker / "sub"), "--frames", "1"]) == 2
    err = capsys.readouterr().err
    assert "cannot write" in err and "Traceback" not in err
    assert main(["synth", str(blocker), "--frames", "1"]) == 2
    assert "not a directory" in capsys.readouterr().err


def test_interrupt_keeps_completed_frames_only(tmp_path: Path) -> None:
    from inference.synth.generate import generate, make_specs

    specs = make_specs("random", 10, 5, [0, 1])
    calls = []

    def progress(n: int) -> None:
        calls.append(n)
        if len(calls) == 3:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        generate(tmp_path, specs, workers=2, progress=progress)
    names = sorted(p.name for p in tmp_path.iterdir())
    assert [n for n in names if n.startswith("depth_")] == [f"depth_1_{i:07d}.png" for i in (1, 2, 3)]
    assert [n for n in names if n.startswith("rgb_")] == [f"rgb_1_{i:07d}.png" for i in (1, 2, 3)]
    assert not [n for n in names if n.startswith(".")]
    mat = scipy.io.loadmat(tmp_path / "joint_data.mat")
    assert mat["joint_uvd"].shape == (1, 3, 36, 3) and np.isfinite(mat["joint_uvd"]).all()
    assert json.loads((tmp_path / "subjects.json").read_text())["frame_subject"] == [0, 1, 0]
