#!/usr/bin/env bash
# Set up (idempotent) and run handpose on the bundled demo sequence with the shipped Depth-Net.
# With a display: the desktop app. Without one: poses as JSON lines, an accuracy summary and a screenshot
# of the app rendered on a virtual display, all under demo_output/.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
if [ -n "${DISPLAY:-}" ]; then
  exec .venv/bin/handpose app "$@"
fi
mkdir -p demo_output
echo "demo: no display; writing demo_output/poses.jsonl, eval.txt and app.png" >&2
.venv/bin/handpose run --source replay:assets/demo --headless --out demo_output/poses.jsonl
.venv/bin/handpose eval --labels assets/demo --predictions demo_output/poses.jsonl | tee demo_output/eval.txt
# The screenshot is the same on every machine: the shipped model and default settings, not the user's stored ones.
rm -f demo_output/app_settings.ini
xvfb-run -a -s "-screen 0 1920x1080x24 +extension GLX" \
  .venv/bin/handpose app --source replay:assets/demo --model models/depthnet.onnx \
  --settings demo_output/app_settings.ini --screenshot demo_output/app.png --frames 23
echo "demo: screenshot of the app in demo_output/app.png" >&2
