"""Loading labels / predictions: uvd text, joint_data.mat, NYU directories, poses JSONL, and their bad inputs."""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pytest

from inference.core.errors import DataFormatError
from inference.core.geometry import NYU_INTRINSICS, Intrinsics, uvd_to_xyz
from inference.core.skeleton import EVAL_JOINT_IDS
from inference.formats.nyu_io import write_joint_data
from inference.formats.pose_files import load_poses, read_uvd_text


def random_uvd(n: int, seed: int = 0) -> np.ndarray:
    """``(n, 14, 3)`` plausible joints: u 100-500 px, v 80-400 px, d 500-1000 mm."""
    rng = np.random.default_rng(seed)
    return np.stack(
        [rng.uniform(100, 500, (n, 14)), rng.uniform(80, 400, (n, 14)), rng.uniform(500, 1000, (n, 14))], axis=-1
    )


def write_uvd_text(path: Path, uvd: np.ndarray) -> Path:
    np.savetxt(path, uvd.reshape(len(uvd), -1), fmt="%.4f")
    return path


def write_jsonl(path: Path, rows: list[dict]) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return path


def pose_row(index: int, xyz: np.ndarray | None) -> dict:
    return {"index": index, "timestamp_s": index / 30, "found": xyz is not None,
            "joints_xyz_mm": None if xyz is None else xyz.tolist(), "joints_uvd": None}


# --- uvd text ---------------------------------------------------------------------------------------

def test_text_is_read_and_converted_with_the_given_intrinsics(tmp_path: Path) -> None:
    uvd = random_uvd(5)
    path = write_uvd_text(tmp_path / "pred.txt", uvd)
    np.testing.assert_allclose(read_uvd_text(path), uvd, atol=1e-4)

    poses = load_poses(path)
    assert poses.positional and len(poses) == 5 and poses.found.all()
    np.testing.assert_array_equal(poses.frame_index, np.arange(5))
    np.testing.assert_allclose(poses.joints_xyz_mm, uvd_to_xyz(uvd, NYU_INTRINSICS), atol=1e-3)

    other = Intrinsics(fx=476.0, fy=476.0, cx=313.7, cy=242.8)
    np.testing.assert_allclose(load_poses(path, other).joints_xyz_mm, uvd_to_xyz(uvd, other), atol=1e-3)


def test_text_trailing_blank_lines_are_fine(tmp_path: Path) -> None:
    path = write_uvd_text(tmp_path / "p.txt", random_uvd(3))
    path.write_text(path.read_text() + "\n\n  \n")
    assert read_uvd_text(path).shape == (3, 14, 3)


def _replace_token(line: str, k: int, token: str) -> str:
    tokens = line.split()
    tokens[k] = token
    return " ".join(tokens)


def _lines(uvd: np.ndarray) -> list[str]:
    return [" ".join(f"{v:.3f}" for v in row) for row in uvd.reshape(len(uvd), -1)]


@pytest.mark.parametrize(
    ("mutate", "expected"),
    [
        (lambda ls: [*ls[:2], ls[2].rsplit(" ", 1)[0], *ls[3:]], "line 3: 41 values, expected 42"),
        (lambda ls: [*ls[:1], ls[1] + " 1.0 2.0 3.0", *ls[2:]], "line 2: 45 values, expected 42"),
        (lambda ls: [*ls[:3], ls[3][:len(ls[3]) // 2]], "line 4:"),  # truncated last line
        (lambda ls: [*ls[:1], _replace_token(ls[1], 9, "1.2.3"), *ls[2:]], "line 2, value 10: '1.2.3' is not a number"),
        (lambda ls: [*ls[:3], _replace_token(ls[3], 0, "x7")], "line 4, value 1: 'x7' is not a number"),
        (lambda ls: [*ls[:2], "", *ls[2:]], "line 3: empty line"),
        (lambda ls: [*ls[:2], ls[2].replace(ls[2].split()[5], "nan", 1), *ls[3:]], "line 3: NaN"),
        (lambda ls: [*ls, " ".join(["inf"] * 42)], "line 5: NaN or infinite"),
        (lambda ls: [], "empty file"),
    ],
)
def test_text_bad_input_names_the_file_and_line(tmp_path: Path, mutate, expected: str) -> None:
    path = tmp_path / "bad.txt"
    path.write_text("\n".join(mutate(_lines(random_uvd(4)))) + "\n")
    with pytest.raises(DataFormatError) as info:
        load_poses(path)
    message = str(info.value)
    assert message.startswith(str(path)) and expected in message, message
    assert "\n" not in message


def test_binary_garbage_is_a_clear_error(tmp_path: Path) -> None:
    path = tmp_path / "garbage.txt"
    path.write_bytes(bytes(range(256)) * 4)
    with pytest.raises(DataFormatError, match=re.escape("garbage.txt: line 1")):
        load_poses(path)


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(DataFormatError, match=re.escape("nope.txt: file not found")):
        load_poses(tmp_path / "nope.txt")


# --- joint_data.mat / NYU directory ---------------------------------------------------------------------

def _mat(tmp_path: Path, views: int = 2, frames: int = 4) -> tuple[Path, np.ndarray]:
    xyz36 = np.random.default_rng(1).uniform(-200, 900, (views, frames, 36, 3))
    path = tmp_path / "joint_data.mat"
    write_joint_data(path, xyz36 * 0.5, xyz36)  # uvd content is irrelevant here: joint_xyz is used
    return path, xyz36


def test_mat_selects_view_and_eval_joints(tmp_path: Path) -> None:
    path, xyz36 = _mat(tmp_path)
    view1 = load_poses(path)
    np.testing.assert_array_equal(view1.joints_xyz_mm, xyz36[0][:, list(EVAL_JOINT_IDS)])
    assert view1.positional and view1.found.all()
    view2 = load_poses(path, view=2)
    np.testing.assert_array_equal(view2.joints_xyz_mm, xyz36[1][:, list(EVAL_JOINT_IDS)])
    with pytest.raises(DataFormatError, match="has 2 view"):
        load_poses(path, view=3)


def test_nyu_directory_reads_its_joint_data(tmp_path: Path) -> None:
    _, xyz36 = _mat(tmp_path, views=1)
    NYU_INTRINSICS.to_json(tmp_path / "intrinsics.json")
    poses = load_poses(tmp_path)
    np.testing.assert_array_equal(poses.joints_xyz_mm, xyz36[0][:, list(EVAL_JOINT_IDS)])
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(DataFormatError, match=re.escape("no joint_data.mat")):
        load_poses(empty)


def test_mat_all_nan_frame_has_no_pose_but_partial_nan_is_an_error(tmp_path: Path) -> None:
    xyz36 = np.random.default_rng(2).uniform(-200, 900, (5, 36, 3))
    xyz36[1] = np.nan  # a frame NyuWriter never wrote
    path = tmp_path / "joint_data.mat"
    write_joint_data(path, xyz36, xyz36)
    poses = load_poses(path)
    assert poses.found.tolist() == [True, False, True, True, True]
    xyz36[3, EVAL_JOINT_IDS[2], 0] = np.nan
    write_joint_data(path, xyz36, xyz36)
    with pytest.raises(DataFormatError, match=r"frame 4 \(index 3\): some joints are NaN"):
        load_poses(path)


@pytest.mark.parametrize("content", [b"MATLAB 5.0 MAT-file" + b"\0" * 50, b"not a mat file at all"])
def test_corrupt_mat(tmp_path: Path, content: bytes) -> None:
    path = tmp_path / "joint_data.mat"
    path.write_bytes(content)
    with pytest.raises(DataFormatError, match=re.escape("joint_data.mat: ")):
        load_poses(path)


# --- poses JSONL ------------------------------------------------------------------------------------------

def test_jsonl_rows_keep_their_index_and_found_flag(tmp_path: Path) -> None:
    xyz = np.random.default_rng(3).uniform(-100, 800, (3, 14, 3))
    path = write_jsonl(tmp_path / "poses.jsonl", [pose_row(7, xyz[0]), pose_row(2, None), pose_row(0, xyz[2])])
    poses = load_poses(path)
    assert not poses.positional
    assert poses.frame_index.tolist() == [7, 2, 0]
    assert poses.found.tolist() == [True, False, True]
    np.testing.assert_allclose(poses.joints_xyz_mm[0], xyz[0])
    assert np.isnan(poses.joints_xyz_mm[1]).all()


def test_jsonl_is_recognised_without_its_suffix(tmp_path: Path) -> None:
    path = write_jsonl(tmp_path / "poses.txt", [pose_row(0, np.zeros((14, 3)))])
    assert not load_poses(path).positional


@pytest.mark.parametrize(
    ("second_line", "expected"),
    [
        ('{"index": 1, "found": true, "joints_xyz_mm": [[1, 2, 3]', "line 2: not valid JSON"),  # cut mid-write
        ("[1, 2, 3]", "line 2: expected a JSON object"),
        ('{"found": false}', 'line 2: needs an integer "index"'),
        ('{"index": -1, "found": false}', 'line 2: needs an integer "index"'),
        ('{"index": 0, "found": false}', "line 2: frame index 0 repeated (first on line 1)"),
        ('{"index": 1, "found": true, "joints_xyz_mm": null}', '"found" is true but "joints_xyz_mm"'),
        ('{"index": 1, "found": "yes", "joints_xyz_mm": null}', '"found" must be true or false'),
        ('{"index": 1, "found": true, "joints_xyz_mm": ' + json.dumps(np.zeros((13, 3)).tolist()) + "}",
         "line 2: 'joints_xyz_mm' has shape [13, 3], expected [14, 3]"),
        ('{"index": 1, "found": true, "joints_xyz_mm": ' + json.dumps([[0, 0, 0]] * 13 + [[0, 0]]) + "}",
         "line 2: 'joints_xyz_mm' must be a 14x3 list"),
        ('{"index": 1, "found": true, "joints_xyz_mm": ' + json.dumps([[0, 0, 0]] * 13 + [[0, 0, None]]) + "}",
         "line 2: 'joints_xyz_mm' holds NaN"),
    ],
)
def test_jsonl_bad_rows_name_file_and_line(tmp_path: Path, second_line: str, expected: str) -> None:
    path = tmp_path / "poses.jsonl"
    path.write_text(json.dumps(pose_row(0, np.zeros((14, 3)))) + "\n" + second_line + "\n")
    with pytest.raises(DataFormatError) as info:
        load_poses(path)
    assert str(info.value).startswith(str(path)) and expected in str(info.value), str(info.value)


def test_empty_jsonl(tmp_path: Path) -> None:
    path = tmp_path / "poses.jsonl"
    path.write_text("\n")
    with pytest.raises(DataFormatError, match="no pose rows"):
        load_poses(path)


def test_reads_what_handpose_run_writes(tmp_path: Path) -> None:
    """The writer of `handpose run` and this reader agree on the poses JSONL contract."""
    import inference.formats.poses_jsonl as poses_jsonl
    from inference.core.frame import HandPose

    xyz = np.random.default_rng(5).uniform(-100, 800, (14, 3))
    path = tmp_path / "poses.jsonl"
    with poses_jsonl.PosesJsonlWriter(path) as writer:
        writer.write(3, 0.1, HandPose(found=True, joints_xyz_mm=xyz, joints_uvd=xyz, timings_ms={"infer": 25.0}))
        writer.write(4, 0.13, HandPose(found=False))
    poses = load_poses(path)
    assert poses.frame_index.tolist() == [3, 4] and poses.found.tolist() == [True, False]
    np.testing.assert_allclose(poses.joints_xyz_mm[0], xyz, atol=0.005)  # the writer rounds to 0.01 mm
