"""Scene cuts: a frame of another scene restarts tracking although its index follows the last one."""

from __future__ import annotations

import numpy as np
import pytest

from inference.handmodel import mean_shape
from inference.runtime.model_meta import ModelMetadata
from inference.runtime.pipeline import Pipeline, PipelineSettings
from inference.runtime.scene_cut import SceneCuts
from inference.runtime.smoothing import SmoothingParams
from inference.synth.generate import make_specs, render_frame
from tests.helpers.blob_frames import blob_frame
from tests.runtime.test_pipeline import OFFSETS, OffsetEstimator


def test_a_synthetic_sequence_cuts_where_the_next_subject_starts() -> None:
    """``synth --mode sequence`` starts a new scene for each subject: the cut is found there and nowhere else."""
    specs = make_specs("sequence", 16, 3, [300, 301])
    cuts = SceneCuts()
    found = [k for k, spec in enumerate(specs) if cuts.is_cut(render_frame(spec, shape=mean_shape()).depth_mm)]
    starts = [k for k in range(1, len(specs)) if specs[k].subject_id != specs[k - 1].subject_id]
    assert starts and found == starts


@pytest.mark.parametrize("bad", [np.zeros((480, 640), np.uint16), np.full((480, 640), np.nan, np.float32),
                                 np.zeros((0, 0), np.uint16), np.zeros((240, 320), np.uint16)],
                         ids=["invalid", "nan", "empty", "other-size"])
def test_frames_with_nothing_to_compare_are_not_cuts(bad: np.ndarray) -> None:
    cuts = SceneCuts()
    assert not cuts.is_cut(blob_frame(0).depth_mm)
    assert not cuts.is_cut(bad)
    cuts.reset()
    assert not cuts.is_cut(blob_frame(2, (0.0, 0.0, 900.0)).depth_mm)  # the first frame after a reset


def test_the_filter_restarts_at_a_cut_not_when_the_hand_moves() -> None:
    """The hand moving 40 mm is smoothed toward the last frame; the same step with the scene behind it changed (the
    body and the wall elsewhere: another recording) passes through unsmoothed, as a new source would."""
    params = SmoothingParams(min_cutoff_hz=0.5, beta_per_mm=0.0)
    meta = ModelMetadata(architecture="offsets")

    def second_pose(new_scene: bool) -> tuple[np.ndarray, np.ndarray]:
        pipeline = Pipeline(OffsetEstimator(meta), PipelineSettings(smoothing=True, smoothing_params=params,
                                                                    refine=False))
        pipeline.process(blob_frame(0, (0.0, 0.0, 600.0)))
        frame = blob_frame(1, (40.0, 0.0, 600.0))
        if new_scene:
            frame.depth_mm[frame.depth_mm > 800] = 1300
        result = pipeline.process(frame)
        return result.pose.joints_xyz_mm, result.crop.com_xyz_mm + OFFSETS * 150.0

    moved, moved_raw = second_pose(new_scene=False)
    assert np.abs(moved - moved_raw).max() > 5.0  # pulled toward the first frame
    cut, cut_raw = second_pose(new_scene=True)
    np.testing.assert_allclose(cut, cut_raw, atol=1e-4)
