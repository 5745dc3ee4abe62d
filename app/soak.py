"""Soak / benchmark the app: run the real window on a source for a while; print FPS, latency and memory.

    xvfb-run -a -s "-screen 0 1920x1080x24 +extension GLX" \\
        python -m app.soak --source replay:assets/demo --minutes 10 [--model M] [--replay-fps 0]

Prints one JSON object on stdout: frames processed and shown, their rates, end-to-end latency (median and
p95, ms, from the frame in memory to its pixels updated), per-stage medians, and resident memory (MB)
sampled every ``--sample-s`` seconds, with the growth between the first minute and the end. Progress goes
to stderr.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from array import array
from pathlib import Path

import numpy as np
import psutil
from PySide6.QtCore import QTimer

from app import runtime
from app.launch import ensure_app
from app.main_window import MainWindow
from app.settings_store import SettingsStore
from app.state import STAGES


def _stats(values: np.ndarray) -> dict[str, float]:
    if values.size == 0:
        return {"median": float("nan"), "p95": float("nan")}
    return {"median": round(float(np.median(values)), 2), "p95": round(float(np.percentile(values, 95)), 2)}


def soak(source: str | None, model: str | None, minutes: float, sample_s: float, settings: str | None) -> dict:
    app = ensure_app()
    window = MainWindow(SettingsStore(settings), source=source, model=model)
    window.resize(1280, 800)
    window.show()
    process = psutil.Process()
    latency_ms = array("d")
    stage_ms: dict[str, array] = {s: array("d") for s in STAGES}
    rss_mb: list[tuple[float, float]] = []
    t0 = time.perf_counter()

    def on_frame(state) -> None:
        latency_ms.append(window.history.latency_ms[-1])
        for stage, values in stage_ms.items():
            if stage in state.timings_ms:
                values.append(state.timings_ms[stage])

    def sample() -> None:
        elapsed = time.perf_counter() - t0
        rss_mb.append((round(elapsed, 1), round(process.memory_info().rss / 2**20, 1)))
        print(f"soak: {elapsed:6.0f} s  {window.worker.processed} frames  RSS {rss_mb[-1][1]:.1f} MB  "
              f"{window.worker.processed_rate.rate_hz:.1f} FPS", file=sys.stderr)
        if window.last_error:
            print(f"soak: window shows an error: {window.last_error}", file=sys.stderr)

    window.frame_shown.connect(on_frame)
    timer = QTimer()
    timer.timeout.connect(sample)
    timer.start(int(sample_s * 1000))
    QTimer.singleShot(int(minutes * 60_000), app.quit)
    app.exec()
    sample()
    elapsed = time.perf_counter() - t0
    processed, shown = window.worker.processed, window.frames_shown
    window.shutdown()
    first_minute = next((mb for t, mb in rss_mb if t >= 60.0), rss_mb[0][1])
    return {
        "source": window.source_spec,
        "model": window.model_path,
        "provider": getattr(window.estimator, "provider", None),
        "seconds": round(elapsed, 1),
        "frames_processed": processed,
        "frames_shown": shown,
        "fps_processed": round(processed / elapsed, 2),
        "fps_shown": round(shown / elapsed, 2),
        "latency_ms": _stats(np.frombuffer(latency_ms, np.float64)),
        "stages_ms": {s: _stats(np.frombuffer(v, np.float64)) for s, v in stage_ms.items()},
        "rss_mb": rss_mb,
        "rss_growth_after_first_minute_mb": round(rss_mb[-1][1] - first_minute, 1),
        "errors": window.last_error or None,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m app.soak", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--source", help="source spec (default: as `handpose app`)")
    parser.add_argument("--model", help="ONNX model or mediapipe / mediapipe-full (default: the shipped one)")
    parser.add_argument("--minutes", type=float, default=10.0, help="how long to run (default 10)")
    parser.add_argument("--sample-s", type=float, default=60.0, help="memory sampling period (default 60 s)")
    parser.add_argument("--replay-fps", type=float, default=30.0, help="replay pacing; 0 = as fast as possible")
    parser.add_argument("--settings", help="settings INI (default: a throw-away file, never the user's)")
    args = parser.parse_args(argv)
    runtime.replay_fps = args.replay_fps or None
    with tempfile.TemporaryDirectory() as scratch:
        settings = args.settings or str(Path(scratch) / "soak.ini")
        print(json.dumps(soak(args.source, args.model, args.minutes, args.sample_s, settings), indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
