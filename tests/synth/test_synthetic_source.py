"""The live synthetic camera: labelled frames from the generator, deterministic without real-time pacing."""

from __future__ import annotations

import numpy as np

from inference.core.gesture_names import GESTURES
from inference.sources import open_source
from inference.sources.synthetic import SyntheticSource


def test_frames_carry_labels_and_gestures() -> None:
    with SyntheticSource(seed=4, fps=5.0, real_time=False, max_frames=12) as src:
        frames = [f for f in iter(src.read, None)]
    assert len(frames) == 12 and [f.index for f in frames] == list(range(12))
    assert np.allclose([f.timestamp_s for f in frames], np.arange(12) / 5.0)
    gestures = {f.gesture for f in frames}
    assert gestures <= set(GESTURES) and len(gestures) >= 2  # 2.4 s of performance: at least one change
    for f in frames:
        assert f.depth_mm.dtype == np.uint16 and f.depth_mm.shape == (480, 640)
        assert f.color is not None and f.color.shape == (480, 640, 3)
        assert f.joints_uvd.shape == (14, 3)
        u, v = np.rint(f.joints_uvd[13, :2]).astype(int)  # palm centre: on the hand, under its surface
        patch = f.depth_mm[v - 2:v + 3, u - 2:u + 3]
        assert 0 < f.joints_uvd[13, 2] - np.median(patch[patch > 0]) < 80


def test_deterministic_and_seed_dependent() -> None:
    def first(seed: int) -> np.ndarray:
        with SyntheticSource(seed=seed, real_time=False, max_frames=1) as src:
            return src.read().depth_mm

    assert np.array_equal(first(1), first(1))
    assert not np.array_equal(first(1), first(2))


def test_spec_string_and_live_flag() -> None:
    src = open_source("synthetic:9", fps=15.0)
    assert isinstance(src, SyntheticSource) and src.live and src.seed == 9
    assert "synthetic:9" in src.description
