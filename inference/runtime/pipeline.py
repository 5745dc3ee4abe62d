"""The per-frame pipeline: segment -> crop -> estimate -> decode -> fit the hand model -> smooth -> gesture.

One code path for live cameras, recordings and replays (no ``if live:``): a :class:`Frame` goes in, a
:class:`FrameResult` comes out with per-stage timings. Bad frames (empty, all-invalid, NaN/inf depth, no
hand in range) give ``pose.found = False`` and never raise. :meth:`Pipeline.update_settings` may be called
from another thread (the app's controls) between frames.

Several hands (``PipelineSettings.max_hands=2``): every hand candidate of the segmentation is estimated with its own
track (side, filters, fit; :mod:`inference.runtime.hands`), a left hand in the mirrored image, all crops of a frame
as one network batch; ``pose`` is the nearest hand and ``pose.hands`` lists them all.

A frame-level estimator (:class:`inference.runtime.estimator.FrameEstimator`, the MediaPipe teacher) replaces
segment -> crop -> network by one call on the whole frame, timed as ``infer``; the pipeline picks that path once,
when it is built.
"""

from __future__ import annotations

import dataclasses
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from inference.core.frame import Frame, HandCrop, HandPose
from inference.core.geometry import Intrinsics, uvd_to_xyz, xyz_to_uvd
from inference.core.skeleton import EVAL_JOINT_IDS
from inference.fit.observation import observe
from inference.fit.refiner import STATUS_OK, HandRefiner, Refinement, RefineSettings
from inference.handmodel.palm_convention import palm_middle
from inference.preprocess.crop import decode_prediction, make_crop
from inference.preprocess.segmentation import (
    STEP,
    HandSearch,
    Segmentation,
    SegmentationParams,
    segment_hand,
    with_other_end,
    without_hands,
    without_piece,
)
from inference.runtime.estimator import Estimator, FrameEstimator, load_estimator, predict_crops
from inference.runtime.gestures import classify_gesture
from inference.runtime.hands import LEFT, RIGHT, HandednessSettings, HandTrack, HandTracks, other_side
from inference.runtime.mirror import mirror_image, mirror_uvd, mirror_xyz
from inference.runtime.scene_cut import SceneCuts
from inference.runtime.side_classifier import SideClassifier, load_side_classifier
from inference.runtime.smoothing import JointSmoother, SmoothingParams
from inference.runtime.turned_views import predict_turned

# Keys of HandPose.timings_ms; total = segment + crop + infer + fit + post (capture is reported apart).
STAGES: tuple[str, ...] = ("capture", "segment", "crop", "infer", "fit", "post", "total")


@dataclass(frozen=True)
class PipelineSettings:
    """What a user may change while running.

    Attributes:
        segmentation: hand segmentation parameters.
        cube_mm: crop cube edge (mm); None = the one the model was trained with (its metadata).
        smoothing: smooth the joints over time (:mod:`inference.runtime.smoothing`; resets on discontinuities).
        smoothing_params: the filter's parameters (cutoffs in Hz, speeds in mm/s).
        gestures: classify a gesture from the joints (14-joint models only).
        refine: fit the articulated hand model to the depth after the network (:mod:`inference.fit`; models that
            estimate the 14 NYU joints only).
        refine_settings: the fit's settings.
        recentre_mm: when the network puts the palm farther than this from the crop's centre, crop again around
            the palm it found and ask again (DeepPrior++'s refinement: a crop that started on a forearm or a wrist
            walks to the hand); at most ``recentre_passes`` more passes.
        recentre_passes: the most extra network passes a frame may take for that.
        max_hands: 1 = the nearest hand only (no handedness, the single-hand path); 2 (the default) = up to two
            hands, each with its side (left hands through the mirrored image), identity, filter and fit over time
            (:mod:`inference.runtime.hands`; crop networks with the 14 NYU joints only; other models take the
            single-hand path). ``pose.hands`` lists them, nearest first; the pose itself is the nearest. With one
            hand in view it costs about what the single-hand path does (``recheck_every``; on a one-hand sequence
            1.04-1.11x its median frame, 1.25-1.35x its mean; the demo 1.11-1.13x and 1.17-1.22x).
        handedness: when a hand's side is held and how hands are followed across frames.
        recheck_every: with two hands, what seldom changes is checked on one frame in this many (1: every frame):
            - while exactly one hand is followed (:meth:`HandTracks.alone`: read as a hand on the last frame,
              the nearest candidate, or its blob's other end, still where it was, no other candidate being weighed
              and no other hand lost in the last ``_RECENT_LOSS_S``), the search for hands after the nearest: a
              second hand coming into view is found up to ``recheck_every - 1`` frames later (twice that once the
              hand has been alone for ``_LONG_ALONE_S``), and the frames between cost what the single-hand path's
              do (:meth:`Pipeline._quiet`: nothing more is looked for or read on them);
            - the classifier's reading of a hand followed, confirmed, its side held and read surely as a hand with
              that side (:meth:`Pipeline._remembered_reads`), and the spare candidate where such a hand reads
              doubtfully (a hand half hidden by the other does for as long as it is);
            - a tracked fit's finger retries that changed nothing (``RefineSettings.retry_every``).
        side_classifier: with two hands, also read each hand's side (and whether it is a hand) from its depth crop
            with the left/right classifier (``models/side/sidenet.onnx``, :mod:`inference.runtime.side_classifier`) when
            it is installed; off: from the fit residuals alone.
        hidden_hold_s: with two hands, a hand shown up to this long ago (s) that the other hand or its arm now hides
            (nothing found where it was, and the depth at its palm a surface 30 mm or more in front of it) is shown at
            its last pose, ``hidden``, its score halved, as trackers coast through short occlusions; 0: never.
            Hands crossing in front of each other hide one for a few frames: two-hand set E, frames 173-178 (both
            found 98.0 -> 99.3%: 4 frames held, each palm within 27 mm; its mean error 7.96 -> 8.46 mm, the held poses
            lag the hand).
    """

    segmentation: SegmentationParams = field(default_factory=SegmentationParams)
    cube_mm: float | None = None
    smoothing: bool = True
    smoothing_params: SmoothingParams = field(default_factory=SmoothingParams)
    gestures: bool = True
    refine: bool = True
    refine_settings: RefineSettings = field(default_factory=RefineSettings)
    recentre_mm: float = 20.0
    recentre_passes: int = 3
    max_hands: int = 2
    handedness: HandednessSettings = field(default_factory=HandednessSettings)
    side_classifier: bool = True
    recheck_every: int = 3
    hidden_hold_s: float = 0.3

    def __post_init__(self) -> None:
        if not 1 <= self.max_hands <= 2:
            raise ValueError(f"max_hands must be 1 or 2, got {self.max_hands}")
        if self.recheck_every < 1:
            raise ValueError(f"recheck_every must be at least 1, got {self.recheck_every}")
        if not self.hidden_hold_s >= 0.0:
            raise ValueError(f"hidden_hold_s must be 0 or more (s), got {self.hidden_hold_s}")


@dataclass
class FrameResult:
    """Everything the pipeline knows about one frame (what views and sinks draw from).

    Attributes:
        frame: the input frame.
        pose: the estimate (``found`` False when there is no hand), with ``timings_ms``.
        crop: the network input, or None when no hand was segmented.
        segmentation: the segmentation result (``reason`` says why nothing was found).
        fit: the model-based refinement of this frame (its pose, residual, status), or None when not refined.
    """

    frame: Frame
    pose: HandPose
    crop: HandCrop | None
    segmentation: Segmentation
    fit: Refinement | None = None
    hands: list[HandResult] | None = None


@dataclass
class HandResult:
    """One hand of a several-hands frame (``FrameResult.hands``, nearest first; ``pose`` is also in
    ``FrameResult.pose.hands``).

    Attributes:
        pose: its estimate (``handedness`` set; joints in the real camera).
        crop: the network input it was estimated from (the mirrored image's crop for a left hand).
        segmentation: its candidate of the segmentation.
        fit: its fit (in the mirrored image for a left hand), or None.
        track_id: the number that stays with this hand across frames.
    """

    pose: HandPose
    crop: HandCrop | None
    segmentation: Segmentation
    fit: Refinement | None
    track_id: int


@dataclass
class _Job:
    """One hand hypothesis being estimated: a side's view of one hand candidate.

    ``depth``/``color`` are the images in that side's space (mirrored for a left hand), ``centre`` ``(3,)`` the crop
    centre (u px, v px, d mm) in it; the results (crop, joints, fit) are in that space too."""

    side: str
    depth: np.ndarray
    color: np.ndarray | None
    centre: np.ndarray
    passes_left: int
    crop: HandCrop | None = None
    xyz_mm: np.ndarray | None = None
    uvd: np.ndarray | None = None
    fit: Refinement | None = None
    joints36: np.ndarray | None = None


_SAME_HAND_MM = 80.0  # two candidates' palm centres this close are one hand
_SURE_HAND_LOGIT = 4.0  # the classifier's "a hand" logit above which a blob's other end is not read
# The other end must read this much more like a hand to be taken: where both ends read alike (two forearm ends, -13.4
# against -13.6) the choice is a coin toss that lost the hand on a development sequence; where the other end is the
# hand, it reads 15-30 higher.
_OTHER_END_MARGIN = 4.0
# A spare candidate is searched for where a candidate reads less surely as a hand than this (or fewer candidates than
# --max-hands are hands). Measured on the development sequences: wherever the spare was kept, a candidate read 5.3 or
# less, except one stretch (9.7-10.5 against the spare's 12.3-14.3); second hands read 10-30 (a few 3-10).
_SPARE_LOGIT = 12.0
# The nearest candidate reads below this as a hand at its better end: its blob grown deeper is tried (a forearm's end
# reads -5 to -13; nearest hands 15-30).
_NOT_A_HAND_LOGIT = 0.0
# A hand other than the followed one lost this recently (s) may come back any frame: look for it on every frame.
_RECENT_LOSS_S = 1.0
# A hand followed alone this long (s): the search for more hands runs on one frame in _LONG_ALONE_LOOKS *
# recheck_every (6: a hand coming into view is found within 0.2 s at 30 fps), as the single-hand path costs on the
# frames between (measured on the one-hand seed 612: the frames that looked cost 18 ms against 8).
_LONG_ALONE_S = 1.0
_LONG_ALONE_LOOKS = 2
# A candidate cut from the first hand's blob (Segmentation.touching) is a hand only when the classifier reads it as
# surely one: the piece is more often the first hand's own forearm. Measured on the development sets: the forearm
# pieces of one-hand frames read -11.2 (median of 125 on a sequence) to 4.2 (the most of 57 on random frames),
# touching hands 10.4 to 20.0 (5 frames).
_TOUCHING_HAND_LOGIT = 6.0


def _more_like_a_hand(other_logit: float, logit: float) -> bool:
    """A blob's other end reads clearly more like a hand than the segmentation's end (``_OTHER_END_MARGIN``)."""
    return other_logit > logit + _OTHER_END_MARGIN


def _take_other_end(seg: Segmentation) -> Segmentation:
    """``seg``'s other end as the hand; the end taken for the arm's root is now its other end."""
    end = seg.other_end
    assert end is not None
    seg.other_end, end.other_end = None, seg
    return end


_NEAR_WINDOW_PX = 7  # half-size of the window looked at around a proposed centre
_NEAR_MM = 80.0  # a hand's surface lies within this of its palm centre's depth


def _surface_near(depth: np.ndarray, centre_uvd: np.ndarray) -> bool:
    """Whether the camera sees a surface near ``centre_uvd`` (u px, v px, d mm): inside the image, with valid depth
    within ``_NEAR_MM`` of ``d`` in the window around it (a centre proposed by the network or the previous frame
    must land on something, or a wrong guess would walk the crop into empty space)."""
    u, v, d = (float(c) for c in centre_uvd)
    height, width = depth.shape
    if not (np.isfinite(u) and np.isfinite(v) and d > 0 and 0 <= u < width and 0 <= v < height):
        return False
    patch = _window(depth, int(u), int(v))
    return bool(np.count_nonzero(np.abs(patch.astype(np.float32) - np.float32(d)) <= _NEAR_MM) >= 5)


def _window(depth: np.ndarray, u: int, v: int) -> np.ndarray:
    """The depth within ``_NEAR_WINDOW_PX`` of pixel ``(u, v)`` (inside the image), cut at the image's border."""
    r = _NEAR_WINDOW_PX
    return depth[max(v - r, 0): v + r + 1, max(u - r, 0): u + r + 1]


def _looks_every(settings: PipelineSettings, followed_s: float) -> int:
    """What seldom changes is checked on one frame in this many, for a hand followed ``followed_s`` (s):
    ``recheck_every``, ``_LONG_ALONE_LOOKS`` times that from ``_LONG_ALONE_S`` on."""
    return settings.recheck_every * (_LONG_ALONE_LOOKS if followed_s >= _LONG_ALONE_S else 1)


_HIDDEN_MM = 30.0  # a hand is behind a surface this much nearer than its palm


def _behind_nearer_surface(depth: np.ndarray, palm_uvd: np.ndarray) -> bool:
    """Whether the depth around the palm's pixel (``_NEAR_WINDOW_PX``) is mostly a surface ``_HIDDEN_MM`` or more in
    front of the palm (a palm outside the image is not hidden: it left the view)."""
    u, v, d = round(float(palm_uvd[0])), round(float(palm_uvd[1])), float(palm_uvd[2])
    h, w = depth.shape
    if not (0 <= u < w and 0 <= v < h):
        return False
    window = _window(depth, u, v)
    values = window[window > 0]
    return values.size > window.size // 2 and float(np.median(values)) < d - _HIDDEN_MM


def _covers(seg: Segmentation, depth: np.ndarray, intr: Intrinsics) -> Callable[[np.ndarray], bool]:
    """Whether ``seg``'s blob lies over a point ``(3,)`` (mm): one of its samples at the point's pixel (or a neighbour
    on the search grid), the camera seeing a surface there near the point's depth (:func:`_surface_near`)."""

    def covers(xyz_mm: np.ndarray) -> bool:
        if seg.blob_vu_px is None:
            return False
        uvd = xyz_to_uvd(np.asarray(xyz_mm, np.float64), intr)
        if not _surface_near(depth, uvd):
            return False
        cell = np.array([uvd[1], uvd[0]]) // STEP
        return bool((np.abs(seg.blob_vu_px // STEP - cell).max(axis=1) <= 1).any())

    return covers


def _sanitised_depth(depth: np.ndarray) -> np.ndarray | None:
    """Depth with non-finite values zeroed (float sources), or None when it is not a usable 2-D image."""
    if depth.ndim != 2 or depth.size == 0:
        return None
    if depth.dtype.kind == "f" and not np.isfinite(depth).all():
        depth = np.where(np.isfinite(depth), depth, 0.0)
    return depth


def _others(segs: list[Segmentation], k: int, masked: list[bool], intr: Intrinsics) -> list[Segmentation]:
    """What to take out of candidate ``k``'s depth: the other candidates (those ``masked``), with the other end of
    their blobs too (the rest of the other arm, which the network would otherwise take for a part of this hand), but
    not an end that lies where candidate ``k`` is (two hands touching in the image make one blob)."""
    mine = uvd_to_xyz(segs[k].com_uvd, intr)
    out = []
    for j, seg in enumerate(segs):
        if j == k or not masked[j]:
            continue
        out += [end for end in (seg, seg.other_end) if end is not None and
                (end is seg or np.linalg.norm(uvd_to_xyz(end.com_uvd, intr) - mine) > _SAME_HAND_MM)]
    return out


def _pick(segs: list[Segmentation], reads: list[list[np.ndarray]], intr: Intrinsics
          ) -> list[tuple[int, bool, np.ndarray]]:
    """Which candidates are hands, from the classifier's ``reads`` (:meth:`Pipeline._read`): ``(k, other, read)``
    for candidate ``k`` (its other end when ``other``), the nearest first; without changing the candidates.

    A blob's other end is taken where it reads clearly more like a hand; a later candidate where the nearest one is
    is the same hand; a piece of the first hand's blob (``touching``) only when it reads surely as a hand beside a
    first hand that is surely one (where the first is an arm's end, the piece is that arm's own hand: taken as the
    first's other end, or by the crop's recentring; otherwise it is the first hand's own forearm, or clutter).
    """
    picks: list[tuple[int, bool, np.ndarray]] = []
    first_xyz = None
    for k, seg in enumerate(segs):
        read, other = reads[k][0], False
        if len(reads[k]) > 1 and _more_like_a_hand(float(reads[k][1][1]), float(read[1])):
            read, other = reads[k][1], True
        end = seg.other_end if other else seg
        assert end is not None
        xyz = uvd_to_xyz(end.com_uvd, intr)
        if first_xyz is None:
            first_xyz = xyz
        elif np.linalg.norm(xyz - first_xyz) <= _SAME_HAND_MM:
            continue  # the nearest candidate's other end: the same hand
        if seg.touching and (read[1] <= _TOUCHING_HAND_LOGIT or reads[0][0][1] < _SURE_HAND_LOGIT):
            continue
        picks.append((k, other, read))
    return picks


@dataclass
class _ClassifyTimes:
    """Where :meth:`Pipeline._classify` spent its time (s): the spare's search, the crops, the classifier."""

    search_s: float = 0.0
    crop_s: float = 0.0
    infer_s: float = 0.0


class _MaskedDepths:
    """A frame's depth without some hands (:func:`without_hands`), each set of hands taken out once per frame (the
    classifier's crops and the network's usually want the same)."""

    def __init__(self, depth: np.ndarray) -> None:
        self.depth = depth
        self._made: dict[tuple[int, ...], np.ndarray] = {}

    def without(self, others: list[Segmentation]) -> np.ndarray:
        key = tuple(sorted(id(seg) for seg in others))
        if key not in self._made:
            self._made[key] = without_hands(self.depth, others)
        return self._made[key]


class Pipeline:
    """Turns frames into hand poses with one :class:`Estimator`.

    Args:
        estimator: the network (ONNX or torch backend); its metadata sets crop size, cube and RGB statistics.
        settings: initial settings (defaults: the model's cube, smoothing on, gestures on).
        side_classifier: the left/right classifier for two hands; default: the installed one
            (:func:`inference.runtime.side_classifier.load_side_classifier`), loaded at the first two-hand frame.
    """

    def __init__(self, estimator: Estimator | FrameEstimator, settings: PipelineSettings | None = None,
                 side_classifier: SideClassifier | None = None) -> None:
        self.estimator = estimator
        self._side_classifier = side_classifier
        self._side_classifier_loaded = side_classifier is not None
        meta = estimator.metadata
        self._frame_level = isinstance(estimator, FrameEstimator)
        self._process = self._process_whole_frame if self._frame_level else self._process_crop
        self._rgb_mean = np.asarray(meta.rgb_mean, np.float32) if meta.rgb_mean is not None else None
        self._rgb_std = np.asarray(meta.rgb_std, np.float32) if meta.rgb_std is not None else None
        self._gestures_possible = list(meta.joint_ids) == list(EVAL_JOINT_IDS)
        # The fit needs the 14 NYU joints to start from and a crop to look in: the network's, or one a frame
        # estimator derives from its own hand (the teacher's refine_hand).
        self._refinable = self._gestures_possible and (not self._frame_level or hasattr(estimator, "refine_hand"))
        self._lock = threading.Lock()
        self._filter = JointSmoother()
        self._filter36 = JointSmoother()  # the fitted model's 36 joints, smoothed alike
        self._refiner = HandRefiner()
        self._tracks = HandTracks()  # several hands: one track each (used when settings.max_hands > 1)
        self._last_index: int | None = None
        self._last_timestamp_s: float | None = None
        self._frame_step_s = 1.0 / 30.0  # the last interval between frames (s)
        self._cuts = SceneCuts()
        self._since_search = 0  # two hands: frames since the hands after the nearest were last looked for
        self._alone_since_s: float | None = None  # the first frame of the hand followed alone now (see _quiet)
        self._since_spare = 0  # and since a spare was due for a followed hand that reads doubtfully
        self._reset_pending = False
        self.update_settings(settings or PipelineSettings())

    @classmethod
    def from_model(
        cls, path: str | Path | None = None, settings: PipelineSettings | None = None, providers: str = "auto"
    ) -> Pipeline:
        """A pipeline over the ONNX model at ``path`` (default:
        :func:`inference.runtime.estimator.default_model_path`)."""
        return cls(load_estimator(path, providers=providers), settings)

    @property
    def settings(self) -> PipelineSettings:
        return self._settings

    @property
    def cube_mm(self) -> float:
        """The crop cube in use (mm)."""
        return self._settings.cube_mm or self.estimator.metadata.cube_mm

    def update_settings(self, settings: PipelineSettings | None = None, **changes: object) -> PipelineSettings:
        """Replace the settings (whole, or the named fields); safe between frames from any thread.

        Changing the smoothing parameters restarts the filter (the next frame passes through unsmoothed).
        """
        with self._lock:
            new = settings or self._settings
            new = dataclasses.replace(new, **changes) if changes else new
            if new.smoothing_params != self._filter.params:
                self._filter = JointSmoother(new.smoothing_params)
                self._filter36 = JointSmoother(new.smoothing_params)
            if new.refine_settings != self._refiner.settings:
                self._refiner = HandRefiner(new.refine_settings)
            refine_hands = dataclasses.replace(new.refine_settings, retry_every=new.recheck_every)
            if (new.smoothing_params, refine_hands, new.handedness, new.max_hands) != (
                    self._tracks.smoothing_params, self._tracks.refine_settings, self._tracks.settings,
                    self._tracks.max_hands):
                self._tracks = HandTracks(new.handedness, refine_hands, new.smoothing_params, new.max_hands)
            self._settings = new
            return new

    def reset(self) -> None:
        """Forget the smoothing history, the fit's track (and the sensor's residual floor) and a frame estimator's
        tracking (e.g. when the source is switched or seeks), from the next frame on.

        Safe from any thread: the reset is applied by the thread that processes frames, at the start of its next
        frame, never in the middle of one (a fit or a filter that is half-way through a frame would otherwise see
        its track vanish under it).
        """
        with self._lock:
            self._reset_pending = True
            self._last_index = self._last_timestamp_s = None

    def _apply_pending_reset(self) -> None:
        """Called with the lock held, by the processing thread, before a frame."""
        if not self._reset_pending:
            return
        self._reset_pending = False
        self._filter.reset("pipeline reset")
        self._filter36.reset("pipeline reset")
        self._refiner.reset("pipeline reset", sensor=True)
        self._cuts.reset()
        self._tracks = self._tracks.fresh()
        self._since_search = self._since_spare = 0
        self._alone_since_s = None
        if self._frame_level:
            self.estimator.reset()

    def process(self, frame: Frame, capture_ms: float = 0.0, com_uvd: np.ndarray | None = None) -> FrameResult:
        """Run all stages on ``frame``; ``capture_ms`` (time the source took to deliver it) is recorded as is.

        ``com_uvd`` ``(3,)`` (u px, v px, d mm), when given, is the crop centre instead of the segmentation's
        (evaluation of the network alone on label-centred crops, see
        :func:`inference.preprocess.crop.labels_centre_uvd`);
        a frame-level estimator has no crop and refuses it.
        """
        with self._lock:
            self._apply_pending_reset()
            # A frame that does not follow the last one (a loop, a seek back, another scene) starts afresh: filters
            # and fits restart, the hands followed keep their sides (a loop or a seek shows the same person; another
            # source comes with a reset). Forgetting the tracks at a loop made the demo's first frame of each loop fit
            # both sides with the size search (170-250 ms every 40 frames).
            went_back = self._last_index is not None and frame.index <= self._last_index
            cut = self._cuts.is_cut(frame.depth_mm)  # every frame: it compares with the one before
            if went_back or cut:
                reason = "frame index went back" if went_back else "the scene changed"
                self._filter.reset(reason)
                self._filter36.reset(reason)
                self._refiner.reset(reason)
                self._tracks.restart_at_cut(reason)
            if went_back and self._last_timestamp_s is not None:
                # A loop or a seek back restarts the source's clock too (ReplaySource): the hands' times move with it,
                # as if this frame came one step after the last (else a track from before would stay "recent" and
                # unforgotten until the clock caught up with it).
                shift = frame.timestamp_s - (self._last_timestamp_s + self._frame_step_s)
                self._tracks.shift_clock(shift)
                if self._alone_since_s is not None:
                    self._alone_since_s += shift
            elif self._last_timestamp_s is not None and frame.timestamp_s > self._last_timestamp_s:
                self._frame_step_s = frame.timestamp_s - self._last_timestamp_s
            self._last_index, self._last_timestamp_s = frame.index, frame.timestamp_s
        return self._process(frame, float(capture_ms), com_uvd)

    def _smooth_and_classify(self, xyz_mm: np.ndarray, joints36: np.ndarray | None, frame: Frame,
                             settings: PipelineSettings, smoothers: tuple[JointSmoother, JointSmoother]
                             ) -> tuple[np.ndarray, np.ndarray, np.ndarray | None, np.ndarray | None, str | None,
                                        float]:
        """The post stage of a found hand: smoothing with that hand's ``smoothers`` (the 14 joints, and the fitted
        model's 36 alike), pixels, gesture -> (xyz_mm, uvd, joints36, uvd36, gesture, confidence)."""
        smoother, smoother36 = smoothers
        if settings.smoothing:
            xyz_mm = smoother.filter(xyz_mm, frame.timestamp_s)
        uvd = xyz_to_uvd(xyz_mm, frame.intrinsics)
        uvd36 = None
        if joints36 is None:
            smoother36.reset("no fit")
        else:
            if settings.smoothing:
                joints36 = smoother36.filter(joints36, frame.timestamp_s)
            uvd36 = xyz_to_uvd(joints36, frame.intrinsics)
        gesture, confidence = None, 0.0
        if settings.gestures and self._gestures_possible:
            gesture, confidence = classify_gesture(xyz_mm)
        return xyz_mm, uvd, joints36, uvd36, gesture, confidence

    def _lost(self, reason: str) -> None:
        """No hand this frame: the next one must not be pulled toward (or fitted from) the last one."""
        with self._lock:
            self._filter.reset(reason)
            self._filter36.reset(reason)
            self._refiner.reset(reason)

    def _network(self, jobs: list[_Job], intr: Intrinsics, settings: PipelineSettings) -> tuple[float, float]:
        """Crop and estimate every job, all of them as one batch; while the network puts a palm well away from its
        crop's centre, crop around it again and ask again (those jobs only) -> (crop_s, infer_s)."""
        meta = self.estimator.metadata
        cube_mm = settings.cube_mm or meta.cube_mm
        crop_s = infer_s = 0.0
        active = jobs
        while active:
            ta = time.perf_counter()
            crops = [
                make_crop(job.depth, job.centre, intr, cube_mm, color=job.color if meta.uses_rgb else None,
                          rgb_mean=self._rgb_mean, rgb_std=self._rgb_std, size=meta.input_size)
                for job in active
            ]
            tb = time.perf_counter()
            joints_norm = predict_crops(self.estimator, crops)  # (B, J, 3) cube units
            tc = time.perf_counter()
            crop_s, infer_s = crop_s + tb - ta, infer_s + tc - tb
            again = []
            for job, crop, norm in zip(active, crops, joints_norm, strict=True):
                job.crop = crop
                job.xyz_mm, job.uvd = decode_prediction(norm, crop, intr)
                if job.passes_left <= 0 or not self._gestures_possible or not np.isfinite(job.xyz_mm).all():
                    continue
                palm = palm_middle(job.xyz_mm)  # the palm body's middle: where training crops were centred
                palm_uvd = xyz_to_uvd(palm, intr)
                if np.linalg.norm(palm - crop.com_xyz_mm) <= settings.recentre_mm or not _surface_near(job.depth,
                                                                                                       palm_uvd):
                    continue  # close enough, or the network points where the camera sees no hand: keep this crop
                job.centre = palm_uvd
                job.passes_left -= 1
                again.append(job)
            active = again
        return crop_s, infer_s

    def _fit(self, job: _Job, refiner: HandRefiner, frame: Frame, views: bool = True) -> None:
        """Fit the hand model to the job's hand (in the job's space) and use the fitted joints when accepted;
        ``views``: a poor fit may try the network's turned views (``RefineSettings.view_residual_mm``)."""
        assert job.crop is not None and job.xyz_mm is not None
        crop = job.crop

        def turned(angles_deg: tuple[float, ...]) -> np.ndarray:  # the network's joints for the crop turned (mm)
            joints = predict_turned(self.estimator, crop, angles_deg)
            return np.stack([decode_prediction(j, crop, frame.intrinsics)[0] for j in joints])

        job.fit = refiner.refine(observe(job.depth, crop, frame.intrinsics, palm_middle(job.xyz_mm)), job.xyz_mm,
                                 frame.index, views=turned if views else None)
        if job.fit.status == STATUS_OK:
            job.joints36 = job.fit.joints_xyz_mm
            job.xyz_mm = job.joints36[list(EVAL_JOINT_IDS)]
            job.uvd = xyz_to_uvd(job.xyz_mm, frame.intrinsics)

    def _process_crop(self, frame: Frame, capture_ms: float, com_uvd: np.ndarray | None) -> FrameResult:
        """segment -> crop (re-centred on the palm found) -> network -> decode -> fit -> post."""
        with self._lock:
            settings, refiner = self._settings, self._refiner
        if settings.max_hands > 1 and com_uvd is None and self._refinable:
            return self._process_hands(frame, capture_ms, settings)
        timings = {"capture": float(capture_ms)}
        t0 = time.perf_counter()

        depth = _sanitised_depth(np.asarray(frame.depth_mm))
        if depth is None:
            seg = Segmentation(False, reason=f"depth must be a non-empty 2-D image, got shape {frame.depth_mm.shape}")
        elif com_uvd is not None:
            seg = Segmentation(True, com_uvd=np.asarray(com_uvd, np.float64))
        else:
            seg = segment_hand(depth, frame.intrinsics, settings.segmentation)
            if not self._follows_track(seg, refiner, frame.intrinsics):
                seg = self._hand_end(depth, seg, frame.intrinsics, settings)
        t1 = time.perf_counter()
        timings["segment"] = (t1 - t0) * 1e3
        if not seg.found:
            self._lost("hand lost")
            for stage in ("crop", "infer", "fit", "post"):
                timings[stage] = 0.0
            timings["total"] = timings["segment"]
            return FrameResult(frame, HandPose(found=False, timings_ms=timings), None, seg)

        # The segmentation's centre, not the previous frame's palm: following the previous palm (against a centre
        # that jumped to another blob) was measured to cost accuracy once the crop re-centres itself and the fit
        # tracks (random frames 18.5 -> 36.6 mm, sequences 8.1 -> 8.3 mm; docs/fitting.md).
        job = _Job(RIGHT, depth, frame.color, seg.com_uvd, 0 if com_uvd is not None else settings.recentre_passes)
        crop_s, infer_s = self._network([job], frame.intrinsics, settings)
        t3 = time.perf_counter()
        crop, xyz_mm, uvd = job.crop, job.xyz_mm, job.uvd
        assert crop is not None and xyz_mm is not None
        found = bool(np.isfinite(xyz_mm).all())
        joints36 = fit_residual = fit_status = fit = None
        if found and settings.refine and self._refinable:
            self._fit(job, refiner, frame)
            fit, xyz_mm, uvd, joints36 = job.fit, job.xyz_mm, job.uvd, job.joints36
            fit_residual, fit_status = fit.residual_mm, fit.status
        t_fit = time.perf_counter()
        gesture, confidence, uvd36 = None, 0.0, None
        if found:
            with self._lock:
                smoothers = self._filter, self._filter36
            xyz_mm, uvd, joints36, uvd36, gesture, confidence = self._smooth_and_classify(
                xyz_mm, joints36, frame, settings, smoothers)
        else:
            self._lost("hand lost")
            xyz_mm = uvd = None
        t4 = time.perf_counter()
        timings.update(crop=crop_s * 1e3, infer=infer_s * 1e3, fit=(t_fit - t3) * 1e3, post=(t4 - t_fit) * 1e3)
        timings["total"] = sum(timings[k] for k in ("segment", "crop", "infer", "fit", "post"))
        pose = HandPose(
            found=found, joints_xyz_mm=xyz_mm, joints_uvd=uvd, com_xyz_mm=crop.com_xyz_mm, timings_ms=timings,
            gesture=gesture, gesture_confidence=confidence, joints36_xyz_mm=joints36, joints36_uvd=uvd36,
            fit_residual_mm=fit_residual, fit_status=fit_status,
        )
        return FrameResult(frame, pose, crop, seg, fit)

    def _process_hands(self, frame: Frame, capture_ms: float, settings: PipelineSettings) -> FrameResult:
        """Up to ``max_hands`` hands: segment -> match to tracks -> per hand and side hypothesis crop (a left hand in
        the mirrored image) -> network (all crops one batch) -> fit -> side evidence -> post, per hand."""
        with self._lock:
            tracks = self._tracks
        intr = frame.intrinsics
        timings = {"capture": float(capture_ms)}
        t0 = time.perf_counter()
        depth = _sanitised_depth(np.asarray(frame.depth_mm))
        search, quiet = None, False
        if depth is None:
            segs = [Segmentation(False, reason=f"depth must be a non-empty 2-D image, got shape "
                                               f"{frame.depth_mm.shape}")]
        else:
            search = HandSearch(depth, intr, settings.segmentation, settings.max_hands, further=False)
            quiet = self._quiet(tracks, search, frame, settings)
            if not quiet:
                search.further()
            segs = search.hands
        t1 = time.perf_counter()
        timings["segment"] = (t1 - t0) * 1e3
        if not segs[0].found:
            tracks.lose_all()
            timings.update(crop=0.0, infer=0.0, fit=0.0, post=0.0, total=timings["segment"])
            return FrameResult(frame, HandPose(found=False, timings_ms=timings, hands=[]), None, segs[0], hands=[])
        assert depth is not None
        masked = _MaskedDepths(depth)
        remembered, settled = self._remembered_reads(tracks, segs, intr, settings, frame.timestamp_s, quiet)
        segs, logits, classify = self._classify(masked, segs, intr, settings, search, remembered, settled)
        timings["segment"] += classify.search_s * 1e3
        found_tracks = tracks.match([uvd_to_xyz(seg.com_uvd, intr) for seg in segs], frame.timestamp_s,
                                    [_covers(seg, depth, intr) for seg in segs])
        if logits is not None:  # the classifier's votes, before a side decides which hypotheses run
            for track, seg, (side_logit, hand_logit) in zip(found_tracks, segs, logits, strict=True):
                if id(seg) not in remembered:  # a reading taken this frame
                    track.add_classifier(float(side_logit), float(hand_logit), settings.handedness)
        # Candidates after the nearest that turned out not to be hands are not estimated again while followed.
        keep = [k for k, t in enumerate(found_tracks) if k == 0 or not t.skip(settings.handedness)]
        segs, found_tracks = [segs[k] for k in keep], [found_tracks[k] for k in keep]
        # Each hand sees the depth without the other hands (and the far ends of their arms): a hand within the crop's
        # cube would otherwise be estimated or fitted as part of this one. Not without a candidate that is not
        # confirmed as a hand yet (a forearm, clutter).
        owns = [masked.without(_others(segs, k, [j == 0 or t.confirmed for j, t in enumerate(found_tracks)], intr))
                for k in range(len(segs))]
        tracks.settle_pair([t for k, t in enumerate(found_tracks) if k == 0 or t.confirmed])  # held on one side
        color = frame.color if self.estimator.metadata.uses_rgb else None
        jobs: list[list[_Job]] = []
        for k, (seg, track, own) in enumerate(zip(segs, found_tracks, owns, strict=True)):
            hand_jobs = []
            for side in self._sides_to_run(k, track, found_tracks[0], settings):
                if side == LEFT:
                    hand_jobs.append(_Job(LEFT, mirror_image(own, intr, nearest=True), None if color is None else
                                          mirror_image(color, intr, nearest=False), mirror_uvd(seg.com_uvd, intr),
                                          settings.recentre_passes))
                else:
                    hand_jobs.append(_Job(RIGHT, own, color, seg.com_uvd, settings.recentre_passes))
            jobs.append(hand_jobs)
        t2 = time.perf_counter()
        crop_s, infer_s = self._network([j for hand_jobs in jobs for j in hand_jobs], intr, settings)
        # Between the segmentation and the network: the classifier (timed as search, crop and infer), and what
        # prepares each hand's crops (tracks, sides, the depth without the other hands, mirrored images): crop.
        prepare_s = (t2 - t1) - classify.search_s - classify.crop_s - classify.infer_s
        crop_s, infer_s = crop_s + classify.crop_s + prepare_s, infer_s + classify.infer_s
        t3 = time.perf_counter()
        # The nearest hand, with no other hand confirmed beside it, is fitted as on the single-hand path.
        alone = not any(t.confirmed for t in found_tracks[1:])
        for k, (track, hand_jobs) in enumerate(zip(found_tracks, jobs, strict=True)):
            residual = {}
            # A candidate read as no hand is not fitted (no fit could confirm it: HandTrack.doubted), and a fit track
            # it had restarts: its first fits ran the size search on each frame the search for hands ran (60-75 ms,
            # one frame in three of a one-hand sequence). Its network pass stays: its crop's palm keeps the track on
            # it. Leaving that out too lost a second hand for 12 frames of two-hand sequence 1900.
            doubted = k > 0 and track.doubted(settings.handedness)
            for job in hand_jobs:
                assert job.xyz_mm is not None
                if not np.isfinite(job.xyz_mm).all():
                    residual[job.side] = np.inf
                    continue
                if doubted:
                    residual[job.side] = np.inf
                    if job.side in track.refiners:  # (none is made for it)
                        track.refiners[job.side].reset("read as no hand")
                    continue
                # Deciding the side takes both fits; a held side is fitted only when the fit is asked for.
                if settings.refine or len(hand_jobs) > 1:
                    network = job.xyz_mm, job.uvd
                    # Turned views only for the nearest hand alone (both its hypotheses while its side is open), as on
                    # the single-hand path: in two-hand scenes a third of the fits stay above their bar (a hand
                    # partly hidden by the other), and the views' fits took the fit stage from 14 to 90 ms. A track
                    # starts from the fit of its first frame, so a poor one there lasts (one-hand sequence: a start
                    # without the views left the fit 10-58 mm from the single-hand path's for 150 frames).
                    refiner = track.refiner(job.side)
                    # Both fits retry while the side is open (their residuals are its evidence), and the hand alone
                    # does as on the single-hand path (its results are the single-hand path's).
                    if len(hand_jobs) > 1 or (k == 0 and alone):
                        refiner.retry_rest = 0
                    self._fit(job, refiner, frame, views=k == 0 and alone)
                    assert job.fit is not None
                    residual[job.side] = job.fit.residual_mm if job.fit.residual_mm is not None else np.inf
                    if not settings.refine:  # the fit only told the side: report the network's joints
                        job.xyz_mm, job.uvd, job.joints36 = network[0], network[1], None
            track.add_evidence(residual, settings.handedness, alone=k == 0 and alone)
            track.confirm(residual, settings.handedness)
        # Reported: the nearest candidate (as with one hand), and the others once a hand model has fitted them.
        shown = [k for k, t in enumerate(found_tracks) if k == 0 or t.confirmed]
        segs, found_tracks, jobs = ([xs[k] for k in shown] for xs in (segs, found_tracks, jobs))
        tracks.settle_pair(found_tracks, {t.track_id: tuple(j.side for j in hand_jobs)
                                          for t, hand_jobs in zip(found_tracks, jobs, strict=True)})
        t_fit = time.perf_counter()
        hands: list[HandResult] = []
        for seg, track, hand_jobs in zip(segs, found_tracks, jobs, strict=True):
            job = next((j for j in hand_jobs if j.side == track.side_shown), hand_jobs[0])
            hands.append(self._hand_result(job, seg, track, frame, settings))
        hands += self._hidden(tracks, hands, depth, frame, settings)
        t4 = time.perf_counter()
        timings.update(crop=crop_s * 1e3, infer=infer_s * 1e3, fit=(t_fit - t3) * 1e3, post=(t4 - t_fit) * 1e3)
        timings["total"] = sum(timings[k] for k in ("segment", "crop", "infer", "fit", "post"))
        first = hands[0]
        nearest = dataclasses.replace(first.pose, timings_ms=timings, hands=[h.pose for h in hands])
        return FrameResult(frame, nearest, first.crop, first.segmentation, first.fit, hands=hands)

    @staticmethod
    def _hidden(tracks: HandTracks, hands: list[HandResult], depth: np.ndarray, frame: Frame,
                settings: PipelineSettings) -> list[HandResult]:
        """The hands shown beside another up to ``hidden_hold_s`` ago that nothing found this frame and that lie
        behind a nearer surface now (the other hand or its arm passed in front): their last pose, ``hidden``, its
        score halved. Only a hand last shown beside another: one hand whose track changed (a blob that jumped) left
        its old track lost where the blob now is, in front of where it had been."""
        now, shown = frame.timestamp_s, tracks.last_shown
        found = [hand for hand in hands if hand.pose.found]
        if len(found) >= 2:
            for hand in found:
                shown[hand.track_id] = (hand, now)
        out: list[HandResult] = []
        sides = {hand.pose.handedness for hand in hands}
        palms = [hand.pose.com_xyz_mm for hand in hands if hand.pose.com_xyz_mm is not None]
        present = {t.track_id for t in tracks.tracks if t.present}
        for track_id, (hand, shown_s) in list(shown.items()):
            if now - shown_s > settings.hidden_hold_s:
                del shown[track_id]
                continue
            pose = hand.pose
            if (shown_s == now or track_id in present or len(hands) + len(out) >= settings.max_hands
                    or pose.handedness in sides or pose.com_xyz_mm is None
                    or any(np.linalg.norm(pose.com_xyz_mm - p) <= _SAME_HAND_MM for p in palms)
                    or not _behind_nearer_surface(depth, xyz_to_uvd(pose.com_xyz_mm, frame.intrinsics))):
                continue
            sides.add(pose.handedness)
            out.append(dataclasses.replace(hand, fit=None, pose=dataclasses.replace(
                pose, score=0.5 * (pose.score or 0.0), hidden=True, timings_ms={})))
        return out

    def _quiet(self, tracks: HandTracks, search: HandSearch, frame: Frame, settings: PipelineSettings) -> bool:
        """A quiet frame: one hand is followed alone (:meth:`HandTracks.alone`) at either end of the nearest
        candidate's blob, and the last look for more hands was fewer than ``recheck_every`` frames ago
        (``_LONG_ALONE_LOOKS`` times that once it has been alone for ``_LONG_ALONE_S``; see
        ``PipelineSettings.recheck_every``). Nothing more is looked for or read then: not the hands after the nearest,
        not the classifier (:meth:`_remembered_reads`); where the hand is at the blob's other end, that end is taken
        (as the single-hand path takes the end its fit follows). Otherwise the search for more hands runs."""
        first = search.hands[0]
        if not first.found or first.com_uvd is None:
            self._alone_since_s = None
            return False
        end: Segmentation | None = first
        if not self._alone_at(tracks, first, frame, settings):
            end = search.first_other_end()  # an arm reaching toward the camera: its hand is the far end
            if end is not None and not self._alone_at(tracks, end, frame, settings):
                end = None
        if end is None:
            self._alone_since_s, self._since_search = None, 0
            return False
        if self._alone_since_s is None:
            self._alone_since_s = frame.timestamp_s
        if self._since_search + 1 >= _looks_every(settings, frame.timestamp_s - self._alone_since_s):
            self._since_search = 0
            return False
        self._since_search += 1
        if end is not first:
            search.hands[0] = _take_other_end(first)
        return True

    @staticmethod
    def _sides_to_run(k: int, track: HandTrack, first: HandTrack, settings: PipelineSettings) -> tuple[str, ...]:
        """The side hypotheses to estimate and fit for candidate ``k``: the track's (:meth:`HandTrack.hypotheses`),
        except that a candidate after the nearest, not confirmed and read only doubtfully as a hand (below
        ``HandednessSettings.maybe_logit``: clutter, a forearm, a head read so), runs the side opposite the nearest
        hand's only. Its fit is what may confirm it, and a second fit gives no side evidence where neither fits well;
        the false candidates of one-hand scenes cost two network passes and two fits on every frame they were looked
        at."""
        sides = track.hypotheses()
        if (k == 0 or track.confirmed or len(sides) == 1 or not np.isfinite(track.hand_logit)  # no reading
                or track.hand_logit >= settings.handedness.maybe_logit):
            return sides
        return (other_side(first.side_shown or first.leaning),)

    @staticmethod
    def _alone_at(tracks: HandTracks, end: Segmentation, frame: Frame, settings: PipelineSettings) -> bool:
        """One hand is followed alone at ``end`` (:meth:`HandTracks.alone`), read as a hand on its last reading
        (``HandednessSettings.maybe_logit``, 7). The bar was ``sure_logit`` (10): the demo's hand reads 7-11, so it was
        looked past on 38% of its frames, at 1.5x the single-hand path's median frame (now 1.12x). Bar 7 was tried
        before and reported a candidate reading -3 to -5 as the nearest hand for 16 frames of the 480-frame one-hand
        sequence; since candidates read as no hand are neither fitted nor confirmed (``confirm_min_logit``), the
        poses of every development set, one hand or two, are the same with either bar (2026-12-01)."""
        return tracks.alone(uvd_to_xyz(end.com_uvd, frame.intrinsics), frame.timestamp_s,
                            settings.handedness.maybe_logit, _SAME_HAND_MM, _RECENT_LOSS_S)

    def _hand_end(self, depth: np.ndarray, seg: Segmentation, intr: Intrinsics, settings: PipelineSettings
                  ) -> Segmentation:
        """The single-hand path's hand: of a blob longer than a hand, the end the classifier reads as more like a hand
        when the segmentation's end is not surely one (as :meth:`_classify` does for two hands). A forearm across the
        view whose end is nearer than its hand fools the segmentation's guess (docs/fitting.md). A blob no longer
        than a hand, or an end surely a hand, costs one classifier reading or nothing."""
        if not seg.found or not settings.side_classifier or seg.hand_vu_px is None or seg.blob_vu_px is None:
            return seg
        if len(seg.hand_vu_px) == len(seg.blob_vu_px):
            return seg  # nothing was cut off: the blob is hand-sized
        classifier = self._classifier()
        if classifier is None:
            return seg

        def hand_logit(end: Segmentation) -> float:
            crop = make_crop(depth, end.com_uvd, intr, classifier.cube_mm, size=classifier.input_size)
            return float(classifier.logits([crop])[0, 1])

        read = hand_logit(seg)
        if read >= _SURE_HAND_LOGIT:
            return seg
        other = with_other_end(seg, depth, intr, settings.segmentation).other_end
        if other is None or not _more_like_a_hand(hand_logit(other), read):
            return seg
        return _take_other_end(seg)

    @staticmethod
    def _follows_track(seg: Segmentation, refiner: HandRefiner, intr: Intrinsics) -> bool:
        """The segmentation's hand lies where the fit is tracking a hand (its palm within ``_SAME_HAND_MM`` of the
        last frame's): the end it took was read right then, and need not be read again."""
        if not seg.found or seg.com_uvd is None or not refiner.tracking or refiner.last_palm is None:
            return False
        return bool(np.linalg.norm(uvd_to_xyz(seg.com_uvd, intr) - refiner.last_palm) <= _SAME_HAND_MM)

    def _classifier(self) -> SideClassifier | None:
        """The left/right classifier, loaded at its first use (None: not installed)."""
        if not self._side_classifier_loaded:
            self._side_classifier, self._side_classifier_loaded = load_side_classifier(), True
        return self._side_classifier

    @staticmethod
    def _remembered_reads(tracks: HandTracks, segs: list[Segmentation], intr: Intrinsics, settings: PipelineSettings,
                          timestamp_s: float, quiet: bool = False) -> tuple[dict[int, np.ndarray], set[int]]:
        """The candidates where a hand is followed that is confirmed and its side held (``settled``: ``id(seg)``s),
        and the readings that stand for this frame's (``{id(seg): its last logits (2,)}``; they add no vote).

        A settled hand's last reading stands while it read as a hand (``HandednessSettings.maybe_logit``) and said
        the held side (by 1 logit or more), for ``recheck_every - 1`` frames (twice as many once it has been in view
        for ``_LONG_ALONE_S``), and only where every candidate's does: one read costs the frame a classifier batch,
        two hardly more, so hands are read on the same frames. A hand followed alone reads it only when more hands
        are looked for (``quiet``: see :meth:`_quiet`), whatever its side reading said: nothing else in view may take
        its side. Measured on two-hand seed 611 (300 frames): the classifier ran on 114 frames instead of 297.

        ``segs`` is changed in place where a candidate is a settled hand at its blob's other end (an arm reaching
        toward the camera): that end is taken, as the classifier would on each frame it read both ends.
        """
        remembered: dict[int, np.ndarray] = {}
        settled: set[int] = set()
        if settings.recheck_every <= 1:
            return remembered, settled
        used: set[int] = set()
        standing: list[tuple[Segmentation, HandTrack]] = []
        for k, seg in enumerate(segs):
            if not seg.found or seg.com_uvd is None or seg.touching:
                continue
            track = tracks.followed(uvd_to_xyz(seg.com_uvd, intr), _SAME_HAND_MM)
            if track is None and seg.other_end is not None:
                # An arm reaching toward the camera: its followed hand is the blob's far end, which the classifier
                # would take on each frame it reads both ends (two batches).
                track = tracks.followed(uvd_to_xyz(seg.other_end.com_uvd, intr), _SAME_HAND_MM)
                if track is not None and track.confirmed and track.held is not None:
                    seg = segs[k] = _take_other_end(seg)
            if track is None or track.track_id in used or not track.confirmed or track.held is None:
                continue
            used.add(track.track_id)
            settled.add(id(seg))
            agrees = track.side_logit if track.held == RIGHT else -track.side_logit  # > 0: the reading says held
            if quiet or (track.hand_logit >= settings.handedness.maybe_logit and agrees >= 1.0 and track.reads_reused
                         + 1 < _looks_every(settings, timestamp_s - track.in_view_since_s)):
                standing.append((seg, track))
        # All or none: one candidate read costs the frame a classifier batch, two hardly more; hands read on the same
        # frames spare the others all of it.
        if quiet or len(standing) == sum(seg.found for seg in segs):
            for seg, track in standing:
                track.reads_reused += 1
                remembered[id(seg)] = np.array([track.side_logit, track.hand_logit], np.float32)
        return remembered, settled

    def _classify(self, masked: _MaskedDepths, segs: list[Segmentation], intr: Intrinsics, settings: PipelineSettings,
                  search: HandSearch | None = None, remembered: dict[int, np.ndarray] | None = None,
                  settled: set[int] | None = None) -> tuple[list[Segmentation], np.ndarray | None, _ClassifyTimes]:
        """The left/right classifier on every candidate's crop at its centre (camera space, without the other
        candidates' pixels), one batch -> (segs, logits ``(B, 2)`` of the segs, times); logits None without the
        classifier.

        A candidate whose blob is longer than a hand, and whose end is not surely a hand, is looked at from its
        other end too (``Segmentation.other_end``, a second batch): the end more like a hand is kept (an arm reaching
        toward the camera puts the segmentation's guess on the forearm). A later candidate that lands where the
        nearest one is is the same hand, and is dropped. Without the classifier, a piece cut from the first hand's
        blob (``Segmentation.touching``) is dropped: nothing can tell it from the first hand's forearm.

        ``search``: where fewer candidates than ``max_hands`` turn out to be hands (one was the nearest hand again, or
        a piece that reads as none), or one does not read surely as a hand (``_SPARE_LOGIT``), one spare candidate is
        asked of it and read too, and the candidates that read most like hands are kept (a forearm in front of the
        other hand passes the segmentation's size tests and would end the search before that hand). Where the nearest
        candidate reads as no hand (``_NOT_A_HAND_LOGIT``), its blob grown deeper is asked of it too
        (:meth:`HandSearch.deeper_first`). Where the spare is no hand either, a piece of the first candidate's blob
        (:meth:`HandSearch.piece`). ``remembered``: readings that stand for this frame's (:meth:`_remembered_reads`);
        ``settled``: candidates that are hands followed and confirmed, whose doubtful reading asks for a spare only on
        one frame in ``recheck_every`` (a hand half hidden by the other reads doubtfully for as long as it is).
        """
        times = _ClassifyTimes()
        classifier = self._classifier() if settings.side_classifier else None
        if classifier is None:
            return [seg for seg in segs if not seg.touching], None, times
        # A hand cut from the first one's blob is read without the first hand, but not without its own fingers,
        # which the first hand's cut may have reached over.
        maskable = list(segs)
        for seg in segs[1:]:
            if seg.touching:
                maskable[0] = without_piece(maskable[0], seg)
        remembered = remembered or {}
        fresh = [k for k, seg in enumerate(segs) if id(seg) not in remembered]
        taken = dict(zip(fresh, self._read(classifier, masked, maskable, segs, fresh, intr, times), strict=True))
        reads = [taken[k] if k in taken else [remembered[id(seg)]] for k, seg in enumerate(segs)]
        picks = _pick(segs, reads, intr)
        # The spare: where the search filled up and a candidate turned out to be no hand, the first hand again, or a
        # doubtful one: the next candidate, then a piece of the first hand's blob (a second hand touching it in the
        # image, which the search offers only when it does not fill up).
        filled = search is not None and len(segs) == settings.max_hands
        settled = settled or set()
        spare_due = self._since_spare + 1 >= settings.recheck_every
        self._since_spare = 0 if spare_due else self._since_spare + 1
        for ask in (search.more, search.piece) if search is not None and filled else ():
            doubtful = [k for k, _, read in picks if float(read[1]) < _SPARE_LOGIT]
            if len(picks) >= settings.max_hands and (not doubtful or (
                    not spare_due and all(id(segs[k]) in settled for k in doubtful))):
                break
            ta = time.perf_counter()
            spare = ask()
            times.search_s += time.perf_counter() - ta
            if spare is not None:
                if spare.touching:  # read without the first hand, but not without its own fingers
                    maskable[0] = without_piece(maskable[0], spare)
                segs, maskable = [*segs, spare], [*maskable, spare]
                reads += self._read(classifier, masked, maskable, segs, [len(segs) - 1], intr, times)
                picks = _pick(segs, reads, intr)
        # The nearest candidate reads as no hand at either end (an arm reaching toward the camera whose hand leans back
        # behind the band: the candidate is all forearm). Its blob grown deeper may reach the hand; where that reads
        # clearly more like a hand, it takes the nearest candidate's place (else the crop's recentring may still walk
        # from the forearm's end to the hand).
        if search is not None and float(picks[0][2][1]) < _NOT_A_HAND_LOGIT:
            ta = time.perf_counter()
            deeper = search.deeper_first()
            times.search_s += time.perf_counter() - ta
            if deeper is not None and all(  # not grown into another candidate's hand
                    np.linalg.norm(uvd_to_xyz(deeper.com_uvd, intr) - uvd_to_xyz(seg.com_uvd, intr)) > _SAME_HAND_MM
                    for seg in segs[1:]):
                read = self._read(classifier, masked, [deeper, *maskable[1:]], [deeper, *segs[1:]], [0], intr,
                                  times)[0]
                if _more_like_a_hand(float(max(r[1] for r in read)), float(picks[0][2][1])):
                    segs, maskable, reads = [deeper, *segs[1:]], [deeper, *maskable[1:]], [read, *reads[1:]]
                    picks = _pick(segs, reads, intr)
        if len(picks) > settings.max_hands:  # the spare candidate: keep the ones that read most like hands
            rest = sorted(range(1, len(picks)), key=lambda i: -float(picks[i][2][1]))[:settings.max_hands - 1]
            picks = [picks[i] for i in (0, *sorted(rest))]
        chosen = [_take_other_end(segs[k]) if other else segs[k] for k, other, _ in picks]
        for seg in chosen[1:]:
            if seg.touching:  # the first hand without the piece: its cut may have reached over that hand's fingers
                chosen[0] = without_piece(chosen[0], seg)
        return chosen, np.stack([read for _, _, read in picks]), times

    @staticmethod
    def _read(classifier: SideClassifier, masked: _MaskedDepths, maskable: list[Segmentation],
              segs: list[Segmentation], which: Sequence[int], intr: Intrinsics, times: _ClassifyTimes
              ) -> list[list[np.ndarray]]:
        """The classifier's logits ``(2,)`` for candidates ``which`` of ``segs``, each in the depth without the
        ``maskable`` others: ``[[end], ...]``, ``[end, other end]`` where the end is not surely a hand and the blob
        has another end (read in a second batch; measured: a forearm's end reads -10 or less)."""
        if not which:
            return []
        ta = time.perf_counter()
        owns = {k: masked.without(_others(maskable, k, [True] * len(segs), intr)) for k in which}

        def crop(k: int, end: Segmentation) -> HandCrop:
            return make_crop(owns[k], end.com_uvd, intr, classifier.cube_mm, size=classifier.input_size)

        crops = [crop(k, segs[k]) for k in which]
        tb = time.perf_counter()
        logits = classifier.logits(crops)  # (N, 2): right, a hand
        reads = [[read] for read in logits]
        doubt = [i for i, k in enumerate(which) if segs[k].other_end is not None and logits[i, 1] < _SURE_HAND_LOGIT]
        tc = time.perf_counter()
        other_crops = [crop(which[i], segs[which[i]].other_end) for i in doubt]  # type: ignore[arg-type]
        td = time.perf_counter()
        for i, read in zip(doubt, classifier.logits(other_crops), strict=True):
            reads[i].append(read)
        te = time.perf_counter()
        times.crop_s += (tb - ta) + (td - tc)
        times.infer_s += (tc - tb) + (te - td)
        return reads

    def _hand_result(self, job: _Job, seg: Segmentation, track: HandTrack, frame: Frame,
                     settings: PipelineSettings) -> HandResult:
        """One hand's pose in the real camera (a left job's joints mirrored back), smoothed by its track's filters
        (restarted when the side shown changes: the two hypotheses are different estimates)."""
        assert job.crop is not None and job.xyz_mm is not None
        xyz_mm, joints36 = job.xyz_mm, job.joints36 if settings.refine else None
        com_xyz_mm = job.crop.com_xyz_mm
        if job.side == LEFT:
            xyz_mm, com_xyz_mm = mirror_xyz(xyz_mm), mirror_xyz(com_xyz_mm)
            joints36 = None if joints36 is None else mirror_xyz(joints36)
        track.palm_xyz_mm = com_xyz_mm
        if track.shown_last != job.side:
            track.smoother.reset("side changed")
            track.smoother36.reset("side changed")
        track.shown_last = job.side
        found = bool(np.isfinite(xyz_mm).all())
        gesture, confidence, uvd, uvd36 = None, 0.0, None, None
        if found:
            xyz_mm, uvd, joints36, uvd36, gesture, confidence = self._smooth_and_classify(
                xyz_mm, joints36, frame, settings, (track.smoother, track.smoother36))
        else:
            track.reset("no estimate")
            xyz_mm = None
        fit = job.fit
        use_fit = settings.refine and fit is not None
        residual = fit.residual_mm if fit is not None else None
        # The detection score: how well the hand model explains the depth at the estimate (1 = on the surface, 0 = at
        # the fit's rejection residual or worse, or no fit possible).
        max_residual = settings.refine_settings.max_residual_mm
        score = float(np.clip(1.0 - residual / max_residual, 0.0, 1.0)) if residual is not None and np.isfinite(
            residual) else 0.0
        pose = HandPose(
            found=found, joints_xyz_mm=xyz_mm, joints_uvd=uvd, com_xyz_mm=com_xyz_mm, gesture=gesture,
            gesture_confidence=confidence, joints36_xyz_mm=joints36, joints36_uvd=uvd36,
            fit_residual_mm=residual if use_fit else None, fit_status=fit.status if use_fit and fit else None,
            handedness=job.side, score=score if found else 0.0,
        )
        return HandResult(pose, job.crop, seg, fit if use_fit else None, track.track_id)

    def _process_whole_frame(self, frame: Frame, capture_ms: float, com_uvd: np.ndarray | None) -> FrameResult:
        """frame estimator (timed as ``infer``) -> post; the nearest hand is the pose, every hand is in ``hands``."""
        if com_uvd is not None:
            raise ValueError(f"{self.estimator.metadata.architecture} reads whole frames: it takes no crop centre")
        with self._lock:
            settings, refiner = self._settings, self._refiner
        timings = {"capture": capture_ms, "segment": 0.0, "crop": 0.0}
        t0 = time.perf_counter()
        estimate = self.estimator.estimate_frame(frame)
        t1 = time.perf_counter()
        timings["infer"] = (t1 - t0) * 1e3
        found = list(estimate.hands)
        fit = None
        if found and settings.refine and self._refinable:
            found[0], fit = self.estimator.refine_hand(frame, found[0], refiner)
        t_fit = time.perf_counter()
        timings["fit"] = (t_fit - t1) * 1e3
        hands = [
            HandPose(found=True, joints_xyz_mm=h.joints_xyz_mm, joints_uvd=h.joints_uvd, com_xyz_mm=h.com_xyz_mm,
                     handedness=h.handedness, score=h.score, joint_confidence=h.joint_confidence)
            for h in found
        ]
        if hands:
            first = hands[0]  # the nearest: smoothed like any single-hand estimate
            with self._lock:
                smoothers = self._filter, self._filter36
            xyz_mm, uvd, _, _, gesture, confidence = self._smooth_and_classify(first.joints_xyz_mm, None, frame,
                                                                               settings, smoothers)
            first.joints_xyz_mm, first.joints_uvd = xyz_mm, uvd
            first.gesture, first.gesture_confidence = gesture, confidence
            if settings.gestures and self._gestures_possible:
                for other in hands[1:]:
                    other.gesture, other.gesture_confidence = classify_gesture(other.joints_xyz_mm)
            pose = HandPose(found=True, joints_xyz_mm=xyz_mm, joints_uvd=uvd, com_xyz_mm=first.com_xyz_mm,
                            timings_ms=timings, gesture=gesture, gesture_confidence=confidence,
                            handedness=first.handedness, score=first.score,
                            joint_confidence=first.joint_confidence, hands=hands,
                            fit_residual_mm=None if fit is None else fit.residual_mm,
                            fit_status=None if fit is None else fit.status)
            seg = Segmentation(True, com_uvd=xyz_to_uvd(first.com_xyz_mm, frame.intrinsics))
        else:
            self._lost("hand lost")
            pose = HandPose(found=False, timings_ms=timings, hands=[])
            seg = Segmentation(False, reason=estimate.reason or "no hand")
        timings["post"] = (time.perf_counter() - t_fit) * 1e3
        timings["total"] = timings["infer"] + timings["fit"] + timings["post"]
        return FrameResult(frame, pose, None, seg, fit)
