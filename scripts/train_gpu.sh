#!/usr/bin/env bash
# The one command for a GPU machine: data, both nets, ONNX export and latency in one JSON summary on stdout.
# Options: see `python3 scripts/train_gpu.py --help` (default: the shipped nets continued for up to 4 minutes on 26k new frames, OUT=runs/gpu).
set -euo pipefail
cd "$(dirname "$0")/.."
exec "${PYTHON:-python3}" scripts/train_gpu.py "$@"
