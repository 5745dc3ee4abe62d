"""Where real NYU labels put the palm points W1, W2, C (and T3), in the hand model's own frame.

    python scripts/palm_convention.py [--frames 1500] [--json]

For each of a random sample of the 8,252 NYU test labels (``nyu_eval/groundtruth`` in the shared data) the hand
model is fitted by inverse kinematics to the label's eleven finger and thumb joints alone (the palm targets are
replaced by the model's own palm points each round, so they pull on nothing); the labelled W1, W2, C and T3 are then
expressed in the fitted hand's local frame (mm at the template's size: +x toward the thumb, +y toward the fingers,
+z the back of the hand) and compared with where the model puts them. The medians are the convention the model's
``PALM_POINTS`` follow (``inference/handmodel/kinematics.py``); the inter-quartile range says how consistent the
labels are.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from inference.core.errors import HandposeError
from inference.core.geometry import NYU_INTRINSICS, uvd_to_xyz
from inference.core.paths import shared_data_dir
from inference.core.skeleton import EVAL_SHORT_NAMES
from inference.fit.ik import solve_ik
from inference.fit.model import template

PALM_ROWS = (11, 12, 13)  # W1, W2, C in the 14 evaluation joints
REPORTED = (10, 11, 12, 13)  # T3 too
ROUNDS = 4


def nyu_labels_xyz(data_dir: Path) -> np.ndarray:
    """``(N, 14, 3)`` the NYU test labels in camera space (mm, y up)."""
    path = data_dir / "nyu_eval" / "groundtruth" / "nyu_test_groundtruth_label.txt"
    if not path.is_file():
        raise HandposeError(f"no NYU test labels at {path} (set HANDPOSE_SHARED_DATA to the shared data folder)")
    return uvd_to_xyz(np.loadtxt(path).reshape(-1, 14, 3), NYU_INTRINSICS)


def local_offsets(labels_xyz: np.ndarray) -> dict[str, np.ndarray]:
    """Per label ``(N, 14, 3)``: ``labels`` and ``model`` joints in the fitted hand's local frame (template mm) and
    the ``finger_mm`` mean distance of the fitted fingers to the labelled ones (how well the fit went)."""
    shape = template()
    labels, model, finger = [], [], []
    for x in labels_xyz:
        targets = x.copy()
        result = solve_ik(targets, shape=shape)
        for _ in range(ROUNDS):
            targets[list(PALM_ROWS)] = result.hand.eval_joints[list(PALM_ROWS)]
            result = solve_ik(targets, start=result.params, shape=shape)
        p = result.params
        labels.append((x - p.translation_mm) @ p.rotation / p.scale)  # R^T (x - t) / s, row by row
        model.append((result.hand.eval_joints - p.translation_mm) @ p.rotation / p.scale)
        finger.append(float(np.linalg.norm(result.hand.eval_joints[:11] - x[:11], axis=1).mean()))
    return {"labels": np.array(labels), "model": np.array(model), "finger_mm": np.array(finger)}


def summary(offsets: dict[str, np.ndarray]) -> dict[str, object]:
    """Medians and inter-quartile ranges of the labelled points and of their offset from the model's (mm)."""
    out: dict[str, object] = {"frames": len(offsets["finger_mm"]),
                              "finger_fit_mm_median": round(float(np.median(offsets["finger_mm"])), 2)}
    for j in REPORTED:
        d = offsets["labels"][:, j] - offsets["model"][:, j]
        q1, q3 = np.percentile(d, [25, 75], axis=0)
        out[EVAL_SHORT_NAMES[j]] = {
            "label_local_mm": np.round(np.median(offsets["labels"][:, j], axis=0), 1).tolist(),
            "model_local_mm": np.round(np.median(offsets["model"][:, j], axis=0), 1).tolist(),
            "offset_median_mm": np.round(np.median(d, axis=0), 1).tolist(),
            "offset_iqr_mm": np.round(q3 - q1, 1).tolist(),
            "distance_median_mm": round(float(np.median(np.linalg.norm(d, axis=1))), 1),
        }
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--frames", type=int, default=1500, help="labels sampled (default 1500; all: 8252)")
    parser.add_argument("--seed", type=int, default=0, help="sampling seed")
    parser.add_argument("--data", type=Path, default=None, help="the shared data folder (default: as the tests)")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    args = parser.parse_args(argv)
    try:
        labels = nyu_labels_xyz(args.data or shared_data_dir())
    except HandposeError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    pick = np.random.default_rng(args.seed).choice(len(labels), min(args.frames, len(labels)), replace=False)
    report = summary(local_offsets(labels[pick]))
    if args.json:
        print(json.dumps(report))
        return 0
    print(f"{report['frames']} NYU test labels; fingers fitted to {report['finger_fit_mm_median']} mm (median)")
    for j in REPORTED:
        r = report[EVAL_SHORT_NAMES[j]]
        print(f"{EVAL_SHORT_NAMES[j]}: labels at {r['label_local_mm']}, model at {r['model_local_mm']}, offset "
              f"{r['offset_median_mm']} (IQR {r['offset_iqr_mm']}), |offset| median {r['distance_median_mm']} mm")
    return 0


if __name__ == "__main__":
    sys.exit(main())
