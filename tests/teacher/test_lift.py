"""Lifting landmarks by depth: holes, the source's background value, silhouette edges, the skin-to-centre offset."""

from __future__ import annotations

import numpy as np
import pytest

from inference.teacher.lift import LiftParams, lift_landmarks

H, W = 120, 160


def hand_scene(background: int) -> tuple[np.ndarray, np.ndarray]:
    """A 'hand' plane at 600 mm over columns 40-99 with a finger (rows 0-29, cols 60-69) at 580 mm, the rest
    ``background``; 21 landmarks on the hand (wrist at the bottom, the middle MCP 50 px above it)."""
    depth = np.full((H, W), background, np.uint16)
    depth[30:110, 40:100] = 600
    depth[5:30, 60:70] = 580
    uv = np.tile([[70.0, 90.0]], (21, 1))
    uv[9] = (70.0, 40.0)  # the middle MCP: hand size 50 px
    return depth, uv


@pytest.mark.parametrize("background", [0, 2001, 1800])
def test_background_holes_and_edges_are_ignored(background: int) -> None:
    depth, uv = hand_scene(background)
    uv[12] = (69.0, 10.0)  # a fingertip on the finger's edge: 2 of the 5 window columns are background
    depth[89:92, 69:72] = 0  # a hole under the wrist landmark
    lifted = lift_landmarks(depth, uv)
    assert lifted.hand_mm == pytest.approx(600.0)
    assert lifted.surface_mm[12] == pytest.approx(580.0)  # the finger, not what lies behind it
    assert lifted.surface_mm[0] == pytest.approx(600.0)  # the hole is skipped
    offsets = np.asarray(LiftParams().centre_offsets_mm)
    np.testing.assert_allclose(lifted.joint_mm - lifted.surface_mm, offsets)
    assert lifted.support[12] == pytest.approx(15 / 25) and lifted.support[0] == pytest.approx(16 / 25)


def test_finger_in_front_of_the_palm_is_the_near_surface() -> None:
    depth, uv = hand_scene(0)
    depth[50:70, 66:74] = 570  # a finger folded over the palm
    uv[8] = (69.0, 60.0)
    lifted = lift_landmarks(depth, uv)
    assert lifted.surface_mm[8] == pytest.approx(570.0)


def test_a_landmark_on_nothing_has_no_depth_and_no_support() -> None:
    depth, uv = hand_scene(0)
    uv[4] = (150.0, 5.0)  # off the hand, on invalid pixels
    uv[20] = (-40.0, 500.0)  # outside the image
    lifted = lift_landmarks(depth, uv)
    assert np.isnan(lifted.joint_mm[[4, 20]]).all()
    assert lifted.support[4] == 0.0 and lifted.support[20] == 0.0
    assert np.isfinite(np.delete(lifted.joint_mm, [4, 20])).all()


def test_no_depth_anywhere_gives_nan_never_an_exception() -> None:
    depth, uv = hand_scene(0)
    lifted = lift_landmarks(np.zeros_like(depth), uv)
    assert np.isnan(lifted.hand_mm) and np.isnan(lifted.joint_mm).all() and (lifted.support == 0).all()
    lifted = lift_landmarks(depth.astype(np.float32) * np.nan, uv)
    assert np.isnan(lifted.joint_mm).all()
