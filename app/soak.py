"""Soak / benchmark the app: run the real window on a source for a while; measure FPS, latency and memory.

The command is ``handpose soak --app`` (:mod:`handpose.commands.soak`). The result holds: frames processed and
shown, their rates, end-to-end latency (median and p95, ms, from the frame in memory to its pixels updated),
per-stage medians, the shown frames' fit residual (median and p95, mm) and the share of them whose fit was used,
and resident memory (MB) sampled every ``sample_s`` seconds, with the growth between the first minute and the end.
Progress goes to stderr.
"""

from __future__ import annotations

import sys
import tempfile
import time
from array import array
from collections import Counter
from pathlib import Path

import numpy as np
import psutil
from PySide6.QtCore import QTimer

from app.launch import ensure_app
from app.main_window import MainWindow
from app.settings_store import SettingsStore
from app.state import STAGES
from inference.fit.refiner import STATUS_OK


def _stats(values: np.ndarray) -> dict[str, float | None]:
    if values.size == 0:  # null, not NaN: stdout stays valid JSON (e.g. the fit residual with --no-refine)
        return {"median": None, "p95": None}
    return {"median": round(float(np.median(values)), 2), "p95": round(float(np.percentile(values, 95)), 2)}


WARMUP_LIMIT_S = 120.0  # longest wait for the first frame


def soak(source: str | None, model: str | None, minutes: float, sample_s: float, settings: str | None,
         refine: bool | None = None, max_hands: int | None = None) -> dict:
    """Run the window for ``minutes`` from its first frame shown (the warm-up before it is reported apart, as
    ``warmup_s``); ``refine`` True/False switches the model fit on/off, ``max_hands`` 1/2 one hand or two (None: as
    stored).

    Without ``settings`` the window starts from the user's stored settings but keeps its own in a scratch file, so a
    soak (its source, model, ``--no-refine``) never changes what the app opens with next time; with ``settings``
    that file is used and updated, as ``handpose app --settings`` does.
    """
    app = ensure_app()
    scratch = None
    if settings is None:
        scratch = tempfile.TemporaryDirectory(prefix="handpose-soak-")
        store = SettingsStore(str(Path(scratch.name) / "settings.ini"))
        store.save(SettingsStore().load())
    else:
        store = SettingsStore(settings)
    if refine is not None:
        store.update(refine=refine)
    if max_hands is not None:
        store.update(max_hands=max_hands)
    window = MainWindow(store, source=source, model=model)
    window.resize(1280, 800)
    window.show()
    process = psutil.Process()
    latency_ms = array("d")
    stage_ms: dict[str, array] = {s: array("d") for s in STAGES}
    fit_residual_mm = array("d")
    fit_statuses: Counter[str] = Counter()
    rss_mb: list[tuple[float, float]] = []
    t0 = time.perf_counter()
    first_frame_s: list[float] = []  # when the first frame was shown: the soak's clock starts there

    def on_frame(state) -> None:
        if not first_frame_s:  # warm-up (model load, the fit's first compilation) is not part of the soak
            first_frame_s.append(time.perf_counter())
            QTimer.singleShot(int(minutes * 60_000), app.quit)
        latency_ms.append(window.history.latency_ms[-1])
        for stage, values in stage_ms.items():
            if stage in state.timings_ms:
                values.append(state.timings_ms[stage])
        if state.found:
            fit_statuses[state.fit_status or "none"] += 1
            if state.fit_status == STATUS_OK and state.fit_residual_mm is not None:
                fit_residual_mm.append(state.fit_residual_mm)

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
    # A source that never delivers a frame ends the soak after the warm-up limit, with nothing processed.
    QTimer.singleShot(int(WARMUP_LIMIT_S * 1000), lambda: None if first_frame_s else app.quit())
    app.exec()
    sample()
    end = time.perf_counter()
    warmup_s = (first_frame_s[0] if first_frame_s else end) - t0
    elapsed = max(end - (first_frame_s[0] if first_frame_s else t0), 1e-9)
    processed, shown = window.worker.processed, window.frames_shown
    window.shutdown()
    if scratch is not None:
        scratch.cleanup()
    first_minute = next((mb for t, mb in rss_mb if t >= 60.0), rss_mb[0][1])
    return {
        "source": window.source_spec,
        "model": window.model_path,
        "provider": getattr(window.estimator, "provider", None),
        "seconds": round(elapsed, 1),
        "warmup_s": round(warmup_s, 1),
        "frames_processed": processed,
        "frames_shown": shown,
        "fps_processed": round(processed / elapsed, 2),
        "fps_shown": round(shown / elapsed, 2),
        "latency_ms": _stats(np.frombuffer(latency_ms, np.float64)),
        "stages_ms": {s: _stats(np.frombuffer(v, np.float64)) for s, v in stage_ms.items()},
        "refine": window.settings.refine,
        "max_hands": window.settings.max_hands,
        "fit_residual_mm": _stats(np.frombuffer(fit_residual_mm, np.float64)),
        "fit_ok_fraction": round(fit_statuses[STATUS_OK] / max(sum(fit_statuses.values()), 1), 3),
        "rss_mb": rss_mb,
        "rss_growth_after_first_minute_mb": round(rss_mb[-1][1] - first_minute, 1),
        "errors": window.last_error or None,
    }
