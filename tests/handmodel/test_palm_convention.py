"""The palm labels follow NYU's convention; models of the generator's first convention are mapped to it."""

from __future__ import annotations

import dataclasses
import importlib.util
from pathlib import Path

import numpy as np
import pytest
from scipy.spatial.transform import Rotation

from inference.core.frame import HandCrop
from inference.core.skeleton import EVAL_JOINT_IDS
from inference.handmodel import mean_shape, pose_hand
from inference.handmodel.palm_convention import (
    GENERATOR_V1,
    GENERATOR_V1_PALM,
    NYU,
    PALM_JOINT_IDS,
    to_nyu_palm,
)
from inference.handmodel.shape import PALM_LENGTH_MM, PALM_THICKNESS_MM, PALM_WIDTH_MM
from inference.runtime.estimator import OnnxEstimator
from inference.runtime.model_meta import ModelMetadata
from tests.helpers.tiny_models import make_tiny_model, tiny_metadata

ROOT = Path(__file__).resolve().parents[2]


def _placed(angles: np.ndarray, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """The template hand at ``angles``, turned, moved and sized at random: its 14 joints (NYU palm points) and the
    same 14 with the palm points where the first generator put them."""
    rng = np.random.default_rng(seed)
    r, s = Rotation.random(random_state=seed).as_matrix(), 1.15
    t = rng.uniform(-200, 200, 3) + np.array([0.0, 0.0, 800.0])
    shape = mean_shape()
    nyu = (s * pose_hand(shape, angles).joints @ r.T + t)[list(EVAL_JOINT_IDS)]
    v1 = nyu.copy()
    dims = np.array([PALM_WIDTH_MM, PALM_LENGTH_MM, PALM_THICKNESS_MM])
    v1[11:14] = s * (GENERATOR_V1_PALM * dims) @ r.T + t
    return nyu, v1


def test_first_convention_palm_points_map_onto_the_models() -> None:
    for seed, angles in enumerate([np.zeros(22), np.full(22, 20.0)]):
        nyu, v1 = _placed(angles, seed)
        assert np.linalg.norm(v1[11:14] - nyu[11:14], axis=1).min() > 15.0  # the two conventions differ
        mapped = to_nyu_palm(v1)
        np.testing.assert_allclose(mapped, nyu, atol=1e-9)  # palm rows moved exactly, the rest untouched
        np.testing.assert_allclose(to_nyu_palm(v1 / 150.0) * 150.0, nyu, atol=1e-9)  # any uniform unit (cube units)


def test_joints_without_a_whole_palm_come_back_unchanged() -> None:
    _, v1 = _placed(np.zeros(22), 3)
    gone = v1.copy()
    gone[12] = np.nan
    np.testing.assert_array_equal(to_nyu_palm(gone), gone)
    fingers = list(range(11))  # a model of the finger joints only
    np.testing.assert_array_equal(to_nyu_palm(v1[:11], fingers), v1[:11])


def test_model_files_say_their_convention_and_old_ones_are_mapped(tmp_path: Path) -> None:
    assert ModelMetadata.from_props(tiny_metadata().to_props()).palm_convention == NYU
    props = {k: v for k, v in tiny_metadata().to_props().items() if not k.endswith("palm_convention")}
    assert ModelMetadata.from_props(props).palm_convention == GENERATOR_V1  # exported before the key existed
    with pytest.raises(ValueError, match="palm_convention"):
        ModelMetadata.from_props({**props, "handpose.palm_convention": '"somewhere"'})
    crop = HandCrop(np.random.default_rng(0).uniform(-1, 1, (128, 128)).astype(np.float32), None,
                    np.array([320.0, 240.0, 800.0]), np.array([0.0, 0.0, 800.0]), 300.0,
                    np.ones((128, 128), bool), (0.0, 0.0, 128.0, 128.0))
    new = OnnxEstimator(make_tiny_model(tmp_path / "new.onnx"), warmup_runs=0)
    old_meta = dataclasses.replace(tiny_metadata(), palm_convention=GENERATOR_V1)
    old = OnnxEstimator(make_tiny_model(tmp_path / "old.onnx", metadata=old_meta), warmup_runs=0)
    raw, mapped = new.predict(crop), old.predict(crop)  # same weights (same seed), two conventions
    np.testing.assert_array_equal(mapped[:11], raw[:11])
    np.testing.assert_allclose(mapped, to_nyu_palm(raw), atol=1e-6)
    assert np.abs(mapped[11:] - raw[11:]).max() > 1e-3


@pytest.mark.slow
def test_the_models_palm_points_are_where_real_nyu_labels_put_them(nyu_eval_dir: Path) -> None:
    """The model fitted to the finger joints of real NYU labels: the labelled W1, W2, C lie close to the model's
    (measured over 1,500 labels: 4-6 mm median distance; the first generator's points were 15-26 mm away)."""
    spec = importlib.util.spec_from_file_location("palm_convention_script", ROOT / "scripts" / "palm_convention.py")
    script = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(script)
    labels = script.nyu_labels_xyz(nyu_eval_dir.parent)
    pick = np.random.default_rng(1).choice(len(labels), 120, replace=False)
    report = script.summary(script.local_offsets(labels[pick]))
    for name in ("W1", "W2", "C", "T3"):
        assert report[name]["distance_median_mm"] < 9.0, (name, report[name])
    assert len(PALM_JOINT_IDS) == 3


def test_the_palm_middle_is_where_scenes_and_crops_are_centred() -> None:
    """The runtime centres crops on the palm body's middle, not on NYU's palm centre (20 mm nearer the knuckles and
    toward the back): for a first-convention model that is exactly the palm centre it predicts, as before."""
    from inference.handmodel.palm_convention import palm_middle

    for seed, angles in enumerate([np.zeros(22), np.full(22, 20.0)]):
        nyu, v1 = _placed(angles, seed)
        np.testing.assert_allclose(palm_middle(nyu), v1[13], atol=1e-9)
        np.testing.assert_allclose(palm_middle(to_nyu_palm(v1)), v1[13], atol=1e-9)
        assert np.linalg.norm(palm_middle(nyu) - nyu[13]) > 15.0
    hand = pose_hand(mean_shape(), np.zeros(22))
    np.testing.assert_allclose(palm_middle(hand.joints[list(EVAL_JOINT_IDS)]), hand.anchor, atol=1e-9)
    broken = nyu.copy()
    broken[11] = np.nan
    np.testing.assert_array_equal(palm_middle(broken), broken[13])
