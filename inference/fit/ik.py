"""Inverse kinematics: the hand model's pose that puts its 14 NYU joints where a network says they are.

The global pose starts from the palm triangle (the two wrist points and the palm centre, rigid in the model)
aligned by Kabsch; Gauss-Newton on the joint distances alone (the fitter's prior term at full weight, a small pull
toward the start angles keeping unseen DOFs put) then bends the fingers and sizes the hand.

Without a previous fit the start is a relaxed hand, from which Gauss-Newton does not reach a curled finger: it
shrank the hand instead (the exact joints of template fists came out 20-30 mm off at 0.6 of the size). So the
fingers are bent first at the palm's size, each finger also tried curled, open and (the thumb) spread, and only then
is the size let go (on 24 template poses: 13.7 -> 0.4 mm mean).
"""

from __future__ import annotations

import numpy as np

from inference.core.skeleton import PALM_CENTRE, WRIST, palm_vector
from inference.fit.model import HandParams, PosedHand, template
from inference.fit.solver import FitResult, FitWeights, Problem, fingers_with, retry_fingers, solve
from inference.handmodel import NUM_DOF, HandShape

_PALM = [WRIST[0], WRIST[1], PALM_CENTRE]  # rigid in the model: the global pose's anchor
# A relaxed hand: fingers slightly flexed, thumb slightly out; what IK starts from without a previous fit.
REST_ANGLES_DEG = np.zeros(NUM_DOF)
REST_ANGLES_DEG[[0, 4, 8, 12]] = 15.0
REST_ANGLES_DEG[[2, 6, 10, 14]] = 20.0
REST_ANGLES_DEG[16:20] = [15.0, 10.0, 10.0, 10.0]
IK_WEIGHTS = FitWeights(data=0.0, silhouette=0.0, free_space=0.0, prior=1.0, angles=50.0, scale=20.0,
                        global_steps=2, steps=5, damping=0.05)
# From the previous frame's fit the joints are close already: fewer steps.
IK_TRACKING_STEPS = (1, 2)
IK_SCALE_STEPS = 3  # from a relaxed hand: Gauss-Newton steps with the size free, after the fingers are bent
IK_RETRY_MM = 10.0  # a finger whose joints stay farther than this from their targets tries the other bends

# Finger bends (degrees, NUM_DOF) a start tries for each finger besides the one it has: an open hand, a loose fist,
# the thumb held away from the palm as in an open hand.
OPEN_DEG = np.zeros(NUM_DOF)
CURLED_DEG = np.zeros(NUM_DOF)
for _f in range(4):
    CURLED_DEG[4 * _f], CURLED_DEG[4 * _f + 2] = 70.0, 90.0  # MCP and PIP flexion; the DIP follows the PIP
CURLED_DEG[16:20] = (30.0, 30.0, 40.0, 40.0)  # thumb CMC abduction / flexion, MCP, IP
SPREAD_DEG = np.zeros(NUM_DOF)
SPREAD_DEG[16:20] = (50.0, -10.0, 0.0, 0.0)


def kabsch(source: np.ndarray, target: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Rotation ``R (3, 3)`` and translation ``t (3,)`` minimising ``|R source + t - target|`` for ``(K, 3)`` points."""
    cs, ct = source.mean(axis=0), target.mean(axis=0)
    u, _, vt = np.linalg.svd((source - cs).T @ (target - ct))
    d = np.sign(np.linalg.det(vt.T @ u.T))
    r = vt.T @ np.diag([1.0, 1.0, d]) @ u.T
    return r, ct - r @ cs


def palm_aligned(joints_mm: np.ndarray, angles_deg: np.ndarray, scale: float, shape: HandShape) -> HandParams:
    """The model at ``angles_deg`` and ``scale``, placed so its palm triangle best matches ``joints_mm (14, 3)``."""
    local = PosedHand.of(shape, HandParams(np.eye(3), np.zeros(3), angles_deg, scale), surface=False).eval_joints
    r, t = kabsch(local[_PALM], joints_mm[_PALM])
    return HandParams(r, t, angles_deg.copy(), scale)


def solve_ik(joints_mm: np.ndarray, start: HandParams | None = None, shape: HandShape | None = None,
             fit_scale: bool = True, prior_weights: np.ndarray | None = None, scale: float | None = None) -> FitResult:
    """The pose whose 14 joints best match ``joints_mm (14, 3)`` (mm; each weighted by ``prior_weights (14,)`` when
    given): from ``start`` (e.g. the previous frame's fit, re-anchored on the palm) or from a relaxed hand.
    ``scale``: the hand's size, held (None: the start's, or the network's palm's, freed at the end when
    ``fit_scale``)."""
    shape = template() if shape is None else shape
    joints = np.asarray(joints_mm, np.float64)
    if scale is not None:
        fit_scale = False
    if start is not None:
        start = palm_aligned(joints, start.angles_deg, start.scale if scale is None else scale, shape)
        return solve(Problem(shape, None, joints, start, IK_WEIGHTS, fit_scale=fit_scale,
                             prior_weights=prior_weights), start, *IK_TRACKING_STEPS)
    start = palm_aligned(joints, REST_ANGLES_DEG, _palm_scale(joints, shape) if scale is None else scale, shape)
    sized = Problem(shape, None, joints, start, IK_WEIGHTS, fit_scale=False, prior_weights=prior_weights)
    first = solve(sized, start)
    # Only a finger left far from its joints tries the other bends (each try costs an evaluation).
    off_mm = np.linalg.norm(first.hand.eval_joints - joints, axis=1)
    astray = fingers_with(off_mm > IK_RETRY_MM)
    bent = retry_fingers(sized, first, [CURLED_DEG, OPEN_DEG, SPREAD_DEG], IK_WEIGHTS.steps, fingers=astray)
    if not fit_scale:
        return bent
    free = Problem(shape, None, joints, bent.params, IK_WEIGHTS, fit_scale=True, prior_weights=prior_weights)
    again = solve(free, bent.params, 0, IK_SCALE_STEPS)
    again.iterations += bent.iterations
    return again


def _palm_scale(joints_mm: np.ndarray, shape: HandShape) -> float:
    """The hand size the network's palm suggests: its wrist-to-palm-centre distance over the template's."""
    local = PosedHand.of(shape, HandParams(np.eye(3), np.zeros(3), REST_ANGLES_DEG, 1.0), surface=False).eval_joints
    ref = np.linalg.norm(palm_vector(local))
    got = np.linalg.norm(palm_vector(joints_mm))
    return float(np.clip(got / max(ref, 1e-6), 0.8, 1.25))
