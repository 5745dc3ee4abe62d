"""MediaPipe's 21 hand landmarks -> the 14 NYU evaluation joints (camera space, mm).

MediaPipe landmarks: 0 wrist; thumb 1 CMC, 2 MCP, 3 IP, 4 tip; index 5 MCP, 6 PIP, 7 DIP, 8 tip; middle
9-12, ring 13-16, pinky 17-20 likewise. NYU's 14 joints (:data:`inference.core.skeleton.EVAL_SHORT_NAMES`):

====  =======================  ====================================================================
NYU   NYU joint (of 36)        from MediaPipe
====  =======================  ====================================================================
P1    F1_KNU3_A pinky tip      20 (*)
P2    F1_KNU2_B pinky PIP      18 (*)
R1    F2_KNU3_A ring tip       16 (*)
R2    F2_KNU2_B ring PIP       14 (*)
M1    F3_KNU3_A middle tip     12 (*)
M2    F3_KNU2_B middle PIP     10 (*)
I1    F4_KNU3_A index tip      8 (*)
I2    F4_KNU2_B index PIP      6 (*)
T1    TH_KNU3_A thumb tip      4 (*)
T2    TH_KNU3_B thumb IP       3 (*)
T3    TH_KNU2_B thumb MCP      2 moved a quarter of the way toward 1 (CMC) (**)
W1    PALM_1 wrist, little-    palm frame: wrist + (-0.43 w, -0.02 l, +0.17 w dorsal) (**)
      finger (ulnar) side
W2    PALM_2 wrist, thumb      palm frame: wrist + (+0.08 w, -0.06 l, +0.13 w dorsal) (**)
      (radial) side
C     PALM_3 palm centre       palm frame: wrist + (-0.02 w, +0.69 l, +0.15 w dorsal) (**)
====  =======================  ====================================================================

(*) moved 5% of its bone's length further along the bone (away from the parent landmark): MediaPipe's
landmarks sit 1-5 px short of NYU's labels along the fingers on the real NYU frame (2.4 mm on average).

The palm frame is built from the lifted wrist (0) and knuckles: ``l`` = wrist -> middle MCP (9) (its length
and direction, distal), ``w`` = index MCP (5) - pinky MCP (17) made orthogonal to it (length and direction,
radial: toward the thumb), and the dorsal normal, ``w x l`` for a right hand and ``l x w`` for a left one.

(**) :data:`NYU` convention (the default). The coefficients follow the real NYU labels: on the real NYU test
frame 1 MediaPipe's wrist landmark sits on the thumb side of NYU's two wrist points, which are 35 mm apart,
and NYU's palm centre lies two thirds of the way to the knuckles; over all 8252 NYU test labels the two wrist
points are 29 mm apart (median; 0.22 of the wrist-to-middle-PIP distance) and the palm centre half-way from
their midpoint to the middle PIP, as on frame 1. NYU's T3 lies 0.29 of the way from MediaPipe's thumb MCP to its
CMC there, 0.25 is used. The coefficients were read off frame 1 (rounded, lite and full models averaged), so that
frame is no independent test of W1, W2, C and T3; the other ten are. ``handpose synth``'s hand model follows the
same convention (:mod:`inference.handmodel.palm_convention`).

:data:`GENERATOR_V1` convention: the four joints where ``handpose synth``'s first hand model put them (medians over
synthetic sequences of seeds 101-103, subjects 600-603: W1 (-0.32, -0.13, 0.10), W2 (0.48, -0.06, 0.10),
C (0.0, 0.45, 0.05), T3 at the thumb MCP), for labels compared with, or mixed with, synthetic data made before
the generator moved its palm points to NYU's convention.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

# NYU 14-joint order -> MediaPipe landmark, for the joints that are one landmark each (P1 .. T2).
FINGER_LANDMARKS: tuple[int, ...] = (20, 18, 16, 14, 12, 10, 8, 6, 4, 3)
FINGER_PARENTS: tuple[int, ...] = (19, 17, 15, 13, 11, 9, 7, 5, 3, 2)  # the landmark before each on its finger
ALONG_BONE = 0.05
WRIST, THUMB_CMC, THUMB_MCP, INDEX_MCP, MIDDLE_MCP, PINKY_MCP = 0, 1, 2, 5, 9, 17
# The landmarks each NYU joint is built from (for per-joint confidence): fingers one each, T3 two, the palm five.
PALM_FRAME_LANDMARKS: tuple[int, ...] = (WRIST, INDEX_MCP, MIDDLE_MCP, PINKY_MCP)
JOINT_LANDMARKS: tuple[tuple[int, ...], ...] = (
    *((lm,) for lm in FINGER_LANDMARKS), (THUMB_MCP, THUMB_CMC), *(PALM_FRAME_LANDMARKS,) * 3,
)


@dataclass(frozen=True)
class Convention:
    """Where the joints that are no MediaPipe landmark lie: W1, W2 and C in the palm frame (radial in units of w,
    distal in units of l, dorsal in units of w) and T3 as the fraction of the way from the thumb MCP to its CMC."""

    name: str
    w1: tuple[float, float, float]
    w2: tuple[float, float, float]
    c: tuple[float, float, float]
    t3: float


NYU = Convention("nyu", w1=(-0.43, -0.02, 0.17), w2=(0.08, -0.06, 0.13), c=(-0.02, 0.69, 0.15), t3=0.25)
GENERATOR_V1 = Convention("generator-v1", w1=(-0.32, -0.13, 0.10), w2=(0.48, -0.06, 0.10), c=(0.0, 0.45, 0.05),
                          t3=0.0)
CONVENTIONS: dict[str, Convention] = {c.name: c for c in (NYU, GENERATOR_V1)}


def palm_frame(points_mm: np.ndarray, right: bool) -> tuple[np.ndarray, np.ndarray]:
    """The palm frame of 21 lifted landmarks ``(21, 3)``: origin ``(3,)`` and scaled axes ``(3, 3)`` (rows w, l, n).

    ``w`` (radial, length = knuckle width), ``l`` (distal, length = wrist to middle MCP), ``n`` (dorsal, unit
    vector times the knuckle width).
    """
    origin = points_mm[WRIST]
    distal = points_mm[MIDDLE_MCP] - origin
    length = np.linalg.norm(distal)
    across = points_mm[INDEX_MCP] - points_mm[PINKY_MCP]
    width = np.linalg.norm(across)
    l_dir = distal / max(length, 1e-9)
    radial = across - (across @ l_dir) * l_dir
    w_dir = radial / max(np.linalg.norm(radial), 1e-9)
    n_dir = np.cross(w_dir, l_dir) if right else np.cross(l_dir, w_dir)
    return origin, np.stack([w_dir * width, l_dir * length, n_dir * width])


def to_nyu14(points_mm: np.ndarray, right: bool, convention: Convention = NYU) -> np.ndarray:
    """21 lifted landmarks ``(21, 3)`` (camera space, mm, y up) -> ``(14, 3)`` NYU joints in the same space.

    ``right``: the hand is a right hand (decides which side of the palm is dorsal).
    """
    points_mm = np.asarray(points_mm, np.float64)
    out = np.empty((14, 3))
    joints, parents = points_mm[list(FINGER_LANDMARKS)], points_mm[list(FINGER_PARENTS)]
    out[:10] = joints + ALONG_BONE * (joints - parents)
    out[10] = points_mm[THUMB_MCP] + convention.t3 * (points_mm[THUMB_CMC] - points_mm[THUMB_MCP])
    origin, axes = palm_frame(points_mm, right)
    for k, coeffs in ((11, convention.w1), (12, convention.w2), (13, convention.c)):
        out[k] = origin + np.asarray(coeffs) @ axes
    return out
