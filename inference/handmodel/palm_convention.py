"""Where the palm labels W1, W2, C (``PALM_1..3``) lie: NYU's convention, and the generator's first one.

The real NYU labels put the two wrist points on the back half of the wrist (``PALM_1`` at its little-finger edge,
``PALM_2`` near its middle, ~30 mm apart) and the palm centre 70% of the way from the wrist to the knuckles,
toward the back of the hand. The generator's first hand model put them elsewhere: the wrist points 49 mm apart at
mid-thickness, the palm centre half-way up the palm (``GENERATOR_V1``). The model now follows NYU
(``inference.handmodel.kinematics.PALM_POINTS``, measured by ``scripts/palm_convention.py``).

A network trained on data of the first convention predicts its palm points; :func:`to_nyu_palm` moves them to
NYU's through the palm frame they define (the three points are rigid in the model, so the similarity transform
from the model's first-convention triangle to the predicted one carries the NYU triangle along). Exported models
say which convention their training data had (``ModelMetadata.palm_convention``); a model file without it
predates the change and is of the first convention.
"""

from __future__ import annotations

import numpy as np

from inference.core.skeleton import EVAL_JOINT_IDS
from inference.handmodel.kinematics import PALM_MIDDLE, PALM_POINTS
from inference.handmodel.shape import PALM_LENGTH_MM, PALM_THICKNESS_MM, PALM_WIDTH_MM

NYU = "nyu"
GENERATOR_V1 = "generator-v1"
CONVENTIONS = (NYU, GENERATOR_V1)
# PALM_1..3 of the first generator as fractions of (palm width, length, thickness).
GENERATOR_V1_PALM = np.array([[-0.3, 0.02, 0.0], [0.3, 0.02, 0.0], [0.02, 0.5, 0.0]])
PALM_JOINT_IDS = (30, 31, 32)  # PALM_1..3 in the 36-joint layout

_DIMS = np.array([PALM_WIDTH_MM, PALM_LENGTH_MM, PALM_THICKNESS_MM])
_V1_LOCAL = GENERATOR_V1_PALM * _DIMS
_NYU_LOCAL = PALM_POINTS[:3] * _DIMS
_MIDDLE_LOCAL = PALM_MIDDLE * _DIMS


def _similarity(source: np.ndarray, target: np.ndarray) -> tuple[float, np.ndarray, np.ndarray]:
    """Scale ``s``, rotation ``R (3, 3)``, translation ``t (3,)`` minimising ``|s R source + t - target|`` (Umeyama)
    for ``(K, 3)`` points."""
    cs, ct = source.mean(axis=0), target.mean(axis=0)
    a, b = source - cs, target - ct
    u, sig, vt = np.linalg.svd(b.T @ a)
    d = np.ones(3)
    d[2] = np.sign(np.linalg.det(u @ vt)) or 1.0
    r = u @ np.diag(d) @ vt
    s = float((sig * d).sum() / max((a * a).sum(), 1e-12))
    return s, r, ct - s * r @ cs


def _palm_rows(joint_ids: list[int] | tuple[int, ...]) -> list[int] | None:
    """The rows of ``PALM_1..3`` among ``joint_ids``, or None when one is missing."""
    ids = list(joint_ids)
    return [ids.index(j) for j in PALM_JOINT_IDS] if all(j in ids for j in PALM_JOINT_IDS) else None


def to_nyu_palm(joints: np.ndarray, joint_ids: list[int] | tuple[int, ...] = EVAL_JOINT_IDS) -> np.ndarray:
    """``joints (J, 3)`` (any units with the same scale on every axis: mm, or a crop's cube units) of the first
    generator convention -> the same joints with ``PALM_1..3`` where NYU puts them. Joints without all three palm
    points, or with non-finite ones, come back unchanged."""
    rows = _palm_rows(joint_ids)
    if rows is None:
        return joints
    palm = np.asarray(joints, np.float64)[rows]
    if not np.isfinite(palm).all():
        return joints
    s, r, t = _similarity(_V1_LOCAL, palm)
    out = np.array(joints, copy=True)
    out[rows] = (s * _NYU_LOCAL @ r.T + t).astype(out.dtype)
    return out


def palm_middle(joints: np.ndarray, joint_ids: list[int] | tuple[int, ...] = EVAL_JOINT_IDS) -> np.ndarray:
    """``(3,)`` the middle of the palm body of NYU-convention ``joints (J, 3)``: the point a crop is centred on
    (NYU's palm centre lies 20 mm nearer the knuckles and toward the back of the hand, where a crop centred on it
    would not be the crops a network was trained on). It is the first generator's palm centre, placed through the
    palm frame of W1, W2, C; without a whole palm, ``PALM_3`` (or NaN)."""
    rows = _palm_rows(joint_ids)
    if rows is None:
        return np.full(3, np.nan)
    palm = np.asarray(joints, np.float64)[rows]
    if not np.isfinite(palm).all():
        return palm[2].copy()
    s, r, t = _similarity(_NYU_LOCAL, palm)
    return s * r @ _MIDDLE_LOCAL + t
