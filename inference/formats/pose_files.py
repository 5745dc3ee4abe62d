"""Load 14-joint hand poses (labels or predictions) from the files `handpose eval` accepts.

Formats (chosen by :func:`load_poses` from the path):

- **uvd text** (any other suffix): one frame per line, 42 whitespace-separated floats = 14 joints x
  (u px, v px, d mm) in the NYU 14-joint order, as the published NYU result files. Converted to
  camera space with the given intrinsics (NYU's by default). Positional: line i is frame i.
- **joint_data.mat**: NYU ``joint_xyz`` ``(views, frames, 36, 3)``; one view (1 = frontal) reduced to
  the 14 evaluation joints. Positional: row i is frame i. A frame whose joints are all NaN is a frame
  without a pose (``NyuWriter`` leaves unwritten frames so); a partly NaN frame is an error.
- **NYU-format directory**: its ``joint_data.mat`` as above. ``joint_xyz`` already is camera space,
  so the directory's ``intrinsics.json`` is not needed here.
- **poses JSONL** (``.jsonl`` / ``.ndjson``, or a text file whose first character is ``{``), written by
  ``handpose run``: one object per line with ``"index"`` (0-based frame index), ``"found"`` and
  ``"joints_xyz_mm"`` (14x3 mm, y up, or null). Matched to labels by index, not by position.
  Lines may also carry ``"hands"``: a list of {"handedness": "right"|"left"|null, "found", "joints_xyz_mm" (or
  only "joints_uvd", converted with the given intrinsics), ...}; :func:`read_hands_jsonl` reads one pose set per
  side from them (the first hand of that side on each line).

Every problem is raised as :class:`~inference.core.errors.DataFormatError` naming the file and the first bad
line or frame.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from inference.core.errors import DataFormatError
from inference.core.geometry import NYU_INTRINSICS, Intrinsics, uvd_to_xyz
from inference.core.skeleton import NUM_JOINTS, to_eval_joints
from inference.formats.nyu_io import JOINT_DATA, LEFT_JOINT_DATA, read_joint_data

FLOATS_PER_LINE = NUM_JOINTS * 3  # 42
JSONL_SUFFIXES = (".jsonl", ".ndjson")
_BLANK_LINE_INSIDE = re.compile(rb"\n[ \t\r]*\n")


@dataclass(frozen=True)
class PoseSet:
    """The poses of one file, in camera space.

    Attributes:
        path: the file (or NYU directory) they came from.
        frame_index: ``(N,)`` int64 0-based frame index of each row (``arange(N)`` for positional formats).
        joints_xyz_mm: ``(N, 14, 3)`` float64 camera space (mm, y up); NaN on rows where ``found`` is False.
        found: ``(N,)`` bool; False = the row holds no pose (JSONL ``"found": false``, an all-NaN .mat frame).
        positional: True when rows are frames by position (text, .mat), False when matched by ``"index"``.
        line: ``(N,)`` int64 1-based line of each row in the file (JSONL) or its frame number (others), for messages.
    """

    path: Path
    frame_index: np.ndarray
    joints_xyz_mm: np.ndarray
    found: np.ndarray
    positional: bool
    line: np.ndarray

    def __len__(self) -> int:
        return int(self.frame_index.shape[0])

    @property
    def kind(self) -> str:
        """A word for messages: "positional" or "indexed"."""
        return "positional" if self.positional else "indexed"


def _positional(path: Path, joints_xyz_mm: np.ndarray, found: np.ndarray) -> PoseSet:
    n = joints_xyz_mm.shape[0]
    return PoseSet(
        path=path, frame_index=np.arange(n, dtype=np.int64), joints_xyz_mm=joints_xyz_mm, found=found,
        positional=True, line=np.arange(1, n + 1, dtype=np.int64),
    )


def _read_bytes(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except FileNotFoundError:
        raise DataFormatError(path, "file not found") from None
    except OSError as exc:
        raise DataFormatError(path, f"cannot read file ({exc.strerror})") from None


# --- uvd text -------------------------------------------------------------------------------------

def _diagnose_uvd_text(path: Path, raw: bytes) -> DataFormatError:
    """The first bad line of a text file the fast parser rejected (slow, only on error)."""
    lines = raw.split(b"\n")
    while lines and not lines[-1].strip():  # trailing blank lines are fine
        lines.pop()
    for number, line in enumerate(lines, start=1):
        tokens = line.split()
        if not tokens:
            return DataFormatError(path, f"line {number}: empty line inside the file (every line is one frame)")
        if len(tokens) != FLOATS_PER_LINE:
            return DataFormatError(
                path, f"line {number}: {len(tokens)} values, expected {FLOATS_PER_LINE} (14 joints x u, v, d)"
            )
        for column, token in enumerate(tokens, start=1):
            try:
                float(token)
            except ValueError:
                shown = token[:20].decode("utf-8", "replace")
                return DataFormatError(path, f"line {number}, value {column}: '{shown}' is not a number")
    return DataFormatError(path, "not a 42-floats-per-line uvd text file")


def read_uvd_text(path: str | Path) -> np.ndarray:
    """Read the 42-float uvd text format -> ``(N, 14, 3)`` float64 (u px, v px, d mm).

    numpy >= 1.23's ``loadtxt`` is a C parser (59 ms for the 8252-line NYU file here, faster than
    ``bytes.split`` + ``np.array`` at 79 ms or ``np.fromstring`` at 69 ms); a rejected file is re-read
    line by line to name the first bad line.
    """
    path = Path(path)
    raw = _read_bytes(path)
    if not raw.strip():
        raise DataFormatError(path, "empty file (expected one line of 42 floats per frame)")
    if _BLANK_LINE_INSIDE.search(raw.strip()):
        raise _diagnose_uvd_text(path, raw)
    try:
        values = np.loadtxt(path, dtype=np.float64, comments=None, ndmin=2)
    except ValueError:
        raise _diagnose_uvd_text(path, raw) from None
    if values.shape[1] != FLOATS_PER_LINE:
        raise _diagnose_uvd_text(path, raw)
    bad = ~np.isfinite(values).all(axis=1)
    if bad.any():
        line = int(np.argmax(bad)) + 1
        raise DataFormatError(path, f"line {line}: NaN or infinite value ({int(bad.sum())} such lines)")
    return values.reshape(-1, NUM_JOINTS, 3)


# --- joint_data.mat -------------------------------------------------------------------------------

def read_mat_poses(path: str | Path, view: int = 1) -> PoseSet:
    """One view of an NYU ``joint_data.mat`` as a positional :class:`PoseSet` (14 eval joints, ``joint_xyz``)."""
    path = Path(path)
    data = read_joint_data(path)
    views = data["joint_xyz"].shape[0]
    if not 1 <= view <= views:
        raise DataFormatError(path, f"has {views} view(s); view {view} was asked (views are numbered from 1)")
    xyz = to_eval_joints(data["joint_xyz"][view - 1])  # (N, 14, 3)
    finite = np.isfinite(xyz).reshape(len(xyz), -1)
    empty = ~finite.any(axis=1)
    partial = ~finite.all(axis=1) & ~empty
    if partial.any():
        frame = int(np.argmax(partial))
        raise DataFormatError(path, f"view {view}, frame {frame + 1} (index {frame}): some joints are NaN or infinite")
    return _positional(path, np.where(empty[:, None, None], np.nan, xyz), ~empty)


# --- poses JSONL ----------------------------------------------------------------------------------

def _joints_14x3(value: object, path: Path, number: int, key: str) -> np.ndarray:
    try:
        arr = np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError):
        raise DataFormatError(path, f"line {number}: '{key}' must be a 14x3 list of numbers") from None
    if arr.shape != (NUM_JOINTS, 3):
        raise DataFormatError(path, f"line {number}: '{key}' has shape {list(arr.shape)}, expected [14, 3]")
    if not np.isfinite(arr).all():
        raise DataFormatError(path, f"line {number}: '{key}' holds NaN or infinite values")
    return arr


def _jsonl_rows(path: Path) -> Iterator[tuple[int, int, dict]]:
    """``(line number, index, row)`` of every non-blank line, each a JSON object with a unique integer
    ``"index"`` >= 0 (else :class:`DataFormatError` naming the line)."""
    text = _read_bytes(path).decode("utf-8", errors="replace")
    first_line_of: dict[int, int] = {}
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except json.JSONDecodeError as exc:
            raise DataFormatError(path, f"line {number}: not valid JSON ({exc.msg} at column {exc.colno})") from None
        if not isinstance(row, dict):
            raise DataFormatError(path, f"line {number}: expected a JSON object per line, got {type(row).__name__}")
        index = row.get("index")
        if isinstance(index, float) and index.is_integer():
            index = int(index)
        if not isinstance(index, int) or isinstance(index, bool) or index < 0:
            raise DataFormatError(path, f"line {number}: needs an integer \"index\" >= 0 (got {index!r})")
        if index in first_line_of:
            first = first_line_of[index]
            raise DataFormatError(path, f"line {number}: frame index {index} repeated (first on line {first})")
        first_line_of[index] = number
        yield number, index, row


def _found_flag(obj: dict, path: Path, number: int, where: str, has_pose: bool) -> bool:
    is_found = obj.get("found", has_pose)
    if not isinstance(is_found, bool):
        raise DataFormatError(path, f"line {number}: {where}\"found\" must be true or false (got {is_found!r})")
    return is_found


def _indexed(path: Path, indices: list[int], joints: list[np.ndarray], found: list[bool], lines: list[int]) -> PoseSet:
    if not indices:
        raise DataFormatError(path, "no pose rows (an empty JSONL file)")
    return PoseSet(
        path=path, frame_index=np.asarray(indices, np.int64), joints_xyz_mm=np.stack(joints),
        found=np.asarray(found, bool), positional=False, line=np.asarray(lines, np.int64),
    )


def read_poses_jsonl(path: str | Path) -> PoseSet:
    """A poses JSONL from ``handpose run`` as an indexed :class:`PoseSet`.

    Blank lines are skipped. A row needs an integer ``"index"`` >= 0; ``"found"`` defaults to whether
    ``"joints_xyz_mm"`` is non-null. A repeated index is an error (two answers for one frame).
    """
    path = Path(path)
    indices: list[int] = []
    joints: list[np.ndarray] = []
    found: list[bool] = []
    lines: list[int] = []
    nan_pose = np.full((NUM_JOINTS, 3), np.nan)
    for number, index, row in _jsonl_rows(path):
        xyz = row.get("joints_xyz_mm")
        is_found = _found_flag(row, path, number, "", xyz is not None)
        if is_found and xyz is None:
            raise DataFormatError(path, f"line {number}: \"found\" is true but \"joints_xyz_mm\" is missing or null")
        indices.append(index)
        joints.append(_joints_14x3(xyz, path, number, "joints_xyz_mm") if is_found else nan_pose)
        found.append(is_found)
        lines.append(number)
    return _indexed(path, indices, joints, found, lines)


HANDEDNESS = ("right", "left")


def _found_hands(hands: object, path: Path, number: int, intrinsics: Intrinsics) -> list[tuple[str | None, np.ndarray]]:
    """The found hands of a line's ``"hands"`` list, as written (nearest first): ``(handedness, (14, 3) mm)``."""
    if not isinstance(hands, list):
        raise DataFormatError(path, f"line {number}: \"hands\" must be a list of objects (got {type(hands).__name__})")
    out = []
    for k, hand in enumerate(hands):
        where = f"hands[{k}]: "
        if not isinstance(hand, dict):
            raise DataFormatError(path, f"line {number}: {where}expected an object, got {type(hand).__name__}")
        handedness = hand.get("handedness")
        if handedness not in (*HANDEDNESS, None):
            raise DataFormatError(path, f"line {number}: {where}\"handedness\" must be \"right\", \"left\" or null "
                                        f"(got {handedness!r})")
        xyz, uvd = hand.get("joints_xyz_mm"), hand.get("joints_uvd")
        if not _found_flag(hand, path, number, where, xyz is not None or uvd is not None):
            continue
        if xyz is not None:
            out.append((handedness, _joints_14x3(xyz, path, number, f"hands[{k}].joints_xyz_mm")))
        elif uvd is not None:
            out.append((handedness, uvd_to_xyz(_joints_14x3(uvd, path, number, f"hands[{k}].joints_uvd"), intrinsics)))
        else:
            raise DataFormatError(path, f"line {number}: {where}\"found\" is true but it has no joints")
    return out


def _side_pose(hands: object, side: str, path: Path, number: int, intrinsics: Intrinsics) -> np.ndarray | None:
    """``(14, 3)`` mm of the first found hand of ``side`` in a line's ``"hands"`` list, or None."""
    return next((xyz for handedness, xyz in _found_hands(hands, path, number, intrinsics) if handedness == side), None)


def read_hand_lists(path: str | Path, intrinsics: Intrinsics = NYU_INTRINSICS
                    ) -> dict[int, list[tuple[str | None, np.ndarray]]]:
    """Per frame index, every found hand of a poses JSONL's ``"hands"`` lists: ``(handedness, (14, 3) mm)``, nearest
    first (a line without ``"hands"`` has none)."""
    path = Path(path)
    return {index: _found_hands(row.get("hands", []), path, number, intrinsics)
            for number, index, row in _jsonl_rows(path)}


def read_hands_jsonl(path: str | Path, intrinsics: Intrinsics = NYU_INTRINSICS) -> dict[str, PoseSet] | None:
    """Per side (``"right"``, ``"left"``), the poses of a JSONL whose lines carry ``"hands"``; None when no line
    does (a one-hand file).

    On each line a side's pose is its first found hand of that handedness (nearest first, as written); a line with
    no such hand (or no ``"hands"``) is a frame where that side was not found. Hands given only as ``joints_uvd``
    are converted with ``intrinsics``.
    """
    path = Path(path)
    rows = list(_jsonl_rows(path))
    if not any("hands" in row for _, _, row in rows):
        return None
    nan_pose = np.full((NUM_JOINTS, 3), np.nan)
    out = {}
    for side in HANDEDNESS:
        poses = [_side_pose(row.get("hands", []), side, path, number, intrinsics) for number, _, row in rows]
        out[side] = _indexed(path, [index for _, index, _ in rows], [nan_pose if p is None else p for p in poses],
                             [p is not None for p in poses], [number for number, _, _ in rows])
    return out


# --- dispatch -------------------------------------------------------------------------------------

def load_left_labels(path: str | Path, view: int = 1) -> PoseSet | None:
    """The left hand's labels of a two-hand folder (its ``joint_data_left.mat``), or None for any other labels."""
    path = Path(path)
    if not (path.is_dir() and (path / LEFT_JOINT_DATA).is_file()):
        return None
    return read_mat_poses(path / LEFT_JOINT_DATA, view)


def is_poses_jsonl(path: Path) -> bool:
    """Whether :func:`load_poses` reads ``path`` as a poses JSONL."""
    return path.is_file() and (path.suffix.lower() in JSONL_SUFFIXES or _looks_like_jsonl(path))


def _looks_like_jsonl(path: Path) -> bool:
    try:
        with open(path, "rb") as fh:
            head = fh.read(256).lstrip()
    except OSError:
        return False
    return head.startswith(b"{")


def load_poses(path: str | Path, intrinsics: Intrinsics = NYU_INTRINSICS, view: int = 1) -> PoseSet:
    """Load labels or predictions from any supported format (see the module docstring).

    Args:
        path: a uvd text file, a ``.mat``, an NYU-format directory or a poses JSONL.
        intrinsics: camera of the uvd text format (ignored by the others, which hold camera space).
        view: NYU view (1 = frontal) of a ``joint_data.mat``.
    """
    path = Path(path)
    if path.is_dir():
        mat = path / JOINT_DATA
        if not mat.is_file():
            raise DataFormatError(path, f"directory has no {JOINT_DATA} (where an NYU-format directory keeps labels)")
        return read_mat_poses(mat, view)
    if not path.exists():
        raise DataFormatError(path, "file not found")
    suffix = path.suffix.lower()
    if suffix == ".mat":
        return read_mat_poses(path, view)
    if suffix in JSONL_SUFFIXES or _looks_like_jsonl(path):
        return read_poses_jsonl(path)
    uvd = read_uvd_text(path)
    return _positional(path, uvd_to_xyz(uvd, intrinsics), np.ones(len(uvd), bool))

