"""Crop cache, splits, RGB statistics and augmentation consistency."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest

from inference.core.errors import DataFormatError
from inference.core.geometry import NYU_INTRINSICS, uvd_to_xyz
from inference.formats.nyu_io import NyuSequence
from inference.preprocess.crop import make_crop, normalise_joints
from tests.training.procedural import write_sequence
from training.augment import transform_sample
from training.crop_cache import CacheParams, build_cache, rgb_stats, split_indices
from training.dataset import HandPoseDataset


def test_cache_builds_and_is_reused(tiny_seq: Path, tmp_path: Path) -> None:
    params = CacheParams(size=32)
    cache = build_cache([tiny_seq], tmp_path, params, workers=0, progress=False)
    assert len(cache) == 24 and cache.skipped == {}
    assert cache.arrays["depth"].shape == (24, 32, 32) and cache.arrays["rgb"].shape == (24, 3, 32, 32)
    again = build_cache([tiny_seq], tmp_path, params, workers=0, progress=False)
    assert again.path == cache.path
    other = build_cache([tiny_seq], tmp_path, CacheParams(size=32, centre="labels"), workers=0, progress=False)
    assert other.path != cache.path  # a parameter change builds a new cache


def test_cache_matches_shared_crop_code(tiny_seq: Path, tmp_path: Path) -> None:
    cache = build_cache([tiny_seq], tmp_path, CacheParams(centre="labels"), workers=0, progress=False)
    seq = NyuSequence(tiny_seq)
    frame = seq.frame(3)
    crop = make_crop(frame.depth_mm, cache.arrays["com_uvd"][2], NYU_INTRINSICS)
    np.testing.assert_allclose(cache.arrays["depth"][2].astype(np.float32), crop.depth, atol=1e-3)
    item = HandPoseDataset(cache, np.array([2]))[0]
    expected = normalise_joints(uvd_to_xyz(frame.joints_uvd, NYU_INTRINSICS), crop.com_xyz_mm, 300.0)
    np.testing.assert_allclose(item["joints"].numpy().reshape(14, 3), expected, atol=1e-5)


def test_missing_and_corrupt_frames_are_skipped_and_counted(tmp_path: Path) -> None:
    root = tmp_path / "seq"
    write_sequence(root, 40, seed=3)
    (root / "depth_1_0000005.png").write_bytes(b"\x89PNG\r\n\x1a\nnot really a png")  # corrupt
    data = (root / "depth_1_0000007.png").read_bytes()
    (root / "depth_1_0000007.png").write_bytes(data[: len(data) // 2])  # truncated
    (root / "depth_1_0000009.png").unlink()  # missing: labelled, but no depth PNG
    empty = np.full((480, 640), 2001, np.uint16)  # no hand in range
    from inference.formats.nyu_io import write_depth_png

    write_depth_png(root / "depth_1_0000011.png", empty)
    cache = build_cache([root], tmp_path / "cache", CacheParams(size=32), workers=2, progress=False)
    assert cache.skipped == {"unreadable": 2, "no hand segmented": 1, "missing": 1}  # as the module docstring says
    assert len(cache) == 36 and cache.manifest["total"] == 40
    assert 5 not in cache.arrays["source"][:, 1] and 12 in cache.arrays["source"][:, 1]


def test_missing_labels_is_a_clear_error(tmp_path: Path) -> None:
    root = tmp_path / "seq"
    write_sequence(root, 2, seed=0)
    (root / "joint_data.mat").unlink()
    with pytest.raises(DataFormatError, match=r"joint_data\.mat: missing"):
        build_cache([root], tmp_path / "cache", workers=0, progress=False)


def test_splits_by_subject_and_validation_share() -> None:
    subjects = ["a"] * 60 + ["b"] * 40
    s = split_indices(100, 0.25, seed=0, subjects=subjects)
    assert list(s["test"]) == list(range(60, 100))
    assert len(s["val"]) == 15 and len(s["train"]) == 45
    assert not set(s["val"]) & set(s["train"])
    plain = split_indices(100, 0.25, seed=0)
    assert len(plain["test"]) == 0 and len(plain["val"]) == 25


def test_rgb_stats_use_hand_pixels(tiny_seq: Path, tmp_path: Path) -> None:
    cache = build_cache([tiny_seq], tmp_path, CacheParams(size=32), workers=0, progress=False)
    mean, std = rgb_stats(cache, np.arange(len(cache)))
    # The procedural hand is (200, 150, 120), blurred only at its edges by the linear RGB resampling.
    np.testing.assert_allclose(mean, [200, 150, 120], atol=15)
    assert all(s < 30 for s in std)


def test_augmentation_shift_and_scale_match_a_direct_recrop(tiny_seq: Path) -> None:
    """Moving the centre and growing the cube on the cached crop = cropping the frame that way directly."""
    frame = NyuSequence(tiny_seq).frame(1)
    intr = NYU_INTRINSICS
    com_uvd = np.array([320.0, 240.0, 600.0])
    crop = make_crop(frame.depth_mm, com_uvd, intr)
    shift = np.array([10.0, -6.0, 15.0])
    depth, _, joints, _com_xyz, cube = transform_sample(crop.depth, None, frame.joints_uvd, com_uvd, intr, 300.0,
                                                       0.0, 1.1, shift)
    direct_com = uvd_to_xyz(com_uvd, intr) + shift
    from inference.core.geometry import xyz_to_uvd

    direct = make_crop(frame.depth_mm, xyz_to_uvd(direct_com, intr), intr, cube_mm=330.0)
    assert cube == pytest.approx(330.0)
    close = np.abs(depth - direct.depth) < 0.02
    assert close.mean() > 0.97  # nearest resampling twice vs once differs only on a few edge pixels
    np.testing.assert_allclose(joints, normalise_joints(uvd_to_xyz(frame.joints_uvd, intr), direct_com, 330.0),
                               atol=1e-9)


def test_augmentation_rotation_moves_joints_with_the_image(tiny_seq: Path, tmp_path: Path) -> None:
    """After rotating, every joint (inside the crop) still lies on hand pixels of the rotated depth crop."""
    cache = build_cache([tiny_seq], tmp_path, CacheParams(centre="labels"), workers=0, progress=False)
    a = cache.arrays
    for i in range(4):
        depth, _, joints, com_xyz, cube = transform_sample(
            a["depth"][i], None, a["joints_uvd"][i], a["com_uvd"][i], NYU_INTRINSICS, 300.0, np.deg2rad(40), 1.0)
        from inference.core.geometry import xyz_to_uvd
        from inference.preprocess.crop import crop_window, joints_to_crop_px

        uvd = xyz_to_uvd(joints * cube / 2 + com_xyz, NYU_INTRINSICS)
        px = np.rint(joints_to_crop_px(uvd, crop_window(xyz_to_uvd(com_xyz, NYU_INTRINSICS), cube, NYU_INTRINSICS)))
        inside = np.all((px >= 0) & (px < 128), axis=1)
        on_hand = depth[px[inside, 1].astype(int), px[inside, 0].astype(int)] < 1.0
        assert on_hand.mean() >= 0.9


def test_dataset_augmentation_is_deterministic_per_epoch(tiny_seq: Path, tmp_path: Path) -> None:
    from training.augment import Augment

    cache = build_cache([tiny_seq], tmp_path, CacheParams(size=32), workers=0, progress=False)
    ds = HandPoseDataset(cache, np.arange(5), Augment(), seed=7)
    first = ds[1]["joints"]
    assert np.array_equal(ds[1]["joints"], first)
    ds.set_epoch(1)
    assert not np.array_equal(ds[1]["joints"], first)


def test_two_directories_are_one_dataset(tiny_seq: Path, tmp_path: Path) -> None:
    other = tmp_path / "other"
    shutil.copytree(tiny_seq, other)
    cache = build_cache([tiny_seq, other], tmp_path / "cache", CacheParams(size=32), workers=0, progress=False)
    assert len(cache) == 48 and set(cache.arrays["source"][:, 0]) == {0, 1}


@pytest.mark.parametrize("damage", ["garbled header", "truncated", "wrong shape"])
def test_a_damaged_cache_is_named_and_rebuilt(tiny_seq: Path, tmp_path: Path, capsys, damage: str) -> None:
    """Issue 16 D8: a cache file damaged after the build is detected, named in a warning and rebuilt (once)."""
    params = CacheParams(centre="labels", size=32, with_rgb=False)
    first = build_cache([tiny_seq], tmp_path, params, workers=0, progress=False)
    expected = np.array(first.arrays["depth"])
    victim = first.path / "depth.npy"
    del first
    if damage == "garbled header":
        victim.write_bytes(b"\x00" * 100 + victim.read_bytes()[100:])
    elif damage == "truncated":
        victim.write_bytes(victim.read_bytes()[: victim.stat().st_size // 2])
    else:
        np.save(victim, np.zeros((3, 32, 32), np.float16))  # a valid .npy, but not this cache's array
    again = build_cache([tiny_seq], tmp_path, params, workers=0, progress=False)
    err = capsys.readouterr().err
    assert "the crop cache is damaged, rebuilding it" in err and str(victim) in err
    np.testing.assert_array_equal(np.array(again.arrays["depth"]), expected)
    build_cache([tiny_seq], tmp_path, params, workers=0, progress=False)
    assert "damaged" not in capsys.readouterr().err  # the rebuilt cache is reused as it is
