"""Exact distances to the model's surface: capsules in closed form, ellipsoids by Newton's method."""

from __future__ import annotations

import numpy as np
from scipy.spatial import cKDTree

from inference.fit.kernels import closest, ellipsoid_distance
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


def _nearest_by_brute_force(hand: PosedHand, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Signed distance to every primitive, measured one by one (no bounds), and the index of the nearest."""
    per_primitive = []
    for cap in hand.capsules:
        axis = cap[3:6] - cap[:3]
        t = np.clip((x - cap[:3]) @ axis / (axis @ axis), 0.0, 1.0)
        per_primitive.append(np.linalg.norm(x - cap[:3] - t[:, None] * axis, axis=1) - cap[6])
    for centre, axes, semi in zip(hand.ellipsoid_centres, hand.ellipsoid_axes, hand.ellipsoid_semi, strict=True):
        per_primitive.append(np.array([ellipsoid_distance(axes @ (p - centre), semi)[0] for p in x]))
    d = np.stack(per_primitive, axis=1)
    return d.min(axis=1), d.argmin(axis=1)


def test_the_bounded_search_finds_the_nearest_primitive_inside_and_out() -> None:
    # closest() skips a primitive when a bound says it cannot win; a bound that is wrong (e.g. for points inside
    # an ellipsoid, where the scaled bound must use the longest semi-axis) picks the wrong primitive.
    rng = np.random.default_rng(2)
    for trial in range(6):
        angles = rng.uniform(0.0, 60.0, NUM_DOF)
        hand = PosedHand.of(mean_shape(), HandParams(np.eye(3), np.array([0.0, 0.0, 600.0]), angles))
        x = np.concatenate([hand.joints[rng.integers(0, 36, 300)] + rng.normal(0, 15, (300, 3)),
                            hand.ellipsoid_centres[rng.integers(0, len(hand.ellipsoid_centres), 200)]
                            + rng.normal(0, 6, (200, 3))])  # many inside the palm and the forearm
        want, nearest = _nearest_by_brute_force(hand, x)
        got, _, prim = closest(x, hand.capsules, hand.ellipsoid_centres, hand.ellipsoid_axes, hand.ellipsoid_semi)
        np.testing.assert_allclose(got, want, atol=1e-9, err_msg=f"trial {trial}")
        assert (got < 0).sum() > 50  # the inside case is exercised
        np.testing.assert_array_equal(prim, nearest)
