"""The thesis cube crop and joint normalisation (eqs. 4.6-4.12), on generated data and the real NYU frame."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from inference.core.geometry import NYU_INTRINSICS, uvd_to_xyz, xyz_to_uvd
from inference.formats.nyu_io import read_depth_png
from inference.preprocess.crop import (
    CROP_SIZE,
    crop_depth,
    crop_window,
    decode_prediction,
    denormalise_joints,
    joints_to_crop_px,
    make_crop,
    normalise_joints,
)
from tests.helpers.real_data import nyu_labels

coords = st.floats(-2000, 2000, allow_nan=False)


@given(
    joints=arrays(np.float64, st.tuples(st.integers(1, 3), st.integers(1, 36), st.just(3)), elements=coords),
    com=arrays(np.float64, st.tuples(st.integers(1, 3), st.just(3)), elements=coords),
    cube_mm=st.floats(50, 1000),
)
def test_normalise_denormalise_round_trip(joints: np.ndarray, com: np.ndarray, cube_mm: float) -> None:
    batch = min(len(joints), len(com))
    joints, com = joints[:batch], com[:batch]  # (B, J, 3) with (B, 3)
    norm = normalise_joints(joints, com, cube_mm)
    np.testing.assert_allclose(denormalise_joints(norm, com, cube_mm), joints, atol=1e-9)
    np.testing.assert_allclose(norm * cube_mm / 2 + com[:, None], joints, atol=1e-9)  # eqs. 4.7-4.9


def test_crop_centre_maps_to_crop_centre() -> None:
    # Integer u, v are pixel centres: the window centre must land on (S - 1) / 2 (it was off by half an
    # image pixel before the fix).
    for com in ([320.0, 240.0, 700.0], [101.3, 77.8, 455.0]):
        window = crop_window(np.array(com), 300.0, NYU_INTRINSICS)
        np.testing.assert_allclose(joints_to_crop_px(np.array([com]), window), [[63.5, 63.5]], atol=1e-9)
        u0, v0, u1, v1 = window
        corners = joints_to_crop_px(np.array([[u0, v0, 0.0], [u1, v1, 0.0]]), window)
        np.testing.assert_allclose(corners, [[-0.5, -0.5], [127.5, 127.5]], atol=1e-9)


def test_depth_crop_puts_a_pixel_where_joints_to_crop_px_says() -> None:
    depth = np.full((480, 640), 700, np.uint16)
    marker = (331, 228)  # (u, v)
    depth[marker[1], marker[0]] = 650
    com = np.array([320.0, 240.0, 700.0])
    cube = 80.0  # magnifies (window ~67 px -> 128), so the marker covers about 2x2 crop pixels
    crop, _, window = crop_depth(depth, com, NYU_INTRINSICS, cube)
    rows, cols = np.nonzero(crop < -0.5)
    assert len(rows) >= 1
    expect = joints_to_crop_px(np.array([[marker[0], marker[1], 650.0]]), window)[0]
    scale = CROP_SIZE / (window[2] - window[0])
    assert np.all(np.abs(cols - expect[0]) <= 0.5 * scale + 1e-6)
    assert np.all(np.abs(rows - expect[1]) <= 0.5 * scale + 1e-6)


def test_rgb_crop_uses_the_depth_window() -> None:
    # Depth and colour both encode the column u: the crops must agree on which image column each pixel shows.
    u = np.arange(640, dtype=np.float64)[None, :].repeat(480, axis=0)
    v = np.arange(480, dtype=np.float64)[:, None].repeat(640, axis=1)
    depth = (1000 + u).astype(np.uint16)
    color = np.stack([np.clip(u - 200, 0, 255), np.clip(v - 100, 0, 255), np.zeros_like(u)], -1).astype(np.uint8)
    com = np.array([330.0, 230.0, 1330.0])
    crop = make_crop(depth, com, NYU_INTRINSICS, cube_mm=400.0, color=color, rgb_mean=np.zeros(3), rgb_std=np.ones(3))
    assert crop.rgb is not None and crop.rgb.shape == (3, 128, 128)
    u_from_depth = crop.depth * 200.0 + 1330.0 - 1000.0
    u_from_rgb = crop.rgb[0] + 200.0
    inside = crop.mask
    assert inside.mean() > 0.9
    assert np.abs(u_from_depth - u_from_rgb)[inside].max() <= 1.0
    v_from_rgb = crop.rgb[1] + 100.0
    rows = joints_to_crop_px(np.array([[330.0, 150.0, 0], [330.0, 310.0, 0]]), crop.window_px)[:, 1]
    assert abs(v_from_rgb[round(rows[0]), 64] - 150) <= 1 and abs(v_from_rgb[round(rows[1]), 64] - 310) <= 1


def test_depth_normalisation_missing_behind_and_front() -> None:
    com = np.array([320.0, 240.0, 700.0])
    depth = np.full((480, 640), 700, np.uint16)
    stripes = {240: 0, 200: 900, 280: 500}  # row -> depth: missing, behind the cube (> 850), in front (< 550)
    for v, d in stripes.items():
        depth[v - 2:v + 3, 300:340] = d  # 5 rows: the crop (~0.5x here) samples every other row
    crop, mask, window = crop_depth(depth, com, NYU_INTRINSICS)
    assert crop.dtype == np.float32 and crop.shape == (128, 128)
    assert crop.min() >= -1 and crop.max() <= 1

    def row(v: float) -> int:
        return round(joints_to_crop_px(np.array([[320.0, v, 0.0]]), window)[0, 1])

    for v, expected in ((240, 1.0), (200, 1.0), (280, -1.0), (225, 0.0)):
        assert np.all(crop[row(v), 60:68] == expected), v
        assert mask[row(v), 60:68].all() == (expected == 0.0), v


def test_crop_past_the_image_border_is_missing() -> None:
    depth = np.full((480, 640), 700, np.uint16)
    crop, mask, window = crop_depth(depth, np.array([5.0, 5.0, 700.0]), NYU_INTRINSICS)
    assert window[0] < 0 and window[1] < 0
    assert np.all(crop[:40, :40] == 1) and not mask[:40, :40].any()
    assert np.all(crop[80:, 80:] == 0)


def test_crop_accepts_float_depth_with_nan() -> None:
    depth = np.full((480, 640), 700.0, np.float32)
    depth[200:280, 300:340] = np.nan
    crop, mask, _ = crop_depth(depth, np.array([320.0, 240.0, 700.0]), NYU_INTRINSICS)
    assert np.isfinite(crop).all() and crop[64, 64] == 1 and not mask[64, 64]
    with pytest.raises(ValueError, match="depth must be > 0"):
        crop_depth(depth, np.array([320.0, 240.0, 0.0]), NYU_INTRINSICS)


def test_rgb_masked_pixels_are_minus_mean_over_std() -> None:
    depth = np.zeros((480, 640), np.uint16)
    depth[200:280, 280:360] = 700
    color = np.full((480, 640, 3), 200, np.uint8)
    mean, std = np.array([10.0, 20.0, 30.0]), np.array([2.0, 4.0, 5.0])
    crop = make_crop(depth, [320.0, 240.0, 700.0], NYU_INTRINSICS, color=color, rgb_mean=mean, rgb_std=std)
    out = crop.rgb.transpose(1, 2, 0)
    np.testing.assert_allclose(out[~crop.mask], np.broadcast_to(-mean / std, out[~crop.mask].shape), rtol=1e-6)
    np.testing.assert_allclose(out[64, 64], (200 - mean) / std, rtol=1e-6)
    assert make_crop(depth, [320.0, 240.0, 700.0], NYU_INTRINSICS, color=color).rgb is None  # no stats, no RGB


def test_real_nyu_frame_cube_holds_the_labelled_hand(nyu_frame_dir) -> None:
    depth = read_depth_png(nyu_frame_dir / "depth_1_0000001.png")
    gt_uvd, gt_xyz = nyu_labels(nyu_frame_dir)
    com_uvd = gt_uvd[13]  # the labelled palm centre (PALM_3)
    crop = make_crop(depth, com_uvd, NYU_INTRINSICS, cube_mm=300.0)
    np.testing.assert_allclose(crop.com_xyz_mm, gt_xyz[13], atol=2e-3)
    norm = normalise_joints(gt_xyz, crop.com_xyz_mm, crop.cube_mm)
    assert norm.shape == (14, 3) and np.abs(norm).max() <= 1.0
    px = joints_to_crop_px(gt_uvd, crop.window_px)
    assert px.min() >= 0 and px.max() <= CROP_SIZE - 1
    np.testing.assert_allclose(denormalise_joints(norm, crop.com_xyz_mm, crop.cube_mm), gt_xyz, atol=1e-9)
    xyz, uvd = decode_prediction(norm.reshape(-1).astype(np.float32), crop, NYU_INTRINSICS)
    np.testing.assert_allclose(xyz, gt_xyz, atol=1e-3)  # float32 network output precision
    np.testing.assert_allclose(uvd, gt_uvd, atol=2e-3)
    np.testing.assert_allclose(xyz_to_uvd(uvd_to_xyz(gt_uvd, NYU_INTRINSICS), NYU_INTRINSICS), gt_uvd, atol=1e-9)
    # The crop: background (2001, behind the cube) is 1; the hand fills a good part and sits in [-1, 1).
    assert crop.depth.min() >= -1 and crop.depth.max() == 1
    assert 0.15 < crop.mask.mean() < 0.6
    tips = np.round(px[[0, 2, 4, 6, 8]]).astype(int)  # fingertips lie on the hand
    assert crop.mask[tips[:, 1], tips[:, 0]].sum() >= 4
