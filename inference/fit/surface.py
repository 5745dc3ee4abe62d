"""Distances from points to the posed hand's surface (the union of its capsules and ellipsoids).

Both are exact, so that the signed distance moves with the model as its normal says (the fitter's Jacobians
rely on it): for a capsule the closest surface point is the nearest point of its axis segment pushed out by
the radius; for an ellipsoid ``|A (p - c)| = 1`` it is found in the ellipsoid's own axes by Newton's method on
the one-dimensional equation of the closest point (Eberly, "Distance from a point to an ellipse, an ellipsoid, or
a hyperellipsoid"), started where the iteration increases monotonically to the root. The union's signed
distance is the smallest of the primitives' (negative inside).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from inference.fit import kernels
from inference.fit.model import PosedHand


@dataclass
class Closest:
    """For each of N query points: the nearest model surface point.

    Attributes:
        distance_mm: ``(N,)`` signed distance to the model surface (negative inside).
        normals: ``(N, 3)`` unit outward surface normal at the closest point.
        points_mm: ``(N, 3)`` the closest surface point.
        primitive: ``(N,)`` index into capsules then ellipsoids of :class:`PosedHand`.
    """

    distance_mm: np.ndarray
    normals: np.ndarray
    points_mm: np.ndarray
    primitive: np.ndarray


def closest_on_surface(hand: PosedHand, points_mm: np.ndarray) -> Closest:
    """The nearest surface point of ``hand`` to each of ``points_mm (N, 3)``."""
    x = np.ascontiguousarray(points_mm, np.float64)
    distance, normals, primitive = kernels.closest(x, hand.capsules, np.ascontiguousarray(hand.ellipsoids[:, 0:3]),
                                                   hand.ellipsoid_axes, hand.ellipsoid_semi)
    return Closest(distance, normals, x - distance[:, None] * normals, primitive)


def surface_samples(hand: PosedHand, rings: int = 5, around: int = 10) -> np.ndarray:
    """``(M, 3)`` points spread over the model's surface (for drawing the fitted hand as a point cloud): ``rings``
    circles of ``around`` points along each capsule, and a ``2 * around x around`` lattice on each ellipsoid."""
    caps = hand.capsules
    p0, p1, radius = caps[:, None, None, 0:3], caps[:, None, None, 3:6], caps[:, 6, None, None, None]
    axis = caps[:, 3:6] - caps[:, 0:3]
    axis /= np.maximum(np.linalg.norm(axis, axis=1, keepdims=True), 1e-9)
    helper = np.where(np.abs(axis[:, 2:3]) < 0.9, [[0.0, 0.0, 1.0]], [[1.0, 0.0, 0.0]])
    e1 = np.cross(axis, helper)
    e1 /= np.linalg.norm(e1, axis=1, keepdims=True)
    e2 = np.cross(axis, e1)
    t = np.linspace(0.0, 1.0, rings)[None, :, None, None]
    phi = np.linspace(0.0, 2.0 * np.pi, around, endpoint=False)[None, None, :, None]
    ring = np.cos(phi) * e1[:, None, None, :] + np.sin(phi) * e2[:, None, None, :]
    on_caps = (p0 + t * (p1 - p0) + radius * ring).reshape(-1, 3)
    theta = np.linspace(0.1, np.pi - 0.1, around)[:, None]
    psi = np.linspace(0.0, 2.0 * np.pi, 2 * around, endpoint=False)[None, :]
    unit = np.stack([np.sin(theta) * np.cos(psi), np.sin(theta) * np.sin(psi), np.cos(theta) + 0 * psi], -1)
    unit = unit.reshape(-1, 3)
    on_ells = [c + (unit * s) @ a for c, a, s in zip(hand.ellipsoid_centres, hand.ellipsoid_axes,
                                                        hand.ellipsoid_semi, strict=True)]
    return np.concatenate([on_caps, *on_ells])
