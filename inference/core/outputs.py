"""Writing outputs without losing anything: check a path before the work, write files whole or not at all.

Every command that writes goes through these few functions, so a bad output path, a full disk or Ctrl-C
behave the same everywhere:

- :func:`check_output_file` / :func:`check_output_dir` fail *before* any (long) work when the path cannot be
  written (a folder where a file is expected, a parent that is a file, a read-only or virtual file system),
  with one line naming the flag, the path and the reason. They leave nothing behind.
- :func:`atomic_write` writes a file under a temporary ``.NAME.part`` name and renames it over the target only
  once complete: readers never see half a file, the previous file survives any failure, and the ``.part`` file
  is removed whatever happens (full disk, an exception in the caller, Ctrl-C).
- :func:`output_error` is the one line for a failed write (:class:`~inference.core.errors.OutputError`).
"""

from __future__ import annotations

import contextlib
import errno
import os
import stat
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any

from inference.core.errors import OutputError


def part_path(path: str | Path) -> Path:
    """The temporary name a file is written under before it is renamed into place: ``DIR/.NAME.part``."""
    path = Path(path)
    return path.with_name(f".{path.name}.part")


def output_error(path: str | Path, exc: OSError, flag: str | None = None, kept: bool = False) -> OutputError:
    """The one-line error of a failed write: ``[FLAG ]PATH: cannot write (REASON)[; the previous NAME is kept]``."""
    where = f"{flag} {path}" if flag else str(path)
    note = f"; the previous {Path(path).name} is kept" if kept else ""
    return OutputError(f"{where}: cannot write ({exc.strerror or exc}){note}")


# --- checks before the work ------------------------------------------------------------------------

def _first_existing(path: Path) -> Path:
    """``path`` or its nearest ancestor that exists (the current folder at worst)."""
    for candidate in (path, *path.parents):
        if os.path.lexists(candidate):
            return candidate
    return Path.cwd()


def _blocker(path: Path) -> str | None:
    """Why folders on the way to ``path`` cannot exist (an ancestor is a file), or None."""
    ancestor = _first_existing(path.parent)
    if not ancestor.is_dir():
        return f"{ancestor} is a file, not a folder"
    return None


def _probe_folder(folder: Path, create: bool) -> None:
    """Create ``folder``'s missing parts (when ``create``) and a file in it, then remove what was made.

    Raises OSError (with a readable ``strerror``) when that is impossible.
    """
    made: list[Path] = []
    try:
        missing = [p for p in (folder, *folder.parents) if not os.path.lexists(p)]
        if missing and not create:
            raise OSError(errno.ENOENT, f"folder {folder} does not exist")
        for part in reversed(missing):
            try:
                part.mkdir()
            except FileNotFoundError:  # the parent exists: a file system that refuses new entries (/proc, /sys)
                raise OSError(errno.EACCES, f"cannot create anything in {part.parent}") from None
            made.append(part)
        try:
            fd, probe = tempfile.mkstemp(prefix=".handpose-write-test-", dir=folder)
        except FileNotFoundError:
            raise OSError(errno.EACCES, f"cannot create files in {folder}") from None
        os.close(fd)
        os.unlink(probe)
    finally:
        for part in reversed(made):
            with contextlib.suppress(OSError):
                part.rmdir()


def check_output_file(
    path: str | Path, flag: str | None = None, create_parents: bool = True, in_place: bool = False
) -> Path:
    """Fail now, before any work, when a file cannot be written at ``path``. Leaves nothing behind.

    Args:
        flag: the option that named the path (``"--out"``), for the message.
        create_parents: whether the writer will create missing folders (else a missing folder is an error).
        in_place: the writer appends to an existing file itself (else it writes a new file beside it and
            renames it over, :func:`atomic_write`, which needs the folder to be writable).

    Returns ``path`` as a Path. Raises :class:`OutputError` naming the flag, the path and the reason.
    """
    path = Path(path)
    where = f"{flag} {path}" if flag else str(path)
    if path.is_dir():
        raise OutputError(f"{where}: cannot write (it is a folder, give a file name)")
    blocker = _blocker(path)
    if blocker:
        raise OutputError(f"{where}: cannot write ({blocker})")
    try:
        if not path.exists():
            _probe_folder(path.parent, create=create_parents)
        elif not stat.S_ISREG(path.stat().st_mode):  # a device or pipe: opening a FIFO would wait for a reader
            if not os.access(path, os.W_OK):
                raise OSError(errno.EACCES, os.strerror(errno.EACCES))
        else:
            with open(path, "ab"):  # opening to append changes nothing, and fails when writing would
                pass
            if not in_place:
                _probe_folder(path.resolve().parent, create=False)
    except OSError as exc:
        raise OutputError(f"{where}: cannot write ({exc.strerror or exc})") from None
    return path


def check_output_dir(path: str | Path, flag: str | None = None) -> Path:
    """Fail now, before any work, when files cannot be written in the folder ``path`` (created if missing
    by whoever writes there). Leaves nothing behind. Raises :class:`OutputError`; returns ``path`` as a Path."""
    path = Path(path)
    where = f"{flag} {path}" if flag else str(path)
    if os.path.lexists(path) and not path.is_dir():
        raise OutputError(f"{where}: exists and is not a directory")
    blocker = _blocker(path)
    if blocker:
        raise OutputError(f"{where}: cannot write there ({blocker})")
    try:
        _probe_folder(path, create=True)
    except OSError as exc:
        raise OutputError(f"{where}: cannot write there ({exc.strerror or exc})") from None
    return path


# --- writing ---------------------------------------------------------------------------------------------

class _WriteRecorder:
    """A file object that remembers the first OSError of its ``write``: serialisers (torch.save) wrap it in
    their own exception types, and the disk's reason must still reach the user."""

    def __init__(self, fh: IO[Any]) -> None:
        self._fh = fh
        self.error: OSError | None = None

    def write(self, data: Any) -> int:
        try:
            return self._fh.write(data)
        except OSError as exc:
            self.error = self.error or exc
            raise

    def __getattr__(self, name: str) -> Any:
        return getattr(self._fh, name)


@contextlib.contextmanager
def atomic_write(
    path: str | Path, mode: str = "wb", *, flag: str | None = None, fsync: bool = False, **open_kw: Any
) -> Iterator[IO[Any]]:
    """Open ``path`` for writing such that it is replaced only once the ``with`` block completes.

    The data goes to ``.NAME.part`` beside it, then ``os.replace``. On any failure (full disk, an exception in
    the block, Ctrl-C) the ``.part`` file is removed and the previous file is untouched; an OSError of the
    disk (also when a serialiser wrapped it in another type) becomes one :class:`OutputError` line naming the
    file. A device or pipe (``/dev/null``, ``/dev/stdout``) is written directly: it cannot be renamed over.

    Args:
        mode: ``"wb"`` or ``"w"`` (text; ``open_kw`` such as ``encoding``/``newline`` are passed to ``open``).
        flag: the option that named the path, for the message.
        fsync: flush to the disk before the rename (checkpoints: survive a power cut, not only a crash).
    """
    if not mode.startswith("w"):
        raise ValueError(f"atomic_write writes whole files ('w' or 'wb'), got mode {mode!r}")
    path = Path(path)
    direct = path.exists() and not stat.S_ISREG(path.stat().st_mode)
    # Through a symlink to a file (the link stays a link) rather than replacing the link with a file.
    target = path if direct or not path.is_symlink() else path.resolve()
    tmp = target if direct else part_path(target)
    existed = target.exists()
    recorder: _WriteRecorder | None = None
    in_block = False
    try:
        with open(tmp, mode, **open_kw) as fh:
            recorder = _WriteRecorder(fh)
            in_block = True
            yield recorder
            in_block = False
            fh.flush()
            if fsync and not direct:
                os.fsync(fh.fileno())
        if not direct:
            os.replace(tmp, target)
    except BaseException as exc:
        if not direct:
            with contextlib.suppress(OSError):
                tmp.unlink()
        # The disk's error: from our own open/flush/rename, or from a write in the block (maybe wrapped).
        cause = (recorder.error if recorder is not None else None) or (
            exc if isinstance(exc, OSError) and not in_block else None)
        if cause is None or not isinstance(exc, Exception) or isinstance(cause, BrokenPipeError):
            raise  # Ctrl-C, a bug of the caller, or a reader that left a pipe: not a disk problem
        raise output_error(target, cause, flag, kept=existed and not direct) from None


def write_bytes_atomic(path: str | Path, data: bytes, flag: str | None = None) -> None:
    """``path.write_bytes(data)``, whole or not at all (see :func:`atomic_write`)."""
    with atomic_write(path, "wb", flag=flag) as fh:
        fh.write(data)


def write_text_atomic(path: str | Path, text: str, flag: str | None = None) -> None:
    """``path.write_text(text)`` in UTF-8, whole or not at all (see :func:`atomic_write`)."""
    with atomic_write(path, "w", flag=flag, encoding="utf-8") as fh:
        fh.write(text)
