"""Training batches cut on the training device: the crop cache is copied to device memory once and each batch is
warped and normalised there with torch, so a GPU is fed at its own speed rather than at the loader workers'.

Why: on one H200 with 16 cores, three nets trained side by side got about 2.7k samples/s each from 5 loader
workers (docs/EXPERIMENTS.md): the CPU's per-sample warps and the copies between processes, not the GPU, set the
pace. Here the work left on the CPU is the augmentation's parameters and geometry, vectorised over the batch
(:meth:`training.augment.Augment.sample_many`, :func:`training.augment.crop_warps`, the loader path's geometry);
the pixels are resampled in one ``grid_sample`` per batch: nearest for depth and
bilinear for colour, as OpenCV does in :func:`training.augment.transform_sample`. The two paths agree to within
pixels on a warp's rounding edges (OpenCV quantises coordinates to 1/32 px; tests/training/test_device_batches.py).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F

from inference.core.errors import HandposeError
from training.augment import Augment, crop_warps
from training.crop_cache import Cache


class DeviceBatches:
    """Batches of a cache on ``device``: each a dict like :class:`training.dataset.HandPoseDataset`'s items stacked
    (``depth (B, 1, S, S)``, ``rgb (B, 3, S, S)`` standardised when ``rgb_mean`` is given, ``joints (B, 3J)`` in
    cube units, ``com_xyz_mm (B, 3)``, ``cube_mm (B,)``, ``index (B,)`` cache rows), on ``device``.

    Args:
        cache: the crop cache (every row is copied to the device: 32 KiB per 128 px depth crop in fp16, 48 KiB more
            with colour).
        augment: the augmentation's ranges, or None for the crops as cut.
        rgb_mean, rgb_std: colour standardisation (None: no colour).
        seed: the augmentation's seed (:meth:`batches`); the parameters follow the same distributions as the
            loader path's, drawn per batch instead of per sample (one generator per batch, not 128).
    """

    def __init__(self, cache: Cache, augment: Augment | None, rgb_mean: list[float] | None,
                 rgb_std: list[float] | None, seed: int, device: torch.device) -> None:
        a = cache.arrays
        self.device, self.augment, self.seed = device, augment, seed
        self.cube_mm = float(cache.params.cube_mm)
        self.size = int(a["depth"].shape[1])
        with_rgb = rgb_mean is not None and rgb_std is not None
        try:
            self.depth = torch.from_numpy(np.array(a["depth"])).to(device)  # (N, S, S) fp16
            self.rgb = torch.from_numpy(np.array(a["rgb"])).to(device) if with_rgb else None  # (N, 3, S, S) uint8
        except (torch.OutOfMemoryError, MemoryError):
            gib = (a["depth"].nbytes + (a["rgb"].nbytes if with_rgb else 0)) / 2**30
            raise HandposeError(f"the crop cache ({gib:.1f} GiB) does not fit in {device}'s memory: train with "
                                "--augment-on workers") from None
        if with_rgb:
            self.rgb_mean = torch.tensor(rgb_mean, dtype=torch.float32, device=device)[:, None, None]
            self.rgb_std = torch.tensor(rgb_std, dtype=torch.float32, device=device)[:, None, None]
        self.joints_uvd = np.asarray(a["joints_uvd"], np.float64)
        self.com_uvd = np.asarray(a["com_uvd"], np.float64)
        self.intrinsics = np.asarray(a["intrinsics"], np.float64)

    def batches(self, rows: np.ndarray, epoch: int, batch_size: int) -> Iterator[dict[str, Any]]:
        """The batches of one epoch: cache ``rows`` in this order, ``batch_size`` at a time (the last may be
        smaller); batch ``b`` is augmented with ``np.random.default_rng((seed, epoch, b))``: reproducible and
        resumable."""
        rows = np.asarray(rows, np.int64)
        for b, start in enumerate(range(0, len(rows), batch_size)):
            chunk = rows[start:start + batch_size]
            params = None
            if self.augment is not None:
                params = self.augment.sample_many(np.random.default_rng((self.seed, epoch, b)), len(chunk))
            yield self.batch(chunk, params)

    def batch(self, rows: np.ndarray, params: tuple[np.ndarray, np.ndarray, np.ndarray] | None) -> dict[str, Any]:
        """One batch of cache ``rows`` augmented by ``params`` = ``(rotation rad (n,), scale (n,), shift (n, 3)
        mm)`` (:meth:`training.augment.Augment.sample_many`), or as cut (None)."""
        n, s = len(rows), self.size
        rot, scale, shift = params if params is not None else (np.zeros(n), np.ones(n), np.zeros((n, 3)))
        g = crop_warps(self.com_uvd[rows], self.intrinsics[rows], self.cube_mm, s, rot, scale, shift)
        joints = g.joints(self.joints_uvd[rows]).reshape(n, -1)
        com_xyz, cubes, com_d, new_d = g.com_xyz_mm, g.cube_mm, self.com_uvd[rows, 2], g.com_uvd[:, 2]
        dev = self.device
        grid = F.affine_grid(torch.from_numpy(_sampling_thetas(g.warp, s)).float().to(dev), [n, 1, s, s],
                             align_corners=True)
        index = torch.from_numpy(np.ascontiguousarray(rows, np.int64)).to(dev)
        old = self.depth[index].float()  # (n, S, S): 1 = background
        valid = old < 1.0
        d_mm = torch.where(valid, old * (0.5 * self.cube_mm) + torch.from_numpy(com_d).float().to(dev)[:, None, None],
                           0.0)
        warped = F.grid_sample(torch.stack([d_mm, valid.float()], 1), grid, mode="nearest", padding_mode="zeros",
                               align_corners=True)
        half_new = torch.from_numpy(0.5 * cubes).float().to(dev)[:, None, None]
        depth = (warped[:, 0] - torch.from_numpy(new_d).float().to(dev)[:, None, None]) / half_new
        depth = torch.where((warped[:, 1] < 0.5) | (depth > 1.0), 1.0, depth.clamp(min=-1.0))
        out: dict[str, Any] = {
            "depth": depth[:, None],
            "joints": torch.from_numpy(joints).float().to(dev),
            "com_xyz_mm": torch.from_numpy(com_xyz).float().to(dev),
            "cube_mm": torch.from_numpy(cubes).float().to(dev),
            "index": index,
        }
        if self.rgb is not None:
            rgb = F.grid_sample(self.rgb[index].float(), grid, mode="bilinear", padding_mode="zeros",
                                align_corners=True) * (depth < 1.0)[:, None]
            out["rgb"] = (rgb - self.rgb_mean) / self.rgb_std  # masked-out pixels are 0 before, as the loader's
        return out


def _sampling_thetas(warp: np.ndarray, size: int) -> np.ndarray:
    """``(n, 2, 3)`` crop warps (old px -> new px) -> ``affine_grid``'s thetas: each new pixel's place in the old
    crop, in ``align_corners`` units (-1 and 1 at the centres of the first and last pixels)."""
    to_unit = np.array([[2.0 / (size - 1), 0.0, -1.0], [0.0, 2.0 / (size - 1), -1.0], [0.0, 0.0, 1.0]])
    full = np.concatenate([warp, np.broadcast_to([[[0.0, 0.0, 1.0]]], (len(warp), 1, 3))], axis=1)
    return (to_unit @ np.linalg.inv(full) @ np.linalg.inv(to_unit))[:, :2]
