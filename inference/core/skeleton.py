"""The NYU hand skeleton, defined once: 36 joint names, the 14-joint evaluation subset, bones, colours.

NYU joint order (``joint_data.mat`` ``joint_names``): for each finger F1 (pinky), F2 (ring), F3 (middle),
F4 (index) and TH (thumb) six points from the tip down, ``KNU3_A, KNU3_B, KNU2_A, KNU2_B, KNU1_A,
KNU1_B``; then six palm points ``PALM_1..PALM_6`` (1-2 wrist, 3 palm centre).
"""

from __future__ import annotations

import numpy as np

_FINGERS = ("F1", "F2", "F3", "F4", "TH")
_SEGMENTS = ("KNU3_A", "KNU3_B", "KNU2_A", "KNU2_B", "KNU1_A", "KNU1_B")

NYU_JOINT_NAMES: tuple[str, ...] = tuple(f"{f}_{s}" for f in _FINGERS for s in _SEGMENTS) + tuple(
    f"PALM_{i}" for i in range(1, 7)
)
NUM_NYU_JOINTS = 36

# The 14 joints every NYU paper evaluates on, in the order of the published result files.
EVAL_JOINT_IDS: tuple[int, ...] = (0, 3, 6, 9, 12, 15, 18, 21, 24, 25, 27, 30, 31, 32)
EVAL_SHORT_NAMES: tuple[str, ...] = (
    "P1", "P2", "R1", "R2", "M1", "M2", "I1", "I2", "T1", "T2", "T3", "W1", "W2", "C",
)
EVAL_JOINT_NAMES: tuple[str, ...] = tuple(NYU_JOINT_NAMES[i] for i in EVAL_JOINT_IDS)
NUM_JOINTS = len(EVAL_JOINT_IDS)

# Indices into the 14-joint order.
PALM_CENTRE = 13
WRIST = (11, 12)
FINGERTIPS = {"pinky": 0, "ring": 2, "middle": 4, "index": 6, "thumb": 8}

# Bones of the 14-joint skeleton as (parent, child) pairs in the 14-joint order, with the finger each
# belongs to (for colouring).
BONES: tuple[tuple[int, int, str], ...] = (
    (13, 1, "pinky"), (1, 0, "pinky"),
    (13, 3, "ring"), (3, 2, "ring"),
    (13, 5, "middle"), (5, 4, "middle"),
    (13, 7, "index"), (7, 6, "index"),
    (13, 10, "thumb"), (10, 9, "thumb"), (9, 8, "thumb"),
    (13, 11, "palm"), (13, 12, "palm"), (11, 12, "palm"),
)

# RGB colours (0-255) per finger, used by every renderer (OpenCV, Qt, Open3D).
FINGER_COLOURS: dict[str, tuple[int, int, int]] = {
    "thumb": (230, 60, 60),
    "index": (240, 170, 30),
    "middle": (60, 200, 80),
    "ring": (40, 150, 240),
    "pinky": (170, 80, 230),
    "palm": (200, 200, 200),
}

# Which finger each of the 14 joints belongs to (palm points are "palm").
JOINT_FINGER: tuple[str, ...] = (
    "pinky", "pinky", "ring", "ring", "middle", "middle", "index", "index",
    "thumb", "thumb", "thumb", "palm", "palm", "palm",
)


def to_eval_joints(joints36: np.ndarray) -> np.ndarray:
    """Select the 14 evaluation joints: ``(..., 36, 3)`` -> ``(..., 14, 3)``."""
    if joints36.shape[-2] != NUM_NYU_JOINTS:
        raise ValueError(f"expected 36 NYU joints on axis -2, got shape {joints36.shape}")
    return joints36[..., list(EVAL_JOINT_IDS), :]


def palm_vector(joints14: np.ndarray) -> np.ndarray:
    """``(3,)`` from the wrist points' middle to the palm centre of ``(14, 3)`` joints: the palm's length and the
    hand's long axis (the gesture rules' unit, the fit's half-turn axis and its size estimate)."""
    j = np.asarray(joints14, np.float64)
    return j[PALM_CENTRE] - j[list(WRIST)].mean(axis=0)
