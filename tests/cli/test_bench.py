"""`handpose bench` and `handpose soak`: looping short sources, the JSON contract, the soak."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from handpose.cli import main
from inference.evaluation.bench import LoopedSource, bench_sequential
from inference.runtime.estimator import OnnxEstimator
from inference.runtime.pipeline import Pipeline
from inference.sources import open_source
from tests.helpers.blob_frames import write_blob_sequence
from tests.helpers.tiny_models import make_tiny_model

STAGE_KEYS = {"capture", "segment", "crop", "infer", "fit", "post", "total"}


@pytest.fixture(scope="module")
def model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_tiny_model(tmp_path_factory.mktemp("m") / "d.onnx")


@pytest.fixture(scope="module")
def sequence(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_blob_sequence(tmp_path_factory.mktemp("seq"), frames=4, seed=5, with_rgb=False)


@pytest.mark.parametrize("threaded", [False, True], ids=["sequential", "threaded"])
def test_bench_json_loops_a_short_source(
    model: Path, sequence: Path, capsys: pytest.CaptureFixture, threaded: bool
) -> None:
    argv = ["bench", "--model", str(model), "--source", f"replay:{sequence}", "--frames", "10", "--warmup", "2",
            "--json"] + (["--threaded"] if threaded else [])
    assert main(argv) == 0
    result = json.loads(capsys.readouterr().out)  # stdout is exactly one JSON object
    assert result["frames"] == 10 and result["found"] == 10 and result["fps"] > 0
    assert set(result["stages_ms"]) == STAGE_KEYS
    for values in result["stages_ms"].values():
        assert set(values) == {"median", "p95"} and 0 <= values["median"] <= values["p95"]
    assert result["stages_ms"]["capture"]["median"] > 0  # PNG decoding, reported apart from total
    means = result["mean_ms"]  # the mean frame, stage by stage (total = the sum of the processing stages)
    assert set(means) == STAGE_KEYS and means["total"] > 0
    assert means["total"] == pytest.approx(sum(means[s] for s in ("segment", "crop", "infer", "fit", "post")), abs=0.01)
    assert result["bare_infer_ms"]["median"] > 0
    assert 0 < result["overhead_ms"]["median"] < result["stages_ms"]["total"]["median"]
    if not threaded:  # CPU time while processing a frame: robust to other load (sequential benchmark only)
        assert result["process_cpu_ms"]["median"] > 0
    assert result["provider"] == "CPUExecutionProvider"


def test_report_total_is_the_sum_of_the_processing_stages(model: Path, sequence: Path) -> None:
    source = LoopedSource(lambda: open_source(f"replay:{sequence}"))
    report = bench_sequential(source, Pipeline(OnnxEstimator(model, providers="cpu")), 9, warmup=0, progress=False)
    assert source.loops == 2  # 4 frames read 9 times: reopened twice
    stages = report.stages_ms
    for k in range(9):
        parts = stages["segment"][k] + stages["crop"][k] + stages["infer"][k] + stages["fit"][k] + stages["post"][k]
        assert stages["total"][k] == pytest.approx(parts)


def test_bench_unknown_source(model: Path, capsys: pytest.CaptureFixture) -> None:
    assert main(["bench", "--model", str(model), "--source", "kinect", "--frames", "5", "--json"]) == 2
    captured = capsys.readouterr()
    assert captured.out == "" and "unknown source 'kinect'" in captured.err


def test_soak_command_prints_memory_growth(model: Path, sequence: Path) -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "handpose", "soak", "--model", str(model), "--source", f"replay:{sequence}",
         "--frames", "60"],
        capture_output=True, text=True, timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    result = json.loads(proc.stdout)
    assert result["frames"] == 60 and result["found"] == 60
    assert result["rss_end_mb"] > 0 and "rss_growth_mb" in result
