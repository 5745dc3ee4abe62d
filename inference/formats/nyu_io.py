"""The NYU hand pose dataset's on-disk format: read it and write it (bit-exact round trip).

A sequence directory holds ``depth_{K}_{NNNNNNN}.png`` and ``rgb_{K}_{NNNNNNN}.png`` (K = view 1..3,
1 = frontal; frame numbers from 0000001) and ``joint_data.mat`` with ``joint_uvd`` and ``joint_xyz``
shaped ``(views, frames, 36, 3)`` plus ``joint_names``. Depth PNGs are 8-bit RGB with
``depth_mm = (G << 8) | B``. Optional extras written by handpose: ``intrinsics.json`` (when the
intrinsics are not NYU's), ``gestures.json`` (frame labels of synthetic gesture sequences),
``joint_data_left.mat`` (the left hand of a two-hand synthetic folder: the layout of ``joint_data.mat``, NaN
rows where it is not in view) and
``timestamps.txt`` (capture times: line k holds frame number k's time in seconds; written by recordings and
synthetic sequences, so a replay runs on the sequence's own clock; without it frames are 1/30 s apart, NYU's
rate).
"""

from __future__ import annotations

import json
import logging
import os
import re
from collections.abc import Iterator, Sequence
from pathlib import Path

import cv2
import numpy as np
import scipy.io

from inference.core.errors import DataFormatError
from inference.core.frame import Frame
from inference.core.geometry import NYU_INTRINSICS, Intrinsics
from inference.core.outputs import atomic_write, write_bytes_atomic, write_text_atomic
from inference.core.skeleton import NUM_NYU_JOINTS, NYU_JOINT_NAMES, to_eval_joints

log = logging.getLogger(__name__)

JOINT_DATA = "joint_data.mat"
LEFT_JOINT_DATA = "joint_data_left.mat"  # a two-hand folder's left hand (same layout; NaN rows: not in view)
INTRINSICS_JSON = "intrinsics.json"
GESTURES_JSON = "gestures.json"
TIMESTAMPS_TXT = "timestamps.txt"
DEFAULT_FPS = 30.0  # NYU's capture rate: the clock of a sequence without timestamps.txt
log = logging.getLogger(__name__)

_FRAME_RE = re.compile(r"^depth_(\d)_(\d{7})\.png$")


def depth_png_name(frame_number: int, view: int = 1) -> str:
    return f"depth_{view}_{frame_number:07d}.png"


def rgb_png_name(frame_number: int, view: int = 1) -> str:
    return f"rgb_{view}_{frame_number:07d}.png"


# --- PNG codecs -----------------------------------------------------------------------------------

def _imread(path: Path, flags: int) -> np.ndarray:
    try:
        data = np.fromfile(path, dtype=np.uint8)
    except OSError as exc:
        raise DataFormatError(path, f"cannot read file ({exc.strerror})") from None
    if data.size < 8 or bytes(data[:8]) != b"\x89PNG\r\n\x1a\n":
        raise DataFormatError(path, "not a PNG file")
    # A truncated PNG lacks its IEND chunk; libpng may still return a partial image, so check first.
    if bytes(data[-12:])[4:8] != b"IEND":
        raise DataFormatError(path, "truncated PNG (no IEND chunk)")
    img = cv2.imdecode(data, flags)
    if img is None:
        raise DataFormatError(path, "corrupt PNG (cannot be decoded)")
    return img


def decode_nyu_depth(bgr: np.ndarray) -> np.ndarray:
    """``(H, W, 3)`` uint8 BGR (as OpenCV loads it) -> ``(H, W)`` uint16 depth mm = (G << 8) | B."""
    return (bgr[..., 1].astype(np.uint16) << 8) | bgr[..., 0].astype(np.uint16)


def encode_nyu_depth(depth_mm: np.ndarray) -> np.ndarray:
    """``(H, W)`` uint16 depth mm -> ``(H, W, 3)`` uint8 BGR with B = low byte, G = high byte, R = 0."""
    d = np.asarray(depth_mm)
    if d.dtype != np.uint16:  # refuse values a 16-bit depth cannot hold instead of wrapping them silently
        if d.size and not (np.isfinite(d).all() and d.min() >= 0 and d.max() <= 65535):
            raise ValueError(f"depth must be finite and within 0-65535 mm to encode, got {d.min()}..{d.max()}")
        d = d.astype(np.uint16)
    out = np.zeros((*d.shape, 3), np.uint8)
    out[..., 0] = d & 0xFF
    out[..., 1] = d >> 8
    return out


def read_depth_png(path: str | Path) -> np.ndarray:
    """Read an NYU depth PNG -> ``(H, W)`` uint16 depth in mm."""
    path = Path(path)
    img = _imread(path, cv2.IMREAD_UNCHANGED)
    if img.dtype != np.uint8 or img.ndim != 3 or img.shape[2] != 3:
        raise DataFormatError(
            path, f"NYU depth PNG must be 8-bit RGB with depth=(G<<8)|B, got {img.dtype} shape {img.shape}"
        )
    return decode_nyu_depth(img)


def read_depth16_png(path: str | Path, depth_unit_mm: float = 1.0) -> np.ndarray:
    """Read a 16-bit single-channel depth PNG (RealSense style) -> ``(H, W)`` uint16 mm (rounded)."""
    path = Path(path)
    img = _imread(path, cv2.IMREAD_UNCHANGED)
    if img.dtype != np.uint16 or img.ndim != 2:
        raise DataFormatError(path, f"expected a 16-bit single-channel depth PNG, got {img.dtype} shape {img.shape}")
    if depth_unit_mm == 1.0:
        return img
    return np.clip(np.rint(img.astype(np.float32) * depth_unit_mm), 0, 65535).astype(np.uint16)


def read_rgb_png(path: str | Path) -> np.ndarray:
    """Read an RGB PNG -> ``(H, W, 3)`` uint8 RGB."""
    path = Path(path)
    img = _imread(path, cv2.IMREAD_UNCHANGED)
    if img.dtype != np.uint8 or img.ndim != 3 or img.shape[2] not in (3, 4):
        raise DataFormatError(path, f"RGB PNG must be 8-bit colour, got {img.dtype} shape {img.shape}")
    return np.ascontiguousarray(img[..., 2::-1])


def _atomic_imwrite(path: Path, img: np.ndarray, compression: int, png_params: Sequence[int] = ()) -> None:
    """Write via a temporary name and rename, so an interrupted write never leaves a readable half frame.

    ``png_params``: extra OpenCV PNG flags (e.g. ``(cv2.IMWRITE_PNG_STRATEGY, cv2.IMWRITE_PNG_STRATEGY_RLE)``).
    """
    ok, buf = cv2.imencode(".png", img, [cv2.IMWRITE_PNG_COMPRESSION, compression, *png_params])
    if not ok:
        raise DataFormatError(path, "PNG encoding failed")
    write_bytes_atomic(path, buf.tobytes())


def write_depth_png(
    path: str | Path, depth_mm: np.ndarray, compression: int = 1, png_params: Sequence[int] = ()
) -> None:
    _atomic_imwrite(Path(path), encode_nyu_depth(depth_mm), compression, png_params)


def write_rgb_png(path: str | Path, rgb: np.ndarray, compression: int = 1, png_params: Sequence[int] = ()) -> None:
    _atomic_imwrite(Path(path), np.ascontiguousarray(np.asarray(rgb, np.uint8)[..., ::-1]), compression, png_params)


# --- joint_data.mat -------------------------------------------------------------------------------

def read_joint_data(path: str | Path) -> dict[str, np.ndarray]:
    """Read ``joint_data.mat`` -> {"joint_uvd": (V, N, 36, 3), "joint_xyz": (V, N, 36, 3)} float64."""
    path = Path(path)
    try:
        mat = scipy.io.loadmat(path)
    except FileNotFoundError:
        raise DataFormatError(path, "file not found") from None
    except Exception as exc:  # scipy raises several types for corrupt files
        raise DataFormatError(path, f"not a readable MATLAB file ({type(exc).__name__}: {exc})") from None
    out: dict[str, np.ndarray] = {}
    for key in ("joint_uvd", "joint_xyz"):
        if key not in mat:
            found = sorted(k for k in mat if not k.startswith("__"))
            raise DataFormatError(path, f"missing key '{key}' (found {found}); expected joint_uvd and joint_xyz")
        arr = np.asarray(mat[key], dtype=np.float64)
        if arr.ndim == 3:  # a single view saved without the leading axis
            arr = arr[None]
        if arr.ndim != 4 or arr.shape[2:] != (NUM_NYU_JOINTS, 3):
            raise DataFormatError(path, f"'{key}' must be shaped (views, frames, 36, 3), got {arr.shape}")
        out[key] = arr
    if out["joint_uvd"].shape != out["joint_xyz"].shape:
        raise DataFormatError(path, f"joint_uvd {out['joint_uvd'].shape} and joint_xyz {out['joint_xyz'].shape} differ")
    return out


def read_joint_names(path: str | Path) -> tuple[str, ...] | None:
    """The ``joint_names`` of a ``joint_data.mat`` (36 strings), or None when the file has none."""
    path = Path(path)
    try:
        mat = scipy.io.loadmat(path, variable_names=["joint_names"])
    except FileNotFoundError:
        raise DataFormatError(path, "file not found") from None
    except Exception as exc:  # scipy raises several types for corrupt files
        raise DataFormatError(path, f"not a readable MATLAB file ({type(exc).__name__}: {exc})") from None
    if "joint_names" not in mat:
        return None
    # MATLAB cell array of strings: (1, 36) object array whose cells are (1,) str arrays.
    return tuple(str(np.asarray(cell).ravel()[0]) for cell in np.asarray(mat["joint_names"]).ravel())


def write_joint_data(path: str | Path, joint_uvd: np.ndarray, joint_xyz: np.ndarray) -> None:
    """Write ``joint_data.mat`` (arrays ``(V, N, 36, 3)`` or ``(N, 36, 3)`` for one view), atomically."""
    uvd = np.asarray(joint_uvd, np.float64)
    xyz = np.asarray(joint_xyz, np.float64)
    if uvd.ndim == 3:
        uvd, xyz = uvd[None], xyz[None]
    names = np.empty((1, NUM_NYU_JOINTS), dtype=object)
    names[0, :] = list(NYU_JOINT_NAMES)
    with atomic_write(path, "wb") as fh:
        scipy.io.savemat(fh, {"joint_uvd": uvd, "joint_xyz": xyz, "joint_names": names}, do_compression=True)


# --- timestamps.txt ---------------------------------------------------------------------------------

def write_timestamps(path: str | Path, times_s: dict[int, float]) -> None:
    """Write ``timestamps.txt``: line k = the capture time (s) of frame number k (1-based), ``nan`` for gaps."""
    if not times_s:
        return
    rows = np.full(max(times_s), np.nan)
    for number, t in times_s.items():
        rows[number - 1] = t
    path = Path(path)
    tmp = path.with_name(f".{path.name}.part")
    tmp.write_text("".join(f"{t:.6f}\n" for t in rows))
    os.replace(tmp, path)


def read_timestamps(path: str | Path) -> np.ndarray:
    """Read ``timestamps.txt`` -> ``(N,)`` float64 seconds, row k - 1 = frame number k (NaN = unknown)."""
    path = Path(path)
    try:
        lines = path.read_text().split()
    except (OSError, UnicodeDecodeError) as exc:
        raise DataFormatError(path, f"cannot read timestamps ({exc})") from None
    try:
        times = np.array([float(x) for x in lines], np.float64)
    except ValueError as exc:
        raise DataFormatError(path, f"timestamps must be one number (seconds) per line ({exc})") from None
    if np.isinf(times).any():
        raise DataFormatError(path, "timestamps must be finite (nan marks an unknown time)")
    return times


# --- sequences --------------------------------------------------------------------------------------

class NyuSequence:
    """Random access to one view of an NYU-format directory.

    Frames are those whose depth PNG exists (a sequence may have gaps); ``frame_numbers`` are the
    1-based numbers in the file names and a frame's ``index`` is ``number - 1``, which is also its row
    in ``joint_data.mat``.
    """

    def __init__(self, root: str | Path, view: int = 1) -> None:
        self.root = Path(root)
        if not self.root.is_dir():
            raise DataFormatError(self.root, "not a directory")
        self.view = view
        numbers = []
        for name in os.listdir(self.root):
            m = _FRAME_RE.match(name)
            if m and int(m.group(1)) == view:
                numbers.append(int(m.group(2)))
        if not numbers:
            raise DataFormatError(self.root, f"no NYU depth frames (depth_{view}_NNNNNNN.png) in this directory")
        self.frame_numbers: list[int] = sorted(numbers)
        intr_path = self.root / INTRINSICS_JSON
        self.intrinsics = Intrinsics.from_json(intr_path) if intr_path.exists() else NYU_INTRINSICS
        self._labels: dict[str, np.ndarray] | None = None
        self._labels_loaded = False
        self._labels_error: DataFormatError | None = None  # a damaged joint_data.mat, raised on every labels()
        self._labels_warned = False
        gestures_path = self.root / GESTURES_JSON
        self.gestures: dict[int, str] = {}
        if gestures_path.exists():
            try:
                raw = json.loads(gestures_path.read_text())
                self.gestures = {int(k): str(v) for k, v in raw["frames"].items()}
            except (ValueError, KeyError, TypeError) as exc:
                raise DataFormatError(gestures_path, f"bad gestures file ({exc})") from None
        self._times_s = self._read_times()

    def _read_times(self) -> np.ndarray | None:
        """The sequence's own clock from timestamps.txt; a damaged file costs no frame: warn, use 1/30 s steps."""
        path = self.root / TIMESTAMPS_TXT
        if not path.exists():
            return None
        try:
            return read_timestamps(path)
        except DataFormatError as exc:
            log.warning("%s; frames are stamped 1/%g s apart instead", exc, DEFAULT_FPS)
            return None

    def timestamp_s(self, number: int) -> float:
        """Capture time (s) of frame ``number``: from timestamps.txt, else ``(number - 1) / 30``."""
        times = self._times_s
        if times is not None and number <= len(times) and np.isfinite(times[number - 1]):
            return float(times[number - 1])
        return (number - 1) / DEFAULT_FPS

    @property
    def native_fps(self) -> float:
        """The sequence's frame rate: the median step of timestamps.txt, else NYU's 30 frames/s."""
        times = self._times_s
        if times is not None:
            steps = np.diff(times[np.isfinite(times)])
            steps = steps[steps > 0]
            if steps.size:
                return float(1.0 / np.median(steps))
        return DEFAULT_FPS

    def __len__(self) -> int:
        return len(self.frame_numbers)

    @property
    def has_labels(self) -> bool:
        return (self.root / JOINT_DATA).exists()

    def labels(self) -> dict[str, np.ndarray] | None:
        """``{"joint_uvd", "joint_xyz"}`` of this view, each ``(N, 36, 3)``, or None without joint_data.mat.

        Raises DataFormatError (every time) when joint_data.mat is damaged or has no such view.
        """
        if not self._labels_loaded:
            self._labels_loaded = True
            if self.has_labels:
                try:
                    data = read_joint_data(self.root / JOINT_DATA)
                    views = data["joint_uvd"].shape[0]
                    if self.view > views:
                        raise DataFormatError(self.root / JOINT_DATA, f"has {views} views, view {self.view} asked")
                except DataFormatError as exc:
                    self._labels_error = exc
                else:
                    self._labels = {k: v[self.view - 1] for k, v in data.items()}
        if self._labels_error is not None:
            raise self._labels_error
        return self._labels

    def depth_path(self, number: int) -> Path:
        return self.root / depth_png_name(number, self.view)

    def rgb_path(self, number: int) -> Path:
        return self.root / rgb_png_name(number, self.view)

    def read_depth(self, number: int) -> np.ndarray:
        return read_depth_png(self.depth_path(number))

    def read_rgb(self, number: int) -> np.ndarray | None:
        path = self.rgb_path(number)
        return read_rgb_png(path) if path.exists() else None

    def eval_labels_uvd(self, number: int) -> np.ndarray | None:
        """The 14 evaluation joints ``(14, 3)`` uvd of a frame, or None when unlabelled.

        NaN policy: :meth:`labels` keeps the all-NaN rows :class:`NyuWriter` writes for frames never labelled
        (a row index must stay its frame number); here such a row means "no label" (None). A row with only
        some joints NaN is returned as it is, so readers never raise mid-sequence: the training dataset skips
        non-finite labels and the evaluator rejects them with an error naming the file and frame.
        """
        labels = self.labels()
        if labels is None or not 1 <= number <= labels["joint_uvd"].shape[0]:
            return None
        uvd = to_eval_joints(labels["joint_uvd"][number - 1])
        return None if np.isnan(uvd).all() else uvd

    def frame(self, number: int, timestamp_s: float | None = None, with_color: bool = True) -> Frame:
        """Load frame ``number`` (1-based, as in the file name) as a :class:`Frame`.

        A damaged ``joint_data.mat`` costs no frame: the frame comes without labels (one warning per sequence).
        """
        depth = self.read_depth(number)
        color = self.read_rgb(number) if with_color else None
        intr = self.intrinsics
        if depth.shape != (intr.height, intr.width):
            raise DataFormatError(
                self.depth_path(number),
                f"depth is {depth.shape[1]}x{depth.shape[0]} (WxH), intrinsics say {intr.width}x{intr.height}",
            )
        if color is not None and color.shape[:2] != depth.shape:
            raise DataFormatError(self.rgb_path(number), f"RGB is {color.shape[:2]}, depth is {depth.shape}")
        return Frame(
            depth_mm=depth, color=color, intrinsics=intr,
            timestamp_s=self.timestamp_s(number) if timestamp_s is None else timestamp_s,
            index=number - 1, joints_uvd=self._labels_or_none(number), gesture=self.gestures.get(number - 1),
        )

    def _labels_or_none(self, number: int) -> np.ndarray | None:
        try:
            return self.eval_labels_uvd(number)
        except DataFormatError as exc:
            if not self._labels_warned:
                self._labels_warned = True
                log.warning("frames of %s come without labels: %s", self.root, exc)
            return None

    def __iter__(self) -> Iterator[Frame]:
        for number in self.frame_numbers:
            yield self.frame(number)


class NyuWriter:
    """Write frames in the NYU format, one view; labels are gathered and written on :meth:`close`.

    Frames are written atomically (temp name + rename). ``joint_data.mat`` is rewritten on close with one
    row per frame number from 1 to the last written; rows of frames never written stay NaN.
    """

    def __init__(
        self,
        root: str | Path,
        intrinsics: Intrinsics = NYU_INTRINSICS,
        view: int = 1,
        png_compression: int = 1,
    ) -> None:
        self.root = Path(root)
        self.root.mkdir(parents=True, exist_ok=True)
        self.view = view
        self.png_compression = png_compression
        self.intrinsics = intrinsics
        self._uvd: dict[int, np.ndarray] = {}
        self._xyz: dict[int, np.ndarray] = {}
        self._gestures: dict[int, str] = {}
        self._times_s: dict[int, float] = {}
        if intrinsics != NYU_INTRINSICS:
            intrinsics.to_json(self.root / INTRINSICS_JSON)

    def write(
        self,
        number: int,
        depth_mm: np.ndarray,
        rgb: np.ndarray | None = None,
        joints_uvd: np.ndarray | None = None,
        joints_xyz: np.ndarray | None = None,
        gesture: str | None = None,
        timestamp_s: float | None = None,
    ) -> None:
        """Write frame ``number`` (1-based). Joints are ``(36, 3)``; RGB first, so a readable depth implies its RGB."""
        if number < 1:
            raise ValueError(f"NYU frame numbers start at 1, got {number}")
        if (joints_uvd is None) != (joints_xyz is None):
            raise ValueError("give both joints_uvd and joints_xyz, or neither")
        for name, joints in (("joints_uvd", joints_uvd), ("joints_xyz", joints_xyz)):
            if joints is not None and np.shape(joints) != (NUM_NYU_JOINTS, 3):
                raise ValueError(f"{name} must be shaped ({NUM_NYU_JOINTS}, 3), got {np.shape(joints)}")
        if rgb is not None:
            write_rgb_png(self.root / rgb_png_name(number, self.view), rgb, self.png_compression)
        write_depth_png(self.root / depth_png_name(number, self.view), depth_mm, self.png_compression)
        self.add_labels(number, joints_uvd, joints_xyz, gesture, timestamp_s)

    def add_labels(
        self,
        number: int,
        joints_uvd: np.ndarray | None = None,
        joints_xyz: np.ndarray | None = None,
        gesture: str | None = None,
        timestamp_s: float | None = None,
    ) -> None:
        """Record the labels (and capture time, s) of frame ``number`` whose PNGs were written elsewhere (e.g.
        by worker processes)."""
        if joints_uvd is not None and joints_xyz is not None:
            self._uvd[number] = np.asarray(joints_uvd, np.float64)
            self._xyz[number] = np.asarray(joints_xyz, np.float64)
        if gesture is not None:
            self._gestures[number - 1] = gesture
        if timestamp_s is not None:
            self._times_s[number] = float(timestamp_s)

    def close(self) -> None:
        if self._uvd:
            n = max(self._uvd)
            uvd = np.full((n, NUM_NYU_JOINTS, 3), np.nan)
            xyz = np.full((n, NUM_NYU_JOINTS, 3), np.nan)
            for k, v in self._uvd.items():
                uvd[k - 1] = v
                xyz[k - 1] = self._xyz[k]
            write_joint_data(self.root / JOINT_DATA, uvd, xyz)
        if self._gestures:
            write_text_atomic(
                self.root / GESTURES_JSON,
                json.dumps({"frames": {str(k): v for k, v in sorted(self._gestures.items())}}, indent=0) + "\n",
            )
        write_timestamps(self.root / TIMESTAMPS_TXT, self._times_s)

    def __enter__(self) -> NyuWriter:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
