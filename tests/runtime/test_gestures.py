"""Rule-based gestures: hand-built joint sets, and the synthetic generator's labelled gesture poses."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from inference.core.gesture_names import GESTURES
from inference.core.skeleton import FINGERTIPS, PALM_CENTRE, WRIST
from inference.runtime.gestures import classify_gesture, finger_probabilities, gesture_scores


def _rotation(rng: np.random.Generator) -> np.ndarray:
    q, r = np.linalg.qr(rng.normal(size=(3, 3)))
    return q * np.sign(np.diag(r))


def _hand(extended: dict[str, bool], thumb_out: bool, touch: bool = False) -> np.ndarray:
    """Hand-built ``(14, 3)`` joints (mm) in a hand frame: palm centre at the origin, fingers along +y, palm
    facing -z; the wrist points 68 mm below, 30 mm apart, toward the back (NYU's convention). A straight finger
    puts PIP 45 mm and the tip 90 mm past its knuckle; a curled one bends the PIP toward the palm and the tip
    back down."""
    j = np.zeros((14, 3))
    j[PALM_CENTRE] = (0, 0, 0)
    j[WRIST[0]], j[WRIST[1]] = (-25, -68, 10), (5, -68, 10)
    for name, x in (("index", 28), ("middle", 8), ("ring", -12), ("pinky", -30)):
        knuckle = np.array([x, 45.0, 0.0])
        tip = FINGERTIPS[name]
        if extended[name]:
            j[tip + 1], j[tip] = knuckle + np.array([0, 45, 0]), knuckle + np.array([0, 90, 0])
        else:
            j[tip + 1], j[tip] = knuckle + np.array([0, 5, -40]), knuckle + np.array([0, -30, -45])
    t = FINGERTIPS["thumb"]
    if touch:
        j[t + 2], j[t + 1], j[t] = (40, 5, -15), (45, 50, -35), j[FINGERTIPS["index"]] + (0, -5, -8)
    elif thumb_out:
        j[t + 2], j[t + 1], j[t] = (60, 15, -10), (80, 35, -15), (100, 55, -20)
    else:  # folded across the palm
        j[t + 2], j[t + 1], j[t] = (35, 0, -20), (20, 20, -40), (0, 30, -50)
    return j


FINGER_SETS = {
    "fist": ((), False), "point": (("index",), False), "v_sign": (("index", "middle"), False),
    "three": (("index", "middle", "ring"), False), "four": (("index", "middle", "ring", "pinky"), False),
    "open_palm": (("index", "middle", "ring", "pinky"), True), "thumbs_up": ((), True),
}


def _gesture_hand(name: str) -> np.ndarray:
    if name == "pinch":
        return _hand({"index": False, "middle": True, "ring": True, "pinky": True}, False, touch=True)
    fingers, thumb = FINGER_SETS[name]
    return _hand({f: f in fingers for f in ("index", "middle", "ring", "pinky")}, thumb)


@pytest.mark.parametrize("name", GESTURES)
def test_hand_built_gestures_in_any_pose_and_size(name: str) -> None:
    rng = np.random.default_rng(GESTURES.index(name))
    base = _gesture_hand(name)
    for _ in range(5):
        # Rules use distance ratios only: any rotation, position and hand size gives the same answer.
        joints = base * rng.uniform(0.8, 1.2) @ _rotation(rng).T + rng.uniform(-200, 200, 3) + (0, 0, 700)
        got, confidence = classify_gesture(joints)
        assert got == name, f"{name} classified as {got} ({gesture_scores(joints)})"
        assert 0.5 < confidence <= 1.0


def test_finger_probabilities_follow_the_fingers() -> None:
    p, touch = finger_probabilities(_gesture_hand("v_sign"))
    np.testing.assert_array_less([0.9, 0.9], p[1:3])  # index, middle out
    np.testing.assert_array_less(p[[0, 3, 4]], 0.1)  # thumb, ring, pinky in
    assert touch < 0.1
    assert finger_probabilities(_gesture_hand("pinch"))[1] > 0.9


def test_scores_are_a_distribution_over_all_gestures() -> None:
    scores = gesture_scores(_gesture_hand("three"))
    assert set(scores) == set(GESTURES)
    assert sum(scores.values()) == pytest.approx(1.0)


def test_bad_joints_give_no_gesture() -> None:
    joints = _gesture_hand("fist")
    joints[3] = np.nan
    assert classify_gesture(joints) == (None, 0.0)
    assert classify_gesture(np.zeros((36, 3))) == (None, 0.0)


@pytest.mark.slow
def test_accuracy_on_the_generator_gesture_poses() -> None:
    """Ground-truth joints of the synthetic generator's gesture presets (jittered, 20 unseen subjects, random
    orientations); prints the accuracy per gesture (pytest -s) and requires >= 95% for each."""
    import inference.handmodel as synth_model
    import inference.synth.poses as synth_poses
    from inference.core.skeleton import to_eval_joints

    rng = np.random.default_rng(20261125)
    hits = {g: [] for g in GESTURES}
    for subject in range(20):
        shape = synth_model.sample_shape(5000 + subject)
        for name in GESTURES:
            angles = synth_poses.gesture_angles(name, rng, 6.0, shape)
            joints = to_eval_joints(synth_model.pose_hand(shape, angles).joints)
            joints = joints @ synth_poses.random_rotation(rng).T + (0, 0, 650)
            hits[name].append(classify_gesture(joints)[0] == name)
    accuracy = {name: 100.0 * float(np.mean(v)) for name, v in hits.items()}
    print("gesture accuracy on generator poses (%):", accuracy)
    assert min(accuracy.values()) >= 95.0, accuracy


@pytest.mark.slow
def test_accuracy_on_a_generated_gesture_sequence(tmp_path: Path) -> None:
    """`handpose synth --mode gestures` output (labels in gestures.json, ground-truth joints in joint_data.mat):
    every gesture of the set present is recognised in >= 90% of its frames."""
    from handpose.cli import main
    from inference.core.skeleton import to_eval_joints
    from inference.formats.nyu_io import NyuSequence

    out = tmp_path / "gestures"
    assert main(["synth", str(out), "--frames", "40", "--seed", "31337", "--mode", "gestures", "--subjects", "4",
                 "--subject-offset", "4000", "--workers", "1"]) == 0
    seq = NyuSequence(out)
    joints = to_eval_joints(seq.labels()["joint_xyz"])
    hits: dict[str, list[bool]] = {}
    for index, label in seq.gestures.items():
        hits.setdefault(label, []).append(classify_gesture(joints[index])[0] == label)
    accuracy = {name: 100.0 * float(np.mean(v)) for name, v in hits.items()}
    print("gesture accuracy on a generated sequence (%):", accuracy)
    assert len(hits) >= 5 and min(accuracy.values()) >= 90.0, accuracy
