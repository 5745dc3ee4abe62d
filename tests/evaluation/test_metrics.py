"""Metrics, label/prediction matching, the published NYU numbers, plots and the `handpose eval` command."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from inference.core.errors import DataFormatError, HandposeError
from inference.core.skeleton import EVAL_SHORT_NAMES
from inference.evaluation.metrics import REPORT_THRESHOLDS_MM, EvalResult, evaluate, joint_errors_mm
from inference.evaluation.plots import plot_comparison
from inference.formats.pose_files import PoseSet, load_poses
from tests.formats.test_pose_files import pose_row, random_uvd, write_jsonl, write_uvd_text

# Published mean errors (mm) of the NYU result files in ../shared/data/nyu_eval/results.
PUBLISHED_MEAN_MM = {
    "CVWW15_NYU_Prior": 20.75,  # DeepPrior
    "IJCAI16_NYU_DeepModel": 17.04,  # DeepModel
    "ICCV15_NYU_Feedback": 15.97,  # Feedback
    "ICCVW17_NYU_DeepPrior++": 12.24,  # DeepPrior++
    "A2J_nyu_861_epoch32_UVD": 8.61,  # A2J
    "CVPR18_NYU_V2V_PoseNet": 8.42,  # V2V-PoseNet
}


def pose_set(xyz: np.ndarray, found: np.ndarray | None = None, index: np.ndarray | None = None,
             path: str = "p.txt") -> PoseSet:
    n = len(xyz)
    return PoseSet(
        path=Path(path), frame_index=np.arange(n) if index is None else np.asarray(index),
        joints_xyz_mm=np.asarray(xyz, float), found=np.ones(n, bool) if found is None else np.asarray(found),
        positional=index is None, line=np.arange(1, n + 1),
    )


def shifted(labels: np.ndarray, offsets_mm: np.ndarray) -> np.ndarray:
    """Labels moved along x by ``offsets_mm`` ``(N, 14)``: the joint errors are exactly the offsets."""
    out = labels.copy()
    out[..., 0] += offsets_mm
    return out


def test_joint_errors_are_euclidean() -> None:
    errors = joint_errors_mm(np.array([[[3.0, 4.0, 0.0], [1, 1, 1]]]), np.array([[[0.0, 0.0, 0.0], [1, 1, 1]]]))
    np.testing.assert_allclose(errors, [[5.0, 0.0]])


def test_metrics_on_known_errors() -> None:
    labels = np.random.default_rng(0).uniform(-100, 900, (4, 14, 3))
    offsets = np.array([np.full(14, 5.0), np.full(14, 10.0), np.full(14, 30.0), np.r_[np.full(13, 1.0), 50.0]])
    result = evaluate(pose_set(labels), pose_set(shifted(labels, offsets)))
    assert (result.frames, result.missing, result.not_found) == (4, 0, 0)
    assert result.mean_error_mm == pytest.approx(offsets.mean())
    # per-frame means 5, 10, 30, (13 + 50) / 14 = 4.5 -> median of [4.5, 5, 10, 30] = 7.5
    assert result.median_error_mm == pytest.approx(7.5)
    np.testing.assert_allclose(result.per_joint_mm, offsets.mean(axis=0))
    # frame max errors 5, 10, 30, 50; thresholds are inclusive
    np.testing.assert_allclose(result.success_rate_pct([0, 5, 9.9, 10, 30, 49, 50, 80]),
                               [0, 25, 25, 50, 75, 75, 100, 100])


def test_missing_and_not_found_frames_fail_success_but_not_the_mean(tmp_path: Path) -> None:
    labels = np.random.default_rng(1).uniform(-100, 900, (6, 14, 3))
    good = shifted(labels, np.full((6, 14), 2.0))
    # rows out of order; frame 1 not found, frames 3 and 5 missing, frame 9 is not labelled (ignored)
    rows = [pose_row(4, good[4]), pose_row(0, good[0]), pose_row(1, None), pose_row(2, good[2]),
            pose_row(9, np.zeros((14, 3)))]
    result = evaluate(pose_set(labels), load_poses(write_jsonl(tmp_path / "poses.jsonl", rows)))
    assert (result.frames, result.missing, result.not_found, result.evaluated) == (6, 2, 1, 3)
    assert result.mean_error_mm == pytest.approx(2.0)
    assert result.success_rate_pct([1.0, 2.0, 80.0]).tolist() == pytest.approx([0.0, 50.0, 50.0])


def test_unlabelled_label_rows_are_not_frames() -> None:
    labels = np.random.default_rng(2).uniform(-100, 900, (3, 14, 3))
    result = evaluate(pose_set(labels, found=np.array([True, False, True])), pose_set(shifted(labels, 1.0)))
    assert result.frames == 2 and result.mean_error_mm == pytest.approx(1.0)


def test_positional_files_must_have_the_same_frame_count(tmp_path: Path) -> None:
    labels = load_poses(write_uvd_text(tmp_path / "labels.txt", random_uvd(5)))
    preds = load_poses(write_uvd_text(tmp_path / "preds.txt", random_uvd(4)))
    with pytest.raises(DataFormatError) as info:
        evaluate(labels, preds)
    message = str(info.value)
    assert "preds.txt" in message and "labels.txt" in message and "has 4 frames" in message and "have 5" in message


def test_no_predictions_at_all_gives_null_errors_and_zero_success() -> None:
    labels = np.zeros((3, 14, 3))
    result = evaluate(pose_set(labels), pose_set(labels, found=np.zeros(3, bool), index=np.arange(3)))
    out = result.to_dict()
    assert out["not_found"] == 3 and out["mean_error_mm"] is None and out["per_joint_mm"]["C"] is None
    assert set(out["success_rate"].values()) == {0.0}
    json.dumps(out, allow_nan=False)  # valid JSON: no NaN


def test_to_dict_follows_the_contract() -> None:
    labels = np.random.default_rng(3).uniform(-100, 900, (10, 14, 3))
    out = evaluate(pose_set(labels), pose_set(shifted(labels, 12.0))).to_dict()
    assert list(out) == ["frames", "missing", "not_found", "mean_error_mm", "median_error_mm", "per_joint_mm",
                         "success_rate", "jitter_mm"]
    assert list(out["per_joint_mm"]) == list(EVAL_SHORT_NAMES)
    assert list(out["success_rate"]) == [str(t) for t in range(0, 81, 10)]
    assert out["success_rate"]["10"] == 0.0 and out["success_rate"]["20"] == 100.0
    assert out["jitter_mm"] is None  # these labels never hold still


def test_jitter_is_the_acceleration_of_predictions_where_the_labels_hold_still() -> None:
    still = np.tile(np.random.default_rng(4).uniform(-100, 900, (1, 14, 3)), (6, 1, 1))
    predicted = still.copy()
    predicted[3, :, 0] += 2.0  # frame 3 jumps 2 mm along x: |p[k+1] - 2p[k] + p[k-1]| = 2 at k=2 and 4, 4 at k=3
    expected = np.mean([0.0, 2.0, 4.0, 2.0])  # k = 1..4
    assert evaluate(pose_set(still), pose_set(predicted)).jitter_mm == pytest.approx(expected)
    moving = still + np.arange(6)[:, None, None]  # the labels move every frame: no still triple
    assert evaluate(pose_set(moving), pose_set(predicted)).jitter_mm is None


@settings(max_examples=60, deadline=None)
@given(
    errors=arrays(np.float64, st.tuples(st.integers(1, 20), st.just(14)), elements=st.floats(0, 120)),
    missing=st.integers(0, 5),
    not_found=st.integers(0, 5),
)
def test_success_rate_matches_its_definition(errors: np.ndarray, missing: int, not_found: int) -> None:
    result = EvalResult(errors_mm=errors, missing=missing, not_found=not_found)
    thresholds = np.arange(0.0, 121.0, 0.5)
    frame_max = np.r_[errors.max(axis=1), np.full(missing + not_found, np.inf)]
    expected = [100.0 * np.mean(frame_max <= t) for t in thresholds]
    np.testing.assert_allclose(result.success_rate_pct(thresholds), expected)


# --- the published NYU numbers ------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def nyu_labels(nyu_eval_dir: Path) -> PoseSet:
    return load_poses(nyu_eval_dir / "groundtruth" / "nyu_test_groundtruth_label.txt")


@pytest.mark.parametrize(("stem", "published_mm"), list(PUBLISHED_MEAN_MM.items()))
def test_reproduces_published_nyu_mean_error(nyu_eval_dir: Path, nyu_labels: PoseSet, stem: str,
                                             published_mm: float) -> None:
    result = evaluate(nyu_labels, load_poses(nyu_eval_dir / "results" / f"{stem}.txt"))
    assert result.frames == 8252 and result.missing == 0
    assert abs(result.mean_error_mm - published_mm) < 0.005  # equal when rounded to 0.01 mm
    sr = result.success_rate_pct(REPORT_THRESHOLDS_MM)
    assert sr[0] == 0.0 and np.all(np.diff(sr) >= 0) and sr[-1] > 90.0


# --- plots ------------------------------------------------------------------------------------------------------

def test_plot_draws_both_figures_for_several_methods(tmp_path: Path) -> None:
    rng = np.random.default_rng(4)
    results = {"good": EvalResult(rng.uniform(0, 20, (50, 14))), "bad": EvalResult(rng.uniform(10, 60, (50, 14)), 5)}
    out = plot_comparison(results, tmp_path / "sub" / "cmp.png")
    image = cv2.imread(str(out))
    assert image is not None and image.shape[0] > 400 and image.shape[1] > 1000
    assert not (tmp_path / "sub" / ".cmp.png.part").exists()
    # both method colours (matplotlib C0 blue, C1 orange, as BGR) are drawn
    for bgr in ((180, 119, 31), (14, 127, 255)):
        assert (np.abs(image.astype(int) - bgr).sum(axis=2) < 30).sum() > 500


# --- the command ------------------------------------------------------------------------------------------------

def _handpose(*args: str) -> subprocess.CompletedProcess:
    """Run `handpose` in a fresh interpreter and report which heavy modules it imported (on stderr's last line)."""
    code = (
        "import sys; from handpose.cli import main; rc = main(sys.argv[1:]);"
        "print('HEAVY=' + ','.join(m for m in ('torch', 'PySide6', 'pyqtgraph', 'open3d') if m in sys.modules),"
        " file=sys.stderr); sys.exit(rc)"
    )
    return subprocess.run([sys.executable, "-c", code, *args], capture_output=True, text=True, timeout=60)


def test_cli_json_is_alone_on_stdout_and_loads_no_torch_or_qt(tmp_path: Path) -> None:
    labels = random_uvd(20)
    write_uvd_text(tmp_path / "labels.txt", labels)
    write_uvd_text(tmp_path / "preds.txt", labels)
    out = _handpose("eval", "--labels", str(tmp_path / "labels.txt"), "--predictions", str(tmp_path / "preds.txt"),
                    "--json")
    assert out.returncode == 0, out.stderr
    assert out.stderr.strip().splitlines()[-1] == "HEAVY="
    result = json.loads(out.stdout)
    assert result["frames"] == 20 and result["mean_error_mm"] == pytest.approx(0.0, abs=1e-3)
    assert result["success_rate"]["0"] == 100.0


def test_cli_several_files_are_keyed_by_stem_and_plotted(tmp_path: Path) -> None:
    labels = random_uvd(10)
    write_uvd_text(tmp_path / "labels.txt", labels)
    write_uvd_text(tmp_path / "a.txt", labels + np.array([5.0, 0.0, 0.0]))
    write_uvd_text(tmp_path / "b.txt", labels + np.array([0.0, 0.0, 20.0]))
    out = _handpose("eval", "--labels", str(tmp_path / "labels.txt"), "--predictions", str(tmp_path / "a.txt"),
                    str(tmp_path / "b.txt"), "--json", "--plot", str(tmp_path / "cmp.png"))
    assert out.returncode == 0, out.stderr
    result = json.loads(out.stdout)
    assert list(result) == ["a", "b"]
    assert result["a"]["mean_error_mm"] < result["b"]["mean_error_mm"]
    assert (tmp_path / "cmp.png").stat().st_size > 10_000


def test_cli_bad_input_is_one_line_without_traceback(tmp_path: Path) -> None:
    write_uvd_text(tmp_path / "labels.txt", random_uvd(5))
    write_uvd_text(tmp_path / "preds.txt", random_uvd(3))
    out = _handpose("eval", "--labels", str(tmp_path / "labels.txt"), "--predictions", str(tmp_path / "preds.txt"))
    assert out.returncode == 2
    lines = out.stderr.strip().splitlines()
    assert "Traceback" not in out.stderr and out.stdout == ""
    assert lines[0].startswith("handpose eval: error: ") and "preds.txt" in lines[0] and "labels.txt" in lines[0]


def test_cli_unwritable_plot_is_one_line_before_any_output(tmp_path: Path) -> None:
    write_uvd_text(tmp_path / "labels.txt", random_uvd(5))
    (tmp_path / "a_file").write_text("x")
    out = _handpose("eval", "--labels", str(tmp_path / "labels.txt"), "--predictions", str(tmp_path / "labels.txt"),
                    "--json", "--plot", str(tmp_path / "a_file" / "cmp.png"))
    assert out.returncode == 2 and out.stdout == "" and "Traceback" not in out.stderr
    assert out.stderr.startswith("handpose eval: error: --plot ") and "a_file" in out.stderr.splitlines()[0]


def test_plot_to_an_unwritable_path_raises_a_handpose_error(tmp_path: Path) -> None:
    (tmp_path / "a_file").write_text("x")
    with pytest.raises(HandposeError, match="cannot write"):
        plot_comparison({"m": EvalResult(np.ones((3, 14)))}, tmp_path / "a_file" / "cmp.png")


def test_cli_table_without_json(tmp_path: Path) -> None:
    write_uvd_text(tmp_path / "labels.txt", random_uvd(5))
    out = _handpose("eval", "--labels", str(tmp_path / "labels.txt"), "--predictions", str(tmp_path / "labels.txt"))
    assert out.returncode == 0, out.stderr
    assert "mean_mm" in out.stdout and "SR@80" in out.stdout and " P1 " in out.stdout


def test_result_names_stay_distinct() -> None:
    from handpose.commands.eval import result_names

    paths = [Path("a/x.txt"), Path("b/x.jsonl"), Path("c/y.txt"), Path("c/y.txt")]
    assert result_names(paths) == ["a/x.txt", "b/x.jsonl", "c/y.txt [3]", "c/y.txt [4]"]
    assert result_names([Path("r/A2J.txt")]) == ["A2J"]


def test_cli_warns_when_labels_cover_fewer_frames_than_the_predictions(tmp_path: Path) -> None:
    """Issue 16: predictions of frames the labels have no row for are not scored, and the user is told so."""
    from inference.core.geometry import NYU_INTRINSICS, uvd_to_xyz
    from inference.core.skeleton import EVAL_JOINT_IDS
    from inference.formats.nyu_io import write_joint_data

    xyz = uvd_to_xyz(random_uvd(6), NYU_INTRINSICS)
    full = np.zeros((4, 36, 3))  # 4 label rows for 6 predicted frames
    full[:, list(EVAL_JOINT_IDS)] = xyz[:4]
    write_joint_data(tmp_path / "joint_data.mat", full, full)
    write_jsonl(tmp_path / "p.jsonl", [pose_row(i, xyz[i]) for i in range(6)])
    out = _handpose("eval", "--labels", str(tmp_path / "joint_data.mat"), "--predictions", str(tmp_path / "p.jsonl"),
                    "--json")
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout)["frames"] == 4
    assert "warning: 2 of the 6 frames of p have no row in the labels" in out.stderr


def test_cli_all_nan_labels_are_an_error(tmp_path: Path) -> None:
    from inference.formats.nyu_io import write_joint_data

    nan = np.full((5, 36, 3), np.nan)
    write_joint_data(tmp_path / "joint_data.mat", nan, nan)
    write_jsonl(tmp_path / "p.jsonl", [pose_row(i, np.zeros((14, 3)) + 500) for i in range(5)])
    out = _handpose("eval", "--labels", str(tmp_path), "--predictions", str(tmp_path / "p.jsonl"), "--json")
    assert out.returncode == 2 and out.stdout == ""
    assert "joint_data.mat: no labelled frames: all 5 rows are empty" in out.stderr and "Traceback" not in out.stderr
