"""The preprocessed, memory-mapped crop cache of NYU-format directories (numpy only, no torch).

:func:`build_cache` reads every labelled frame of one or more NYU-format directories (the real NYU
layout or the synthetic generator's), finds the hand centre with the runtime's own
:func:`inference.preprocess.segmentation.segment_hand` (or from the labels), and cuts the crop with the
shared :func:`inference.preprocess.crop.make_crop`. Frames are processed in parallel with a progress bar
and written to ``.npy`` arrays that are memory-mapped at training time. The cache directory name is a
hash of the input files (names, sizes, mtimes) and the parameters, so a changed input or parameter
builds a new one; ``manifest.json`` is written last, so an interrupted build is never mistaken for a
complete one. Missing, corrupt, unlabelled or hand-less frames are skipped and counted
(``manifest["skipped"]``).

Cache arrays (N frames, S = crop size, J = joints): ``depth (N, S, S) float16`` normalised depth,
``rgb (N, 3, S, S) uint8`` masked raw RGB crop (zeros when a frame has no colour), ``joints_uvd (N, J,
3)`` (u px, v px, d mm), ``com_uvd (N, 3)``, ``intrinsics (N, 4)`` (fx, fy, cx, cy), ``source (N, 2)``
(directory index, frame number).

Subjects: a directory may hold ``subjects.json`` as ``handpose synth`` writes it, with
``"frame_subject"``: one subject id per 0-based frame index; then a held-out test split is made by
subject (:func:`split_indices`). :func:`rgb_stats` gives the RGB statistics of masked training crops.
"""

from __future__ import annotations

import errno
import hashlib
import json
import os
import shutil
import sys
from collections import Counter
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from inference.core.errors import DataFormatError, HandposeError
from inference.core.outputs import output_error
from inference.core.progress import progress_bar
from inference.formats.nyu_io import INTRINSICS_JSON, JOINT_DATA, NyuSequence
from inference.handmodel.palm_convention import GENERATOR_V1 as PALM_GENERATOR_V1
from inference.handmodel.palm_convention import NYU as PALM_NYU
from inference.preprocess.crop import labels_centre_uvd, make_crop
from inference.preprocess.segmentation import SegmentationParams, segment_hand
from training.defaults import RECIPE

CACHE_VERSION = 1


SUBJECTS_JSON = "subjects.json"


_ARRAYS = ("depth", "rgb", "joints_uvd", "com_uvd", "intrinsics", "source")


@dataclass(frozen=True)
class CacheParams:
    """What a cache depends on besides the input files.

    Attributes:
        cube_mm: cube edge (thesis: 300 mm for NYU).
        size: crop edge in pixels.
        centre: ``"segment"`` (the runtime's nearest-blob segmentation, default) or ``"labels"`` (mean of the
            labelled joints in 3-D).
        view: NYU view (1 = frontal).
        with_rgb: also cache the masked RGB crop.
    """

    cube_mm: float = RECIPE.cube_mm
    size: int = RECIPE.input_size
    centre: str = RECIPE.centre
    view: int = 1
    with_rgb: bool = True

    def __post_init__(self) -> None:
        if self.centre not in ("segment", "labels"):
            raise HandposeError(f"centre must be 'segment' or 'labels', got {self.centre!r}")


@dataclass
class Cache:
    """An opened (memory-mapped) cache. ``arrays`` holds the arrays of :data:`_ARRAYS` cut to ``count`` rows."""

    path: Path
    manifest: dict[str, Any]
    arrays: dict[str, np.ndarray] = field(default_factory=dict)

    def __len__(self) -> int:
        return int(self.manifest["count"])

    @property
    def params(self) -> CacheParams:
        return CacheParams(**self.manifest["params"])

    @property
    def skipped(self) -> dict[str, int]:
        return dict(self.manifest["skipped"])

    @property
    def subjects(self) -> list[str | None]:
        return list(self.manifest["subjects"])

    @property
    def has_rgb(self) -> bool:
        return bool(self.manifest["has_rgb"])


def _input_fingerprint(roots: list[Path], view: int) -> str:
    """Hash of the names, sizes and mtimes of every file a cache is built from."""
    h = hashlib.sha256()
    for root in roots:
        h.update(str(root.resolve()).encode())
        for name in sorted(os.listdir(root)):
            if (name.endswith(".png") and f"_{view}_" in name) or name in (JOINT_DATA, INTRINSICS_JSON, SUBJECTS_JSON):
                st = (root / name).stat()
                h.update(f"{name}:{st.st_size}:{st.st_mtime_ns};".encode())
    return h.hexdigest()


def cache_key(roots: list[Path], params: CacheParams) -> str:
    h = hashlib.sha256()
    h.update(_input_fingerprint(roots, params.view).encode())
    h.update(json.dumps(asdict(params), sort_keys=True).encode())
    h.update(f"v{CACHE_VERSION}".encode())
    return h.hexdigest()[:16]


def _read_subjects(root: Path) -> dict[int, str]:
    path = root / SUBJECTS_JSON
    if not path.exists():
        return {}
    try:
        raw = json.loads(path.read_text())
        return {index: str(subject) for index, subject in enumerate(raw["frame_subject"])}
    except (ValueError, KeyError, TypeError, AttributeError) as exc:
        raise DataFormatError(path, f'expected {{"frame_subject": [<subject of frame 0>, ...]}} ({exc})') from None


_SEQUENCES: dict[tuple[str, int], NyuSequence] = {}  # per worker process


def palm_convention(roots: list[str] | list[Path]) -> str:
    """The palm-label convention (:mod:`inference.handmodel.palm_convention`) the folders share: ``subjects.json``'s
    ``palm_convention``; a ``handpose synth`` folder without it predates NYU's convention in the generator
    (``generator-v1``); any other folder (NYU, ``handpose label``, a recording) follows NYU.
    Raises HandposeError naming the folders when they disagree: a net would learn two places for three joints."""
    found: dict[str, list[str]] = {}
    for root in roots:
        path = Path(root) / SUBJECTS_JSON
        convention = PALM_NYU
        if path.exists():
            try:
                info = json.loads(path.read_text())
                if info.get("generator") == "handpose synth":
                    convention = str(info.get("palm_convention", PALM_GENERATOR_V1))
            except (ValueError, AttributeError) as exc:
                raise DataFormatError(f"{path}: not a subjects file ({exc})") from None
        found.setdefault(convention, []).append(str(root))
    if len(found) > 1:
        listed = "; ".join(f"{c}: {', '.join(dirs)}" for c, dirs in sorted(found.items()))
        raise HandposeError(f"the data folders put the palm labels W1, W2, C in different places ({listed}); "
                            f"re-make the {PALM_GENERATOR_V1} ones with today's handpose synth")
    return next(iter(found), PALM_NYU)


def _sequence(root: str, view: int) -> NyuSequence:
    key = (root, view)
    if key not in _SEQUENCES:
        _SEQUENCES[key] = NyuSequence(root, view)
    return _SEQUENCES[key]


def preprocess_frame(root: str, number: int, params: CacheParams) -> tuple[str, dict[str, np.ndarray] | None]:
    """One frame -> ("ok", arrays) or (skip reason, None). Never raises for bad data (it is counted instead)."""
    seq = _sequence(root, params.view)
    labels_uvd = seq.eval_labels_uvd(number)
    if labels_uvd is None or not np.all(np.isfinite(labels_uvd)):
        return "unlabelled", None
    try:
        frame = seq.frame(number, with_color=params.with_rgb)
    except DataFormatError:
        return "unreadable", None
    intr = frame.intrinsics
    if params.centre == "labels":
        com_uvd = labels_centre_uvd(labels_uvd, intr)
    else:
        seg = segment_hand(frame.depth_mm, intr, SegmentationParams())
        if not seg.found:
            return "no hand segmented", None
        com_uvd = seg.com_uvd
    crop = make_crop(frame.depth_mm, com_uvd, intr, params.cube_mm, size=params.size)
    rgb = np.zeros((3, params.size, params.size), np.uint8)
    if frame.color is not None:
        # Raw (0-255) masked crop; standardisation needs the training split's statistics, applied at load time.
        masked = make_crop(frame.depth_mm, com_uvd, intr, params.cube_mm, frame.color, np.zeros(3), np.ones(3),
                           size=params.size).rgb
        rgb = np.clip(np.rint(masked), 0, 255).astype(np.uint8)
    return "ok", {
        "depth": crop.depth.astype(np.float16),
        "rgb": rgb,
        "joints_uvd": labels_uvd,
        "com_uvd": crop.com_uvd,
        "intrinsics": np.array([intr.fx, intr.fy, intr.cx, intr.cy]),
        "has_rgb": np.array(frame.color is not None),
    }


def _work(task: tuple[int, str, int, CacheParams]) -> tuple[int, int, str, dict[str, np.ndarray] | None]:
    dir_index, root, number, params = task
    status, out = preprocess_frame(root, number, params)
    return dir_index, number, status, out


def build_cache(
    roots: list[str | Path],
    cache_root: str | Path,
    params: CacheParams = CacheParams(),
    workers: int | None = None,
    progress: bool = True,
    max_frames: int | None = None,
) -> Cache:
    """Build (or reuse) the cache of ``roots`` under ``cache_root/<key>/`` and open it.

    Args:
        workers: processes (default: CPU count; 0 = in this process).
        max_frames: use only the first N frames of each directory (quick experiments).

    A cache found damaged (:func:`open_cache`) is rebuilt, with a warning naming the file. A build that fails
    (full disk, Ctrl-C) leaves no partial cache behind.
    """
    paths = [Path(r) for r in roots]
    for p in paths:
        if not p.is_dir():
            raise DataFormatError(p, "dataset directory not found")
    key = cache_key(paths, params) + (f"-first{max_frames}" if max_frames else "")
    out_dir = Path(cache_root) / key
    if (out_dir / "manifest.json").exists():
        try:
            return open_cache(out_dir)
        except DataFormatError as exc:  # damaged since it was built (disk error, a stray write): build it again
            print(f"warning: the crop cache is damaged, rebuilding it: {exc}", file=sys.stderr)
    sequences = [NyuSequence(p, params.view) for p in paths]
    for seq in sequences:
        if not seq.has_labels:
            raise DataFormatError(seq.root / JOINT_DATA, "missing: training needs joint labels")
        seq.labels()  # fail early, with the file's name, on a corrupt label file
    subjects_by_dir = [_read_subjects(p) for p in paths]
    tasks = [
        (i, str(seq.root), n, params)
        for i, seq in enumerate(sequences)
        for n in (seq.frame_numbers[:max_frames] if max_frames else seq.frame_numbers)
    ]
    # Labelled frames whose depth PNG is missing are skipped too, and counted as such.
    missing = sum(_missing_depth_frames(seq, max_frames) for seq in sequences)
    tmp_dir = out_dir.with_name(out_dir.name + ".part")
    try:
        return _write_cache(tasks, paths, params, key, subjects_by_dir, missing, tmp_dir, out_dir, workers, progress)
    except BaseException as exc:  # full disk, Ctrl-C, a bug: no half-built cache (it may be gigabytes) stays
        shutil.rmtree(tmp_dir, ignore_errors=True)
        if isinstance(exc, OSError):
            raise output_error(out_dir, exc, "--cache-dir") from None
        raise


def _missing_depth_frames(seq: NyuSequence, max_frames: int | None) -> int:
    """Labelled frames of ``seq`` (among the first ``max_frames``) that have no depth PNG."""
    rows = seq.labels()["joint_uvd"].shape[0]  # type: ignore[index]
    last = seq.frame_numbers[:max_frames][-1] if max_frames else rows
    present = set(seq.frame_numbers)
    return sum(1 for k in range(1, min(rows, last) + 1) if k not in present and seq.eval_labels_uvd(k) is not None)


def _write_cache(tasks: list, paths: list[Path], params: CacheParams, key: str, subjects_by_dir: list[dict[int, str]],
                 missing: int, tmp_dir: Path, out_dir: Path, workers: int | None, progress: bool) -> Cache:

    shutil.rmtree(tmp_dir, ignore_errors=True)
    tmp_dir.mkdir(parents=True)
    n, s, j = len(tasks), params.size, None
    arrays: dict[str, np.ndarray] = {}
    skipped: Counter[str] = Counter({"missing": missing} if missing else {})
    subjects: list[str | None] = []
    count = 0
    any_rgb = False
    workers = (os.cpu_count() or 1) if workers is None else workers
    results = _map(tasks, workers)
    for dir_index, number, status, out in progress_bar(results, total=n, desc="preprocess", unit="frame",
                                                       disable=not progress):
        if out is None:
            skipped[status] += 1
            continue
        if not arrays:
            j = out["joints_uvd"].shape[0]
            arrays = {k: _allocated_memmap(tmp_dir / f"{k}.npy", dt, (n, *shape))
                      for k, (dt, shape) in _layout(s, j).items()}
        for k in _ARRAYS[:-1]:
            arrays[k][count] = out[k]
        arrays["source"][count] = (dir_index, number)
        any_rgb |= bool(out["has_rgb"])
        subjects.append(subjects_by_dir[dir_index].get(number - 1))
        count += 1
    if count == 0:
        shutil.rmtree(tmp_dir, ignore_errors=True)
        raise HandposeError(f"no usable frames in {', '.join(map(str, paths))} (skipped: {dict(skipped)})")
    for a in arrays.values():
        a.flush()
    manifest = {
        "version": CACHE_VERSION, "key": key, "roots": [str(p.resolve()) for p in paths], "params": asdict(params),
        "count": count, "total": n + missing, "skipped": dict(skipped), "subjects": subjects, "has_rgb": any_rgb,
        "num_joints": j,
    }
    (tmp_dir / "manifest.json").write_text(json.dumps(manifest))
    shutil.rmtree(out_dir, ignore_errors=True)
    os.replace(tmp_dir, out_dir)
    return open_cache(out_dir)


def _allocated_memmap(path: Path, dtype: np.dtype, shape: tuple[int, ...]) -> np.ndarray:
    """A new ``.npy`` memory map whose disk blocks are reserved now: a full disk is an OSError here, not a
    SIGBUS that kills the process when a page of a sparse file is first written."""
    array = np.lib.format.open_memmap(path, "w+", dtype, shape)
    fd = os.open(path, os.O_RDWR)
    try:
        os.posix_fallocate(fd, 0, os.fstat(fd).st_size)
    except OSError as exc:
        if exc.errno not in (errno.EOPNOTSUPP, errno.EINVAL, errno.ENOSYS):  # a file system that cannot: sparse
            raise
    finally:
        os.close(fd)
    return array


def _map(tasks: list, workers: int):
    if workers <= 0 or len(tasks) < 32:
        return map(_work, tasks)
    import multiprocessing as mp

    pool = mp.get_context("fork").Pool(workers)

    def results():
        try:
            yield from pool.imap(_work, tasks, chunksize=8)
        finally:
            pool.terminate()

    return results()


def _layout(size: int, joints: int) -> dict[str, tuple[np.dtype, tuple[int, ...]]]:
    """Each cache array's dtype and shape after its first (frame) axis, for crops of ``size`` and ``joints``."""
    return {"depth": (np.dtype(np.float16), (size, size)), "rgb": (np.dtype(np.uint8), (3, size, size)),
            "joints_uvd": (np.dtype(np.float64), (joints, 3)), "com_uvd": (np.dtype(np.float64), (3,)),
            "intrinsics": (np.dtype(np.float64), (4,)), "source": (np.dtype(np.int64), (2,))}


def open_cache(path: str | Path) -> Cache:
    """Open a built cache, checking that its manifest and every array are what a build writes.

    Raises DataFormatError naming the damaged file (a broken header, a truncated or replaced array); the
    contents of intact-looking arrays are not checksummed.
    """
    path = Path(path)
    try:
        manifest = json.loads((path / "manifest.json").read_text())
        count, size = int(manifest["count"]), int(manifest["params"]["size"])
        joints = int(manifest["num_joints"])
        if manifest.get("version") != CACHE_VERSION:
            raise ValueError(f"version {manifest.get('version')!r}, expected {CACHE_VERSION}")
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise DataFormatError(path / "manifest.json", f"not a readable cache manifest ({exc})") from None
    arrays = {}
    for key, (dtype, shape) in _layout(size, joints).items():
        file = path / f"{key}.npy"
        try:
            array = np.load(file, mmap_mode="r", allow_pickle=False)
        except (OSError, ValueError, EOFError) as exc:  # a header numpy cannot parse, a file shorter than it says
            reason = str(exc).split(". ")[0]  # numpy's first sentence says what is wrong
            raise DataFormatError(file, f"damaged cache array ({reason})") from None
        if array.dtype != dtype or array.shape[1:] != shape or array.shape[0] < count:
            raise DataFormatError(file, f"damaged cache array: {array.dtype} {array.shape}, expected {dtype} "
                                        f"({count}, {', '.join(map(str, shape))})")
        arrays[key] = array[:count]
    return Cache(path=path, manifest=manifest, arrays=arrays)


def split_indices(
    n: int,
    val_fraction: float = 0.25,
    seed: int = 0,
    subjects: list[str | None] | None = None,
    test_subjects: list[str] | None = None,
) -> dict[str, np.ndarray]:
    """``{"train", "val", "test"}`` index arrays.

    Test = frames of ``test_subjects`` (default: the last subject in sorted order, when there are >= 2);
    of the rest, ``val_fraction`` sampled uniformly (thesis: 25%) is validation.
    """
    idx = np.arange(n)
    test_mask = np.zeros(n, bool)
    names = sorted({s for s in (subjects or []) if s is not None})
    if test_subjects is None and len(names) >= 2:
        test_subjects = names[-1:]
    if test_subjects:
        unknown = set(test_subjects) - set(names)
        if unknown:
            raise HandposeError(f"test subjects {sorted(unknown)} not in the data (subjects: {names})")
        test_mask = np.array([s in test_subjects for s in subjects or []], bool)
    rest = idx[~test_mask]
    perm = np.random.default_rng(seed).permutation(rest)
    n_val = round(val_fraction * len(rest))
    return {"train": np.sort(perm[n_val:]), "val": np.sort(perm[:n_val]), "test": idx[test_mask]}


def rgb_stats(cache: Cache, indices: np.ndarray, max_frames: int = 2000) -> tuple[list[float], list[float]]:
    """Per-channel mean and std (0-255) of the masked RGB crops of ``indices`` (the training split)."""
    sel = np.asarray(indices)[np.linspace(0, len(indices) - 1, min(len(indices), max_frames)).astype(int)]
    total = np.zeros(3)
    total_sq = np.zeros(3)
    n = 0
    for i in sel:
        mask = cache.arrays["depth"][i] < 1.0  # hand pixels (behind-cube and missing pixels are exactly 1)
        px = cache.arrays["rgb"][i][:, mask].astype(np.float64)  # (3, M)
        total += px.sum(1)
        total_sq += (px ** 2).sum(1)
        n += px.shape[1]
    if n == 0:
        return [0.0, 0.0, 0.0], [1.0, 1.0, 1.0]
    mean = total / n
    std = np.sqrt(np.maximum(total_sq / n - mean ** 2, 1e-6))
    return mean.tolist(), std.tolist()
