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


class OutputError(HandposeError):
    """An output cannot be written: a bad path, a read-only or full disk (see :mod:`inference.core.outputs`)."""


# numpy's legacy seeding (np.random.seed, used by training) takes 0 .. 2**32 - 1; every seed follows that rule.
MAX_SEED = 2**32 - 1


def check_seed(seed: int, what: str = "--seed") -> int:
    """``seed`` if it is a valid random seed (0 .. 2**32 - 1), else a HandposeError naming ``what`` and the value.

    Negative seeds are refused rather than mapped: a seed names a data set or a hand (``synthetic:SEED`` is
    also the subject id), and mapping -1 onto 4294967295 would give one stream two names.
    """
    if isinstance(seed, bool) or not isinstance(seed, int) or not 0 <= seed <= MAX_SEED:
        raise HandposeError(f"{what} must be an integer from 0 to {MAX_SEED}, got {seed!r}")
    return seed
