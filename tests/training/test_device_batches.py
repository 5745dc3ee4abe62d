"""Batches cut on the training device (training.device_batches) against the loader path's per-sample OpenCV warp
(training.augment.transform_sample): the same geometry, pixels equal but for rounding edges; and training with them."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from inference.core.geometry import Intrinsics
from inference.preprocess.crop import crop_window, window_affine
from tests.training.conftest import tiny_config
from training.augment import Augment, crop_warp, transform_sample
from training.crop_cache import CacheParams, build_cache
from training.device_batches import DeviceBatches
from training.train import train

MEAN, STD = [100.0, 90.0, 80.0], [50.0, 40.0, 30.0]


@pytest.fixture(scope="module")
def cache(tiny_seq: Path, tmp_path_factory: pytest.TempPathFactory):
    return build_cache([tiny_seq], tmp_path_factory.mktemp("cache"), CacheParams(size=32, with_rgb=True), workers=1,
                       progress=False)


def _intr(row: np.ndarray) -> Intrinsics:
    return Intrinsics(fx=row[0], fy=row[1], cx=row[2], cy=row[3], width=0, height=0)


def test_a_batch_equals_the_loader_paths_warp_of_each_sample(cache) -> None:
    a = cache.arrays
    rows = np.arange(len(cache))
    params = Augment(rotation_deg=40.0, scale=1.2, shift_mm=15.0).sample_many(np.random.default_rng(4), len(rows))
    got = DeviceBatches(cache, Augment(), MEAN, STD, 0, torch.device("cpu")).batch(rows, params)
    depth_px = rgb_px = 0
    for k, row in enumerate(rows):
        depth, rgb, joints, com_xyz, cube = transform_sample(
            a["depth"][row], a["rgb"][row], a["joints_uvd"][row], a["com_uvd"][row], _intr(a["intrinsics"][row]),
            cache.params.cube_mm, params[0][k], params[1][k], params[2][k])
        depth_px += int((got["depth"][k, 0] - torch.from_numpy(depth)).abs().gt(1e-3).sum())
        rgb_ref = (torch.from_numpy(rgb) - torch.tensor(MEAN)[:, None, None]) / torch.tensor(STD)[:, None, None]
        levels = ((got["rgb"][k] - rgb_ref) * torch.tensor(STD)[:, None, None]).abs()
        rgb_px += int(levels.gt(2.0).sum())
        assert np.allclose(got["joints"][k].numpy(), joints.reshape(-1), atol=1e-5)
        assert np.allclose(got["com_xyz_mm"][k].numpy(), com_xyz, atol=1e-3)
        assert float(got["cube_mm"][k]) == pytest.approx(cube)
    pixels = len(rows) * 32 * 32
    assert depth_px <= 0.002 * pixels and rgb_px <= 0.002 * 3 * pixels, (depth_px, rgb_px)
    assert got["depth"].shape == (len(rows), 1, 32, 32) and got["index"].tolist() == rows.tolist()


def test_without_augmentation_the_cached_crops_come_back_unchanged(cache) -> None:
    rows = np.array([3, 0, 7])
    got = DeviceBatches(cache, None, None, None, 0, torch.device("cpu")).batch(rows, None)
    cached = torch.from_numpy(cache.arrays["depth"][rows]).float()
    assert torch.allclose(got["depth"][:, 0], cached, atol=1e-5) and "rgb" not in got  # no pixel moved


def test_the_vectorised_geometry_is_the_runtimes_crop_window() -> None:
    """crop_warp's windows are preprocess.crop's: with no rotation, scale or shift the warp is the identity, and a
    pure scale maps the crop centre to itself and scales about it."""
    intr = Intrinsics(fx=588.0, fy=587.0, cx=320.0, cy=240.0)
    com = np.array([250.0, 190.0, 640.0])
    assert np.allclose(crop_warp(com, intr, 300.0, 128).warp[0], [[1, 0, 0], [0, 1, 0]], atol=1e-9)
    old = np.vstack([window_affine(crop_window(com, 300.0, intr), 128), [0, 0, 1]])
    new = np.vstack([window_affine(crop_window(com, 330.0, intr), 128), [0, 0, 1]])
    assert np.allclose(crop_warp(com, intr, 300.0, 128, scale=1.1).warp[0], (new @ np.linalg.inv(old))[:2])


def test_epochs_are_reproducible_and_differ(cache) -> None:
    batches = DeviceBatches(cache, Augment(), None, None, 7, torch.device("cpu"))
    rows = np.arange(len(cache))[::-1]
    first = [b["depth"] for b in batches.batches(rows, 2, 5)]
    again = [b["depth"] for b in batches.batches(rows, 2, 5)]
    other = [b["depth"] for b in batches.batches(rows, 3, 5)]
    assert [len(b) for b in first] == [5] * (len(rows) // 5) + ([len(rows) % 5] if len(rows) % 5 else [])
    assert all(torch.equal(x, y) for x, y in zip(first, again, strict=True))
    assert not all(torch.equal(x, y) for x, y in zip(first, other, strict=True))


@pytest.mark.parametrize("arch", ["net1", "fusenet-conv"])
def test_training_on_device_batches_learns_and_resumes_exactly(tiny_seq: Path, tmp_path: Path, arch: str) -> None:
    kw = dict(epochs=2, arch=arch, augment_on="device", optimizer="adam", lr=1e-3)
    whole = train(tiny_config(tiny_seq, tmp_path / "whole", tmp_path / "cache", **kw), progress=False)
    assert whole["history"][-1]["train_loss"] < whole["history"][0]["train_loss"] * 1.5  # it ran and stayed sane
    split = tiny_config(tiny_seq, tmp_path / "split", tmp_path / "cache", **kw)
    train(split, stop_after_epochs=1, progress=False)
    train(split, progress=False)
    a = torch.load(tmp_path / "whole" / "last.pt", weights_only=True)["model"]
    b = torch.load(tmp_path / "split" / "last.pt", weights_only=True)["model"]
    assert all(torch.equal(a[k], b[k]) for k in a)


def test_a_bad_augment_on_is_one_line(tiny_seq: Path, tmp_path: Path) -> None:
    from inference.core.errors import HandposeError

    with pytest.raises(HandposeError, match="--augment-on must be one of auto, workers, device, got 'gpu'"):
        tiny_config(tiny_seq, tmp_path / "run", tmp_path / "cache", augment_on="gpu")


def test_a_cache_too_large_for_the_device_is_one_line(cache, monkeypatch: pytest.MonkeyPatch) -> None:
    from inference.core.errors import HandposeError

    def out_of_memory(_array):
        raise torch.OutOfMemoryError("CUDA out of memory")

    monkeypatch.setattr(torch, "from_numpy", out_of_memory)
    with pytest.raises(HandposeError, match=r"crop cache \(0\.0 GiB\) does not fit in cpu's memory: .*--augment-on wo"):
        DeviceBatches(cache, Augment(), MEAN, STD, 0, torch.device("cpu"))
