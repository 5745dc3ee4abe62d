"""Errors that reach the user as one clear line (the CLI prints ``str(error)`` and exits non-zero)."""

from __future__ import annotations

from pathlib import Path


class HandposeError(Exception):
    """A user-facing error: the message names the bad file or value and what is wrong."""


class DataFormatError(HandposeError):
    """A file exists but does not hold what its format promises."""

    def __init__(self, path: str | Path, problem: str) -> None:
        self.path = Path(path)
        self.problem = problem
        super().__init__(f"{path}: {problem}")


class SourceError(HandposeError):
    """A frame source cannot be opened or stopped delivering frames (camera unplugged, end of file)."""


class ModelError(HandposeError):
    """A model file is missing, corrupt, or not what the runtime expects."""
