#!/usr/bin/env bash
# Idempotent set-up on a fresh Debian machine with Python 3.11: system libraries, a .venv, handpose[all] and the
# optional RGB teacher (MediaPipe; HANDPOSE_TEACHER=0 leaves it out). Re-running it does nothing that is already
# done (a stamp of pyproject.toml, this script and the teacher choice skips the pip step).
#
# PyTorch: a machine without an NVIDIA GPU gets the CPU build of torch (about 200 MB, from the PyTorch CPU
# index; where that index cannot be reached, pip takes torch==2.13.0 from its configured sources, e.g. a local
# CPU wheel). A machine whose `nvidia-smi -L` lists a GPU gets PyPI's CUDA build (several GB), which the
# `--backend torch` inference path (CUDA graphs, fp16) and GPU training use. HANDPOSE_TORCH=cpu|cuda forces a
# variant; TORCH_SPEC (e.g. "torch==2.13.0") overrides the requirement altogether.
set -euo pipefail
cd "$(dirname "$0")/.."

say() { echo "setup: $*" >&2; }

APT_PACKAGES=(
  # open3d / pyrealsense2 / OpenCV runtime libraries
  libusb-1.0-0 libgl1 libegl1 libgomp1
  # Qt under a virtual X server with GLX (pyqtgraph.opengl, Open3D windows)
  xvfb xauth libgl1-mesa-dri libxcb-cursor0 libxkbcommon-x11-0 libxcb-icccm4 libxcb-image0 libxcb-keysyms1
  libxcb-randr0 libxcb-render-util0 libxcb-shape0 libxcb-xinerama0 libxcb-xkb1 libfontconfig1 libdbus-1-3
)
missing=()
for pkg in "${APT_PACKAGES[@]}"; do
  dpkg -s "$pkg" >/dev/null 2>&1 || missing+=("$pkg")
done
if ((${#missing[@]})); then
  say "installing ${#missing[@]} system packages: ${missing[*]}"
  SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# pip install, showing one line per package it fetches or installs instead of its whole log; fails as pip fails.
pip_install() {
  .venv/bin/python -m pip install --progress-bar off "$@" 2>&1 | while IFS= read -r line; do
    case "$line" in
      Collecting*|Installing*|Successfully*|ERROR*|error*) echo "  $line" >&2 ;;
    esac
  done
}

PYTHON=${PYTHON:-python3}
TEACHER_PROTOBUF="protobuf>=4.25.3,<5"
TEACHER_DEPS=(absl-py attrs flatbuffers "$TEACHER_PROTOBUF" matplotlib)  # what mediapipe.solutions.hands imports
[ -x .venv/bin/python ] || { say "creating .venv with $($PYTHON --version)"; "$PYTHON" -m venv .venv; }
stamp=.venv/.handpose-installed
# The RGB teacher: mediapipe 0.10.14 (the last release bundling its hand models that runs with numpy 2) has wheels
# for Python 3.10-3.12 only.
TEACHER=${HANDPOSE_TEACHER:-1}
if [ "$TEACHER" != 0 ] && ! .venv/bin/python -c 'import sys; sys.exit(sys.version_info >= (3, 13))'; then
  say "no MediaPipe wheels for this Python (3.10-3.12 only): the RGB teacher (--model mediapipe) is left out"
  TEACHER=0
fi
want="$(sha256sum pyproject.toml scripts/setup.sh | sha256sum | cut -d' ' -f1) teacher=$TEACHER"
if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$want" ]; then
  say "installing Python packages into .venv (the first run takes a few minutes)"
  .venv/bin/python -m pip install -q --upgrade pip 2>&1 | grep -v '^WARNING: Location' || true

  variant=${HANDPOSE_TORCH:-auto}
  if [ "$variant" = auto ]; then
    variant=cpu
    if command -v nvidia-smi >/dev/null 2>&1 && nvidia-smi -L 2>/dev/null | grep -q GPU; then variant=cuda; fi
  fi
  torch_args=()
  if [ -n "${TORCH_SPEC:-}" ]; then
    torch_args=("$TORCH_SPEC")
    say "torch: $TORCH_SPEC (TORCH_SPEC)"
  elif [ "$variant" = cuda ]; then
    torch_args=("torch==2.13.0")
    say "torch: an NVIDIA GPU is present, installing PyPI's CUDA build (several GB)"
  elif .venv/bin/python -c "import socket; socket.setdefaulttimeout(5); socket.getaddrinfo('download.pytorch.org', 443)" \
      2>/dev/null; then
    torch_args=("torch==2.13.0+cpu" --extra-index-url https://download.pytorch.org/whl/cpu)
    say "torch: no NVIDIA GPU, installing the CPU build from the PyTorch CPU index"
  else
    torch_args=("torch==2.13.0")
    say "torch: no NVIDIA GPU; the PyTorch CPU index is unreachable, taking torch==2.13.0 from pip's own sources"
  fi
  # torch first: otherwise the [train] extra pulls whatever build PyPI serves (a multi-GB CUDA one on Linux).
  pip_install "${torch_args[@]}"
  if [ "$TEACHER" = 0 ]; then
    say "installing handpose[all] (numpy, OpenCV, onnxruntime, PySide6, Open3D, pyrealsense2, test tools)"
    pip_install -e '.[all]'
  else
    # MediaPipe pins protobuf < 5; onnx and tensorboard releases that need protobuf >= 6 fail to import after a
    # downgrade, so the pin is resolved together with [all] (pip then picks onnx 1.22 / tensorboard 2.20). Its
    # declared dependencies would pull opencv-contrib-python (non-headless: breaks PySide6), jax and sounddevice:
    # it goes in with --no-deps, beside the packages it really imports.
    say "installing handpose[all] (numpy, OpenCV, onnxruntime, PySide6, Open3D, pyrealsense2, test tools) with the"
    say "  RGB teacher's protobuf pin"
    pip_install -e '.[all]' "$TEACHER_PROTOBUF"
    say "installing the RGB teacher (mediapipe==0.10.14 without its declared dependencies)"
    pip_install --no-deps mediapipe==0.10.14
    pip_install "${TEACHER_DEPS[@]}"
    .venv/bin/python -c "import mediapipe; mediapipe.solutions.hands" 2>/dev/null \
      || { say "MediaPipe does not import (see pip's messages above); HANDPOSE_TEACHER=0 skips it"; exit 1; }
  fi
  .venv/bin/python -c "import handpose, torch, onnxruntime, onnx, PySide6, open3d, pyrealsense2, numba" \
    || { say "the Python environment is incomplete (see pip's messages above)"; exit 1; }
  say "$(.venv/bin/python -c "import torch; print(f'torch {torch.__version__}, CUDA available: {torch.cuda.is_available()}')")"
  echo "$want" > "$stamp"
fi
