"""The fit: Levenberg-Marquardt over the hand model's parameters with analytic Jacobians.

Energy (each term a sum of squared residuals in mm, divided by its count, times its weight):

- **data**: observed hand points to the model surface, signed distance (point-to-plane), robust (Cauchy weights
  at ``data_scale_mm``); points whose nearest model surface faces away from the camera are left out (a visible
  point lies on a surface that faces the camera);
- **silhouette**: points along every model bone that project outside the hand-and-arm silhouette are pulled back
  in, by their distance to it (image pixels converted to mm at their depth); a pixel whose observed surface lies in
  front of the model point or just behind it (an occluder, the arm beyond the cube's depth range) puts no
  constraint on it, nor does a point outside the image;
- **free space**: the camera-facing surface points of every bone whose pixel shows nothing at their depth (the
  observed surface lies well behind them, or there is none: the model is where the camera sees empty space) are
  pulled to the nearest observed point (robust, as the data term);
- **prior**: the model's 14 NYU joints to the network's estimate (weak: the network is the starting point, not
  the answer), optionally weighted per joint (the teacher's per-joint confidence);
- **landmarks** (when given, :class:`inference.fit.landmarks.LandmarkTargets`): model joints' image projections to
  where an RGB landmarker saw them (the teacher's 2-D landmarks), in mm at the joint's depth, robust (Cauchy at
  ``landmark_scale_mm``), weighted per joint by the landmarker's confidence;
- **regularisers**: joint angles toward the starting pose, ``log(scale)`` toward the current one, and, while
  tracking, the pose toward the previous frame's fit (temporal);
- joint limits are hard: every step is clipped to them.

The solver is damped Gauss-Newton with fresh correspondences at every step (articulated ICP): the first steps
move only the global pose and the wrist (with fingers held, a misplaced hand would otherwise pull points onto
the wrong fingers), the rest move everything. Each step evaluates the energy once; the lowest-energy parameters
seen are returned (a step may raise the energy when correspondences switch; rejecting such steps stalled the
fit in measurements, see docs/fitting.md).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from inference.core.skeleton import FINGERTIPS
from inference.fit import kernels
from inference.fit.landmarks import LandmarkTargets
from inference.fit.model import (
    ANGLES,
    AXIS_CHAINS,
    AXIS_FRACTIONS,
    EVAL_JOINT_CHAINS,
    FIT_DOFS,
    NUM_UNKNOWNS,
    PRIMITIVE_CHAINS,
    SCALE,
    TRANS,
    HandParams,
    PosedHand,
)
from inference.fit.observation import Observation
from inference.handmodel import HandShape


@dataclass(frozen=True)
class FitWeights:
    """Weights of the energy terms (see the module docstring) and the solver's settings.

    Attributes:
        data: weight of the mean squared point-to-surface distance (mm^2).
        data_scale_mm: Cauchy scale of the data term: residuals well beyond it count little (outliers, arm).
        silhouette: weight of the mean squared distance (mm^2) of model bone points outside the silhouette.
        free_space: weight of the mean squared distance (mm^2) of model surface points in observed free space to
            the nearest observed point.
        prior: weight of the mean squared distance (mm^2) of the model's 14 joints to the network's.
        landmarks: weight of the mean robust squared image offset (mm at the joint's depth) of the model joints that
            have 2-D targets (used only when a problem has them).
        landmark_scale_mm: Cauchy scale of the landmark term (a landmark far off counts little).
        angles: weight of the squared change of each joint angle from the start (mm^2 per rad^2).
        scale: weight of the squared change of log(scale) (mm^2 per unit).
        temporal_mm: weight of the squared change (mm^2) of the wrist position from the previous frame's fit.
        global_steps: first Gauss-Newton steps that move only the global pose and the wrist.
        steps: Gauss-Newton steps that move everything, after those.
        restart_steps: after those, the fingers start again from the starting angles at the fitted global pose
            and take this many steps; the lower energy wins (0: no restart). A hand first placed 15 degrees and
            25 mm off drags points onto the wrong fingers, which then settle in a wrong bend; once the palm is in
            place the fingers find their way from the start (docs/fitting.md).
        damping: Levenberg damping, relative to the diagonal of the normal equations.
    """

    data: float = 1.0
    data_scale_mm: float = 10.0
    silhouette: float = 0.3
    free_space: float = 0.3
    prior: float = 0.02
    landmarks: float = 0.3
    landmark_scale_mm: float = 10.0
    angles: float = 2.0
    scale: float = 50.0
    temporal_mm: float = 0.0
    global_steps: int = 3
    steps: int = 6
    restart_steps: int = 0
    damping: float = 0.1


@dataclass
class Evaluation:
    """The energy at one set of parameters, with what a Gauss-Newton step needs."""

    hand: PosedHand
    energy: float
    jtj: np.ndarray  # (U, U)
    jtr: np.ndarray  # (U,)
    data_rms_mm: float  # robust-free RMS of the data residuals of visible points
    data_mean_abs_mm: float  # mean |point-to-surface distance| over all observed points


@dataclass
class FitResult:
    """The fitted parameters and how well they fit."""

    params: HandParams
    hand: PosedHand
    energy: float
    mean_distance_mm: float  # mean |observed point to model surface|
    iterations: int


class Problem:
    """One frame's energy: the observation, the targets, the weights, the reference pose of the regularisers.

    Args:
        shape: the template hand (lengths at scale 1).
        obs: the frame (None: no data, silhouette or free-space terms, e.g. inverse kinematics).
        joints_mm: ``(14, 3)`` the network's joints for the prior, or None.
        start: the pose the angle and scale regularisers pull toward.
        previous: the previous frame's fit (temporal term), or None.
        fit_scale: let the scale change.
        prior_weights: ``(14,)`` per-joint factors of the prior (None: all 1).
        landmarks: 2-D targets of model joints (the landmark term; needs ``obs`` for the camera), or None.
    """

    def __init__(self, shape: HandShape, obs: Observation | None, joints_mm: np.ndarray | None, start: HandParams,
                 weights: FitWeights, previous: HandParams | None = None, fit_scale: bool = False,
                 prior_weights: np.ndarray | None = None, landmarks: LandmarkTargets | None = None) -> None:
        self.shape, self.obs, self.joints_mm, self.start = shape, obs, joints_mm, start
        self.weights, self.previous, self.fit_scale = weights, previous, fit_scale
        self.prior_weights = _ONES14 if prior_weights is None else np.ascontiguousarray(prior_weights, np.float64)
        self.landmarks = landmarks if obs is not None else None
        if self.landmarks is not None:
            lm = self.landmarks
            self._lm_ids = np.asarray(lm.joint_ids, np.intp)
            self._lm_args = (lm.chains, np.ascontiguousarray(lm.uv_px, np.float64),
                             np.ascontiguousarray(lm.weights, np.float64),
                             np.ascontiguousarray(lm.mm_per_px, np.float64))

    def evaluate(self, params: HandParams) -> Evaluation:
        """The energy at ``params`` and its Gauss-Newton normal equations.

        Every residual is ``direction . point`` of a point moving with the model, so one Jacobian routine serves all
        terms (:func:`inference.fit.kernels.assemble` gathers them in one compiled pass).
        """
        hand, (jac, res, wts, energy, mean_abs, rms) = self._assemble(params, energy_only=False)
        wrows = jac * wts[:, None]
        jtj = wrows.T @ jac
        jtr = wrows.T @ res
        energy = self._regularise(params, energy, jtj, jtr)
        return Evaluation(hand, float(energy), jtj, jtr, float(rms), float(mean_abs))

    def energy(self, params: HandParams) -> float:
        """The energy at ``params`` alone (exactly :meth:`evaluate`'s, without the Jacobian: about half the cost), for
        comparing candidates."""
        _, (_, _, _, energy, _, _) = self._assemble(params, energy_only=True)
        return float(self._regularise(params, energy))

    def _assemble(self, params: HandParams, energy_only: bool) -> tuple[PosedHand, tuple]:
        """The posed hand and :func:`inference.fit.kernels.assemble`'s terms at ``params``."""
        w = self.weights
        obs = self.obs
        hand = PosedHand.of(self.shape, params, surface=obs is not None)
        terms = 32 if energy_only else 0
        if obs is not None:
            terms |= 1 | 2 | 4
            sil, intr, points, depth = obs.silhouette, obs.intrinsics, obs.points_mm, obs.depth_mm
            dist_map, grad_u, grad_v, grid = sil.distance, sil.grad_u, sil.grad_v, (sil.u0, sil.v0, sil.step)
            fx, fy, cx, cy = intr.fx, intr.fy, intr.cx, intr.cy
        else:
            points, depth = _NO_POINTS, _NO_DEPTH
            dist_map = grad_u = grad_v = _NO_MAP
            grid, (fx, fy, cx, cy) = (0.0, 0.0, 1.0), (1.0, 1.0, 0.0, 0.0)
        targets = self.joints_mm
        if targets is not None:
            terms |= 8
        else:
            targets = _NO_TARGETS
        if self.landmarks is not None:
            terms |= 16
            lm_points, (lm_chains, lm_uv, lm_weights, lm_scale) = hand.joints[self._lm_ids], self._lm_args
        else:
            lm_points, lm_chains, lm_uv, lm_weights, lm_scale = _NO_LANDMARKS
        return hand, kernels.assemble(
            points, hand.capsules, hand.ellipsoid_centres, hand.ellipsoid_axes, hand.ellipsoid_semi, PRIMITIVE_CHAINS,
            AXIS_CHAINS, AXIS_FRACTIONS, hand.eval_joints, EVAL_JOINT_CHAINS, targets, self.prior_weights, dist_map,
            grad_u, grad_v, grid[0], grid[1], grid[2], fx, fy, cx, cy, depth, hand.axes, hand.moments,
            hand.dof_weights, params.translation_mm, self.fit_scale, w.data, w.data_scale_mm**2, w.silhouette,
            w.free_space, w.prior, _FREE_MARGIN_MM, lm_points, lm_chains, lm_uv, lm_weights, lm_scale,
            w.landmarks, w.landmark_scale_mm**2, terms,
        )

    def _regularise(self, params: HandParams, energy: float, jtj: np.ndarray | None = None,
                    jtr: np.ndarray | None = None) -> float:
        """``energy`` plus the regularisers' (added in one order, so both callers get the same float), and their
        terms added onto the normal equations ``jtj``, ``jtr`` in place when given: angles (rad) toward the start,
        log(scale) toward the start, the wrist toward the previous fit."""
        w = self.weights
        d_ang = np.radians(params.angles_deg[FIT_DOFS] - self.start.angles_deg[FIT_DOFS])
        k = w.angles / len(FIT_DOFS)
        energy += k * float((d_ang * d_ang).sum())
        if jtj is not None and jtr is not None:
            jtj[ANGLES, ANGLES] += k * _EYE_DOF
            jtr[ANGLES] += k * d_ang
        if self.fit_scale:
            d_scale = float(np.log(params.scale / self.start.scale))
            energy += w.scale * d_scale * d_scale
            if jtj is not None and jtr is not None:
                jtj[SCALE, SCALE] += w.scale
                jtr[SCALE] += w.scale * d_scale
        if self.previous is not None and w.temporal_mm > 0:
            d_t = params.translation_mm - self.previous.translation_mm
            k = w.temporal_mm / 3
            energy += k * float((d_t * d_t).sum())
            if jtj is not None and jtr is not None:
                jtj[TRANS, TRANS] += k * np.eye(3)
                jtr[TRANS] += k * d_t
        return energy


_EYE_DOF = np.eye(len(FIT_DOFS))
_NO_POINTS = np.zeros((0, 3))
_NO_DEPTH = np.zeros((1, 1), np.uint16)
_NO_MAP = np.zeros((1, 1), np.float32)
_NO_TARGETS = np.zeros((14, 3))
_ONES14 = np.ones(14)
_NO_LANDMARKS = (np.zeros((0, 3)), np.zeros((0, EVAL_JOINT_CHAINS.shape[1]), bool), np.zeros((0, 2)), np.zeros(0),
                 np.zeros(0))
_FREE_MARGIN_MM = 15.0  # observed surface this much behind a model point: the model is in empty space


# The unknowns the first steps move: the global rotation and translation, the wrist angles (and the scale).
_GLOBAL = np.zeros(NUM_UNKNOWNS, bool)
_GLOBAL[:6] = True
_GLOBAL[6 + 20: 6 + 22] = True
_GLOBAL[SCALE] = True
# The unknowns a step moves, by (a global step?, the scale free?).
_FREE = {(is_global, with_scale): np.array([(_GLOBAL[u] if is_global else True) and (u != SCALE or with_scale)
                                            for u in range(NUM_UNKNOWNS)])
         for is_global in (False, True) for with_scale in (False, True)}


def fit(problem: Problem, params: HandParams, start: Evaluation | None = None) -> FitResult:
    """Gauss-Newton from ``params`` with the weights' steps, then, if ``restart_steps``, again from the fitted global
    pose with the finger and thumb angles of ``params``; the lower energy wins."""
    first = solve(problem, params, start=start)
    n = problem.weights.restart_steps
    if n <= 0:
        return first
    again = first.params.copy()
    again.angles_deg[:20] = params.angles_deg[:20]  # fingers and thumb; the wrist stays where it was fitted
    second = solve(problem, again, 0, n)
    second.iterations += first.iterations
    return second if second.energy < first.energy else first


# The angles of each finger (NYU order: pinky, ring, middle, index; 4 each) and of the thumb.
FINGER_DOFS: tuple[np.ndarray, ...] = (*(np.arange(4 * f, 4 * f + 4) for f in range(4)), np.arange(16, 20))
# The 14 evaluation joints of each of those fingers (tip and middle joint; the thumb's three).
FINGER_EVAL_JOINTS: tuple[tuple[int, ...], ...] = (
    *((FINGERTIPS[f], FINGERTIPS[f] + 1) for f in ("pinky", "ring", "middle", "index")),
    (FINGERTIPS["thumb"], FINGERTIPS["thumb"] + 1, FINGERTIPS["thumb"] + 2),
)


def fingers_with(joints: np.ndarray) -> tuple[int, ...]:
    """The fingers (indices into :data:`FINGER_DOFS`) with at least one of their evaluation joints set in the
    ``(14,)`` bool ``joints``: e.g. those a retry should try (joints far off, or joints a caller keeps from the fit)."""
    return tuple(f for f, rows in enumerate(FINGER_EVAL_JOINTS) if joints[list(rows)].any())


def retry_fingers(problem: Problem, result: FitResult, alternatives: list[np.ndarray], steps: int,
                  local_step: bool = False, fingers: tuple[int, ...] | None = None) -> FitResult:
    """Try other bends finger by finger on a fit: a finger settled in a wrong bend (pointing back where the true one
    curls, lying on its neighbour's points) is a local minimum that Gauss-Newton from the fit cannot leave.

    For each finger (and the thumb) in turn, its angles are replaced by each of ``alternatives`` (``(NUM_DOF,)``
    angle sets in degrees: e.g. the network's pose, an open and a curled hand) and kept when the energy drops; then
    ``steps`` Gauss-Newton steps polish the new combination. The lower energy of that and ``result`` wins. Costs one
    energy evaluation per finger and alternative, plus the steps when something changed. ``fingers``: indices into
    :data:`FINGER_DOFS` to try (None: all five).
    """
    # The fit's own energy is the bar (solve returns the energy of the parameters it returns: no re-evaluation).
    best_params, best_energy, changed = result.params, result.energy, False
    for dofs in FINGER_DOFS if fingers is None else [FINGER_DOFS[f] for f in fingers]:
        for alternative in alternatives:
            candidate = best_params.copy()
            candidate.angles_deg[dofs] = alternative[dofs]
            energy = problem.energy(candidate)  # the Jacobian only where a step needs it
            if energy >= best_energy and local_step:  # one step of that finger alone, then judge
                candidate, evaluation = _finger_step(problem, candidate, problem.evaluate(candidate), dofs)
                energy = evaluation.energy
            if energy < best_energy:
                best_params, best_energy, changed = candidate, energy, True
    if not changed:
        return result
    again = solve(problem, best_params, 0, steps, start=problem.evaluate(best_params))
    again.iterations += result.iterations
    return again if again.energy < result.energy else result


def _finger_step(problem: Problem, params: HandParams, evaluation: Evaluation, dofs: np.ndarray
                 ) -> tuple[HandParams, Evaluation]:
    """One damped Gauss-Newton step of the angles ``dofs`` only (the rest held) -> (params, their evaluation)."""
    free = np.zeros(NUM_UNKNOWNS, bool)
    free[6 + dofs] = True
    delta, ok = kernels.damped_step(evaluation.jtj, evaluation.jtr, free, problem.weights.damping)
    if not ok:
        return params, evaluation
    stepped = params.step(delta, problem.fit_scale)
    return stepped, problem.evaluate(stepped)


def solve(problem: Problem, params: HandParams, global_steps: int | None = None, steps: int | None = None,
          start: Evaluation | None = None) -> FitResult:
    """Gauss-Newton from ``params`` (see the module docstring); ``start``: its evaluation when already made."""
    w = problem.weights
    n_global = w.global_steps if global_steps is None else global_steps
    n_all = w.steps if steps is None else steps
    current = problem.evaluate(params) if start is None else start
    best, best_params = current, params
    evaluations = 1
    for k in range(n_global + n_all):
        free = _FREE[k < n_global, bool(problem.fit_scale)]
        delta, ok = kernels.damped_step(current.jtj, current.jtr, free, w.damping)
        if not ok:
            break
        params = params.step(delta, problem.fit_scale)
        current = problem.evaluate(params)
        evaluations += 1
        if current.energy < best.energy:
            best, best_params = current, params
    return FitResult(best_params, best.hand, best.energy, best.data_mean_abs_mm, evaluations)
