"""The per-frame pipeline (the single-hand path, ``max_hands=1``; two hands: test_two_hands_pipeline.py): stages,
timings, decoding to camera space, smoothing, settings, bad frames."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest

from inference.core.errors import ModelError
from inference.core.frame import Frame, HandCrop
from inference.core.geometry import NYU_INTRINSICS, uvd_to_xyz, xyz_to_uvd
from inference.formats.nyu_io import NyuSequence
from inference.preprocess.crop import normalise_joints
from inference.runtime.estimator import OnnxEstimator
from inference.runtime.model_meta import ModelMetadata
from inference.runtime.pipeline import STAGES, Pipeline, PipelineSettings
from inference.runtime.smoothing import SmoothingParams
from tests.helpers.blob_frames import blob_frame
from tests.helpers.tiny_models import make_tiny_model

# A hand pose in cube units (what a perfect network would output for a crop centred on the palm).
OFFSETS = np.random.default_rng(0).uniform(-0.5, 0.5, (14, 3))


@dataclass
class OffsetEstimator:
    """A network stand-in implementing the Estimator protocol: always answers ``OFFSETS`` (cube units)."""

    metadata: ModelMetadata
    provider: str = "test"
    calls: int = 0

    def predict(self, crop: HandCrop) -> np.ndarray:
        self.calls += 1
        assert crop.depth.shape == (self.metadata.input_size,) * 2
        return OFFSETS.astype(np.float32)


@dataclass
class PalmAtEstimator:
    """A network stand-in that always puts the palm centre (joint 13) at ``palm_mm`` in camera space, whatever the
    crop: what a network that found the hand does while the crop is off its centre."""

    metadata: ModelMetadata
    palm_mm: np.ndarray
    provider: str = "test"
    calls: int = 0

    def predict(self, crop: HandCrop) -> np.ndarray:
        self.calls += 1
        joints = np.tile(self.palm_mm, (14, 1))
        return ((joints - crop.com_xyz_mm) / (0.5 * crop.cube_mm)).astype(np.float32)


def test_the_crop_walks_to_the_palm_the_network_finds(tiny_depth_model: Path) -> None:
    """Re-centring (DeepPrior++): a crop that started 40 mm off moves onto the palm the network found."""
    meta = OnnxEstimator(tiny_depth_model, providers="cpu").metadata
    frame = blob_frame(0, (0.0, 0.0, 600.0))
    palm = np.array([0.0, 40.0, 590.0])  # on the blob, 40 mm above its centre
    estimator = PalmAtEstimator(meta, palm)
    result = Pipeline(estimator, PipelineSettings(smoothing=False, refine=False, max_hands=1)).process(frame)
    np.testing.assert_allclose(result.crop.com_xyz_mm, palm, atol=1.0)
    assert estimator.calls == 2  # the second crop is centred on the palm already: no third pass
    assert result.pose.timings_ms["infer"] > 0


def test_the_crop_never_walks_into_empty_space(tiny_depth_model: Path) -> None:
    meta = OnnxEstimator(tiny_depth_model, providers="cpu").metadata
    frame = blob_frame(0, (0.0, 0.0, 600.0))
    seg_centre = Pipeline(OffsetEstimator(meta), PipelineSettings(recentre_passes=0, max_hands=1)).process(
        frame).crop.com_xyz_mm
    for palm in ([0.0, 40.0, 350.0], [400.0, 0.0, 600.0]):  # in front of everything; beside the blob, in the air
        estimator = PalmAtEstimator(meta, np.array(palm))
        result = Pipeline(estimator, PipelineSettings(smoothing=False, refine=False, max_hands=1)).process(frame)
        np.testing.assert_allclose(result.crop.com_xyz_mm, seg_centre)
        assert estimator.calls == 1


@pytest.fixture(scope="module")
def tiny_depth_model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_tiny_model(tmp_path_factory.mktemp("models") / "depth.onnx")


def test_stages_timings_and_outputs(tiny_depth_model: Path) -> None:
    # A random network's palm is anywhere: no re-centring on it, so the crop stays where the segmentation put it.
    pipeline = Pipeline(OnnxEstimator(tiny_depth_model, providers="cpu"),
                        PipelineSettings(recentre_passes=0, max_hands=1))
    result = pipeline.process(blob_frame(0, (30.0, -20.0, 650.0)), capture_ms=4.5)
    pose = result.pose
    assert pose.found and result.segmentation.found and result.crop is not None
    assert pose.joints_xyz_mm.shape == (14, 3) and pose.joints_uvd.shape == (14, 3)
    np.testing.assert_allclose(pose.joints_uvd, xyz_to_uvd(pose.joints_xyz_mm, NYU_INTRINSICS))
    # the crop is centred on the blob (its front surface is ~20 mm in front of the centre)
    np.testing.assert_allclose(result.crop.com_xyz_mm[:2], (30.0, -20.0), atol=6.0)
    assert set(pose.timings_ms) == set(STAGES)
    assert pose.timings_ms["capture"] == 4.5
    stages = sum(pose.timings_ms[s] for s in ("segment", "crop", "infer", "fit", "post"))
    assert pose.timings_ms["total"] == pytest.approx(stages)
    assert all(pose.timings_ms[s] > 0 for s in ("segment", "crop", "infer", "post"))
    # refinement is on by default: it ran
    assert pose.fit_status is not None and pose.timings_ms["fit"] > 0
    assert pose.gesture is not None and 0.0 < pose.gesture_confidence <= 1.0


def test_prediction_is_decoded_around_the_crop_centre(tiny_depth_model: Path) -> None:
    meta = OnnxEstimator(tiny_depth_model, providers="cpu").metadata
    # the decoding alone: without a prior to the network's joints the fit would fold the hand model onto the blob
    pipeline = Pipeline(OffsetEstimator(meta), PipelineSettings(smoothing=False, refine=False, max_hands=1))
    result = pipeline.process(blob_frame(0, (0.0, 0.0, 700.0)))
    expected = result.crop.com_xyz_mm + OFFSETS * 150.0  # cube 300 mm: one unit = 150 mm
    np.testing.assert_allclose(result.pose.joints_xyz_mm, expected, atol=1e-4)
    np.testing.assert_allclose(normalise_joints(result.pose.joints_xyz_mm, result.crop.com_xyz_mm, 300.0), OFFSETS,
                               atol=1e-6)


def test_cube_override_and_settings_between_frames(tiny_depth_model: Path) -> None:
    meta = OnnxEstimator(tiny_depth_model, providers="cpu").metadata
    pipeline = Pipeline(OffsetEstimator(meta), PipelineSettings(smoothing=False, refine=False, max_hands=1))
    assert pipeline.process(blob_frame(0)).crop.cube_mm == 300.0
    pipeline.update_settings(cube_mm=250.0)
    result = pipeline.process(blob_frame(1))
    assert result.crop.cube_mm == 250.0
    np.testing.assert_allclose(result.pose.joints_xyz_mm, result.crop.com_xyz_mm + OFFSETS * 125.0, atol=1e-4)
    pipeline.update_settings(gestures=False)
    assert pipeline.process(blob_frame(2)).pose.gesture is None


def test_smoothing_follows_timestamps_and_resets_when_the_hand_is_lost(tiny_depth_model: Path) -> None:
    meta = OnnxEstimator(tiny_depth_model, providers="cpu").metadata
    params = SmoothingParams(min_cutoff_hz=0.5, beta_per_mm=0.0)
    pipeline = Pipeline(OffsetEstimator(meta),
                        PipelineSettings(smoothing=True, smoothing_params=params, refine=False, max_hands=1))
    first = pipeline.process(blob_frame(0, (0.0, 0.0, 600.0))).pose.joints_xyz_mm
    moved = pipeline.process(blob_frame(1, (60.0, 0.0, 600.0)))
    raw = moved.crop.com_xyz_mm + OFFSETS * 150.0
    # smoothed: between the previous pose and the new raw one
    assert first[:, 0].mean() < moved.pose.joints_xyz_mm[:, 0].mean() < raw[:, 0].mean() - 10.0
    empty = Frame(np.zeros((480, 640), np.uint16), None, NYU_INTRINSICS, 2 / 30, 2)
    assert not pipeline.process(empty).pose.found
    again = pipeline.process(blob_frame(3, (60.0, 0.0, 600.0)))
    np.testing.assert_allclose(again.pose.joints_xyz_mm, again.crop.com_xyz_mm + OFFSETS * 150.0, atol=1e-6)


def test_smoothing_restarts_when_the_frame_index_goes_back(tiny_depth_model: Path) -> None:
    """A loop or a seek back must not pull the first frame toward the last one."""
    meta = OnnxEstimator(tiny_depth_model, providers="cpu").metadata
    params = SmoothingParams(min_cutoff_hz=0.5, beta_per_mm=0.0)
    pipeline = Pipeline(OffsetEstimator(meta),
                        PipelineSettings(smoothing=True, smoothing_params=params, refine=False, max_hands=1))
    pipeline.process(blob_frame(4, (0.0, 0.0, 600.0)))
    looped = blob_frame(0, (40.0, 0.0, 600.0))
    looped.timestamp_s = 5 / 30  # the clock alone would not reset: only the index goes back
    again = pipeline.process(looped)
    np.testing.assert_allclose(again.pose.joints_xyz_mm, again.crop.com_xyz_mm + OFFSETS * 150.0, atol=1e-4)


@pytest.mark.parametrize(
    "depth",
    [
        np.zeros((480, 640), np.uint16),  # all invalid
        np.full((480, 640), 2001, np.uint16),  # NYU background only
        np.zeros((0, 0), np.uint16),  # empty
        np.full((480, 640), np.nan, np.float32),  # NaN
        np.full((480, 640), np.inf, np.float32),  # inf
        np.zeros((480, 640, 3), np.uint16),  # not 2-D
    ],
    ids=["zeros", "background", "empty", "nan", "inf", "3d"],
)
def test_bad_frames_give_not_found_without_raising(tiny_depth_model: Path, depth: np.ndarray) -> None:
    pipeline = Pipeline(OnnxEstimator(tiny_depth_model, providers="cpu"), PipelineSettings(max_hands=1))
    result = pipeline.process(Frame(depth, None, NYU_INTRINSICS, 0.0, 0))
    assert not result.pose.found and result.pose.joints_xyz_mm is None and result.crop is None
    assert result.segmentation.reason
    assert result.pose.timings_ms["total"] == result.pose.timings_ms["segment"]


def test_nan_and_inf_around_a_hand_are_ignored(tiny_depth_model: Path) -> None:
    depth = blob_frame(0, (0.0, 0.0, 600.0)).depth_mm.astype(np.float32)
    depth[:50] = np.nan
    depth[-50:] = np.inf
    depth[200, 300] = np.nan  # inside the hand
    result = Pipeline(OnnxEstimator(tiny_depth_model, providers="cpu"), PipelineSettings(max_hands=1)).process(
        Frame(depth, None, NYU_INTRINSICS, 0.0, 0)
    )
    assert result.pose.found and np.isfinite(result.pose.joints_xyz_mm).all()
    assert np.isfinite(result.crop.depth).all()


def test_two_input_model_uses_colour(tmp_path: Path) -> None:
    est = OnnxEstimator(make_tiny_model(tmp_path / "fuse.onnx", layout="depth+rgb"), providers="cpu")
    pipeline = Pipeline(est, PipelineSettings(smoothing=False, max_hands=1))
    frame = blob_frame(0)
    grey = pipeline.process(frame)
    assert grey.pose.found and grey.crop.rgb is not None and grey.crop.rgb.shape == (3, 128, 128)
    frame.color = np.zeros_like(frame.color)
    assert not np.allclose(pipeline.process(frame).pose.joints_xyz_mm, grey.pose.joints_xyz_mm)
    frame.color = None
    with pytest.raises(ModelError, match="needs RGB"):
        pipeline.process(frame)


def test_real_nyu_frame_is_found_at_the_labelled_hand(tiny_depth_model: Path, nyu_frame_dir: Path) -> None:
    labels = json.loads((nyu_frame_dir / "labels_frame1.json").read_text())
    palm_xyz = uvd_to_xyz(np.array(labels["gt_uvd"][13]), NYU_INTRINSICS)
    frame = NyuSequence(nyu_frame_dir).frame(1)
    # The segmentation's own centre (a random network's palm is not).
    settings = PipelineSettings(recentre_passes=0, max_hands=1)
    result = Pipeline(OnnxEstimator(tiny_depth_model, providers="cpu"), settings).process(frame)
    assert result.pose.found
    assert np.linalg.norm(result.crop.com_xyz_mm - palm_xyz) < 40.0


def test_from_model_builds_the_onnx_pipeline(tiny_depth_model: Path) -> None:
    pipeline = Pipeline.from_model(tiny_depth_model, PipelineSettings(smoothing=False, max_hands=1), providers="cpu")
    assert isinstance(pipeline.estimator, OnnxEstimator) and not pipeline.settings.smoothing
    assert pipeline.process(blob_frame(0)).pose.found
