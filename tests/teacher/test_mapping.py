"""MediaPipe's 21 landmarks -> the 14 NYU joints: which landmark feeds which joint, the palm frame, mirror symmetry."""

from __future__ import annotations

import numpy as np

from inference.teacher.nyu_mapping import ALONG_BONE, FINGER_LANDMARKS, FINGER_PARENTS, palm_frame, to_nyu14


def flat_right_hand() -> np.ndarray:
    """21 landmarks (mm, camera space, y up) of a flat right hand, palm to the camera, fingers up, at z = 600:
    the thumb on the +x side (the person's right hand seen from the front)."""
    pts = np.zeros((21, 3))
    pts[0] = (0, 0, 600)
    for f, x in enumerate((25.0, 8.0, -9.0, -25.0)):  # index, middle, ring, pinky MCP columns
        for k, y in enumerate((90.0, 130.0, 155.0, 175.0)):
            pts[5 + 4 * f + k] = (x, y, 600)
    pts[1:5] = [(25, 25, 605), (45, 50, 600), (58, 75, 600), (68, 95, 600)]
    return pts


def test_fingers_come_from_their_landmarks_moved_along_the_bone() -> None:
    pts = flat_right_hand()
    joints = to_nyu14(pts, right=True)
    expected = pts[list(FINGER_LANDMARKS)] + ALONG_BONE * (pts[list(FINGER_LANDMARKS)] - pts[list(FINGER_PARENTS)])
    np.testing.assert_allclose(joints[:10], expected)
    # T3 lies between the thumb MCP (2) and CMC (1)
    assert np.linalg.norm(joints[10] - pts[2]) < np.linalg.norm(pts[1] - pts[2]) / 2


def test_wrist_points_and_palm_centre_follow_the_palm() -> None:
    pts = flat_right_hand()
    joints = to_nyu14(pts, right=True)
    w1, w2, c = joints[11:]
    # W1 ~0.43 knuckle widths (50 mm) to the little-finger side, W2 just to the thumb's side, both at the wrist
    assert w1[0] < -15 < 0 < w2[0] < 10 and abs(w1[1]) < 10 and abs(w2[1]) < 10
    assert 0.6 * 90 < c[1] < 0.8 * 90  # two thirds of the way to the middle MCP (90 mm up)
    assert all(j[2] > 600 for j in (w1, w2, c))  # dorsal of the palm surface: farther from the camera
    _, axes = palm_frame(pts, right=True)
    np.testing.assert_allclose(axes[2] / np.linalg.norm(axes[2]), (0, 0, 1), atol=1e-9)


def test_a_left_hand_maps_to_the_mirror_image() -> None:
    pts = flat_right_hand()
    mirror = np.array([-1.0, 1.0, 1.0])
    right = to_nyu14(pts, right=True)
    left = to_nyu14(pts * mirror, right=False)
    np.testing.assert_allclose(left, right * mirror, atol=1e-9)


def test_the_hand_turned_around_keeps_its_joints_on_the_hand() -> None:
    pts = flat_right_hand()
    angle = np.radians(70)
    rot = np.array([[np.cos(angle), 0, np.sin(angle)], [0, 1, 0], [-np.sin(angle), 0, np.cos(angle)]])
    centre = pts[0]
    turned = (pts - centre) @ rot.T + centre
    np.testing.assert_allclose(to_nyu14(turned, True), (to_nyu14(pts, True) - centre) @ rot.T + centre, atol=1e-9)
