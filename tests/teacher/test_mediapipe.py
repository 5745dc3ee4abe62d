"""The teacher with the real MediaPipe (skipped where the optional package is not installed) on the real NYU test
frame 1 (skipped where ../shared/data is absent): accuracy, a depth-only source, a missing colour image, the
bench's infer stage, `handpose label` including a mirrored left hand."""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import pytest

from handpose.cli import main
from inference.core.geometry import NYU_INTRINSICS
from inference.core.skeleton import EVAL_JOINT_IDS
from inference.formats.nyu_io import read_joint_data, write_joint_data
from inference.teacher.mediapipe_hands import mediapipe_available

pytestmark = [
    pytest.mark.skipif(not mediapipe_available(), reason="the optional MediaPipe package is not installed"),
    pytest.mark.xdist_group("mediapipe"),  # MediaPipe's start-up is slow: share one worker
]

NYU_TARGET_MM = 12.0  # issue 13: the real NYU frame 1 with default settings


def nyu_replay(nyu_frame_dir: Path, root: Path, frames: int = 1, colour: tuple[int, ...] | None = None) -> Path:
    """An NYU-format replay of the real frame 1 (links, never copies), ``frames`` times, with its labels;
    ``colour``: the frame numbers that get the colour image (default all)."""
    root.mkdir(parents=True)
    labels = json.loads((nyu_frame_dir / "labels_frame1.json").read_text())
    uvd = np.full((frames, 36, 3), np.nan)
    uvd[:, list(EVAL_JOINT_IDS)] = labels["gt_uvd"]
    from inference.core.geometry import uvd_to_xyz

    write_joint_data(root / "joint_data.mat", uvd, uvd_to_xyz(uvd, NYU_INTRINSICS))
    for n in range(1, frames + 1):
        os.symlink(nyu_frame_dir / "depth_1_0000001.png", root / f"depth_1_{n:07d}.png")
        if colour is None or n in colour:
            os.symlink(nyu_frame_dir / "rgb_1_0000001.png", root / f"rgb_1_{n:07d}.png")
    return root


def eval_json(labels: Path, predictions: Path, capsys: pytest.CaptureFixture) -> dict:
    capsys.readouterr()
    assert main(["eval", "--labels", str(labels), "--predictions", str(predictions), "--json"]) == 0
    return json.loads(capsys.readouterr().out)


@pytest.mark.slow
@pytest.mark.parametrize("model", ["mediapipe", "mediapipe-full"])
def test_real_nyu_frame(model: str, nyu_frame_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    replay = nyu_replay(nyu_frame_dir, tmp_path / "nyu")
    assert main(["run", "--source", f"replay:{replay}", "--model", model, "--out", str(tmp_path / "p.jsonl")]) == 0
    row = json.loads((tmp_path / "p.jsonl").read_text())
    assert row["found"] and row["handedness"] == "right"  # MediaPipe's mirrored "Left", un-mirrored
    assert 0 < row["score"] <= 1 and len(row["joint_confidence"]) == 14 and len(row["hands"]) == 1
    result = eval_json(replay, tmp_path / "p.jsonl", capsys)
    assert result["mean_error_mm"] <= NYU_TARGET_MM


@pytest.mark.slow
def test_missing_colour_frame_is_not_found_and_depth_only_is_refused(
    nyu_frame_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    replay = nyu_replay(nyu_frame_dir, tmp_path / "nyu", frames=3, colour=(1, 3))
    out = tmp_path / "p.jsonl"
    assert main(["run", "--source", f"replay:{replay}", "--model", "mediapipe", "--out", str(out)]) == 0
    assert [json.loads(line)["found"] for line in out.read_text().splitlines()] == [True, False, True]

    depth_only = nyu_replay(nyu_frame_dir, tmp_path / "depth_only", frames=2, colour=())
    capsys.readouterr()
    assert main(["run", "--source", f"replay:{depth_only}", "--model", "mediapipe"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "has no colour images" in err[0]
    assert main(["label", "--source", f"replay:{depth_only}", "--out", str(tmp_path / "lab")]) == 2
    assert not (tmp_path / "lab").exists()


@pytest.mark.slow
def test_bench_reports_the_teacher_as_infer(nyu_frame_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    replay = nyu_replay(nyu_frame_dir, tmp_path / "nyu")
    capsys.readouterr()
    assert main(["bench", "--source", f"replay:{replay}", "--model", "mediapipe", "--frames", "4", "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    stages = result["stages_ms"]
    assert result["found"] == 4 and stages["infer"]["median"] > 0
    assert stages["segment"]["median"] == stages["crop"]["median"] == 0.0
    assert result["model"] == "mediapipe" and "bare_infer_ms" not in result


@pytest.mark.slow
def test_label_a_real_frame_and_its_mirror_image(nyu_frame_dir: Path, tmp_path: Path,
                                                 capsys: pytest.CaptureFixture) -> None:
    from inference.formats.nyu_io import read_depth_png, read_rgb_png, write_depth_png, write_rgb_png
    from inference.teacher.labelling import mirror_image

    replay = nyu_replay(nyu_frame_dir, tmp_path / "nyu", frames=2)
    capsys.readouterr()
    assert main(["label", "--source", f"replay:{replay}", "--out", str(tmp_path / "lab"), "--json",
                 "--min-score", "0"]) == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["frames"] == 2 and summary["labelled"] == 2 and summary["mirrored"] == 0
    assert read_joint_data(tmp_path / "lab" / "joint_data.mat")["joint_xyz"].shape == (1, 2, 36, 3)
    assert eval_json(replay, tmp_path / "lab", capsys)["mean_error_mm"] <= NYU_TARGET_MM

    # The same frame mirrored shows a left hand: it is labelled mirrored back into a right hand, so the labels
    # match the original frame's.
    mirrored = tmp_path / "mirrored"
    mirrored.mkdir()
    depth = read_depth_png(nyu_frame_dir / "depth_1_0000001.png")
    rgb = read_rgb_png(nyu_frame_dir / "rgb_1_0000001.png")
    write_depth_png(mirrored / "depth_1_0000001.png", mirror_image(depth, NYU_INTRINSICS, nearest=True))
    write_rgb_png(mirrored / "rgb_1_0000001.png", mirror_image(rgb, NYU_INTRINSICS, nearest=False))
    assert main(["label", "--source", f"replay:{mirrored}", "--out", str(tmp_path / "lab2"), "--min-score", "0"]) == 0
    row = json.loads((tmp_path / "lab2" / "confidence.jsonl").read_text())
    assert row["handedness"] == "left" and row["mirrored"] and row["labelled"]
    truth = nyu_replay(nyu_frame_dir, tmp_path / "truth")
    assert eval_json(truth, tmp_path / "lab2", capsys)["mean_error_mm"] <= NYU_TARGET_MM


def test_labels_a_synthetic_sequence_without_real_data(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    """The whole teacher path (MediaPipe on the colour image, lift by depth, mapping, rejection) where no real data
    is at hand, as in CI: a 6-frame synthetic sequence of an unseen hand, labelled in the default (NYU) convention,
    which the generator follows (measured: 4 of 6 frames labelled, 13-24 mm off the true joints)."""
    from inference.core.geometry import uvd_to_xyz
    from inference.formats.nyu_io import NyuSequence

    seq, out = tmp_path / "seq", tmp_path / "labels"
    assert main(["synth", str(seq), "--frames", "6", "--mode", "sequence", "--subjects", "1", "--subject-offset",
                 "600", "--seed", "5"]) == 0
    assert main(["label", "--source", f"replay:{seq}", "--out", str(out)]) == 0
    truth, labelled = NyuSequence(seq), NyuSequence(out)
    errors = []
    for n in range(1, 7):
        uvd = labelled.eval_labels_uvd(n)
        if uvd is not None:
            errors.append(np.linalg.norm(uvd_to_xyz(uvd, labelled.intrinsics)
                                         - uvd_to_xyz(truth.eval_labels_uvd(n), truth.intrinsics), axis=1).mean())
    assert len(errors) >= 3 and np.mean(errors) <= 25.0, errors
