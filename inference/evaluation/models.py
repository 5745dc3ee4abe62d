"""Run pose models over a recorded sequence and collect their estimates as :class:`PoseSet` s for evaluation.

Every frame goes through the real runtime :class:`~inference.runtime.pipeline.Pipeline` (segmentation -> crop -> model
-> decode), so the numbers measure what a user gets, not a training-time shortcut. The pipelines should have
smoothing off (frames independent, as in ``handpose run --no-smoothing``). Several models share one pass over
the frames (each frame is decoded once).

Crop centres (``centre``):

- ``"segment"``: the runtime's hand segmentation (what ``handpose run`` does);
- ``"labels"``: the labelled joints' centre (:func:`inference.preprocess.crop.labels_centre_uvd`, the same definition as
  the training cache's ``centre="labels"``), to measure the network alone. Frames without labels are skipped
  (they are not evaluated anyway).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from pathlib import Path

import numpy as np

from inference.core.errors import ModelError
from inference.core.skeleton import EVAL_JOINT_IDS, NUM_JOINTS
from inference.formats.pose_files import PoseSet
from inference.preprocess.crop import labels_centre_uvd
from inference.runtime.pipeline import Pipeline
from inference.sources.base import FrameSource

CENTRES: tuple[str, ...] = ("segment", "labels")


def check_eval_joints(pipeline: Pipeline, name: str) -> None:
    """Raise :class:`ModelError` unless the model predicts the 14 NYU evaluation joints in their order."""
    ids = list(pipeline.estimator.metadata.joint_ids)
    if ids != list(EVAL_JOINT_IDS):
        raise ModelError(f"{name}: the model predicts {len(ids)} joints {ids[:16]}; evaluation needs the "
                         f"{NUM_JOINTS} NYU evaluation joints {list(EVAL_JOINT_IDS)}")


def predict_sequence(
    source: FrameSource,
    pipelines: Mapping[str, Pipeline],
    paths: Mapping[str, Path],
    centre: str = "segment",
    on_frame: Callable[[], None] | None = None,
    max_frames: int | None = None,
) -> dict[str, PoseSet]:
    """Estimate every frame of ``source`` with each pipeline.

    Args:
        source: a finite source (e.g. ``replay:DIR``); its frames carry ``joints_uvd`` labels for ``"labels"``.
        pipelines: name -> pipeline (smoothing off for independent frames).
        paths: name -> model path, recorded as the :attr:`PoseSet.path` of its predictions (for messages).
        centre: ``"segment"`` or ``"labels"`` (see the module docstring).
        on_frame: called once per frame read (a progress bar's update).
        max_frames: stop at the first frame whose 0-based index is >= this (only frames ``0..max_frames-1``
            are run; :func:`first_frames` restricts the labels to the same frames). None: all frames.

    Returns:
        name -> indexed :class:`PoseSet` (matched to labels by frame index): ``joints_xyz_mm (N, 14, 3)`` mm,
        NaN and ``found`` False where no hand was found. Frames the source skipped (corrupt) have no row, so
        they count as "missing", exactly as in a ``handpose run`` JSONL.
    """
    if centre not in CENTRES:
        raise ValueError(f"centre must be one of {CENTRES}, got {centre!r}")
    for name, pipeline in pipelines.items():
        check_eval_joints(pipeline, name)
    index: list[int] = []
    joints: dict[str, list[np.ndarray]] = {name: [] for name in pipelines}
    found: dict[str, list[bool]] = {name: [] for name in pipelines}
    nan_pose = np.full((NUM_JOINTS, 3), np.nan)
    source.open()
    try:
        while (frame := source.read()) is not None:
            if max_frames is not None and frame.index >= max_frames:
                break
            if on_frame is not None:
                on_frame()
            com_uvd = None
            if centre == "labels":
                labels = frame.joints_uvd
                if labels is None or not np.isfinite(labels).all():
                    continue  # no label: no centre, and nothing to score it against
                com_uvd = labels_centre_uvd(labels, frame.intrinsics)
                if not com_uvd[2] > 0:
                    continue  # labels behind the camera: no crop exists (and load_poses would not score them)
            index.append(frame.index)
            for name, pipeline in pipelines.items():
                pose = pipeline.process(frame, com_uvd=com_uvd).pose
                ok = bool(pose.found and pose.joints_xyz_mm is not None)
                joints[name].append(np.asarray(pose.joints_xyz_mm, np.float64) if ok else nan_pose)
                found[name].append(ok)
    finally:
        source.close()
    frame_index = np.asarray(index, np.int64)
    lines = np.arange(1, len(index) + 1, dtype=np.int64)
    return {
        name: PoseSet(
            path=Path(paths[name]), frame_index=frame_index,
            joints_xyz_mm=np.stack(joints[name]) if index else np.empty((0, NUM_JOINTS, 3)),
            found=np.asarray(found[name], bool), positional=False, line=lines,
        )
        for name in pipelines
    }


def first_frames(poses: PoseSet, max_frames: int) -> PoseSet:
    """The rows of ``poses`` whose 0-based frame index is ``< max_frames`` (labels of a ``max_frames`` run)."""
    keep = poses.frame_index < max_frames
    return PoseSet(path=poses.path, frame_index=poses.frame_index[keep], joints_xyz_mm=poses.joints_xyz_mm[keep],
                   found=poses.found[keep], positional=poses.positional, line=poses.line[keep])
