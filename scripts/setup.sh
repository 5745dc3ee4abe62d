#!/usr/bin/env bash
# Idempotent set-up on a fresh Debian machine with Python 3.11: system libraries, a .venv, handpose[all].
# Re-running it does nothing that is already done (a stamp of pyproject.toml skips the pip step).
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
[ -x .venv/bin/python ] || "$PYTHON" -m venv .venv
stamp=.venv/.handpose-installed
want=$(sha256sum pyproject.toml | cut -d' ' -f1)
if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$want" ]; then
  echo "setup: installing Python packages into .venv (first run takes a few minutes)" >&2
  .venv/bin/python -m pip install -q --upgrade pip 2>&1 | grep -v '^WARNING: Location' || true
  # The CPU build of torch first: otherwise the [train] extra pulls a multi-GB CUDA build.
  .venv/bin/python -m pip install -q "${TORCH_SPEC:-torch==2.13.0}" 2>&1 | grep -v '^WARNING: Location' || true
  .venv/bin/python -m pip install -q -e '.[all]' 2>&1 | grep -v '^WARNING: Location' || true
  .venv/bin/python -c "import handpose, torch, onnxruntime, PySide6, open3d, pyrealsense2" \
    || { echo "setup: the Python environment is incomplete (see pip's messages above)" >&2; exit 1; }
  echo "$want" > "$stamp"
fi
