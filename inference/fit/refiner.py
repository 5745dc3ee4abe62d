"""Model-based refinement of one hand over time: the network's joints in, a pose that fits the depth out.

Every frame (:meth:`HandRefiner.refine`):

1. the network's 14 joints are turned into a model pose by inverse kinematics (:mod:`inference.fit.ik`);
2. while tracking, the previous frame's fit is a second candidate; the one with the lower energy on this frame's
   depth is kept (a network that errs on one frame does not throw the fit away; a fit that lost the hand is
   replaced by the network's view);
3. the fit (:mod:`inference.fit.solver`) registers the model to the hand's points and silhouette;
4. the result is accepted when the observed points lie close to the fitted surface (``max_residual_mm``); else the
   network's joints are kept and tracking starts afresh.

The hand's size (one scale of the template) is estimated over the first ``scale_frames`` accepted frames after
each (re)start, then held. Tracking restarts when the hand is lost, the frame does not follow the previous one,
or the network's palm jumps farther than a hand moves in one frame. Nothing here reads labels or a subject's
shape: the model is the template, sized by the fit.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from inference.fit.ik import solve_ik
from inference.fit.model import HandParams, PosedHand, template
from inference.fit.observation import Observation
from inference.fit.solver import FitWeights, Problem, fit
from inference.handmodel import HandShape
from inference.skeleton import PALM_CENTRE

# fit_status values (JSONL "fit_status"): "ok", or why the network's joints were kept.
STATUS_OK = "ok"


@dataclass(frozen=True)
class RefineSettings:
    """How the refiner fits and when it trusts the fit.

    Attributes:
        weights: the energy and solver settings of a tracked frame.
        start_weights: those of a frame that starts tracking afresh (more steps: the start is further off).
        max_residual_mm: mean |observed point to fitted surface| above which the fit is rejected.
        scale_frames: accepted frames after a (re)start over which the hand's size is estimated.
        max_palm_jump_mm: the network's palm moving farther than this between frames restarts tracking.
    """

    weights: FitWeights = field(default_factory=lambda: FitWeights(global_steps=1, steps=4))
    start_weights: FitWeights = field(default_factory=lambda: FitWeights(global_steps=3, steps=6, restart_steps=6))
    max_residual_mm: float = 6.0
    scale_frames: int = 10
    max_palm_jump_mm: float = 150.0


@dataclass
class Refinement:
    """The outcome for one frame.

    Attributes:
        status: ``"ok"`` (the fit is used) or why it was not.
        joints_xyz_mm: ``(36, 3)`` the fitted model's NYU joints, or None when not ok.
        residual_mm: mean |observed point to fitted surface| (mm), or None when there was no fit.
        params: the fitted pose, or None.
        scale: the hand size in use (template = 1).
    """

    status: str
    joints_xyz_mm: np.ndarray | None = None
    residual_mm: float | None = None
    params: HandParams | None = None
    scale: float = 1.0


class HandRefiner:
    """The fit state of one hand across frames (see the module docstring)."""

    def __init__(self, settings: RefineSettings | None = None, shape: HandShape | None = None) -> None:
        self.settings = settings or RefineSettings()
        self.shape = template() if shape is None else shape
        self.reset()

    def reset(self, reason: str = "reset") -> None:
        """Forget the track: the next frame starts from the network alone and re-estimates the hand's size."""
        self.previous: HandParams | None = None
        self.last_index: int | None = None
        self.last_palm: np.ndarray | None = None
        self.scale: float | None = None  # held once estimated
        self.scale_samples: list[float] = []
        self.last_reset = reason

    @property
    def tracking(self) -> bool:
        return self.previous is not None

    def refine(self, obs: Observation | str, network_joints_mm: np.ndarray, index: int) -> Refinement:
        """Fit frame ``index`` given its observation (or why there is none) and the network's ``(14, 3)`` joints."""
        s = self.settings
        net = np.asarray(network_joints_mm, np.float64)
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
        ik = solve_ik(net, self.previous, self.shape, fit_scale=estimating)
        candidates = [ik.params]
        if self.previous is not None:
            candidates.append(self.previous)
        if not estimating:
            for c in candidates:
                c.scale = self.scale
        best = None
        for params in candidates:
            problem = Problem(self.shape, obs, net, params, weights, previous=self.previous, fit_scale=estimating)
            evaluation = problem.evaluate(params)
            if best is None or evaluation.energy < best[1].energy:
                best = (problem, evaluation, params)
        assert best is not None
        problem, evaluation, params = best
        result = fit(problem, params, start=evaluation)
        residual = result.mean_distance_mm
        if not np.isfinite(residual) or residual > s.max_residual_mm:
            self.reset(f"fit rejected: residual {residual:.1f} mm")
            return Refinement(f"rejected: residual {residual:.1f} mm", residual_mm=float(residual), scale=self._scale())
        self.previous = result.params
        if estimating:
            self.scale_samples.append(result.params.scale)
            if len(self.scale_samples) >= s.scale_frames:
                self.scale = float(np.median(self.scale_samples))
        return Refinement(STATUS_OK, result.hand.joints.copy(), float(residual), result.params, self._scale())

    def _scale(self) -> float:
        if self.scale is not None:
            return self.scale
        return float(np.median(self.scale_samples)) if self.scale_samples else 1.0


def fitted_surface(refinement: Refinement, shape: HandShape | None = None) -> PosedHand | None:
    """The fitted model (capsules, ellipsoids, joints in camera space) of an accepted refinement, for drawing."""
    if refinement.params is None:
        return None
    return PosedHand.of(template() if shape is None else shape, refinement.params)
