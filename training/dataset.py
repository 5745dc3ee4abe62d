"""The torch Dataset of a crop cache (:mod:`training.crop_cache`): crops with augmentation
(:mod:`training.augment`), deterministic per (seed, epoch, sample) whatever the number of loader workers.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
from torch.utils.data import Dataset

from inference.core.geometry import Intrinsics
from training.augment import Augment, transform_sample
from training.crop_cache import Cache


class HandPoseDataset(Dataset):
    """Samples of a cache split, ready for a net.

    Each item is a dict: ``depth (1, S, S)`` float32, ``rgb (3, S, S)`` float32 standardised (when the
    dataset has RGB statistics), ``joints (3J,)`` float32 in cube units, ``com_xyz_mm (3,)``, ``cube_mm`` and
    ``index`` (row in the cache).
    """

    def __init__(
        self,
        cache: Cache,
        indices: np.ndarray,
        augment: Augment | None = None,
        rgb_mean: list[float] | None = None,
        rgb_std: list[float] | None = None,
        seed: int = 0,
    ) -> None:
        self.cache = cache
        self.indices = np.asarray(indices, np.int64)
        self.augment = augment
        self.rgb_mean = None if rgb_mean is None else np.asarray(rgb_mean, np.float32)[:, None, None]
        self.rgb_std = None if rgb_std is None else np.asarray(rgb_std, np.float32)[:, None, None]
        self.seed = seed
        self.epoch = 0
        self.cube_mm = cache.params.cube_mm

    def set_epoch(self, epoch: int) -> None:
        """Augmentation of sample i in epoch e depends only on (seed, e, i): reproducible and resumable."""
        self.epoch = epoch

    def __len__(self) -> int:
        return len(self.indices)

    def __getitem__(self, item: int) -> dict[str, Any]:
        i = int(self.indices[item])
        a = self.cache.arrays
        fx, fy, cx, cy = a["intrinsics"][i]
        intr = Intrinsics(fx=fx, fy=fy, cx=cx, cy=cy, width=0, height=0)
        use_rgb = self.rgb_mean is not None
        rot, scale, shift = 0.0, 1.0, None
        if self.augment is not None:
            rot, scale, shift = self.augment.sample(np.random.default_rng((self.seed, self.epoch, i)))
        depth, rgb, joints, com_xyz, cube = transform_sample(
            a["depth"][i], a["rgb"][i] if use_rgb else None, a["joints_uvd"][i], a["com_uvd"][i], intr,
            self.cube_mm, rot, scale, shift,
        )
        out: dict[str, Any] = {
            "depth": torch.from_numpy(depth[None]),
            "joints": torch.from_numpy(joints.reshape(-1).astype(np.float32)),
            "com_xyz_mm": torch.from_numpy(com_xyz.astype(np.float32)),
            "cube_mm": torch.tensor(cube, dtype=torch.float32),
            "index": i,
        }
        if use_rgb:
            assert rgb is not None and self.rgb_std is not None
            # Masked-out pixels stay 0 before standardisation, as in inference.preprocess.crop.crop_rgb.
            out["rgb"] = torch.from_numpy((rgb - self.rgb_mean) / self.rgb_std)
        return out
