"""Gesture labels shared by the synthetic generator (ground truth) and the runtime classifier.

Counting gestures reuse the named ones: 0 = fist, 1 = point, 2 = v_sign, 3 = three, 4 = four,
5 = open_palm. ``pinch`` (thumb and index tips touching, others extended) and ``thumbs_up`` count
as 0 and 1 extended fingers but are named for themselves.
"""

from __future__ import annotations

GESTURES: tuple[str, ...] = ("fist", "point", "v_sign", "three", "four", "open_palm", "pinch", "thumbs_up")
FINGER_COUNT: dict[str, int] = {
    "fist": 0, "point": 1, "v_sign": 2, "three": 3, "four": 4, "open_palm": 5, "pinch": 3, "thumbs_up": 1,
}
