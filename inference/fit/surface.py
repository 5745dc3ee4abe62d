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
