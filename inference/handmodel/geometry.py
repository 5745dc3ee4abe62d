"""A posed hand as geometry: the 36 NYU joints and the surface primitives (capsules, ellipsoids) that render it.

Capsules are rows ``(p0 xyz, p1 xyz, radius)``; an ellipsoid row is ``(centre xyz, A row-major 3x3)`` with a
point ``p`` inside when ``|A (p - centre)| <= 1``. Part ids say what a primitive belongs to (the hand, the
forearm); the generator colours by them, the fitter keeps the hand.

The model is a right hand; a left hand is its mirror image (:meth:`HandGeometry.mirrored`: hand-local x
negated, so +x points ulnar), with the same joint order and meaning.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

# Parts, used to colour the rendered surfaces and to tell the hand from the forearm.
PART_HAND = 1
PART_FOREARM = 2
# Reflection of the hand-local frame that turns the right hand model into a left hand (x -> -x).
MIRROR_X = np.diag([-1.0, 1.0, 1.0])


@dataclass
class HandGeometry:
    """Posed hand in one coordinate frame (mm).

    Attributes:
        joints: ``(36, 3)`` NYU joints.
        capsules: ``(C, 7)`` rows ``(p0 xyz, p1 xyz, radius)``.
        capsule_parts: ``(C,)`` part id per capsule.
        ellipsoids: ``(E, 12)`` rows ``(centre xyz, 3x3 matrix A row-major)``; a point p is inside when
            ``|A (p - centre)| <= 1``.
        ellipsoid_parts: ``(E,)`` part ids.
        anchor: ``(3,)`` the middle of the palm body, where the generator places a hand in a scene. Not a label:
            the palm-centre label ``PALM_3`` follows NYU's convention (a third of the palm thickness toward the
            back, 70% of the way to the knuckles) and may change with it without moving any rendered scene.
    """

    joints: np.ndarray
    capsules: np.ndarray
    capsule_parts: np.ndarray
    ellipsoids: np.ndarray
    ellipsoid_parts: np.ndarray
    anchor: np.ndarray

    def transformed(self, rotation: np.ndarray, translation_mm: np.ndarray) -> HandGeometry:
        """Apply ``p -> R p + t`` (``R (3, 3)``, ``t (3,)``) to every point and primitive."""
        r, t = np.asarray(rotation, float), np.asarray(translation_mm, float)
        caps = self.capsules.copy()
        caps[:, 0:3] = caps[:, 0:3] @ r.T + t
        caps[:, 3:6] = caps[:, 3:6] @ r.T + t
        ell = self.ellipsoids.copy()
        ell[:, 0:3] = ell[:, 0:3] @ r.T + t
        # inside test |A (p - c)|: with p = R q + t, A' = A R^T.
        ell[:, 3:12] = (ell[:, 3:12].reshape(-1, 3, 3) @ r.T).reshape(-1, 9)
        return HandGeometry(self.joints @ r.T + t, caps, self.capsule_parts, ell, self.ellipsoid_parts,
                            self.anchor @ r.T + t)

    def mirrored(self) -> HandGeometry:
        """The mirror image about this frame's ``x = 0`` plane: the left hand of a right hand (and back).

        ``transformed`` holds for any orthogonal matrix, reflections included (capsule radii and ellipsoid
        shapes are unchanged by it)."""
        return self.transformed(MIRROR_X, np.zeros(3))


def ellipsoid_row(centre: np.ndarray, axes: np.ndarray, semi_mm: np.ndarray) -> np.ndarray:
    """One ellipsoid row: ``axes (3, 3)`` columns are its unit axes, ``semi_mm (3,)`` the semi-axis lengths."""
    a = (np.asarray(axes, float) / np.asarray(semi_mm, float)[None, :]).T
    return np.concatenate([np.asarray(centre, float), a.ravel()])
