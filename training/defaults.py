"""The training recipe's defaults (thesis sec. 4.4.3), in one place and torch-free.

:class:`training.train.TrainConfig`'s fields, the crop cache's parameters (:class:`training.crop_cache.CacheParams`)
and ``handpose train``'s argument defaults all derive from :data:`RECIPE`, so a default is changed once (the
command line reads this module without loading torch).
"""

from __future__ import annotations

from dataclasses import dataclass

from inference.preprocess.crop_defaults import CROP_SIZE, DEFAULT_CUBE_MM


@dataclass(frozen=True)
class Recipe:
    """Defaults of a training run. Cube in mm, crop in pixels, learning rate per step."""

    arch: str = "depthnet"
    fuse_at: int = 4
    width: float = 1.0
    head: str = "fc"
    optimizer: str = "sgd"
    schedule: str = "plateau"
    epochs: int = 100
    batch_size: int = 128
    lr: float = 0.009
    momentum: float = 0.98
    dropout: float = 0.03
    val_fraction: float = 0.25
    centre: str = "segment"
    cube_mm: float = DEFAULT_CUBE_MM
    input_size: int = CROP_SIZE
    seed: int = 0
    workers: int = 2
    refresh_fraction: float = 0.0


RECIPE = Recipe()
