"""Probe the depth path on a two-hand folder (`handpose synth --hands 2`) before the pipeline knows two hands.

Every frame: :func:`inference.preprocess.segmentation.segment_hands` (up to 2 candidates), one crop per candidate at its
own
centre (no re-centring, no refinement, no smoothing: the network alone), the right-hand network on it as it is and
on the mirrored crop (:func:`inference.runtime.mirror.predict_mirrored`). Candidates get their side from the labels (the
nearer palm, within --match-mm): an oracle for handedness, so that the poses are measured apart from the side
decision that is still to be built. Writes poses JSONLs with "hands" lists that `handpose eval` scores per side:

  OUT/mirrored.jsonl   right candidate as it is, left candidate through the mirrored crop
  OUT/plain.jsonl      both candidates as they are (what a right-hand-only pipeline would give the left hand)
  OUT/swapped.jsonl    right through the mirror, left as it is (the price of a wrong side decision)

and prints one JSON object: frames, candidates per frame, how often each side was matched, and the segmentation
time (median ms) of segment_hand and segment_hands(max_hands=2).

  python scripts/two_hands_probe.py DIR --model models/depthnet.onnx --out OUTDIR
  handpose eval --labels DIR --predictions OUTDIR/mirrored.jsonl OUTDIR/plain.jsonl --json
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

from inference.core.skeleton import to_eval_joints
from inference.formats.nyu_io import LEFT_JOINT_DATA, NyuSequence, read_joint_data
from inference.preprocess.crop import decode_prediction, make_crop
from inference.preprocess.segmentation import segment_hand, segment_hands
from inference.runtime.estimator import OnnxEstimator
from inference.runtime.mirror import predict_mirrored

PALM = 13  # the palm centre "C" among the 14 evaluation joints


def _hand(side: str, xyz: np.ndarray, uvd: np.ndarray, com: np.ndarray) -> dict:
    return {"handedness": side, "found": True, "joints_uvd": np.round(uvd, 2).tolist(),
            "joints_xyz_mm": np.round(xyz, 2).tolist(), "com_xyz_mm": np.round(com, 2).tolist(), "score": None,
            "gesture": None}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("folder", type=Path)
    parser.add_argument("--model", type=Path, default=Path("models/depthnet.onnx"))
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--match-mm", type=float, default=120.0, help="candidate centre to labelled palm (mm)")
    args = parser.parse_args()
    seq = NyuSequence(args.folder)
    labels = {"right": to_eval_joints(read_joint_data(args.folder / "joint_data.mat")["joint_xyz"][0]),
              "left": to_eval_joints(read_joint_data(args.folder / LEFT_JOINT_DATA)["joint_xyz"][0])}
    est = OnnxEstimator(args.model, providers="cpu")
    cube = est.metadata.cube_mm
    args.out.mkdir(parents=True, exist_ok=True)
    files = {name: open(args.out / f"{name}.jsonl", "w") for name in ("mirrored", "plain", "swapped")}
    counts = {"frames": 0, "candidates": [0, 0, 0], "right_matched": 0, "left_matched": 0, "left_in_view": 0}
    t_one, t_two = [], []
    for k, frame in enumerate(seq):
        intr = frame.intrinsics
        t0 = time.perf_counter()
        segment_hand(frame.depth_mm, intr)
        t1 = time.perf_counter()
        segs = [s for s in segment_hands(frame.depth_mm, intr, max_hands=2) if s.found]
        t2 = time.perf_counter()
        t_one.append(1e3 * (t1 - t0))
        t_two.append(1e3 * (t2 - t1))
        counts["frames"] += 1
        counts["candidates"][len(segs)] += 1
        counts["left_in_view"] += int(np.isfinite(labels["left"][k]).all())
        # Oracle sides: each labelled palm takes the nearest candidate centre within --match-mm.
        crops = [make_crop(frame.depth_mm, s.com_uvd, intr, cube) for s in segs]
        side_of: dict[str, int] = {}
        for side in ("right", "left"):
            palm = labels[side][k, PALM]
            if not np.isfinite(palm).all() or not crops:
                continue
            dist = [np.linalg.norm(c.com_xyz_mm - palm) for c in crops]
            j = int(np.argmin(dist))
            if dist[j] <= args.match_mm and j not in side_of.values():
                side_of[side] = j
                counts[f"{side}_matched"] += 1
        plain = [decode_prediction(est.predict(c), c, intr) for c in crops]
        mirrored = [decode_prediction(predict_mirrored(est, c, intr), c, intr) for c in crops]
        for name, how in (("mirrored", {"right": plain, "left": mirrored}), ("plain", {"right": plain, "left": plain}),
                          ("swapped", {"right": mirrored, "left": plain})):
            hands = [_hand(side, *how[side][j], crops[j].com_xyz_mm) for side, j in side_of.items()]
            top = plain[0] if plain else None
            row = {"index": k, "timestamp_s": frame.timestamp_s, "found": top is not None,
                   "joints_uvd": None if top is None else np.round(top[1], 2).tolist(),
                   "joints_xyz_mm": None if top is None else np.round(top[0], 2).tolist(), "hands": hands}
            files[name].write(json.dumps(row) + "\n")
    for fh in files.values():
        fh.close()
    counts["segment_hand_ms_median"] = round(float(np.median(t_one)), 2)
    counts["segment_hands_2_ms_median"] = round(float(np.median(t_two)), 2)
    print(json.dumps(counts, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
