"""Frames of the template hand for the fitter's tests: rendered by the generator, so the truth is known exactly."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.spatial.transform import Rotation

from inference.core.geometry import NYU_INTRINSICS, uvd_to_xyz
from inference.core.skeleton import EVAL_JOINT_IDS
from inference.fit.model import HandParams
from inference.fit.observation import Observation, observe
from inference.handmodel import NUM_DOF, clip_angles, mean_shape
from inference.preprocess.crop import make_crop
from inference.preprocess.segmentation import segment_hand
from inference.synth.generate import make_specs, render_frame


@dataclass
class Scene:
    depth_mm: np.ndarray
    obs: Observation
    truth: HandParams
    joints14_mm: np.ndarray  # (14, 3) the true evaluation joints


def template_scenes(count: int, seed: int = 42, mode: str = "gestures", size: float = 1.0) -> list[Scene]:
    """``count`` frames of the template hand (every length times ``size``) whose segmentation found the hand (the
    fitter's own tests must not depend on the segmentation picking the right blob)."""
    shape = mean_shape().scaled(size)
    scenes = []
    for spec in make_specs(mode, count * 2, seed, [100, 101]):
        frame = render_frame(spec, shape=shape)
        joints = frame.joints_xyz_mm[list(EVAL_JOINT_IDS)]
        seg = segment_hand(frame.depth_mm, NYU_INTRINSICS)
        if not seg.found or np.linalg.norm(uvd_to_xyz(seg.com_uvd, NYU_INTRINSICS) - joints[13]) > 60:
            continue  # another blob was taken for the hand
        obs = observe(frame.depth_mm, make_crop(frame.depth_mm, seg.com_uvd, NYU_INTRINSICS), NYU_INTRINSICS)
        assert not isinstance(obs, str), obs
        truth = HandParams(spec.placement.rotation, spec.placement.wrist_mm, clip_angles(spec.angles_deg), size)
        scenes.append(Scene(frame.depth_mm, obs, truth, joints))
        if len(scenes) == count:
            break
    return scenes


def perturbed(truth: HandParams, rng: np.random.Generator, angle_deg: float = 15.0, shift_mm: tuple = (20.0, 30.0),
              joint_deg: float = 10.0) -> HandParams:
    """``truth`` turned by ``angle_deg`` about a random axis, moved by ``shift_mm`` (range) in a random direction,
    every joint angle changed by up to ``joint_deg``."""
    axis = rng.normal(size=3)
    direction = rng.normal(size=3)
    turn = Rotation.from_rotvec(np.radians(angle_deg) * axis / np.linalg.norm(axis)).as_matrix()
    shift = rng.uniform(*shift_mm) * direction / np.linalg.norm(direction)
    angles = clip_angles(truth.angles_deg + rng.uniform(-joint_deg, joint_deg, NUM_DOF))
    return HandParams(turn @ truth.rotation, truth.translation_mm + shift, angles, truth.scale)
