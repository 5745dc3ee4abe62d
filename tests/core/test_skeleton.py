"""The skeleton is defined once and is self-consistent (names, subset, bones, colours)."""

from __future__ import annotations

import json

import numpy as np
import pytest

from inference.core import skeleton as sk


def test_names_and_subset() -> None:
    assert len(sk.NYU_JOINT_NAMES) == sk.NUM_NYU_JOINTS == 36
    assert len(set(sk.NYU_JOINT_NAMES)) == 36
    assert len(sk.EVAL_JOINT_IDS) == len(sk.EVAL_SHORT_NAMES) == len(sk.EVAL_JOINT_NAMES) == sk.NUM_JOINTS == 14
    assert sk.EVAL_JOINT_NAMES[sk.PALM_CENTRE] == "PALM_3"
    assert [sk.EVAL_JOINT_NAMES[i] for i in sk.WRIST] == ["PALM_1", "PALM_2"]
    assert all(sk.EVAL_JOINT_NAMES[i] == f"{f}_KNU3_A" for i, f in zip(
        sk.FINGERTIPS.values(), ("F1", "F2", "F3", "F4", "TH"), strict=True))


def test_to_eval_joints_selects_by_id() -> None:
    joints = np.arange(2 * 36 * 3, dtype=np.float64).reshape(2, 36, 3)
    out = sk.to_eval_joints(joints)
    assert out.shape == (2, 14, 3)
    np.testing.assert_array_equal(out[1, 13], joints[1, 32])
    with pytest.raises(ValueError, match="36"):
        sk.to_eval_joints(np.zeros((14, 3)))


def test_bones_form_a_tree_rooted_at_palm_with_known_colours() -> None:
    children = {c for _, c, _ in sk.BONES}
    parents = {p for p, _, _ in sk.BONES}
    assert all(0 <= j < 14 for j in children | parents)
    reached, frontier = {sk.PALM_CENTRE}, [sk.PALM_CENTRE]
    while frontier:
        j = frontier.pop()
        for p, c, _ in sk.BONES:
            if p == j and c not in reached:
                reached.add(c)
                frontier.append(c)
    assert reached == set(range(14))
    for _parent, child, finger in sk.BONES:
        assert finger in sk.FINGER_COLOURS
        assert sk.JOINT_FINGER[child] == finger
    assert len(sk.JOINT_FINGER) == 14


def test_matches_the_published_label_order(nyu_frame_dir) -> None:
    raw = json.loads((nyu_frame_dir / "labels_frame1.json").read_text())
    assert tuple(raw["joint_ids_of_36"]) == sk.EVAL_JOINT_IDS
    assert tuple(raw["joint_names"]) == sk.EVAL_JOINT_NAMES
