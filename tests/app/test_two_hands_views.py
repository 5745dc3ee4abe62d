"""Two hands in the app: the model layer lists both with their sides and gestures; the 2D view draws each skeleton
in its side's colour with its letter, the 3D view both skeletons with L/R labels; the gesture panel each gesture."""

from __future__ import annotations

import numpy as np
import pytest

from app.runtime import pipeline_settings
from app.settings import AppSettings
from app.state import SIDE_COLOURS, build_view_state, hands_gesture_text
from inference.core.frame import Frame
from inference.core.geometry import NYU_INTRINSICS
from inference.core.skeleton import BONES
from inference.runtime.estimator import OnnxEstimator, project_root
from inference.runtime.pipeline import Pipeline
from inference.synth.generate import make_specs, render_frame, subject_ids
from tests.app.test_window import _bone_pixels_match

MODEL = project_root() / "models" / "depthnet.onnx"
pytestmark = pytest.mark.skipif(not MODEL.is_file(), reason="the shipped model is not in this checkout")


@pytest.fixture(scope="module")
def two_hand_state():
    """The view state of a synthetic two-hand frame through the app's own pipeline settings, "Two hands" on."""
    rendered = render_frame(make_specs("sequence", 1, 77, subject_ids(2, 640), hands=2)[0])
    pipeline = Pipeline(OnnxEstimator(MODEL, providers="cpu"), pipeline_settings(AppSettings(max_hands=2)))
    result = pipeline.process(Frame(rendered.depth_mm, None, NYU_INTRINSICS, 0.0, 0))
    return build_view_state(result), result


def test_the_view_state_holds_both_hands_with_their_sides(two_hand_state) -> None:
    state, result = two_hand_state
    assert [h.handedness for h in state.hands] == [h.pose.handedness for h in result.hands]
    assert {h.handedness for h in state.hands} == {"left", "right"}
    np.testing.assert_allclose(state.hands[0].joints_uv, result.hands[0].pose.joints_uvd[:, :2])
    text = hands_gesture_text(state)
    assert text.startswith(f"{state.hands[0].letter}: ") and f" · {state.hands[1].letter}: " in text
    # The cloud holds both hands' points: some near each hand's palm.
    for hand in state.hands:
        near = np.linalg.norm(state.points_xyz_mm - hand.joints_xyz_mm[13], axis=1) < 60.0
        assert near.sum() > 50


def test_one_hand_keeps_the_finger_colours_and_no_per_hand_gestures(two_hand_state) -> None:
    state, _ = two_hand_state
    one = type(state)(**{**state.__dict__, "hands": state.hands[:1]})
    assert hands_gesture_text(one) == ""


def _drawn_2d(qtbot, state):
    """The 2D view showing ``state``'s hands: ``(canvas, its image)``."""
    from app.views import ImageCanvas

    canvas = ImageCanvas("Depth")
    qtbot.addWidget(canvas)
    canvas.resize(960, 720)
    canvas.show()
    qtbot.waitExposed(canvas)
    canvas.set_content(state.depth_rgb, state.joints_uv, None, None, "", state.hands)
    return canvas, canvas.grab().toImage()


def _longest_bone_match(image, canvas, uv: np.ndarray, colour) -> float:
    """The share of the pixels along the hand's longest bone (joints ``uv``, image pixels) drawn in ``colour``."""
    parent, child, _ = max(BONES, key=lambda b: np.linalg.norm(uv[b[0]] - uv[b[1]]))
    return _bone_pixels_match(image, canvas, uv, parent, child, colour)


def test_2d_view_draws_each_hand_in_its_sides_colour(qtbot, display, two_hand_state) -> None:
    state, _ = two_hand_state
    canvas, image = _drawn_2d(qtbot, state)
    for hand in state.hands:
        assert _longest_bone_match(image, canvas, hand.joints_uv, SIDE_COLOURS[hand.handedness]) >= 0.7
        other = SIDE_COLOURS["left" if hand.handedness == "right" else "right"]
        assert _longest_bone_match(image, canvas, hand.joints_uv, other) < 0.3


def test_3d_view_shows_both_skeletons_and_their_letters(qtbot, display, two_hand_state, capfd) -> None:
    """The letters are drawn, not only made visible: pyqtgraph catches an item's drawing error and prints it (the
    letters once failed on every frame: the scene, a ``QWindow``, had no ``rect()`` to project them onto)."""
    from app.view3d import HandView3D

    state, _ = two_hand_state
    view = HandView3D()
    qtbot.addWidget(view)
    view.resize(400, 300)
    view.show()
    qtbot.waitExposed(view)
    view.show_state(state)
    assert len(view.scene.bones.pos) == 2 * 2 * len(BONES)  # two hands' bones, two ends each
    shown = [label for label in view.scene.labels if label.visible()]
    assert sorted(label.text for label in shown) == ["L", "R"]
    qtbot.waitUntil(view.scene.isExposed, timeout=5000)
    capfd.readouterr()
    painted: list[str] = []
    for label in shown:
        label.paint = lambda label=label, paint=label.paint: (painted.append(label.text), paint())[1]
    view.scene.update()
    qtbot.waitUntil(lambda: len(painted) >= 2, timeout=5000)  # the window drew its letters
    printed = capfd.readouterr()
    assert "Error while drawing" not in printed.out + printed.err
    view.show_state(type(state)(**{**state.__dict__, "hands": []}))  # back to one hand: no letters left over
    assert not any(label.visible() for label in view.scene.labels)


def test_gesture_panel_shows_each_hands_gesture(qtbot, two_hand_state) -> None:
    from app.gesture_panel import GesturePanel

    state, _ = two_hand_state
    panel = GesturePanel()
    qtbot.addWidget(panel)
    panel.show_state(state)
    assert panel.per_hand.text() == hands_gesture_text(state) != ""


def test_a_hidden_hand_is_drawn_dimmed_and_written_as_hidden(qtbot, display, two_hand_state) -> None:
    """A hand the other hides, shown at its last pose (``HandPose.hidden``): in the views in its side's colour at half
    brightness, in the poses JSONL with ``"hidden": true`` (false for the others)."""
    import dataclasses
    import json

    from inference.formats.poses_jsonl import pose_record

    _, result = two_hand_state
    hidden = dataclasses.replace(result.hands[1], pose=dataclasses.replace(result.hands[1].pose, hidden=True))
    result = dataclasses.replace(result, hands=[result.hands[0], hidden],
                                 pose=dataclasses.replace(result.pose, hands=[result.hands[0].pose, hidden.pose]))
    state = build_view_state(result)
    dim = tuple(c // 2 for c in SIDE_COLOURS[state.hands[1].handedness])
    assert state.hands[1].hidden and state.hands[1].colour == dim
    assert not state.hands[0].hidden and state.hands[0].colour == SIDE_COLOURS[state.hands[0].handedness]
    canvas, image = _drawn_2d(qtbot, state)
    assert _longest_bone_match(image, canvas, state.hands[1].joints_uv, dim) >= 0.7
    record = json.loads(json.dumps(pose_record(0, 0.0, result.pose)))
    assert [h["hidden"] for h in record["hands"]] == [False, True]
