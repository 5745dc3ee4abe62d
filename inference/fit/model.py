"""The hand model as the fitter sees it: parameters, the posed surface in camera space, and Jacobian rows.

Parameters (:class:`HandParams`): the camera-from-hand rotation and translation, the 22 joint angles (fingers,
thumb, and the wrist, which turns the forearm: the segmentation leaves a piece of it, and the model explains
those points rather than mistaking them for palm) and one scale of the template hand. The fitter's unknowns are
increments of them (:data:`NUM_UNKNOWNS` = 29): a rotation vector ``omega`` (3, rad, applied on the left:
``R <- exp(omega) R``), a translation (3, mm), the 22 angles (rad) and ``log(scale)`` (1).

A point ``p`` of the posed model moves with them as
- ``omega``: ``omega x (p - t)``; translation: the identity;
- an angle: ``sum_g w[g, k] a_g x (p - o_g)`` over the joint rotations ``g`` of its chain (axes ``a_g`` through
  ``o_g``, weights from :class:`inference.handmodel.Articulation`);
- ``log(scale)``: ``p - t`` (every length of the hand scales).
A residual ``r = v . p + const`` (``v`` a direction: a surface normal, an image gradient, a coordinate axis) has
the row ``v . dp/dx``; :meth:`PosedHand.rows` builds those rows for many points at once.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from inference.core.skeleton import EVAL_JOINT_IDS
from inference.fit import kernels
from inference.handmodel import (
    CAPSULE_CHAINS,
    ELLIPSOID_CHAINS,
    JOINT_CHAINS,
    NUM_DOF,
    HandShape,
    clip_angles,
    mean_shape,
    pose_hand_articulated,
)

# The angles the fitter moves: all of them.
FIT_DOFS = np.arange(NUM_DOF)
NUM_UNKNOWNS = 3 + 3 + len(FIT_DOFS) + 1
ROT, TRANS, ANGLES, SCALE = slice(0, 3), slice(3, 6), slice(6, 6 + len(FIT_DOFS)), 6 + len(FIT_DOFS)


_EYE3 = np.eye(3)


def cross_rows(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Row-wise cross product of ``(N, 3)`` arrays (``np.cross`` without its generic-axis overhead)."""
    out = np.empty(np.broadcast_shapes(a.shape, b.shape))
    out[..., 0] = a[..., 1] * b[..., 2] - a[..., 2] * b[..., 1]
    out[..., 1] = a[..., 2] * b[..., 0] - a[..., 0] * b[..., 2]
    out[..., 2] = a[..., 0] * b[..., 1] - a[..., 1] * b[..., 0]
    return out


def rotation_from_vector(omega: np.ndarray) -> np.ndarray:
    """Rodrigues: the rotation matrix ``(3, 3)`` of the rotation vector ``omega`` (rad)."""
    return kernels.rotate_left(np.asarray(omega, np.float64), _EYE3)


@dataclass
class HandParams:
    """A hand's pose: ``p_camera = rotation @ (scale * p_template) + translation_mm`` (mm, NYU camera axes).

    Attributes:
        rotation: ``(3, 3)`` camera-from-hand rotation.
        translation_mm: ``(3,)`` the wrist centre in camera space.
        angles_deg: ``(NUM_DOF,)`` joint angles (degrees).
        scale: hand size relative to the template (:func:`inference.handmodel.mean_shape`).
    """

    rotation: np.ndarray
    translation_mm: np.ndarray
    angles_deg: np.ndarray = field(default_factory=lambda: np.zeros(NUM_DOF))
    scale: float = 1.0

    def copy(self) -> HandParams:
        return HandParams(self.rotation.copy(), self.translation_mm.copy(), self.angles_deg.copy(), self.scale)

    def step(self, delta: np.ndarray, with_scale: bool) -> HandParams:
        """The parameters moved by ``delta (NUM_UNKNOWNS,)`` (angles kept within the joint limits)."""
        angles = self.angles_deg.copy()
        angles[FIT_DOFS] = angles[FIT_DOFS] + np.degrees(delta[ANGLES])
        scale = self.scale * float(np.exp(np.clip(delta[SCALE], -0.1, 0.1))) if with_scale else self.scale
        return HandParams(kernels.rotate_left(delta[ROT], self.rotation), self.translation_mm + delta[TRANS],
                          clip_angles(angles), scale)


# Every primitive takes part: the hand's and the forearm's (whose piece the segmentation leaves).
PRIMITIVE_CHAINS = np.concatenate([CAPSULE_CHAINS, ELLIPSOID_CHAINS])  # (P, G): capsules, then ellipsoids
AXIS_FRACTIONS = np.array([0.0, 0.5, 1.0])  # where along each capsule the bone points lie
AXIS_CHAINS = np.concatenate([np.repeat(CAPSULE_CHAINS, len(AXIS_FRACTIONS), axis=0), ELLIPSOID_CHAINS])
EVAL_JOINT_CHAINS = JOINT_CHAINS[list(EVAL_JOINT_IDS)]  # (14, G)


@dataclass
class PosedHand:
    """The model at one :class:`HandParams`, in camera space (mm).

    Attributes:
        params: the parameters it was posed at.
        capsules: ``(C, 7)`` capsules ``(p0, p1, radius)``.
        ellipsoids: ``(E, 12)`` ellipsoids ``(centre, A row-major)``.
        joints: ``(36, 3)`` NYU joints.
        axes, origins: ``(G, 3)`` joint rotation axes and points on them.
        dof_weights: ``(G, NUM_DOF)`` d(rotation) / d(angle).
        moments: ``(G, 3)`` ``axes x origins``, for :meth:`rows`.
        ellipsoid_centres: ``(E, 3)``; ellipsoid_axes: ``(E, 3, 3)`` each ellipsoid's unit axes as rows;
        ellipsoid_semi: ``(E, 3)`` mm.
    """

    params: HandParams
    capsules: np.ndarray
    ellipsoids: np.ndarray
    joints: np.ndarray
    axes: np.ndarray
    origins: np.ndarray
    dof_weights: np.ndarray
    moments: np.ndarray
    ellipsoid_axes: np.ndarray
    ellipsoid_semi: np.ndarray

    ellipsoid_centres: np.ndarray

    @classmethod
    def of(cls, shape: HandShape, params: HandParams, surface: bool = True) -> PosedHand:
        """Forward kinematics of ``shape`` at ``params`` (the shape's lengths times ``params.scale``); without
        ``surface`` the joints only (no capsules or ellipsoids: inverse kinematics needs no more)."""
        geometry, art = pose_hand_articulated(shape, params.angles_deg, surface)
        caps, ells, centres, ell_axes, semi, joints, axes, origins, moments = kernels.to_camera(
            params.rotation, params.translation_mm, float(params.scale), geometry.capsules, geometry.ellipsoids,
            geometry.joints, art.axes, art.origins,
        )
        return cls(params, caps, ells, joints, axes, origins, art.dof_weights[:, FIT_DOFS], moments, ell_axes, semi,
                   centres)

    def axis_points(self) -> np.ndarray:
        """``(M, 3)`` points along every capsule's axis (at :data:`AXIS_FRACTIONS`) then every ellipsoid's centre:
        where the model's bones are (rows of :data:`AXIS_CHAINS`)."""
        caps = self.capsules
        f = AXIS_FRACTIONS[None, :, None]
        along = (caps[:, None, 0:3] * (1.0 - f) + caps[:, None, 3:6] * f).reshape(-1, 3)
        return np.concatenate([along, self.ellipsoids[:, 0:3]])

    def front_points(self) -> np.ndarray:
        """``(M, 3)`` the camera-facing surface point above each of :meth:`axis_points` (same rows): for a capsule
        the axis point moved toward the camera by the radius, for an ellipsoid the surface point on the line of
        sight through its centre."""
        points = self.axis_points()
        n_caps = len(self.capsules) * len(AXIS_FRACTIONS)
        toward = -points / np.sqrt((points * points).sum(axis=1, keepdims=True))  # the camera is at the origin
        points[:n_caps] += toward[:n_caps] * np.repeat(self.capsules[:, 6], len(AXIS_FRACTIONS))[:, None]
        # |A (c + t v) - A c| = 1 with A's rows axes / semi: t = 1 / |(axes . v) / semi|
        reach = 1.0 / np.sqrt(((np.einsum("eij,ej->ei", self.ellipsoid_axes, toward[n_caps:])
                                / self.ellipsoid_semi) ** 2).sum(axis=1))
        points[n_caps:] += toward[n_caps:] * reach[:, None]
        return points

    @property
    def eval_joints(self) -> np.ndarray:
        """``(14, 3)`` the NYU evaluation joints (mm)."""
        return self.joints[list(EVAL_JOINT_IDS)]

    def rows(self, points: np.ndarray, directions: np.ndarray, chains: np.ndarray, with_scale: bool) -> np.ndarray:
        """Jacobian rows ``(N, NUM_UNKNOWNS)`` of ``directions . points`` for points moving with the model.

        Args:
            points: ``(N, 3)`` model points (mm), each rigidly attached to its part.
            directions: ``(N, 3)`` the residual's direction per point (the residual is ``direction . point``).
            chains: ``(N, G)`` bool, the joint rotations that move each point.
            with_scale: fill the ``log(scale)`` column (else 0).
        """
        t = self.params.translation_mm
        out = np.zeros((len(points), NUM_UNKNOWNS))
        rel = points - t
        out[:, ROT] = cross_rows(rel, directions)
        out[:, TRANS] = directions
        # a_g . ((p - o_g) x v) = (p x v) . a_g - v . (a_g x o_g), for every point and rotation at once
        per_gen = cross_rows(points, directions) @ self.axes.T - directions @ self.moments.T
        out[:, ANGLES] = (per_gen * chains) @ self.dof_weights
        if with_scale:
            out[:, SCALE] = (directions * rel).sum(axis=1)
        return out


def template() -> HandShape:
    """The fitter's hand: the template (no subject's shape), sized by the fitted scale."""
    return _TEMPLATE


_TEMPLATE = mean_shape()

__all__ = [
    "ANGLES", "AXIS_CHAINS", "AXIS_FRACTIONS", "EVAL_JOINT_CHAINS", "FIT_DOFS", "NUM_UNKNOWNS", "PRIMITIVE_CHAINS",
    "ROT", "SCALE", "TRANS", "HandParams", "PosedHand", "rotation_from_vector", "template",
]
