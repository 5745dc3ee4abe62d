"""`handpose eval --model`: models run over an NYU-format directory through the runtime pipeline, then scored."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from handpose.cli import main
from inference.evaluation.models import predict_sequence
from inference.formats.nyu_io import depth_png_name, write_depth_png
from inference.formats.pose_files import load_poses
from inference.preprocess.crop import decode_prediction, labels_centre_uvd, make_crop
from inference.runtime.estimator import OnnxEstimator
from inference.runtime.pipeline import Pipeline, PipelineSettings
from inference.sources import open_source
from tests.helpers.tiny_models import make_tiny_model

FRAMES = 6
NO_HAND, CORRUPT = 2, 4  # 0-based frames made empty (nothing in range) and undecodable


@pytest.fixture(scope="module")
def sequence(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Six labelled synthetic frames; frame 2 has no depth at all (no hand), frame 4's PNG is truncated."""
    root = tmp_path_factory.mktemp("eval_models") / "seq"
    assert main(["synth", str(root), "--frames", str(FRAMES), "--seed", "3", "--workers", "1"]) == 0
    write_depth_png(root / depth_png_name(NO_HAND + 1), np.zeros((480, 640), np.uint16))
    png = root / depth_png_name(CORRUPT + 1)
    png.write_bytes(png.read_bytes()[:200])
    return root


@pytest.fixture(scope="module")
def models(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    root = tmp_path_factory.mktemp("eval_models_m")
    return make_tiny_model(root / "alpha.onnx", seed=0), make_tiny_model(root / "beta.onnx", seed=1)


def _eval_json(capsys: pytest.CaptureFixture, *args: str) -> dict:
    capsys.readouterr()
    assert main(["eval", *args, "--json"]) == 0
    return json.loads(capsys.readouterr().out)


def _assert_same_result(a: dict, b: dict, abs_mm: float) -> None:
    assert (a["frames"], a["missing"], a["not_found"]) == (b["frames"], b["missing"], b["not_found"])
    assert a["mean_error_mm"] == pytest.approx(b["mean_error_mm"], abs=abs_mm)
    assert a["median_error_mm"] == pytest.approx(b["median_error_mm"], abs=abs_mm)
    assert a["per_joint_mm"] == pytest.approx(b["per_joint_mm"], abs=abs_mm)
    assert a["success_rate"] == b["success_rate"]


def test_model_equals_run_then_eval_predictions(
    sequence: Path, models: tuple[Path, Path], tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    model = models[0]
    poses = tmp_path / "poses.jsonl"
    assert main(["run", "--source", f"replay:{sequence}", "--model", str(model), "--no-smoothing",
                 "--out", str(poses)]) == 0
    via_run = _eval_json(capsys, "--labels", str(sequence), "--predictions", str(poses))
    direct = _eval_json(capsys, "--labels", str(sequence), "--model", str(model))
    # The corrupt frame has no prediction and the empty one no hand: counted the same way by both routes.
    assert (direct["frames"], direct["missing"], direct["not_found"]) == (FRAMES, 1, 1)
    _assert_same_result(direct, via_run, abs_mm=0.01)  # the JSONL rounds joints to 0.01 mm


def test_two_models_give_keyed_json_and_one_plot(
    sequence: Path, models: tuple[Path, Path], tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    plot = tmp_path / "cmp.png"
    both = _eval_json(capsys, "--labels", str(sequence), "--model", *map(str, models), "--plot", str(plot))
    assert list(both) == ["alpha", "beta"]
    assert both["alpha"]["mean_error_mm"] != both["beta"]["mean_error_mm"]
    for name, model in zip(("alpha", "beta"), models, strict=True):  # one shared pass, no mixing up
        _assert_same_result(both[name], _eval_json(capsys, "--labels", str(sequence), "--model", str(model)), 1e-9)
    assert plot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and plot.stat().st_size > 10_000
    capsys.readouterr()
    assert main(["eval", "--labels", str(sequence), "--model", *map(str, models)]) == 0  # the table form
    table = capsys.readouterr().out
    assert "alpha" in table and "beta" in table and "SR@80" in table


def test_centre_labels_crops_around_the_labelled_joints(
    sequence: Path, models: tuple[Path, Path], capsys: pytest.CaptureFixture
) -> None:
    model = models[0]
    segment = _eval_json(capsys, "--labels", str(sequence), "--model", str(model))
    labels = _eval_json(capsys, "--labels", str(sequence), "--model", str(model), "--centre", "labels")
    # The empty frame has no segmentation but a label centre: the network gets a crop there too.
    assert (labels["frames"], labels["missing"], labels["not_found"]) == (FRAMES, 1, 0)
    assert labels["mean_error_mm"] != pytest.approx(segment["mean_error_mm"])

    # The estimates are the model's output on make_crop around labels_centre_uvd (the training cache's centre).
    estimator = OnnxEstimator(model, providers="cpu")
    pipeline = Pipeline(estimator, PipelineSettings(smoothing=False, refine=False))
    got = predict_sequence(open_source(f"replay:{sequence}"), {"m": pipeline}, {"m": model}, centre="labels")["m"]
    assert got.found.all() and list(got.frame_index) == [i for i in range(FRAMES) if i != CORRUPT]
    source = open_source(f"replay:{sequence}")
    for row, index in enumerate(got.frame_index):
        source.seek(row)
        frame = source.read()
        assert frame is not None and frame.index == index
        crop = make_crop(frame.depth_mm, labels_centre_uvd(frame.joints_uvd, frame.intrinsics), frame.intrinsics,
                         estimator.metadata.cube_mm, size=estimator.metadata.input_size)
        expected_mm, _ = decode_prediction(estimator.predict(crop), crop, frame.intrinsics)
        np.testing.assert_allclose(got.joints_xyz_mm[row], expected_mm, atol=1e-6)


def test_labels_centre_is_the_mean_joint_in_camera_space() -> None:
    from inference.core.geometry import NYU_INTRINSICS, uvd_to_xyz, xyz_to_uvd

    xyz = np.array([[0.0, 0.0, 400.0], [100.0, -50.0, 800.0]])
    centre = labels_centre_uvd(xyz_to_uvd(xyz, NYU_INTRINSICS), NYU_INTRINSICS)
    np.testing.assert_allclose(uvd_to_xyz(centre, NYU_INTRINSICS), [50.0, -25.0, 600.0], atol=1e-9)


def test_max_frames_runs_and_scores_only_the_first_frames(
    sequence: Path, models: tuple[Path, Path], capsys: pytest.CaptureFixture
) -> None:
    model = models[0]
    full = predict_sequence(open_source(f"replay:{sequence}"), {"m": Pipeline(OnnxEstimator(model, providers="cpu"),
                            PipelineSettings(smoothing=False))}, {"m": model})["m"]
    first = predict_sequence(open_source(f"replay:{sequence}"), {"m": Pipeline(OnnxEstimator(model, providers="cpu"),
                             PipelineSettings(smoothing=False))}, {"m": model}, max_frames=NO_HAND + 1)["m"]
    assert list(first.frame_index) == list(range(NO_HAND + 1))
    np.testing.assert_array_equal(first.joints_xyz_mm, full.joints_xyz_mm[: NO_HAND + 1])
    # Frames >= N are neither run nor labelled: the corrupt frame 4 is not "missing", the empty frame 2 is not found.
    head = _eval_json(capsys, "--labels", str(sequence), "--model", str(model), "--max-frames", str(CORRUPT))
    assert (head["frames"], head["missing"], head["not_found"]) == (CORRUPT, 0, 1)
    two = _eval_json(capsys, "--labels", str(sequence), "--model", str(model), "--max-frames", "2")
    assert (two["frames"], two["missing"], two["not_found"]) == (2, 0, 0)
    errs = np.linalg.norm(first.joints_xyz_mm[:2] - load_poses(sequence).joints_xyz_mm[:2], axis=2)
    assert two["mean_error_mm"] == pytest.approx(float(errs.mean()), abs=1e-6)
    capsys.readouterr()
    assert main(["eval", "--labels", str(sequence), "--predictions", str(sequence), "--max-frames", "2"]) == 2
    assert "--max-frames applies to --model only" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("labels", "args", "message"),
    [
        ("{seq}", ["--model", "{tmp}/nope.onnx"], "nope.onnx: model not found"),
        ("{seq}", ["--model", "{model}", "{tmp}/runs/missing_run"], "missing_run: model not found"),
        ("{tmp}/unlabelled", ["--model", "{model}"], "has no joint_data.mat"),
        ("{seq}/joint_data.mat", ["--model", "{model}"], "--model needs --labels to be an NYU-format directory"),
        ("{seq}", ["--predictions", "{seq}", "--centre", "labels"], "--centre applies to --model only"),
    ],
)
def test_bad_input_is_one_clear_line(
    labels: str, args: list[str], message: str, sequence: Path, models: tuple[Path, Path], tmp_path: Path,
    capsys: pytest.CaptureFixture,
) -> None:
    unlabelled = tmp_path / "unlabelled"  # frames but no joint_data.mat
    unlabelled.mkdir()
    (unlabelled / depth_png_name(1)).write_bytes((sequence / depth_png_name(1)).read_bytes())
    fill = {"tmp": str(tmp_path), "model": str(models[0]), "seq": str(sequence)}
    capsys.readouterr()
    assert main(["eval", "--labels", labels.format(**fill), *(a.format(**fill) for a in args)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and message in err[0], err


def test_predictions_and_model_are_mutually_exclusive(
    sequence: Path, models: tuple[Path, Path], capsys: pytest.CaptureFixture
) -> None:
    with pytest.raises(SystemExit) as exc:
        main(["eval", "--labels", str(sequence), "--predictions", str(sequence), "--model", str(models[0])])
    assert exc.value.code == 2
    assert "not allowed with argument" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main(["eval", "--labels", str(sequence)])
    assert "one of the arguments --predictions --model is required" in capsys.readouterr().err


def test_onnx_models_load_no_torch_or_qt(sequence: Path, models: tuple[Path, Path]) -> None:
    code = (
        "import sys; from handpose.cli import main; rc = main(sys.argv[1:]);"
        "print('HEAVY=' + ','.join(m for m in ('torch', 'PySide6', 'training') if m in sys.modules),"
        " file=sys.stderr); sys.exit(rc)"
    )
    out = subprocess.run([sys.executable, "-c", code, "eval", "--labels", str(sequence), "--model", str(models[0]),
                          "--json"], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stderr.strip().splitlines()[-1] == "HEAVY="
    assert json.loads(out.stdout)["frames"] == FRAMES


@pytest.mark.slow
def test_checkpoint_run_dir_and_its_export_agree(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    """A training run directory (torch backend) and its fp32 ONNX export (onnxruntime) score the same."""
    pytest.importorskip("torch")
    from tests.training.conftest import tiny_config
    from tests.training.procedural import write_sequence
    from training.export import export_run
    from training.train import train

    seq = tmp_path / "seq"
    write_sequence(seq, 12, seed=1, subjects=["alice", "bob"])
    run = tmp_path / "run"
    train(tiny_config(seq, run, tmp_path / "cache", arch="depthnet", fc_width=16, input_size=32, epochs=1),
          progress=False)
    onnx_path, _ = export_run(run, tmp_path / "exported.onnx")
    both = _eval_json(capsys, "--labels", str(seq), "--model", str(run), str(onnx_path))
    assert list(both) == ["run", "exported"]
    assert both["run"]["frames"] == 12 and both["run"]["missing"] == 0
    _assert_same_result(both["run"], both["exported"], abs_mm=1e-3)
