"""Exact distances to the model's surface: capsules in closed form, ellipsoids by Newton's method."""

from __future__ import annotations

import numpy as np
from scipy.spatial import cKDTree

from inference.fit.kernels import ellipsoid_distance
from inference.fit.model import HandParams, PosedHand
from inference.fit.surface import closest_on_surface
from inference.handmodel import NUM_DOF, mean_shape


def test_ellipsoid_distance_matches_a_dense_sampling_of_its_surface() -> None:
    rng = np.random.default_rng(0)
    semi = np.array([41.0, 54.0, 13.5])  # the palm's proportions: flat, where first-order estimates fail
    u = rng.normal(size=(400_000, 3))
    surface = u / np.linalg.norm(u, axis=1, keepdims=True) * semi
    tree = cKDTree(surface)
    for y in rng.normal(0, 40, (60, 3)):
        d, nx, ny, nz = ellipsoid_distance(y.copy(), semi)
        assert abs(abs(d) - tree.query(y)[0]) < 0.1  # the sampling's own resolution
        closest = y - d * np.array([nx, ny, nz])
        assert abs(((closest / semi) ** 2).sum() - 1.0) < 1e-9  # on the surface
        assert (d < 0) == (((y / semi) ** 2).sum() < 1.0)  # negative inside


def test_closest_points_lie_on_the_hand_and_distances_are_exact_outside() -> None:
    rng = np.random.default_rng(1)
    angles = np.zeros(NUM_DOF)
    angles[[0, 2, 17]] = [40.0, 60.0, 20.0]
    hand = PosedHand.of(mean_shape(), HandParams(np.eye(3), np.array([0.0, 0.0, 600.0]), angles))
    x = hand.joints.mean(axis=0) + rng.normal(0, 60, (300, 3))
    cl = closest_on_surface(hand, x)
    np.testing.assert_allclose(np.linalg.norm(cl.normals, axis=1), 1.0)
    outside = cl.distance_mm > 1.0
    # From outside, the closest point of the nearest primitive is on the union's surface: distance 0 there.
    np.testing.assert_allclose(closest_on_surface(hand, cl.points_mm[outside]).distance_mm, 0.0, atol=1e-6)
    # A point straight above a capsule's middle is its radius less than its distance to the axis away.
    cap = hand.capsules[5]  # the ring finger's middle phalanx
    middle = 0.5 * (cap[:3] + cap[3:6])
    side = np.cross(cap[3:6] - cap[:3], [0.0, 0.0, 1.0])
    probe = middle + 3.0 * cap[6] * side / np.linalg.norm(side)
    assert closest_on_surface(hand, probe[None]).distance_mm[0] <= 2.0 * cap[6] + 1e-9
