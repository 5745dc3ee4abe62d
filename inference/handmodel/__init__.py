"""The articulated hand model, shared by the synthetic generator (which renders it) and the fitter (which
registers it to depth): shape (:mod:`.shape`), forward kinematics with joint limits (:mod:`.kinematics`) and the
surface primitives of a posed hand (:mod:`.geometry`). numpy only."""

from inference.handmodel.geometry import MIRROR_X, PART_FOREARM, PART_HAND, HandGeometry, ellipsoid_row
from inference.handmodel.kinematics import (
    CAPSULE_CHAINS,
    DIP_MAX_DEG,
    DIP_PIP_RATIO,
    DOF_HIGH,
    DOF_LOW,
    DOF_NAMES,
    ELLIPSOID_CHAINS,
    FINGERS,
    GENERATOR_NAMES,
    JOINT_CHAINS,
    NUM_DOF,
    NUM_GENERATORS,
    Articulation,
    clip_angles,
    dof_index,
    forearm_direction,
    pose_hand,
    pose_hand_articulated,
)
from inference.handmodel.shape import HandShape, mean_shape, sample_shape

__all__ = [
    "CAPSULE_CHAINS", "DIP_MAX_DEG", "DIP_PIP_RATIO", "DOF_HIGH", "DOF_LOW", "DOF_NAMES", "ELLIPSOID_CHAINS",
    "FINGERS", "GENERATOR_NAMES", "JOINT_CHAINS", "MIRROR_X", "NUM_DOF", "NUM_GENERATORS", "PART_FOREARM", "PART_HAND",
    "Articulation", "HandGeometry", "HandShape", "clip_angles", "dof_index", "ellipsoid_row", "forearm_direction",
    "mean_shape", "pose_hand", "pose_hand_articulated", "sample_shape",
]
