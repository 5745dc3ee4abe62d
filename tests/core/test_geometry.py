"""Camera geometry: uvd <-> xyz (y up), back-projection, intrinsics JSON and scaling."""

from __future__ import annotations

import json

import cv2
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from inference.core.errors import DataFormatError
from inference.core.geometry import NYU_INTRINSICS, Intrinsics, depth_to_points, uvd_to_xyz, xyz_to_uvd
from tests.helpers.real_data import nyu_labels

intrinsics = st.builds(
    Intrinsics,
    fx=st.floats(100, 2000), fy=st.floats(100, 2000), cx=st.floats(0, 1000), cy=st.floats(0, 1000),
)
uvd_points = st.tuples(st.floats(-200, 1500), st.floats(-200, 1500), st.floats(50, 10000))


@given(intr=intrinsics, uvd=uvd_points)
def test_uvd_xyz_round_trip(intr: Intrinsics, uvd: tuple[float, float, float]) -> None:
    back = xyz_to_uvd(uvd_to_xyz(np.array(uvd), intr), intr)
    np.testing.assert_allclose(back, uvd, rtol=1e-9, atol=1e-7)


@given(intr=intrinsics, xyz=st.tuples(st.floats(-3000, 3000), st.floats(-3000, 3000), st.floats(50, 10000)))
def test_xyz_uvd_round_trip(intr: Intrinsics, xyz: tuple[float, float, float]) -> None:
    back = uvd_to_xyz(xyz_to_uvd(np.array(xyz), intr), intr)
    np.testing.assert_allclose(back, xyz, rtol=1e-9, atol=1e-6)


def test_y_points_up_and_shapes_broadcast() -> None:
    above = np.array([[320.0, 100.0, 1000.0], [320.0, 400.0, 1000.0]])  # image rows grow downward
    xyz = uvd_to_xyz(above[None], NYU_INTRINSICS)
    assert xyz.shape == (1, 2, 3)
    assert xyz[0, 0, 1] > 0 > xyz[0, 1, 1]
    np.testing.assert_allclose(uvd_to_xyz([320.0, 240.0, 700.0], NYU_INTRINSICS), [0.0, 0.0, 700.0])


def test_real_nyu_labels_uvd_match_xyz(nyu_frame_dir) -> None:
    gt_uvd, gt_xyz = nyu_labels(nyu_frame_dir)
    np.testing.assert_allclose(uvd_to_xyz(gt_uvd, NYU_INTRINSICS), gt_xyz, atol=2e-3)  # labels rounded to 1e-3
    np.testing.assert_allclose(xyz_to_uvd(gt_xyz, NYU_INTRINSICS), gt_uvd, atol=2e-3)


def test_depth_to_points_matches_uvd_to_xyz_and_skips_invalid() -> None:
    rng = np.random.default_rng(0)
    depth = rng.uniform(300, 2000, (6, 8)).astype(np.float32)
    depth[0, 0] = 0
    depth[1, 1] = np.nan
    depth[2, 2] = np.inf  # was turned into a point at infinity before the fix
    depth[3, 3] = -5
    mask = np.ones(depth.shape, bool)
    mask[5, 7] = False
    points, pixels = depth_to_points(depth, NYU_INTRINSICS, mask)
    assert len(points) == depth.size - 5
    assert np.isfinite(points).all()
    v, u = pixels[:, 0], pixels[:, 1]
    expected = uvd_to_xyz(np.stack([u, v, depth[v, u]], axis=1), NYU_INTRINSICS)
    np.testing.assert_allclose(points, expected, rtol=1e-5)


def test_scaled_matches_an_image_resize() -> None:
    # A 2x2 block at rows 2i..2i+1, cols 2j..2j+1 becomes pixel (i, j) after INTER_AREA halving: a point seen at
    # the block's centre (2j + 0.5, 2i + 0.5) must project to (j, i) with the halved intrinsics.
    intr = Intrinsics(fx=600.0, fy=590.0, cx=319.5, cy=239.5)
    half = intr.scaled(0.5)
    assert (half.width, half.height) == (320, 240)
    image = np.zeros((480, 640), np.float32)
    image[100:102, 300:302] = 1.0
    small = cv2.resize(image, (320, 240), interpolation=cv2.INTER_AREA)
    i, j = np.unravel_index(np.argmax(small), small.shape)
    xyz = uvd_to_xyz([300.5, 100.5, 800.0], intr)
    np.testing.assert_allclose(xyz_to_uvd(xyz, half)[:2], [j, i], atol=1e-9)
    back = half.scaled(2.0)
    np.testing.assert_allclose([back.fx, back.fy, back.cx, back.cy], [intr.fx, intr.fy, intr.cx, intr.cy])


def test_intrinsics_json_round_trip(tmp_path) -> None:
    intr = Intrinsics(fx=476.007, fy=476.007, cx=313.683, cy=242.755, width=640, height=480)
    intr.to_json(tmp_path / "i.json")
    assert Intrinsics.from_json(tmp_path / "i.json") == intr


@pytest.mark.parametrize("content, problem", [
    ({"fx": 500, "fy": 500, "cx": 320}, "lacks cy"),
    ({"fx": "wide", "fy": 500, "cx": 320, "cy": 240}, "must be numbers"),
    ({"fx": -1, "fy": 500, "cx": 320, "cy": 240}, "positive"),
    ([500, 500, 320, 240], "must be an object"),
    ("{not json", "cannot read"),
])
def test_bad_intrinsics_json_names_the_file(tmp_path, content, problem: str) -> None:
    path = tmp_path / "intrinsics.json"
    path.write_text(content if isinstance(content, str) else json.dumps(content))
    with pytest.raises(DataFormatError, match=problem) as err:
        Intrinsics.from_json(path)
    assert str(path) in str(err.value) and "\n" not in str(err.value)
