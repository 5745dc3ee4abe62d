"""Shared fixtures. Real NYU / SR305 data is read from ../shared/data when present (never copied in)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

PROJECT_ROOT = Path(__file__).resolve().parents[1]
SHARED_DATA = Path(os.environ.get("HANDPOSE_SHARED_DATA", PROJECT_ROOT.parent / "shared" / "data"))


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """``../shared/data``; tests that need the real frames or published results skip when it is absent."""
    if not SHARED_DATA.is_dir():
        pytest.skip(f"real data not available at {SHARED_DATA}")
    return SHARED_DATA


def _shared(shared_data: Path, relative: str) -> Path:
    """``shared_data / relative``, or a skip naming it when that part of the real data is absent."""
    path = shared_data / relative
    if not path.is_dir():
        pytest.skip(f"{path} absent")
    return path


@pytest.fixture(scope="session")
def nyu_eval_dir(shared_data: Path) -> Path:
    return _shared(shared_data, "nyu_eval")


@pytest.fixture(scope="session")
def nyu_frame_dir(shared_data: Path) -> Path:
    return _shared(shared_data, "real_frames/nyu_test_0000001")


@pytest.fixture(scope="session")
def sr305_dir(shared_data: Path) -> Path:
    return _shared(shared_data, "real_frames/sr305_lada_ondris")
