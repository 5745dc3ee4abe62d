"""Export a training run (RUN/best.pt, or a checkpoint file) to a self-describing ONNX model.

The file carries its architecture, input layout, cube size, joints, RGB statistics, training data and
metrics in ONNX metadata_props (read by `handpose run`); a model card FILE.json and the fp32 weights FILE.pt (a
weights-only torch checkpoint that `handpose train --init` and `--backend torch` take) are written beside it.
Inputs: depth (B,1,S,S) | rgb (B,3,S,S) | rgbd (B,4,S,S) | depth + rgb for Fuse-Net / FusePred-Net;
output joints (B,3J) in cube units; the batch size is dynamic.

Example:  handpose export runs/depthnet --out models/depthnet.onnx
"""

from __future__ import annotations

import argparse


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("run", metavar="RUN", help="run directory (uses best.pt) or a .pt checkpoint")
    parser.add_argument("--out", required=True, metavar="FILE.onnx", help="output ONNX file")
    precision = parser.add_mutually_exclusive_group()
    precision.add_argument("--fp16", action="store_true", help="half-precision weights and compute (I/O stay float32)")
    precision.add_argument("--int8", action="store_true", help="int8 dynamic quantisation of the fc (Gemm) weights")
    parser.add_argument("--json", action="store_true", help="print the model card as JSON on stdout")


def run(args: argparse.Namespace) -> int:
    import logging
    import sys

    logging.getLogger().setLevel(logging.ERROR)  # onnxruntime's quantiser logs advice on the root logger
    from training.export import export_run

    path, meta = export_run(args.run, args.out, fp16=args.fp16, int8=args.int8)
    card = path.with_suffix(".json")
    if args.json:
        print(card.read_text().strip())
    else:
        print(f"wrote {path} ({path.stat().st_size / 2**20:.1f} MiB, {meta.architecture}, {meta.input_layout}), "
              f"{card.name} and {path.with_suffix('.pt').name}", file=sys.stderr)
    return 0
