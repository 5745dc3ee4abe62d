"""Scores of a two-hand run that do not depend on the sides it reported: were both hands found, was each found
hand given its own side, how far off are the found hands.

A reported hand is matched to the labelled hand whose palm centre (joint 13) is nearest to its own, within
``match_mm``; a reported hand farther than that from every labelled palm is a false hand. Labels: the right hand's
and the left hand's :class:`inference.formats.pose_files.PoseSet` (frames by position, as in ``joint_data.mat`` and
``joint_data_left.mat``; NaN where a hand is out of view).

A labelled hand is in the image even where the other hand hides it entirely (the labels say nothing of occlusion),
so "both found" also counts frames where no depth method could see one of them. Given the depth frames,
:func:`both_visible` tells the frames where each hand shows at least ``MIN_VISIBLE_JOINTS`` of its 14 joints (the
depth at the joint's pixel within ``VISIBLE_MM`` of the joint's depth), and the summary adds the share found of those.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np

from inference.core.geometry import Intrinsics, xyz_to_uvd
from inference.core.skeleton import PALM_CENTRE
from inference.formats.pose_files import PoseSet

MATCH_MM = 100.0
VISIBLE_MM = 25.0  # a joint is seen where the depth at its pixel is this close to its own depth
MIN_VISIBLE_JOINTS = 4  # of the 14: a hand with fewer seen is hidden (behind the other hand, mostly)


def _labelled(labels: dict[str, PoseSet], row: int) -> dict[str, np.ndarray]:
    """The hands labelled on ``row``: side -> ``(14, 3)`` mm."""
    return {side: ps.joints_xyz_mm[row] for side, ps in labels.items()
            if row < len(ps) and ps.found[row] and np.isfinite(ps.joints_xyz_mm[row]).all()}


def visible_joints(depth_mm: np.ndarray, joints_xyz_mm: np.ndarray, intr: Intrinsics) -> int:
    """How many of the joints ``(J, 3)`` (mm) the depth image ``(H, W)`` (mm, 0 = none) shows: inside the image, with
    valid depth within ``VISIBLE_MM`` of the joint's at its pixel."""
    uvd = xyz_to_uvd(joints_xyz_mm, intr)
    u, v = np.round(uvd[:, 0]).astype(np.int64), np.round(uvd[:, 1]).astype(np.int64)
    inside = (u >= 0) & (u < depth_mm.shape[1]) & (v >= 0) & (v < depth_mm.shape[0])
    seen = np.zeros(len(uvd))
    seen[inside] = depth_mm[v[inside], u[inside]]
    return int(np.count_nonzero((seen > 0) & (np.abs(seen - uvd[:, 2]) <= VISIBLE_MM)))


def both_visible(right: PoseSet, left: PoseSet, read_depth: Callable[[int], np.ndarray | None], intr: Intrinsics,
                 min_joints: int = MIN_VISIBLE_JOINTS) -> dict[int, bool]:
    """Per frame index where both hands are labelled: whether each shows at least ``min_joints`` joints in its depth
    frame (``read_depth(index)``; None: no frame, the frame is left out)."""
    labels = {"right": right, "left": left}
    out: dict[int, bool] = {}
    for row in range(len(right)):
        truth = _labelled(labels, row)
        if len(truth) < 2:
            continue
        index = int(right.frame_index[row])
        depth = read_depth(index)
        if depth is not None:
            out[index] = all(visible_joints(depth, xyz, intr) >= min_joints for xyz in truth.values())
    return out


def two_hand_summary(right: PoseSet, left: PoseSet, hands: dict[int, list[tuple[str | None, np.ndarray]]],
                     match_mm: float = MATCH_MM, visible: dict[int, bool] | None = None) -> dict[str, float | int]:
    """``hands``: per frame index, the reported hands ``(handedness, (14, 3) mm)`` (:func:`read_hand_lists`);
    ``visible``: :func:`both_visible`, when the depth frames are at hand.

    Returns {"frames_both_labelled", "both_found_pct" (of those, frames where each labelled hand has a reported hand
    matched to it), "hands_matched", "handedness_correct_pct" (of the matched hands, those given their own side),
    "false_hands" (reported hands matched to no labelled hand), "mean_error_mm" (mean per-joint error of the matched
    hands against the hand they matched, whatever side they were given)}, and with ``visible`` "frames_both_visible"
    and "both_visible_found_pct" (both found, of the frames where both are seen). Frames without a line count as
    found nothing.
    """
    labels = {"right": right, "left": left}
    both_labelled = both_found = matched = correct = false = seen = seen_found = 0
    errors: list[float] = []
    for row in range(len(right)):
        index = int(right.frame_index[row])
        truth = _labelled(labels, row)
        got: set[str] = set()
        for handedness, xyz in hands.get(index, []):
            dist = {side: float(np.linalg.norm(xyz[PALM_CENTRE] - t[PALM_CENTRE])) for side, t in truth.items()}
            side = min(dist, key=dist.__getitem__) if dist else None
            if side is None or dist[side] > match_mm:
                false += 1
                continue
            matched += 1
            correct += handedness == side
            got.add(side)
            errors.append(float(np.linalg.norm(xyz - truth[side], axis=1).mean()))
        if len(truth) == 2:
            both_labelled += 1
            both_found += got == {"right", "left"}
            if visible is not None and visible.get(index, False):
                seen += 1
                seen_found += got == {"right", "left"}
    out: dict[str, float | int] = {
        "frames_both_labelled": both_labelled,
        "both_found_pct": 100.0 * both_found / both_labelled if both_labelled else float("nan"),
        "hands_matched": matched,
        "handedness_correct_pct": 100.0 * correct / matched if matched else float("nan"),
        "false_hands": false,
        "mean_error_mm": float(np.mean(errors)) if errors else float("nan"),
    }
    if visible is not None:
        out["frames_both_visible"] = seen
        out["both_visible_found_pct"] = 100.0 * seen_found / seen if seen else float("nan")
    return out


def both_visible_in_folder(folder: str | Path, right: PoseSet, left: PoseSet, intr: Intrinsics, view: int = 1
                           ) -> dict[int, bool] | None:
    """:func:`both_visible` over an NYU-format folder's depth frames (``depth_<view>_<n>.png``, ``n`` = index + 1);
    None when it holds none (labels alone)."""
    from inference.formats.nyu_io import depth_png_name, read_depth_png

    folder = Path(folder)
    if not folder.is_dir() or not any(folder.glob(depth_png_name(1, view).replace("0000001", "*"))):
        return None

    def read(index: int) -> np.ndarray | None:
        path = folder / depth_png_name(index + 1, view)
        return read_depth_png(path) if path.is_file() else None

    return both_visible(right, left, read, intr)
