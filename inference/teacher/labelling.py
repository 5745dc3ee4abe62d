"""``handpose label``: run the RGB teacher over an RGB-D source and make an NYU-format folder of its labels.

The folder (written by :class:`inference.formats.recording.Recorder`, i.e. :class:`inference.formats.nyu_io.NyuWriter`):

- ``depth_1_NNNNNNN.png`` / ``rgb_1_NNNNNNN.png``: every frame the source delivered, numbered 1, 2, ... in its
  order, so frame index i of the folder (``replay:DIR``) is row i of ``joint_data.mat`` and line i of
  ``confidence.jsonl``; ``intrinsics.json`` when the camera is not NYU's Kinect;
- ``joint_data.mat``: ``joint_uvd`` and ``joint_xyz`` shaped ``(1, N, 36, 3)`` (u px, v px, d mm / camera space
  mm, y up): the 14 NYU evaluation joints of the labelled hand, the other 22 joints NaN; all 36 NaN for a frame
  without a hand or rejected as unsure (``handpose train`` skips such rows, ``handpose eval`` counts them as
  "not found");
- ``confidence.jsonl`` (:data:`CONFIDENCE_JSONL`), one JSON object per frame, in frame order::

      {"index": 0,                  # frame index in this folder (row of joint_data.mat)
       "source_index": 17,          # Frame.index in the source (a recording's frame number)
       "labelled": true,            # joints written; false: all NaN (no hand, or score < min_score)
       "reason": null,              # why not labelled: "no hand: ...", "score 0.07 < 0.10"
       "score": 0.62,               # the frame score in [0, 1] (null without a hand)
       "min_score": 0.1,            # the rejection threshold used
       "handedness": "right",       # of the labelled hand (MediaPipe's label, un-mirrored)
       "mirrored": false,           # true: a labelled left hand, frame and labels mirrored into a right hand
       "hands": 1,                  # hands the teacher found
       "joint_confidence": [14 x 0-1] (NYU joint order), "evidence": {"depth", "bones", "agreement",
       "handedness", "temporal"},   # the factors of the score (inference/teacher/confidence.py)
       "fit_status": "ok",          # with the fit: "ok" (the fitted joints are the label) or why the teacher's
       "fit_residual_mm": 1.8}      # joints were kept; the fit's mean point-to-surface distance (null: no fit)

One hand per frame: the nearest right hand; when the frame holds only left hands, the nearest left hand, mirrored
into a right hand (NYU's networks learn right hands): the depth and colour images are flipped left-right about
the principal point's column (``u' = 2 cx - u``: a reflection ``x -> -x`` of camera space, so the intrinsics
stay exact; columns with nothing to mirror from become invalid depth 0 and black) and its joints with them
(``u' = 2 cx - u``, ``x' = -x``). ``"mirrored": true`` marks such frames.

The teacher runs with a second opinion (MediaPipe on the frame flipped left-right), looks for two hands and
takes MediaPipe's doubtful hands too (thresholds 0.3 instead of 0.5: the score decides);
the temporal evidence compares each frame's estimate with its neighbours', so a frame is written once the next
one has been estimated.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from inference.core.errors import HandposeError
from inference.core.frame import Frame
from inference.core.skeleton import NUM_JOINTS
from inference.fit.refiner import HandRefiner, Refinement
from inference.formats.recording import Recorder
from inference.runtime.mirror import mirror_image, mirror_uvd
from inference.sources.base import FrameSource
from inference.teacher.confidence import REJECT_BELOW, motion_factor
from inference.teacher.estimator import TeacherEstimator, TeacherHand

CONFIDENCE_JSONL = "confidence.jsonl"
DEFAULT_LABEL_MODEL = "mediapipe-full"
LABEL_MIN_CONFIDENCE = 0.3  # MediaPipe's own thresholds, lowered: the score decides what is kept


@dataclass
class LabelStats:
    """Counts of a labelling run (``frames`` = written to the folder)."""

    frames: int = 0
    labelled: int = 0
    mirrored: int = 0
    no_hand: int = 0
    rejected: int = 0

    def to_json(self) -> dict[str, object]:
        return {
            "frames": self.frames, "labelled": self.labelled,
            "labelled_pct": round(100.0 * self.labelled / self.frames, 2) if self.frames else 0.0,
            "mirrored": self.mirrored, "no_hand": self.no_hand, "rejected": self.rejected,
        }


def choose_hand(hands: list[TeacherHand]) -> TeacherHand | None:
    """The nearest right hand, else the nearest hand (``hands`` are nearest first); None without hands."""
    for hand in hands:
        if hand.right:
            return hand
    return hands[0] if hands else None


@dataclass
class _Pending:
    """A frame estimated but not yet written (it waits for its successor, for the temporal evidence)."""

    frame: Frame
    hand: TeacherHand | None
    hands: int
    reason: str
    fit: Refinement | None = None


class Labeller:
    """Writes a labelled NYU folder from frames handed to :meth:`add` (in source order); :meth:`close` flushes.

    Args:
        estimator: the teacher (a :class:`TeacherEstimator` with ``max_hands=2, second_opinion=True``).
        out_dir: the folder (new or without NYU frames).
        min_score: frames whose score is below this are written unlabelled (all NaN).
        refine: refine the chosen hand by the articulated-hand fit, the teacher's 2-D landmarks a term of it
            (:mod:`inference.teacher.teacher_fit`), where the estimator offers it (``refine_hand``; the tests'
            stand-in teachers do not).
    """

    def __init__(self, estimator: TeacherEstimator, out_dir: str | Path, min_score: float = REJECT_BELOW,
                 refine: bool = True) -> None:
        if not 0.0 <= min_score <= 1.0:
            raise HandposeError(f"--min-score must be within 0..1, got {min_score}")
        self.estimator = estimator
        self.min_score = min_score
        self.out_dir = Path(out_dir)
        self.stats = LabelStats()
        self.refiner = HandRefiner() if refine and hasattr(estimator, "refine_hand") else None
        self._recorder = Recorder(self.out_dir, block=True)
        self._lines = open(self.out_dir / CONFIDENCE_JSONL, "w", encoding="utf-8")  # closed in close()
        self._pending: _Pending | None = None
        self._previous: np.ndarray | None = None  # joints of the frame before the pending one (its hand's)

    def add(self, frame: Frame) -> None:
        """Estimate ``frame`` and write the frame before it."""
        estimate = self.estimator.estimate_frame(frame)
        hand = choose_hand(estimate.hands)
        fit = None
        if self.refiner is not None:
            if hand is None:
                self.refiner.reset("no hand")
            else:
                hand, fit = self.estimator.refine_hand(frame, hand, self.refiner, skip_when_sure=False)
        current = _Pending(frame, hand, len(estimate.hands), estimate.reason, fit)
        if self._pending is not None:
            self._write(self._pending, current.hand)
        self._pending = current

    def close(self) -> LabelStats:
        """Write the last frame, ``joint_data.mat`` and the confidence file. Idempotent."""
        if self._pending is not None:
            self._write(self._pending, None)
            self._pending = None
        if not self._lines.closed:
            self._lines.close()
            self._recorder.close()
        return self.stats

    def __enter__(self) -> Labeller:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _write(self, item: _Pending, following: TeacherHand | None) -> None:
        frame, hand = item.frame, item.hand
        record: dict[str, object] = {"index": self.stats.frames, "source_index": int(frame.index)}
        labels = np.full((NUM_JOINTS, 3), np.nan)
        mirrored = False
        if hand is None:
            self.stats.no_hand += 1
            reason = f"no hand: {item.reason}"
            record.update(labelled=False, reason=reason, score=None, min_score=self.min_score, handedness=None,
                          mirrored=False, hands=item.hands, joint_confidence=None, evidence=None)
            self._previous = None
        else:
            neighbours = [j for j in (self._previous, following.joints_xyz_mm if following else None) if j is not None]
            hand.evidence.temporal = motion_factor(hand.joints_xyz_mm, neighbours)
            self._previous = hand.joints_xyz_mm
            score = hand.score
            labelled = score >= self.min_score
            mirrored = labelled and not hand.right  # a rejected frame carries no label: left as it is
            if labelled:
                labels = hand.joints_uvd
                self.stats.labelled += 1
                self.stats.mirrored += int(mirrored)
            else:
                self.stats.rejected += 1
            record.update(
                labelled=labelled, reason=None if labelled else f"score {score:.2f} < {self.min_score:.2f}",
                score=round(score, 4), min_score=self.min_score, handedness=hand.handedness, mirrored=mirrored,
                hands=item.hands, joint_confidence=np.round(hand.joint_confidence, 4).tolist(),
                evidence=hand.evidence.to_json(),
            )
        if item.fit is not None:
            residual = item.fit.residual_mm
            record.update(fit_status=item.fit.status,
                          fit_residual_mm=None if residual is None else round(float(residual), 3))
        out = replace(frame, joints_uvd=labels, gesture=None)  # the source's own labels never pass through
        if mirrored:
            intr = frame.intrinsics
            out.depth_mm = mirror_image(frame.depth_mm, intr, nearest=True)
            out.color = None if frame.color is None else mirror_image(frame.color, intr, nearest=False)
            out.joints_uvd = mirror_uvd(labels, intr)
        self._recorder.put(out)
        self._lines.write(json.dumps(record) + "\n")
        self._lines.flush()
        self.stats.frames += 1


def label_frames(frames: Iterator[Frame], labeller: Labeller, on_frame: Callable[[], None] | None = None) -> None:
    """Feed ``frames`` to ``labeller`` (the caller closes it, also on Ctrl-C)."""
    for frame in frames:
        labeller.add(frame)
        if on_frame is not None:
            on_frame()


def source_frames(source: FrameSource, max_frames: int | None = None) -> Iterator[Frame]:
    """The frames of an open ``source`` until it ends (or ``max_frames``)."""
    count = 0
    while max_frames is None or count < max_frames:
        frame = source.read()
        if frame is None:
            return
        count += 1
        yield frame
