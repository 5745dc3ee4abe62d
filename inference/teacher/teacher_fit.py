"""The teacher's hand refined by the articulated-hand fit (:mod:`inference.fit`), its 2-D landmarks a term of it.

Per frame, for the hand the teacher found:

1. **Observation**: a crop cube (:data:`CUBE_MM`) around the teacher's palm centre gives the hand's depth points and
   silhouette (:func:`inference.fit.observation.observe`), as the network's crop does on the depth-only path.
2. **Start and prior** (the prior's weight is 0 by default, :class:`inference.fit.refiner.RefineSettings`): the
   teacher's lifted landmarks mapped to the 14 NYU joints in the *model's* convention
   (:data:`MODEL_CONVENTION`: the fitter's hand, like the generator's, puts W1, W2 and C where the NYU labels do),
   each weighted in the prior by the teacher's per-joint confidence.
3. **Landmark term**: 20 of MediaPipe's 21 landmarks (all but the wrist, whose place on the hand the model does not
   share) pull the matching model joints' projections toward them (:data:`LANDMARK_JOINTS`; tips and PIPs moved 5%
   along their bone as in the mapping), weighted by the teacher's 2-D evidence (the two MediaPipe runs' agreement
   and its handedness certainty).
4. **Cost**: only the joints the teacher is unsure of take the fit's answer (step 5), so a hand the teacher is sure of
   everywhere is not fitted live (``skip_when_sure``: its output would be the teacher's joints either way), and a
   poor fit tries other bends only for the fingers that have such a joint.
5. **Output**: when the fit is accepted (:class:`inference.fit.refiner.HandRefiner`), the fitted model's joints
   where the teacher's per-joint confidence is below :data:`KEEP_CONFIDENT` (the teacher's elsewhere), with W1, W2, C
   and T3 moved from the model's convention into the teacher's (by the offsets between the two
   conventions on the teacher's own landmarks); otherwise the teacher's joints, unchanged.

The model is a right hand: a left hand is fitted in the frame mirrored about the principal point's column
(:func:`inference.runtime.mirror.mirror_image`) and mirrored back.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from inference.core.frame import Frame
from inference.core.geometry import xyz_to_uvd
from inference.core.skeleton import EVAL_JOINT_IDS
from inference.fit.landmarks import LandmarkTargets
from inference.fit.observation import observe
from inference.fit.refiner import STATUS_OK, HandRefiner, Refinement
from inference.fit.solver import fingers_with
from inference.handmodel.palm_convention import palm_middle
from inference.preprocess.crop import make_crop
from inference.runtime.mirror import mirror_image
from inference.teacher.estimator import TeacherHand
from inference.teacher.nyu_mapping import (
    ALONG_BONE,
    FINGER_LANDMARKS,
    FINGER_PARENTS,
    Convention,
    to_nyu14,
)

# Where the fitted hand model puts W1, W2, C and T3, in the teacher's palm frame: medians over 160 poses of 40 hands
# (inter-quartile spread <= 0.025). The model follows NYU's labels (inference.handmodel.palm_convention) and these
# lie within 0.04 of the teacher's NYU coefficients in the palm plane, 0.1 knuckle widths (~8 mm) further back.
MODEL_CONVENTION = Convention("model", w1=(-0.421, 0.005, 0.266), w2=(0.089, -0.019, 0.236),
                              c=(-0.076, 0.704, 0.099), t3=0.0)
CUBE_MM = 300.0  # the crop cube around the teacher's palm centre (the networks' cube)
# A joint the teacher is at least this sure of keeps the teacher's position; the fit places the others. On the
# development sequences (seeds 101-102, 7910 joints of accepted fits) the fit was better where the teacher's
# confidence was below 0.4 (38.4 -> 31.7 mm below 0.2, 22.3 -> 18.7 mm at 0.2-0.4) and worse above (12.3 -> 13.0,
# 6.8 -> 7.7, 5.2 -> 8.3 mm): the fitted template hand is a coarser estimate than a well-seen landmark.
KEEP_CONFIDENT = 0.4
# MediaPipe landmark -> the model's NYU joint row (of 36): thumb CMC, MCP, IP, tip; each finger MCP, PIP, DIP, tip.
LANDMARK_JOINTS: dict[int, int] = {
    1: 29, 2: 27, 3: 25, 4: 24,
    5: 23, 6: 21, 7: 19, 8: 18,
    9: 17, 10: 15, 11: 13, 12: 12,
    13: 11, 14: 9, 15: 7, 16: 6,
    17: 5, 18: 3, 19: 1, 20: 0,
}
_LANDMARKS = np.array(list(LANDMARK_JOINTS))
_MODEL_ROWS = np.array(list(LANDMARK_JOINTS.values()))
_FLIP_X = np.array([-1.0, 1.0, 1.0])
STATUS_SURE = "not fitted: the teacher is sure of every joint"


def landmark_targets(uv_px: np.ndarray, points_mm: np.ndarray, weights: np.ndarray, fx: float) -> LandmarkTargets:
    """The fit's 2-D targets from MediaPipe's 21 landmarks ``uv_px (21, 2)``, lifted ``points_mm (21, 3)`` (for
    their depth) and per-landmark ``weights (21,)``: tips and PIPs moved along their bone as
    :func:`inference.teacher.nyu_mapping.to_nyu14` moves them, the wrist left out."""
    uv = np.array(uv_px, np.float64, copy=True)
    joints, parents = list(FINGER_LANDMARKS), list(FINGER_PARENTS)
    uv[joints] = uv[joints] + ALONG_BONE * (uv[joints] - uv[parents])
    depth = np.maximum(points_mm[_LANDMARKS, 2], 1.0)
    return LandmarkTargets(_MODEL_ROWS, uv[_LANDMARKS], np.clip(weights[_LANDMARKS], 0.0, 1.0), depth / fx)


def convention_offsets(points_mm: np.ndarray, right: bool, convention: Convention) -> np.ndarray:
    """``(14, 3)`` what moves joints in the model's convention (:data:`MODEL_CONVENTION`) into ``convention``, as the
    teacher's own landmarks ``points_mm (21, 3)`` place the two: non-zero for W1, W2, C and T3 only."""
    return to_nyu14(points_mm, right, convention) - to_nyu14(points_mm, right, MODEL_CONVENTION)


def refine_hand(refiner: HandRefiner, frame: Frame, hand: TeacherHand, convention: Convention,
                keep_confident: float = KEEP_CONFIDENT, skip_when_sure: bool = False) -> tuple[TeacherHand, Refinement]:
    """The teacher's ``hand`` of ``frame`` refined by the fit (module docstring) -> (the hand with the fitted joints
    where the teacher's confidence is below ``keep_confident``, or unchanged when the fit was not accepted; the
    refinement). A left hand's refinement carries no model pose (``params`` None: the model is a right hand) and
    its joints mirrored back into the camera. ``skip_when_sure``: no fit (status :data:`STATUS_SURE`) when the
    teacher's confidence reaches ``keep_confident`` on every joint (the live path: the same joints, no fit's cost;
    ``handpose label`` fits every hand for its residual)."""
    unsure = np.asarray(hand.joint_confidence) < keep_confident
    if skip_when_sure and not unsure.any():
        return hand, Refinement(STATUS_SURE, scale=refiner.scale or 1.0)
    retry = fingers_with(unsure)
    intr = frame.intrinsics
    depth = np.asarray(frame.depth_mm)
    if depth.dtype.kind == "f":
        depth = np.where(np.isfinite(depth), depth, 0.0)
    mirrored = not hand.right
    points, uv = np.array(hand.landmarks_xyz_mm, np.float64), np.array(hand.landmarks_uv_px, np.float64)
    if mirrored:
        depth = mirror_image(depth, intr, nearest=True)
        points, uv[:, 0] = points * _FLIP_X, 2.0 * intr.cx - uv[:, 0]
    prior = to_nyu14(points, True, MODEL_CONVENTION)
    middle = palm_middle(prior)  # the palm body's middle, as the depth path centres its crops
    crop = make_crop(depth, xyz_to_uvd(middle, intr), intr, CUBE_MM)
    obs = observe(depth, crop, intr, middle)
    ev = hand.evidence
    targets = landmark_targets(uv, points, ev.agreement * ev.handedness, intr.fx)
    fit = refiner.refine(obs, prior, frame.index, landmarks=targets, prior_weights=hand.joint_confidence,
                         mirrored=mirrored, retry=retry)
    if fit.status != STATUS_OK or fit.joints_xyz_mm is None or fit.params is None:
        return hand, fit
    joints36 = fit.joints_xyz_mm
    joints = joints36[list(EVAL_JOINT_IDS)] + convention_offsets(points, True, convention)
    if mirrored:
        joints, joints36 = joints * _FLIP_X, joints36 * _FLIP_X
        fit = replace(fit, joints_xyz_mm=joints36, params=None)
    joints = np.where((hand.joint_confidence >= keep_confident)[:, None], hand.joints_xyz_mm, joints)
    return replace(hand, joints_xyz_mm=joints, joints_uvd=xyz_to_uvd(joints, intr)), fit

