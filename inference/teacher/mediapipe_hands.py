"""MediaPipe Hands, the RGB teacher's 2D landmarker: the optional ``teacher`` extra, imported lazily.

``mediapipe==0.10.14`` bundles the palm detector and the hand-landmark models (lite and full) and runs the
classic ``mediapipe.solutions.hands`` graph offline; later releases ship no models or need numpy<2, and there
are no wheels for Python 3.13+. Its declared dependencies pull a non-headless OpenCV that breaks PySide6, so it
is installed with ``--no-deps`` by ``scripts/setup.sh`` (unless ``HANDPOSE_TEACHER=0``), never through
``handpose[all]``.

MediaPipe assumes a mirrored (selfie) image: on an ordinary camera image its "Left" is the person's right hand.
:class:`HandLandmarker` un-mirrors the label, so :attr:`Landmarks.right` is the anatomical handedness. With
``mirror=True`` it shows MediaPipe the image flipped left-right (a second opinion on the same frame, used by
``handpose label``) and maps the landmarks back, so both kinds return the same coordinates and handedness.

The graph's C++ start-up chatter (TFLite delegate, absl warnings) is filtered out of stderr from the creation of
a graph until it has seen its first hand (every model has been loaded by then); everything else on stderr passes
through untouched.
"""

from __future__ import annotations

import atexit
import contextlib
import os
import re
import sys
import threading
import warnings
from dataclasses import dataclass
from types import ModuleType

import numpy as np

from inference.core.errors import ModelError

MEDIAPIPE_VERSION = "0.10.14"
INSTALL_HINT = (f"`bash scripts/setup.sh` installs it (mediapipe=={MEDIAPIPE_VERSION} without its declared "
                "dependencies: see README, never a plain pip install)")
NUM_LANDMARKS = 21
# Lines MediaPipe's C++ side prints while its TFLite interpreters start (harmless, but they break the rule that
# stderr holds our own messages only).
_NOISE = re.compile(
    rb"^(INFO: Created TensorFlow Lite|WARNING: All log messages before absl::InitializeLog|"
    rb"[WI]\d{4} [\d:. ]+\d+ \S+\.cc:\d+\])"
)


def import_mediapipe() -> ModuleType:
    """``mediapipe`` with its bundled hand models, or :class:`ModelError` with one line saying how to get it."""
    if sys.version_info >= (3, 13):
        raise ModelError(f"the MediaPipe teacher needs mediapipe=={MEDIAPIPE_VERSION}, which has no wheels for "
                         f"Python {sys.version_info.major}.{sys.version_info.minor} (use Python 3.10-3.12)")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            import mediapipe
    except ImportError as exc:
        raise ModelError(f"the MediaPipe teacher needs the optional mediapipe package ({exc}); "
                         f"{INSTALL_HINT}") from None
    if not hasattr(mediapipe, "solutions"):
        version = getattr(mediapipe, "__version__", "?")
        raise ModelError(f"mediapipe {version} has no bundled hand models (mediapipe.solutions); {INSTALL_HINT}")
    # protobuf 4.25 warns about a deprecated call inside MediaPipe on every new graph: not ours to fix.
    warnings.filterwarnings("ignore", message=r"SymbolDatabase\.GetPrototype", category=UserWarning)
    return mediapipe


def mediapipe_available() -> bool:
    """True when :func:`import_mediapipe` would succeed (tests and the app's model list use it)."""
    try:
        import_mediapipe()
    except ModelError:
        return False
    return True


class _NativeStderrFilter:
    """While held, file descriptor 2 goes through a pipe whose reader drops MediaPipe's start-up lines and passes
    every other line on to the real stderr. Held by each landmarker from the creation of its graph (whose
    interpreters start in MediaPipe's own threads, some time later) until it has seen a hand; released at exit."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._holders = 0
        self._saved: int | None = None
        self._thread: threading.Thread | None = None
        atexit.register(self._restore)

    def hold(self) -> None:
        with self._lock:
            self._holders += 1
            if self._saved is None:
                self._redirect()

    def release(self) -> None:
        with self._lock:
            self._holders = max(self._holders - 1, 0)
            if self._holders == 0:
                self._restore_locked()

    def _redirect(self) -> None:
        try:
            sys.stderr.flush()
            saved = os.dup(2)
        except (OSError, ValueError):  # no real stderr (e.g. captured by a test runner): nothing to filter
            return
        read_end, write_end = os.pipe()
        os.dup2(write_end, 2)
        os.close(write_end)

        def forward() -> None:
            with os.fdopen(read_end, "rb") as pipe:
                for line in pipe:
                    if not _NOISE.match(line):
                        os.write(saved, line)

        self._saved = saved
        self._thread = threading.Thread(target=forward, name="handpose-mediapipe-stderr", daemon=True)
        self._thread.start()

    def _restore(self) -> None:
        with self._lock:
            self._restore_locked()

    def _restore_locked(self) -> None:
        if self._saved is None:
            return
        with contextlib.suppress(ValueError, OSError):
            sys.stderr.flush()
        os.dup2(self._saved, 2)  # closes the pipe's last write end: the forwarder reads to the end and stops
        if self._thread is not None:
            self._thread.join(2.0)
        os.close(self._saved)
        self._saved = self._thread = None


_STDERR_FILTER = _NativeStderrFilter()


@dataclass
class Landmarks:
    """One hand as MediaPipe sees it.

    Attributes:
        uv_px: ``(21, 2)`` landmark pixels (u column, v row; pixel centres at integers, as the intrinsics).
        world_mm: ``(21, 3)`` MediaPipe's metric hand model (mm, origin near the hand's centre, x right, y down,
            z away from the camera), its own guess of the 3D shape from the colour image alone.
        right: the anatomical handedness (MediaPipe's mirrored label un-mirrored).
        handedness_score: MediaPipe's confidence in its label, in [0.5, 1].
    """

    uv_px: np.ndarray
    world_mm: np.ndarray
    right: bool
    handedness_score: float


class HandLandmarker:
    """``mediapipe.solutions.hands`` on RGB frames.

    Args:
        complexity: 0 = lite landmark model, 1 = full.
        max_hands: hands to look for. In tracking mode the palm detector runs only while fewer hands than
            this are tracked, so 1 is the fast choice for live use.
        static: True = palm detection on every frame (independent images); False = tracking mode (sequences).
        min_detection / min_tracking: MediaPipe's thresholds (palm detection score; hand presence below which
            tracking is dropped and the detector runs again).
        mirror: run on the image flipped left-right (results are mapped back to the original image).
    """

    def __init__(self, complexity: int = 0, max_hands: int = 1, static: bool = False,
                 min_detection: float = 0.5, min_tracking: float = 0.5, mirror: bool = False) -> None:
        self._mp = import_mediapipe()
        self.complexity, self.max_hands, self.static, self.mirror = complexity, max_hands, static, mirror
        self._options = dict(static_image_mode=static, max_num_hands=max_hands, model_complexity=complexity,
                             min_detection_confidence=min_detection, min_tracking_confidence=min_tracking)
        self._quiet = False
        self._hands = self._new_graph()

    def _new_graph(self):  # -> mediapipe.solutions.hands.Hands
        """A fresh graph; its models announce themselves on stderr until the first hand was seen: filter that."""
        if not self._quiet:
            _STDERR_FILTER.hold()
            self._quiet = True
        return self._mp.solutions.hands.Hands(**self._options)

    def _loaded(self) -> None:
        if self._quiet:
            self._quiet = False
            _STDERR_FILTER.release()

    def reset(self) -> None:
        """Forget the tracked hands (a seek or a new sequence): the next frame runs the palm detector."""
        old = self._hands
        self._hands = self._new_graph()
        old.close()

    def close(self) -> None:
        self._hands.close()
        self._loaded()

    def detect(self, rgb: np.ndarray) -> list[Landmarks]:
        """Hands on ``rgb`` ``(H, W, 3)`` uint8 RGB, in MediaPipe's order (empty when none)."""
        image = np.ascontiguousarray(rgb[:, ::-1] if self.mirror else rgb, dtype=np.uint8)
        result = self._hands.process(image)
        if not result.multi_hand_landmarks:
            return []
        self._loaded()  # the detector and the landmark model have both run: no more start-up lines
        h, w = image.shape[:2]
        hands = []
        for marks, world, handed in zip(result.multi_hand_landmarks, result.multi_hand_world_landmarks,
                                        result.multi_handedness, strict=True):
            uv = np.array([(p.x, p.y) for p in marks.landmark], np.float64) * (w, h)  # edges of the pixels
            world_mm = np.array([(p.x, p.y, p.z) for p in world.landmark], np.float64) * 1000.0
            label = handed.classification[0]
            if self.mirror:  # back to the original image; the flipped image is what MediaPipe expects
                uv[:, 0] = w - uv[:, 0]
                world_mm[:, 0] *= -1.0
            hands.append(Landmarks(
                uv_px=uv - 0.5,  # pixel centres at integers, as the intrinsics count them
                world_mm=world_mm,
                right=(label.label == "Right") == self.mirror,
                handedness_score=float(label.score),
            ))
        return hands
