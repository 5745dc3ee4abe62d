"""Labels agree with the rendered surfaces: palm centre under the skin, tips at the silhouette, joints in the box."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from inference.core.skeleton import EVAL_JOINT_IDS
from inference.handmodel import PART_HAND, pose_hand, sample_shape
from inference.synth.generate import make_specs, render_frame, subject_ids

TIP_IDS = (0, 6, 12, 18, 24)


@pytest.fixture(scope="module")
def frames() -> list:
    specs = make_specs("random", 24, 11, subject_ids(6)) + make_specs("gestures", 24, 12, subject_ids(6, 100))
    return [render_frame(s) for s in specs]


def _pixel(uvd: np.ndarray) -> tuple[int, int]:
    return round(float(uvd[0])), round(float(uvd[1]))


def test_palm_centre_lies_under_the_surface(frames: list) -> None:
    ok = 0
    for f in frames:
        u, v = _pixel(f.joints_uvd[32])
        patch = f.depth_mm[max(v - 2, 0):v + 3, max(u - 2, 0):u + 3].astype(float)
        patch = patch[patch > 0]
        # "A little nearer": half the palm thickness, or up to ~80 mm where curled fingers cover the palm (fist).
        if patch.size and 0 < f.joints_uvd[32, 2] - np.median(patch) < 80:
            ok += 1
    assert ok >= 0.95 * len(frames), f"{ok}/{len(frames)}"


def test_visible_fingertips_are_at_the_silhouette(frames: list) -> None:
    checked = near = 0
    for f in frames:
        hand = (f.part == PART_HAND).astype(np.uint8)
        dist_inside = cv2.distanceTransform(hand, cv2.DIST_L2, 3)  # px to the nearest non-hand pixel
        for j in TIP_IDS:
            u, v = _pixel(f.joints_uvd[j])
            if not (0 <= u < 640 and 0 <= v < 480) or f.part[v, u] != PART_HAND:
                continue
            if abs(f.clean_depth_mm[v, u] - f.joints_uvd[j, 2]) > 10:  # covered by another part: not visible
                continue
            # Only extended fingers end at the silhouette (a fist's tips lie on the palm).
            xyz = f.joints_xyz_mm[j:j + 6]
            chain = sum(np.linalg.norm(xyz[a] - xyz[a + 1]) for a in (0, 2, 4))
            if np.linalg.norm(xyz[0] - xyz[5]) < 0.85 * chain:
                continue
            checked += 1
            tip_radius_px = 9.0 * 588.0 / f.joints_uvd[j, 2]
            near += dist_inside[v, u] <= 1.5 * tip_radius_px + 2
    assert checked > 40
    assert near >= 0.9 * checked, f"{near}/{checked}"


def test_eval_joints_inside_hand_box(frames: list) -> None:
    from inference.core.geometry import NYU_INTRINSICS, uvd_to_xyz
    from inference.handmodel import PART_FOREARM

    for f in frames:
        # The hand's pixels: the hand part plus the forearm within 40 mm of the wrist centre.
        vs, us = np.nonzero((f.part == PART_HAND) | (f.part == PART_FOREARM))
        pts = uvd_to_xyz(np.stack([us, vs, f.clean_depth_mm[vs, us]], 1), NYU_INTRINSICS)
        wrist = f.joints_xyz_mm[30:32].mean(axis=0)
        keep = (f.part[vs, us] == PART_HAND) | (np.linalg.norm(pts - wrist, axis=1) < 40)
        us, vs = us[keep], vs[keep]
        uv = f.joints_uvd[list(EVAL_JOINT_IDS), :2]
        assert (uv[:, 0] >= 0).all() and (uv[:, 0] < 640).all() and (uv[:, 1] >= 0).all() and (uv[:, 1] < 480).all()
        assert (uv[:, 0] >= us.min() - 2).all() and (uv[:, 0] <= us.max() + 2).all()
        assert (uv[:, 1] >= vs.min() - 2).all() and (uv[:, 1] <= vs.max() + 2).all()


def test_hand_is_the_nearest_object(frames: list) -> None:
    from inference.core.geometry import NYU_INTRINSICS
    from inference.preprocess.segmentation import segment_hand

    found = 0
    for f in frames:
        seg = segment_hand(f.depth_mm, NYU_INTRINSICS)
        palm = f.joints_uvd[30:36, :2].mean(axis=0)  # the six palm points: the palm's middle
        if seg.found and np.linalg.norm(seg.com_uvd[:2] - palm) < 60:
            found += 1
    assert found >= 0.9 * len(frames), f"{found}/{len(frames)}"


def test_subjects_reproducible_and_distinct() -> None:
    a, b = sample_shape(7), sample_shape(7)
    assert a.to_dict() == b.to_dict()
    assert sample_shape(8).to_dict() != a.to_dict()
    lengths = [sample_shape(i).palm_length_mm for i in range(50)]
    assert 70 < min(lengths) and max(lengths) < 125 and np.std(lengths) > 5


def test_joint_limits_and_dip_coupling() -> None:
    from inference.handmodel import DOF_HIGH, NUM_DOF

    shape = sample_shape(0)
    straight = pose_hand(shape, np.zeros(NUM_DOF)).joints
    bent = pose_hand(shape, DOF_HIGH + 50).joints  # beyond the limits: clipped
    at_limit = pose_hand(shape, DOF_HIGH).joints
    assert np.allclose(bent, at_limit)
    # Index finger (F4, joints 18..23) straight: tip farthest from MCP; flexed: much closer.
    reach = lambda j: np.linalg.norm(j[18] - j[23])  # noqa: E731
    assert reach(at_limit) < 0.6 * reach(straight)
    # Bone lengths are preserved by the kinematics.
    assert np.isclose(np.linalg.norm(at_limit[18] - at_limit[19]), np.linalg.norm(straight[18] - straight[19]))


def test_hard_frames_put_something_nearer_than_the_hand() -> None:
    from inference.synth.scene import PART_OCCLUDER

    specs = make_specs("random", 6, 21, subject_ids(2), hard_fraction=1.0)
    assert all(s.hard for s in specs)
    for spec in specs:
        f = render_frame(spec)
        occluder = f.clean_depth_mm[f.part == PART_OCCLUDER]
        assert occluder.size and occluder.min() < f.joints_xyz_mm[:, 2].min() - 50
    assert not any(s.hard for s in make_specs("random", 20, 21, subject_ids(2)))  # off by default
