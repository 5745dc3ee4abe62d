"""Rule-based gesture recognition from the 14 NYU evaluation joints (camera space, mm).

Each finger gets a probability of being extended from scale-free distance ratios; thumb and index get a
probability of touching. Every gesture of :mod:`inference.core.gesture_names` is a template of which fingers are
extended (pinch: thumb and index touching, the other three extended); the gesture is the template with the
highest likelihood (product of the per-finger probabilities), and its confidence is that likelihood
normalised over all templates.

Finger rules (distances to the palm centre C, joint 13; "mid" is the finger's KNU2_B joint):
- a long finger is extended when ``|tip - C| / |mid - C| > finger_ratio``: a straight finger puts its tip
  well beyond its middle joint, a curled one folds the tip back toward the palm (ratio < 1);
- the thumb is extended when its tip stands out beside the palm on the thumb's side: its offset from the palm
  centre along the palm's width (from W1 at the little-finger edge toward W2, square to the wrist-to-C line), in
  palm lengths (C to the wrist joints' midpoint). A folded thumb (fist, point, four) lies over the palm (offset
  about 0 or toward the little finger); an extended one, spread a little or a lot, lies beside it. Unlike a
  distance from the palm centre this does not need the generator's wide spread: real open hands hold the thumb
  closer to the index (docs/fitting.md);
- touching: ``|thumb tip - index tip|`` below ``touch_palms`` palm lengths.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from inference.core.gesture_names import GESTURES
from inference.core.skeleton import FINGERTIPS, NUM_JOINTS, PALM_CENTRE, WRIST, palm_vector

# Fingers in template order; the middle joint of a long finger is the joint after its tip.
FINGERS: tuple[str, ...] = ("thumb", "index", "middle", "ring", "pinky")
_THUMB_TIP = FINGERTIPS["thumb"]

# Which fingers are extended in each gesture (thumb, index, middle, ring, pinky). Pinch is separate:
# thumb and index touch, the other three are extended.
TEMPLATES: dict[str, tuple[bool, bool, bool, bool, bool]] = {
    "fist": (False, False, False, False, False),
    "point": (False, True, False, False, False),
    "v_sign": (False, True, True, False, False),
    "three": (False, True, True, True, False),
    "four": (False, True, True, True, True),
    "open_palm": (True, True, True, True, True),
    "thumbs_up": (True, False, False, False, False),
}
assert set(TEMPLATES) | {"pinch"} == set(GESTURES)


@dataclass(frozen=True)
class GestureRules:
    """Thresholds of the distance ratios, and how soft each decision is.

    Each ratio decision is ``sigmoid(log(ratio / threshold) / softness)``: a ratio 5% past its threshold with
    softness 0.05 gives p = 0.73, 15% gives 0.95; the thumb's offset (which may be negative) is
    ``sigmoid((offset - threshold) / thumb_softness_palms)``. Defaults were set on the synthetic generator's gesture
    presets (40 subjects each, 6 degrees of joint jitter): see tests/runtime/test_gestures.py.
    """

    finger_ratio: float = 1.2  # |tip - C| / |mid - C| above this: extended (straight ~1.5, curled < 1)
    # The thumb tip's offset beside the palm, in palm lengths, above this: thumb out. The midpoint between folded
    # (fist, point, v_sign, three, four: p95 -0.09, max 0.17) and extended thumbs (open_palm, thumbs_up: p5 1.21,
    # min 1.12) in the generator's gesture poses of 50 unseen subjects (6400-6449, 700 poses, seed 20261130).
    thumb_side_palms: float = 0.56
    thumb_softness_palms: float = 0.1  # 0.3 palm lengths past the threshold: p = 0.95
    touch_palms: float = 0.4  # |thumb tip - index tip| in palm lengths below this: touching
    softness: float = 0.05


_TEMPLATE_NAMES = tuple(TEMPLATES)
_TEMPLATE_MASK = np.array([TEMPLATES[n] for n in _TEMPLATE_NAMES], bool)  # (7, 5)
_LONG_TIPS = np.array([FINGERTIPS[name] for name in FINGERS[1:]])  # index, middle, ring, pinky


def _p_above(ratio: np.ndarray | float, threshold: float, softness: float) -> np.ndarray:
    """Probability that ``ratio`` is above ``threshold`` (logistic in log space), elementwise."""
    x = np.log(np.maximum(ratio, 1e-9) / threshold) / softness
    return 1.0 / (1.0 + np.exp(-np.clip(x, -50.0, 50.0)))


def finger_probabilities(joints_xyz_mm: np.ndarray, rules: GestureRules = GestureRules()) -> tuple[np.ndarray, float]:
    """``(14, 3)`` joints (mm) -> P(extended) for (thumb, index, middle, ring, pinky) ``(5,)`` and P(touching)."""
    j = np.asarray(joints_xyz_mm, dtype=np.float64)
    centre = j[PALM_CENTRE]
    to_centre = np.sqrt(((j - centre) ** 2).sum(axis=1))  # (14,) every joint's distance to the palm centre
    along = palm_vector(j)  # wrist -> palm centre
    palm_mm = max(float(np.linalg.norm(along)), 1e-3)
    along = along / palm_mm
    across = j[WRIST[1]] - j[WRIST[0]]  # W1 (little-finger edge) -> W2: toward the thumb's side
    across = across - across.dot(along) * along
    across = across / max(float(np.linalg.norm(across)), 1e-9)
    p = np.empty(5)
    p[1:] = _p_above(to_centre[_LONG_TIPS] / np.maximum(to_centre[_LONG_TIPS + 1], 1e-3), rules.finger_ratio,
                     rules.softness)
    side = float((j[_THUMB_TIP] - centre).dot(across)) / palm_mm
    p[0] = 1.0 / (1.0 + np.exp(-np.clip((side - rules.thumb_side_palms) / rules.thumb_softness_palms, -50.0, 50.0)))
    tips_mm = float(np.linalg.norm(j[_THUMB_TIP] - j[FINGERTIPS["index"]]))
    p_touch = 1.0 - float(_p_above(tips_mm / palm_mm, rules.touch_palms, rules.softness))
    return p, p_touch


def gesture_scores(joints_xyz_mm: np.ndarray, rules: GestureRules = GestureRules()) -> dict[str, float]:
    """Normalised likelihood of every gesture (sums to 1) for ``(14, 3)`` joints in mm."""
    p, p_touch = finger_probabilities(joints_xyz_mm, rules)
    # Touching is a sixth attribute, true only for pinch (which ignores whether thumb and index are bent).
    templates = np.where(_TEMPLATE_MASK, p, 1.0 - p).prod(axis=1) * (1.0 - p_touch)  # (7,)
    values = [*templates.tolist(), p_touch * float(np.prod(p[2:]))]
    names = [*_TEMPLATE_NAMES, "pinch"]
    total = sum(values)
    if not total > 0:
        return {name: 1.0 / len(names) for name in names}
    return {name: v / total for name, v in zip(names, values, strict=True)}


def classify_gesture(joints_xyz_mm: np.ndarray, rules: GestureRules = GestureRules()) -> tuple[str | None, float]:
    """``(14, 3)`` joints in camera space (mm) -> ``(gesture name, confidence in [0, 1])``.

    Returns ``(None, 0.0)`` when the joints are not the 14 NYU joints or are not finite.
    """
    j = np.asarray(joints_xyz_mm, dtype=np.float64)
    if j.shape != (NUM_JOINTS, 3) or not np.isfinite(j).all():
        return None, 0.0
    scores = gesture_scores(j, rules)
    name = max(scores, key=scores.__getitem__)
    return name, scores[name]
