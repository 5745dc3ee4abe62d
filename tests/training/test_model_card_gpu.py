"""scripts/model_card.py --gpu-summary: a GPU run's facts and latency go into the card, from the recipe's summary."""

from __future__ import annotations

import pytest

from tests.helpers.scripts import load_script

SUMMARY = {"gpu": "NVIDIA H200", "cores": 16, "torch": "2.11.0+cu130", "python": "3.12.3",
           "frames": {"train": 26000, "val": 1000}, "train_minutes": 3.8, "stages_s": {"train": 238.0},
           "models": {"depthnet": {"arch": "depthnet", "init": "models/depthnet.pt", "epochs": 23, "best_epoch": 23,
                                   "train_time_s": 220.4, "samples": 592756, "val_error_mm": 29.3,
                                   "latency_ms": {"provider": "torch:cuda:fp16+cudagraph", "torch_backend_ms": 0.19,
                                                  "plain_fp32_ms": 0.58}}}}


def test_gpu_section_takes_the_runs_row_and_names_a_missing_run() -> None:
    card = load_script("model_card")
    section = card.gpu_section(SUMMARY, "depthnet")
    assert section["machine"] == "NVIDIA H200, 16 CPU cores" and section["samples"] == 592756
    assert section["latency_ms"]["torch_backend_ms"] == 0.19 and "CUDA graph" in section["latency_ms"]["what"]
    assert section["init"] == "models/depthnet.pt" and section["frames"] == {"train": 26000, "val": 1000}
    with pytest.raises(SystemExit, match="no run 'fusenet' in the GPU summary \\(runs: depthnet\\)"):
        card.gpu_section(SUMMARY, "fusenet")
