"""Model-based refinement of one hand over time: the network's joints in, a pose that fits the depth out.

Every frame (:meth:`HandRefiner.refine`):

1. the network's 14 joints are turned into a model pose by inverse kinematics (:mod:`inference.fit.ik`);
2. while tracking, the previous frame's fit is a second candidate; the one with the lower energy on this frame's
   depth is kept (a network that errs on one frame does not throw the fit away; a fit that lost the hand is
   replaced by the network's view);
3. the fit (:mod:`inference.fit.solver`) registers the model to the hand's points and silhouette;
4. where that fit stays poor (``view_residual_mm``), the network's other views of the hand (the crop turned in the
   image plane, :mod:`inference.runtime.turned_views`) and its own view are each fitted afresh, and the lowest
   energy wins: the network errs differently on each view, and one of them often starts in the right basin;
5. the result is accepted when the observed points lie close to the fitted surface (``max_residual_mm``); else the
   network's joints are kept and tracking starts afresh.

The hand's size (one scale of the template) is estimated over the first ``scale_frames`` accepted frames after
each (re)start, then held. Every hypothesis is fitted at a held size (the template's at a start, later the median of
the frames so far): a start fitted with its size free shrinks the hand until wrong fingers explain the depth
(docs/fitting.md, "The hand's size"). A track's first fit is then fitted again at each of ``start_sizes``, the lowest
energy wins, and while the size is estimated each frame's winner frees it for a few steps (``size_steps``): that is
the frame's sample. Tracking restarts when the hand is lost, the frame does not follow the previous one, or the
network's palm jumps farther than a hand moves in one frame. Nothing here reads labels or a subject's shape: the
model is the template, sized by the fit.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from inference.core.skeleton import PALM_CENTRE, palm_vector
from inference.fit.ik import CURLED_DEG, OPEN_DEG, SPREAD_DEG, solve_ik
from inference.fit.landmarks import LandmarkTargets
from inference.fit.model import HandParams, PosedHand, template
from inference.fit.observation import Observation
from inference.fit.solver import FitResult, FitWeights, Problem, fit, retry_fingers, solve
from inference.handmodel import HandShape
from inference.handmodel.palm_convention import palm_middle

_FLOOR_FRAMES = 30  # accepted fits that tell the sensor's residual floor
_FLOOR_MIN_FRAMES = 5  # fewer: the floor is not known yet, the bar is view_residual_mm

# fit_status values (JSONL "fit_status"): "ok", or why the network's joints were kept.
STATUS_OK = "ok"


@dataclass(frozen=True)
class RefineSettings:
    """How the refiner fits and when it trusts the fit.

    Attributes:
        weights: the energy and solver settings of a tracked frame.
        start_weights: those of a frame that starts tracking afresh (more steps: the start is further off).
        max_residual_mm: mean |observed point to fitted surface| above which the fit is rejected.
        retry_residual_mm: above this residual, each finger tries the network's bend, an open and a curled one
            (the thumb also one held away from the palm; :func:`inference.fit.solver.retry_fingers`); a good fit
            (about 1 mm) pays nothing for it.
        retry_steps: Gauss-Newton steps after such a retry changed a finger (0: no retries).
        retry_every: while tracking, a retry that changed nothing is not tried again on the next ``retry_every - 1``
            frames (1: on every frame above the bar). A hand half hidden by the other stays above the bar frame after
            frame, and its retries (20 energies a frame) then seldom find anything.
        scale_frames: accepted frames after a (re)start over which the hand's size is estimated.
        size_steps: while the size is estimated, the Gauss-Newton steps with the size free that polish the frame's
            winning hypothesis (fitted at a held size); its size is that frame's sample (0: the held size is).
        start_sizes: the sizes (template = 1) a track's first fit is fitted again at, from its pose; the lowest
            energy picks the size (a hand 9% larger than the template, fitted at each size from the network's start:
            energy 12 at 1.0, 1.6 at 1.1). Empty: the template's size.
        max_palm_jump_mm: the network's palm moving farther than this between frames restarts tracking.
        try_flip: a frame that starts tracking and fits worse than ``flip_residual_mm`` also fits the network's
            hand turned half a turn about its long axis (:func:`flip_palm`: the palm facing the other way, the thumb
            on the other side) and takes that view when its energy is below ``flip_energy_ratio`` of the first; the
            track then follows that view (never with 2-D landmarks, which know the side). A right view fits the
            SR305 frames to about 3 mm and synthetic ones to 1-2 mm. On the SR305 open palms the turned view won at
            0.32-0.77 of the energy (3.6-4.8 mm against 4.9-6.6 mm); on synthetic development frames (500, each a
            start) it won 13 times, always wrong (7 of them at 0.85 or more, 3 below 0.7), and only where the first
            view was already 50-60 mm off (docs/fitting.md).
        view_residual_mm: a fit (tracked or a start) above this residual also fits, each as a fresh start (start
            weights, no previous frame), the network's own joints and its views of the crop turned by each of
            ``view_angles_deg``; the lowest energy wins. A fit of about 1 mm pays nothing. On random frames
            (every frame a cut) the mean error went 18.2 -> 14.7 mm (docs/fitting.md, "Turned views").
        view_angles_deg: the turns of the crop (degrees) whose network views are fitted (empty: no views).
        view_floor_ratio: the bar is at least this times the sensor's floor, the 20th percentile of the last 30
            accepted residuals (once there are 5): a real sensor's noise leaves 3-9 mm on good fits, and a fixed
            1.5 mm bar would ask for the views (about 80 ms) on every frame. On synthetic sequences the floor is
            about 0.8 mm (the bar stays 1.5 mm), on random frames about 1.0 mm (bar 1.5-2.0 mm).
    """

    weights: FitWeights = field(default_factory=lambda: FitWeights(prior=0.0, global_steps=1, steps=4))
    start_weights: FitWeights = field(default_factory=lambda: FitWeights(prior=0.0, global_steps=3, steps=6,
                                                                         restart_steps=6))
    max_residual_mm: float = 10.0
    retry_residual_mm: float = 1.5
    retry_steps: int = 3
    retry_every: int = 1
    scale_frames: int = 10
    size_steps: int = 10
    start_sizes: tuple[float, ...] = (0.85, 0.9, 0.95, 1.0, 1.05, 1.1, 1.15)
    max_palm_jump_mm: float = 150.0
    try_flip: bool = True
    flip_residual_mm: float = 4.0
    flip_energy_ratio: float = 0.8
    view_residual_mm: float = 1.5
    view_angles_deg: tuple[float, ...] = (15.0, -15.0, 30.0, -30.0, 45.0, -45.0)
    view_floor_ratio: float = 1.5


@dataclass
class Refinement:
    """The outcome for one frame.

    Attributes:
        status: ``"ok"`` (the fit is used) or why it was not.
        joints_xyz_mm: ``(36, 3)`` the fitted model's NYU joints, or None when not ok.
        residual_mm: mean |observed point to fitted surface| (mm), or None when there was no fit.
        network_residual_mm: the same for the model posed by the network's joints (inverse kinematics, before the
            fit), or None when there was no fit: what the fit gained.
        params: the fitted pose, or None.
        scale: the hand size in use (template = 1).
    """

    status: str
    joints_xyz_mm: np.ndarray | None = None
    residual_mm: float | None = None
    network_residual_mm: float | None = None
    params: HandParams | None = None
    scale: float = 1.0


class HandRefiner:
    """The fit state of one hand across frames (see the module docstring)."""

    def __init__(self, settings: RefineSettings | None = None, shape: HandShape | None = None) -> None:
        self.settings = settings or RefineSettings()
        self.shape = template() if shape is None else shape
        # The accepted fits' residuals (mm), kept across resets: how closely this sensor's depth can be fitted at all.
        self.residuals: deque[float] = deque(maxlen=_FLOOR_FRAMES)
        self.reset()

    def reset(self, reason: str = "reset", sensor: bool = False) -> None:
        """Forget the track: the next frame starts from the network alone and re-estimates the hand's size;
        ``sensor``: forget the sensor's residual floor too (another source)."""
        if sensor:
            self.residuals.clear()
        self.previous: HandParams | None = None
        self.retry_rest = 0  # tracked frames left without finger retries (RefineSettings.retry_every)
        self.last_index: int | None = None
        self.last_palm: np.ndarray | None = None
        self.scale: float | None = None  # held once estimated
        self.scale_samples: list[float] = []
        self.last_reset = reason
        self.mirrored = False  # the track's frames are mirrored (a left hand fitted as a right one)
        self.flipped = False  # the track follows the network's hand turned about its finger axis (flip_palm)

    @property
    def tracking(self) -> bool:
        return self.previous is not None

    def refine(self, obs: Observation | str, network_joints_mm: np.ndarray, index: int,
               landmarks: LandmarkTargets | None = None, prior_weights: np.ndarray | None = None,
               mirrored: bool = False, retry: tuple[int, ...] | None = None,
               views: Callable[[tuple[float, ...]], np.ndarray] | None = None) -> Refinement:
        """Fit frame ``index`` given its observation (or why there is none) and the network's ``(14, 3)`` joints
        (the start and the prior; ``prior_weights (14,)`` weighs the prior per joint); ``landmarks``: 2-D targets
        of model joints (the RGB teacher's landmarks), a term of the fit's energy; ``mirrored``: the frame is a
        left hand mirrored into a right one (a track does not carry over between the two); ``retry``: the fingers
        (indices into :data:`inference.fit.solver.FINGER_DOFS`) a poor fit tries other bends for (None: all; a
        caller that keeps only some fingers of the fit need not pay for the others); ``views``: given the turns of
        the crop (degrees), the network's ``(K, 14, 3)`` joints for the crop turned by each (in the space of
        ``network_joints_mm``; asked only when the fit stays poor, see ``view_residual_mm``)."""
        s = self.settings
        net = np.asarray(network_joints_mm, np.float64)
        if mirrored != self.mirrored:
            self.reset("the hand's side changed")
            self.mirrored = mirrored
        if self.last_index is not None and index <= self.last_index:
            self.reset("frame index went back")
        if self.last_palm is not None and np.linalg.norm(net[PALM_CENTRE] - self.last_palm) > s.max_palm_jump_mm:
            self.reset("the hand jumped")
        self.last_index, self.last_palm = index, net[PALM_CENTRE]
        if isinstance(obs, str):
            self.reset(obs)
            return Refinement(f"not fitted: {obs}", scale=self._scale())
        estimating = self.scale is None
        weights = s.weights if self.tracking else s.start_weights
        joints = flip_palm(net) if self.flipped else net
        size = self._scale()  # every hypothesis is fitted at this size (the template's at a start)
        result, network_residual = self._fit(obs, joints, weights, size, prior_weights, landmarks, retry,
                                             self.previous)
        if (s.try_flip and not self.tracking and landmarks is None
                and result.mean_distance_mm > s.flip_residual_mm):
            # An open hand is nearly symmetric about its long axis: the network may have the palm facing the wrong
            # way, the thumb on the wrong side. A start that fits poorly also fits that view; a clearly lower energy
            # wins, and the track follows that view.
            flipped, _ = self._fit(obs, flip_palm(net), weights, size, prior_weights, None, retry, None)
            if flipped.energy < s.flip_energy_ratio * result.energy:
                result, self.flipped = flipped, True
        if views is not None and s.view_angles_deg and landmarks is None and self._asks_for_views(result):
            result = self._fit_views(obs, net, views, result, size, prior_weights, retry)
        if estimating and not self.scale_samples and s.start_sizes:
            result = self._resized(obs, joints, weights, result, prior_weights, landmarks, retry)
        if estimating and s.size_steps > 0:
            problem = Problem(self.shape, obs, joints, result.params, weights, previous=self.previous, fit_scale=True,
                              prior_weights=prior_weights, landmarks=landmarks)
            result = solve(problem, result.params, 0, s.size_steps)
        residual = result.mean_distance_mm
        if not np.isfinite(residual) or residual > s.max_residual_mm:
            self.reset(f"fit rejected: residual {residual:.1f} mm")
            return Refinement(f"rejected: residual {residual:.1f} mm", residual_mm=float(residual),
                              network_residual_mm=float(network_residual), scale=self._scale())
        self.previous = result.params
        self.residuals.append(float(residual))
        if estimating:
            self.scale_samples.append(result.params.scale)
            if len(self.scale_samples) >= s.scale_frames:
                self.scale = float(np.median(self.scale_samples))
        return Refinement(STATUS_OK, result.hand.joints.copy(), float(residual), float(network_residual), result.params,
                          self._scale())

    def _resized(self, obs: Observation, joints: np.ndarray, weights: FitWeights, result: FitResult,
                 prior_weights: np.ndarray | None, landmarks: LandmarkTargets | None,
                 retry: tuple[int, ...] | None) -> FitResult:
        """A track's first fit (its best hypothesis, at the template's size) fitted again from its pose at each of
        ``start_sizes``, each with the finger retries; the lowest energy wins."""
        s = self.settings
        best = result
        for size in s.start_sizes:
            if size == result.params.scale:
                continue
            params = result.params.copy()
            params.scale = size
            problem = Problem(self.shape, obs, joints, params, weights, previous=self.previous, fit_scale=False,
                              prior_weights=prior_weights, landmarks=landmarks)
            fitted = fit(problem, params)
            if s.retry_steps > 0 and fitted.mean_distance_mm > s.retry_residual_mm:
                fitted = retry_fingers(problem, fitted, [OPEN_DEG, CURLED_DEG, SPREAD_DEG], s.retry_steps,
                                       fingers=retry)
            if fitted.energy < best.energy:
                best = fitted
        return best

    def _asks_for_views(self, result: FitResult) -> bool:
        """Whether a fit is poor enough for the turned views: its residual above ``view_residual_mm`` and above
        ``view_floor_ratio`` times this sensor's floor (the 20th percentile of the recent accepted residuals, once
        known; read only past the first bar). A NaN residual asks."""
        s = self.settings
        residual = result.mean_distance_mm
        if residual <= s.view_residual_mm:
            return False
        if len(self.residuals) < _FLOOR_MIN_FRAMES:
            return True
        return not residual <= s.view_floor_ratio * float(np.percentile(self.residuals, 20))

    def _fit_views(self, obs: Observation, net: np.ndarray, views: Callable[[tuple[float, ...]], np.ndarray],
                   result: FitResult, size: float, prior_weights: np.ndarray | None,
                   retry: tuple[int, ...] | None) -> FitResult:
        """Each of the network's views afresh, its own too: a track or a start in a wrong basin is left for whichever
        start fits best (the track then follows the network's own, unflipped, view)."""
        s = self.settings
        for joints_view in (net, *views(s.view_angles_deg)):
            fresh, _ = self._fit(obs, joints_view, s.start_weights, size, prior_weights, None, retry, None)
            if fresh.energy < result.energy:
                result, self.flipped = fresh, False
        return result

    def _fit(self, obs: Observation, joints: np.ndarray, weights: FitWeights, size: float,
             prior_weights: np.ndarray | None, landmarks: LandmarkTargets | None, retry: tuple[int, ...] | None,
             previous: HandParams | None) -> tuple[FitResult, float]:
        """One hypothesis at the hand size ``size``: inverse kinematics of ``joints (14, 3)``, the previous fit as a
        second start, the fit and the finger retries -> (the fit, the data residual of the inverse-kinematics pose
        in mm)."""
        s = self.settings
        ik = solve_ik(joints, previous, self.shape, scale=size, prior_weights=prior_weights)
        candidates = [ik.params]
        if previous is not None:
            candidates.append(previous.copy())
        for c in candidates:
            c.scale = size
        best = None
        network_residual = np.nan
        for params in candidates:
            problem = Problem(self.shape, obs, joints, params, weights, previous=previous, fit_scale=False,
                              prior_weights=prior_weights, landmarks=landmarks)
            evaluation = problem.evaluate(params)
            if params is candidates[0]:
                network_residual = evaluation.data_mean_abs_mm
            if best is None or evaluation.energy < best[1].energy:
                best = (problem, evaluation, params)
        assert best is not None
        problem, evaluation, params = best
        result = fit(problem, params, start=evaluation)
        if s.retry_steps > 0 and result.mean_distance_mm > s.retry_residual_mm:
            if previous is not None and self.retry_rest > 0:
                self.retry_rest -= 1
            else:
                bends = [ik.params.angles_deg, OPEN_DEG, CURLED_DEG, SPREAD_DEG]
                retried = retry_fingers(problem, result, bends, s.retry_steps, fingers=retry)
                if previous is not None and retried is result:  # nothing changed: rest a while
                    self.retry_rest = s.retry_every - 1
                result = retried
        return result, float(network_residual)

    def _scale(self) -> float:
        if self.scale is not None:
            return self.scale
        return float(np.median(self.scale_samples)) if self.scale_samples else 1.0


def flip_palm(joints_mm: np.ndarray) -> np.ndarray:
    """``(14, 3)`` joints turned half a turn about the hand's long axis (the direction from the wrist points' middle
    to the palm centre, through the palm body's middle): the same outline with the palm facing the other way and
    the thumb on the other side."""
    j = np.asarray(joints_mm, np.float64)
    centre = palm_middle(j)
    axis = palm_vector(j)
    axis = axis / max(float(np.linalg.norm(axis)), 1e-9)
    rotation = 2.0 * np.outer(axis, axis) - np.eye(3)  # a half turn about the axis
    return centre + (j - centre) @ rotation.T


def fitted_surface(refinement: Refinement, shape: HandShape | None = None) -> PosedHand | None:
    """The fitted model (capsules, ellipsoids, joints in camera space) of an accepted refinement, for drawing."""
    if refinement.params is None:
        return None
    return PosedHand.of(template() if shape is None else shape, refinement.params)
