#!/usr/bin/env bash
# Idempotent set-up on a fresh Debian machine with Python 3.11: system libraries, a .venv, handpose[all] and the
# optional RGB teacher (MediaPipe; HANDPOSE_TEACHER=0 leaves it out). Re-running it does nothing that is already
# done (a stamp of pyproject.toml and the teacher choice skips the pip step).
set -euo pipefail
cd "$(dirname "$0")/.."

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
  echo "setup: installing system packages: ${missing[*]}" >&2
  SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

PYTHON=${PYTHON:-python3}
TEACHER_PROTOBUF="protobuf>=4.25.3,<5"
TEACHER_DEPS=(absl-py attrs flatbuffers "$TEACHER_PROTOBUF" matplotlib)  # what mediapipe.solutions.hands imports
[ -x .venv/bin/python ] || "$PYTHON" -m venv .venv
stamp=.venv/.handpose-installed
# The RGB teacher: mediapipe 0.10.14 (the last release bundling its hand models that runs with numpy 2) has wheels
# for Python 3.10-3.12 only.
TEACHER=${HANDPOSE_TEACHER:-1}
if [ "$TEACHER" != 0 ] && ! .venv/bin/python -c 'import sys; sys.exit(sys.version_info >= (3, 13))'; then
  echo "setup: no MediaPipe wheels for this Python (3.10-3.12 only): the RGB teacher (--model mediapipe) is left out" >&2
  TEACHER=0
fi
want="$(sha256sum pyproject.toml | cut -d' ' -f1) teacher=$TEACHER"
if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$want" ]; then
  echo "setup: installing Python packages into .venv (first run takes a few minutes)" >&2
  .venv/bin/python -m pip install -q --upgrade pip 2>&1 | grep -v '^WARNING: Location' || true
  # The CPU build of torch first: otherwise the [train] extra pulls a multi-GB CUDA build.
  .venv/bin/python -m pip install -q "${TORCH_SPEC:-torch==2.13.0}" 2>&1 | grep -v '^WARNING: Location' || true
  if [ "$TEACHER" = 0 ]; then
    .venv/bin/python -m pip install -q -e '.[all]' 2>&1 | grep -v '^WARNING: Location' || true
  else
    # MediaPipe pins protobuf < 5; onnx and tensorboard releases that need protobuf >= 6 fail to import after a
    # downgrade, so the pin is resolved together with [all] (pip then picks onnx 1.22 / tensorboard 2.20). Its
    # declared dependencies would pull opencv-contrib-python (non-headless: breaks PySide6), jax and sounddevice:
    # it goes in with --no-deps, beside the packages it really imports.
    echo "setup: installing handpose[all] with the RGB teacher's protobuf pin" >&2
    .venv/bin/python -m pip install -q -e '.[all]' "$TEACHER_PROTOBUF" 2>&1 | grep -v '^WARNING: Location' || true
    echo "setup: installing the RGB teacher (mediapipe==0.10.14 without its declared dependencies)" >&2
    .venv/bin/python -m pip install -q --no-deps mediapipe==0.10.14 2>&1 | grep -v '^WARNING: Location' || true
    .venv/bin/python -m pip install -q "${TEACHER_DEPS[@]}" 2>&1 | grep -v '^WARNING: Location' || true
    .venv/bin/python -c "import mediapipe; mediapipe.solutions.hands" \
      || { echo "setup: MediaPipe does not import (see pip's messages above); HANDPOSE_TEACHER=0 skips it" >&2; exit 1; }
  fi
  .venv/bin/python -c "import handpose, torch, onnxruntime, onnx, PySide6, open3d, pyrealsense2" \
    || { echo "setup: the Python environment is incomplete (see pip's messages above)" >&2; exit 1; }
  echo "$want" > "$stamp"
fi
