"""Fixtures for training tests: tiny procedural NYU-format sequences and tiny trained runs."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.training.procedural import write_sequence


@pytest.fixture(scope="session")
def tiny_seq(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """24 procedural frames with labels and RGB, two subjects (subjects.json)."""
    root = tmp_path_factory.mktemp("data") / "seq"
    write_sequence(root, 24, seed=1, subjects=["alice", "bob"])
    return root


def tiny_config(data: Path, out: Path, cache: Path, **overrides):
    """A TrainConfig small enough for CPU tests: 32x32 crops, fc-32, batch 4, no loader workers."""
    from training.train import TrainConfig

    values = dict(data=[str(data)], out=str(out), arch="net1", fc_width=32, input_size=32, epochs=2, batch_size=4,
                  workers=0, cache_dir=str(cache), lr=0.01, momentum=0.9)
    values.update(overrides)
    return TrainConfig(**values)
