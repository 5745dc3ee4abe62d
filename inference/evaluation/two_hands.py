"""Scores of a two-hand run that do not depend on the sides it reported: were both hands found, was each found
hand given its own side, how far off are the found hands.

A reported hand is matched to the labelled hand whose palm centre (joint 13) is nearest to its own, within
``match_mm``; a reported hand farther than that from every labelled palm is a false hand. Labels: the right hand's
and the left hand's :class:`inference.formats.pose_files.PoseSet` (frames by position, as in ``joint_data.mat`` and
``joint_data_left.mat``; NaN where a hand is out of view).
"""

from __future__ import annotations

import numpy as np

from inference.core.skeleton import PALM_CENTRE
from inference.formats.pose_files import PoseSet

MATCH_MM = 100.0


def two_hand_summary(right: PoseSet, left: PoseSet, hands: dict[int, list[tuple[str | None, np.ndarray]]],
                     match_mm: float = MATCH_MM) -> dict[str, float | int]:
    """``hands``: per frame index, the reported hands ``(handedness, (14, 3) mm)`` (:func:`read_hand_lists`).

    Returns {"frames_both_labelled", "both_found_pct" (of those, frames where each labelled hand has a reported hand
    matched to it), "hands_matched", "handedness_correct_pct" (of the matched hands, those given their own side),
    "false_hands" (reported hands matched to no labelled hand), "mean_error_mm" (mean per-joint error of the matched
    hands against the hand they matched, whatever side they were given)}. Frames without a line count as found
    nothing.
    """
    labels = {"right": right, "left": left}
    both_labelled = both_found = matched = correct = false = 0
    errors: list[float] = []
    for row in range(len(right)):
        index = int(right.frame_index[row])
        truth = {side: ps.joints_xyz_mm[row] for side, ps in labels.items()
                 if row < len(ps) and ps.found[row] and np.isfinite(ps.joints_xyz_mm[row]).all()}
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
    return {
        "frames_both_labelled": both_labelled,
        "both_found_pct": 100.0 * both_found / both_labelled if both_labelled else float("nan"),
        "hands_matched": matched,
        "handedness_correct_pct": 100.0 * correct / matched if matched else float("nan"),
        "false_hands": false,
        "mean_error_mm": float(np.mean(errors)) if errors else float("nan"),
    }
