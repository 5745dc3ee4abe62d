"""The shipped left/right classifier (models/side/sidenet.onnx) read by onnxruntime, and how it is found."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from inference.core.errors import ModelError
from inference.core.geometry import NYU_INTRINSICS, uvd_to_xyz
from inference.preprocess.crop import make_crop
from inference.preprocess.segmentation import segment_hands, without_hands
from inference.runtime.estimator import project_root
from inference.runtime.mirror import mirror_crop
from inference.runtime.side_classifier import (
    SIDE_MODEL_ENV_VAR,
    SideClassifier,
    default_side_model_path,
    load_side_classifier,
)
from inference.synth.generate import make_specs, render_frame, subject_ids

SHIPPED = project_root() / "models" / "side" / "sidenet.onnx"
needs_model = pytest.mark.skipif(not SHIPPED.is_file(), reason="the shipped side classifier is not in this checkout")


@needs_model
def test_the_shipped_classifier_tells_sides_and_hands_on_unseen_hands() -> None:
    """Crops of the segmentation's candidates in new two-hand frames (unseen hand shapes 680-683), one frame each:
    the side of most hands (the pipeline votes over frames and adds the fits), the mirrored crop read as the other
    side, and the candidates that are not hands (far from both palms) told apart from those that are."""
    classifier = SideClassifier()
    sides_right = mirrored_right = symmetric_right = hands = hands_said = others = others_said = 0
    for spec in make_specs("random", 16, 5, subject_ids(4, 680), hands=2):
        frame = render_frame(spec)
        segs = segment_hands(frame.depth_mm, NYU_INTRINSICS, max_hands=2)
        for k, seg in enumerate(segs):
            centre = uvd_to_xyz(seg.com_uvd, NYU_INTRINSICS)
            palms = {"right": frame.joints_xyz_mm[32], "left": frame.left_joints_xyz_mm[32]}
            dist = {s: float(np.linalg.norm(centre - p)) for s, p in palms.items() if np.isfinite(p).all()}
            side = min(dist, key=dist.__getitem__)
            crop = make_crop(without_hands(frame.depth_mm, segs[:k] + segs[k + 1:]), seg.com_uvd, NYU_INTRINSICS,
                             classifier.cube_mm)
            logits = classifier.logits([crop, mirror_crop(crop, NYU_INTRINSICS)], symmetric=False)  # (2, 2)
            both = classifier.logits([crop, mirror_crop(crop, NYU_INTRINSICS)])  # each read with its mirror
            np.testing.assert_allclose(both[1], both[0] * [-1.0, 1.0], atol=1e-5)  # the side flips with the image
            if dist[side] <= 80.0:
                hands += 1
                sides_right += (logits[0, 0] > 0) == (side == "right")
                mirrored_right += (logits[1, 0] > 0) == (side == "left")
                symmetric_right += (both[0, 0] > 0) == (side == "right")
                hands_said += logits[0, 1] > 0
            elif dist[side] > 150.0:
                others += 1
                others_said += logits[0, 1] < 0
    # Measured: 25 hands, side 18 as they are, 20 mirrored, 19 read with the mirror (one frame each; the pipeline's
    # vote over frames makes 97-100% of it on sequences); all 25 said to be hands; 7 of 7 others said not to be.
    assert hands >= 20 and others >= 4
    assert min(sides_right, mirrored_right, symmetric_right) >= 0.7 * hands
    assert hands_said == hands and others_said == others


def test_a_missing_default_classifier_is_no_classifier_but_a_named_one_must_load(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(SIDE_MODEL_ENV_VAR, str(tmp_path / "none.onnx"))
    assert default_side_model_path() == tmp_path / "none.onnx"
    assert load_side_classifier() is None  # the pipeline then decides sides from the fits alone
    with pytest.raises(ModelError, match="no side classifier there"):
        load_side_classifier(tmp_path / "none.onnx")


@pytest.mark.skipif(not (project_root() / "models" / "depthnet.onnx").is_file(), reason="no shipped pose model")
def test_a_pose_network_is_not_taken_for_a_side_classifier() -> None:
    with pytest.raises(ModelError, match="not a side classifier"):
        SideClassifier(project_root() / "models" / "depthnet.onnx")
