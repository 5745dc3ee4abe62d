"""Where the project's own files are: the checkout (models, assets) and the shared real data beside it."""

from __future__ import annotations

import os
from pathlib import Path

SHARED_DATA_ENV = "HANDPOSE_SHARED_DATA"


def project_root() -> Path:
    """The source checkout this package runs from (editable install): the nearest folder above this file holding
    pyproject.toml, else the working directory."""
    for folder in Path(__file__).resolve().parents:
        if (folder / "pyproject.toml").exists():
            return folder
    return Path.cwd()


def shared_data_dir() -> Path:
    """The real data (NYU labels and frames, SR305 frames), never copied into the project: ``$HANDPOSE_SHARED_DATA``
    or ``<project root>/../shared/data`` (as tests/conftest.py)."""
    return Path(os.environ.get(SHARED_DATA_ENV, project_root().parent / "shared" / "data"))
