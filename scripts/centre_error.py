"""How the runtime's hand segmentation misplaces the crop centre: segment_hand's centre minus the labels' centre.

For every labelled frame of each NYU-format DIR (and the real NYU test frame 1 from the shared data), the 3-D
difference (mm; x right, y up, z away) between :func:`inference.preprocess.segmentation.segment_hand`'s centre and
:func:`inference.preprocess.crop.labels_centre_uvd` (the mean of the 14 evaluation joints), the centre a network trained
with ``--centre labels`` would expect. Prints per axis the mean and std and the percentiles of its length: the
numbers behind the training augmentation's centre jitter (``handpose train --centre-jitter``,
training.augment.Augment.shift_std_mm).

Usage:
    python scripts/centre_error.py DIR [DIR ...] [--max-frames N] [--json]
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from inference.core.geometry import NYU_INTRINSICS, uvd_to_xyz
from inference.formats.nyu_io import NyuSequence, read_depth_png
from inference.preprocess.crop import labels_centre_uvd
from inference.preprocess.segmentation import segment_hand


def errors_of(root: Path, max_frames: int | None) -> tuple[np.ndarray, int]:
    """``((N, 3) centre errors in mm, frames without a segmented hand)`` of one labelled directory."""
    seq = NyuSequence(root)
    out, missed = [], 0
    for number in seq.frame_numbers[:max_frames]:
        labels = seq.eval_labels_uvd(number)
        if labels is None:
            continue
        frame = seq.frame(number, with_color=False)
        seg = segment_hand(frame.depth_mm, frame.intrinsics)
        if not seg.found:
            missed += 1
            continue
        truth = uvd_to_xyz(labels_centre_uvd(labels, frame.intrinsics), frame.intrinsics)
        out.append(uvd_to_xyz(seg.com_uvd, frame.intrinsics) - truth)
    return np.array(out).reshape(-1, 3), missed


def summary(err: np.ndarray, missed: int) -> dict[str, object]:
    length = np.linalg.norm(err, axis=1)
    return {"frames": len(err), "not_found": missed,
            "mean_mm": np.round(err.mean(0), 2).tolist() if len(err) else None,
            "std_mm": np.round(err.std(0), 2).tolist() if len(err) else None,
            # 1.4826 x the median absolute deviation: the spread of the typical frames, without the far misses
            "robust_std_mm": np.round(1.4826 * np.median(np.abs(err - np.median(err, 0)), 0), 2).tolist()
            if len(err) else None,
            "median_mm": np.round(np.median(err, 0), 2).tolist() if len(err) else None,
            "length_percentiles_mm": {p: round(float(np.percentile(length, p)), 1) for p in (50, 90, 99)}
            if len(err) else None}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python scripts/centre_error.py", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("dirs", nargs="*", type=Path, metavar="DIR", help="labelled NYU-format directories")
    parser.add_argument("--max-frames", type=int, default=None, help="first N frames of each directory")
    parser.add_argument("--shared-data", type=Path, default=Path(__file__).resolve().parents[2] / "shared" / "data",
                        help="directory holding real_frames/ (default: ../shared/data)")
    parser.add_argument("--json", action="store_true", help="one JSON object on stdout")
    args = parser.parse_args(argv)
    report: dict[str, object] = {}
    nyu = args.shared_data / "real_frames" / "nyu_test_0000001"
    if nyu.is_dir():
        labels = json.loads((nyu / "labels_frame1.json").read_text())
        gt = np.asarray(labels["gt_uvd"], np.float64).reshape(14, 3)
        seg = segment_hand(read_depth_png(nyu / "depth_1_0000001.png"), NYU_INTRINSICS)
        err = uvd_to_xyz(seg.com_uvd, NYU_INTRINSICS) - uvd_to_xyz(labels_centre_uvd(gt, NYU_INTRINSICS),
                                                                   NYU_INTRINSICS)
        report["nyu_test_frame_1"] = summary(err[None], 0)
    for root in args.dirs:
        report[str(root)] = summary(*errors_of(root, args.max_frames))
    if args.json:
        print(json.dumps(report))
    else:
        for name, row in report.items():
            print(f"{name}: {row}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
