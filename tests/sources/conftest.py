"""Fixtures of the sources tests: generated NYU sequences and RealSense recordings (no camera needed)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from tests.sources.frames import TEST_INTRINSICS, make_frame, write_sequence

# Depth unit of the recorded device: 1/8 mm as the SR305 / L515, so that the depth scale must be applied.
DEPTH_UNIT_M = 0.000125
FIRST_NUMBER = 100
N_RECORDED = 8


@pytest.fixture
def sequence(tmp_path: Path) -> Path:
    """An NYU directory of 6 labelled frames (160x120, intrinsics.json)."""
    return write_sequence(tmp_path / "seq", 6)


@pytest.fixture(scope="session")
def recording(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A .db3 with N_RECORDED framesets numbered from FIRST_NUMBER; depth stored in 1/8 mm units."""
    pytest.importorskip("pyrealsense2")
    from tests.sources.realsense_fixture import write_db3

    frames = []
    for i in range(N_RECORDED):
        depth_mm, rgb = make_frame(i)
        frames.append(((depth_mm.astype(np.uint32) * 8).clip(0, 65535).astype(np.uint16), rgb))
    return write_db3(tmp_path_factory.mktemp("rs") / "take.db3", frames, TEST_INTRINSICS, DEPTH_UNIT_M, FIRST_NUMBER)
