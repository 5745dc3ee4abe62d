#!/usr/bin/env bash
# Set up (idempotent), lint, check the import layering, and run the whole test suite under Xvfb with GLX.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
.venv/bin/ruff check .
.venv/bin/lint-imports --no-cache
# Qt OpenGL widgets and Open3D windows need a real (virtual) X server: offscreen Qt has no OpenGL.
exec xvfb-run -a -s "-screen 0 1920x1080x24 +extension GLX" .venv/bin/python -m pytest -q -n 2 --dist loadgroup "$@"
