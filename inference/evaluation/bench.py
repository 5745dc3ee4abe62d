"""Benchmarks of the runtime: per-stage latency, FPS, pipeline overhead over the bare network, memory soak.

Used by ``handpose bench`` and ``handpose soak`` (the memory soak, no torch needed)::

    handpose soak --model models/depthnet.onnx --source replay:assets/demo --frames 10000

Latency is measured with the pipeline running frames one after another (capture, then processing), so each
stage's time is its own; ``--threaded`` instead runs the :class:`~inference.runtime.tracker.Tracker` (capture in its
own thread, as ``handpose run`` and the app do) and reports the throughput that gives.
"""

from __future__ import annotations

import logging
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from inference.core.errors import DataFormatError, SourceError
from inference.core.frame import Frame
from inference.core.geometry import Intrinsics
from inference.runtime.pipeline import STAGES, FrameResult, Pipeline
from inference.sources.base import FrameSource

log = logging.getLogger(__name__)


class LoopedSource(FrameSource):
    """Endless frames from a finite source: reopened (made again by ``factory``) whenever it ends."""

    def __init__(self, factory: Callable[[], FrameSource]) -> None:
        self._factory = factory
        self._source: FrameSource | None = None
        self.loops = 0
        self.live = False

    @property
    def description(self) -> str:
        return f"looped {self._source.description if self._source else '(not open)'}"

    @property
    def intrinsics(self) -> Intrinsics:
        assert self._source is not None
        return self._source.intrinsics

    @property
    def has_color(self) -> bool | None:
        return None if self._source is None else self._source.has_color

    def open(self) -> None:
        self._source = self._factory()
        self._source.open()
        self.live = bool(getattr(self._source, "live", False))

    def read(self) -> Frame | None:
        if self._source is None:
            self.open()
        assert self._source is not None
        frame = self._source.read()
        if frame is None:
            self._source.close()
            self.loops += 1
            self.open()
            frame = self._source.read()
            if frame is None:
                raise SourceError(f"{self._source.description}: delivered no frame, nothing to benchmark")
        return frame

    def close(self) -> None:
        if self._source is not None:
            self._source.close()
            self._source = None

    @property
    def skipped(self) -> list[tuple[int, str]]:
        return list(getattr(self._source, "skipped", []))


def summary_ms(values: list[float] | np.ndarray) -> dict[str, float]:
    """``{"median", "p95"}`` of a list of milliseconds (rounded to 1 us)."""
    arr = np.asarray(values, np.float64)
    if arr.size == 0:
        return {"median": float("nan"), "p95": float("nan")}
    return {"median": round(float(np.median(arr)), 3), "p95": round(float(np.percentile(arr, 95)), 3)}


@dataclass
class BenchReport:
    """What a benchmark measured. ``stages_ms[stage]`` lists one value per measured frame."""

    frames: int = 0
    found: int = 0
    wall_s: float = 0.0
    stages_ms: dict[str, list[float]] = field(default_factory=lambda: {s: [] for s in STAGES})
    bare_infer_ms: list[float] = field(default_factory=list)
    # paired[k] = (total, bare) of a frame with a hand and a bare network call timed right after it: on a busy
    # machine the difference of paired values is far steadier than a difference of separate medians.
    paired_ms: list[tuple[float, float]] = field(default_factory=list)
    # CPU time of the whole process (all threads) while the pipeline processed a frame: unlike the wall times it
    # hardly changes when other programs load the machine (sequential benchmark only).
    process_cpu_ms: list[float] = field(default_factory=list)

    def add(self, result: FrameResult) -> None:
        self.frames += 1
        self.found += int(result.pose.found)
        for stage in STAGES:
            self.stages_ms[stage].append(result.pose.timings_ms.get(stage, 0.0))

    def to_json(self) -> dict[str, object]:
        """The ``handpose bench --json`` object (ARCHITECTURE.md) plus found frames and the overhead."""
        out: dict[str, object] = {
            "frames": self.frames,
            "fps": round(self.frames / self.wall_s, 2) if self.wall_s > 0 else 0.0,
            "found": self.found,
            "stages_ms": {stage: summary_ms(values) for stage, values in self.stages_ms.items()},
            # the mean frame: what throughput follows (a stage that runs on some frames only, e.g. two hands looking
            # for a new one every third frame, moves it and not the median)
            "mean_ms": {stage: round(float(np.mean(values)), 3) if values else float("nan")
                        for stage, values in self.stages_ms.items()},
        }
        # segment + crop: what the issue budgets (<= 2 ms), per frame with a hand
        found_idx = [i for i, v in enumerate(self.stages_ms["infer"]) if v > 0]
        out["segment_crop_ms"] = summary_ms(
            [self.stages_ms["segment"][i] + self.stages_ms["crop"][i] for i in found_idx]
        )
        if self.process_cpu_ms:
            out["process_cpu_ms"] = summary_ms(self.process_cpu_ms)
        # What the pipeline adds to the bare network on frames that ran it (the fit, a stage of its own, apart).
        if self.paired_ms:
            totals, bares = np.asarray(self.paired_ms).T
            out["bare_infer_ms"] = summary_ms(bares)
            out["overhead_ms"] = summary_ms(totals - bares)
        elif self.bare_infer_ms:
            totals = [self.stages_ms["total"][i] for i in found_idx]
            out["bare_infer_ms"] = summary_ms(self.bare_infer_ms)
            median = float(np.median(totals)) - float(np.median(self.bare_infer_ms)) if totals else float("nan")
            out["overhead_ms"] = {"median": round(median, 3)}
        return out


def bare_inference_ms(estimator: object, runs: int) -> list[float]:
    """Wall time of ``runs`` bare network calls (``estimator.run_raw()``, no pre/post-processing), ms each."""
    run_raw = getattr(estimator, "run_raw", None)
    if run_raw is None:
        return []
    times = []
    for _ in range(runs):
        t0 = time.perf_counter()
        run_raw()
        times.append((time.perf_counter() - t0) * 1e3)
    return times


def _progress(total: int, desc: str, enabled: bool):  # -> tqdm
    from tqdm import tqdm

    return tqdm(total=total, desc=desc, unit="frame", file=sys.stderr, disable=not enabled, leave=False)


def bench_sequential(
    source: FrameSource, pipeline: Pipeline, frames: int, warmup: int = 5, progress: bool = True, bare: bool = True
) -> BenchReport:
    """Read and process ``frames`` frames one after the other (after ``warmup`` unmeasured ones).

    ``capture`` is the time ``source.read()`` took; ``fps`` counts capture + processing (not the bare calls).
    With ``bare``, each frame with a hand is followed by one bare network call on the same input (the
    estimator's ``run_raw``, when it has one), paired with that frame's total for the overhead.
    """
    report = BenchReport()
    run_raw = getattr(pipeline.estimator, "run_raw", None) if bare else None
    bare_s = 0.0
    with source, _progress(frames, "bench", progress) as bar:
        for k in range(warmup + frames):
            if k == warmup:
                t_start = time.perf_counter()
            t0 = time.perf_counter()
            frame = source.read()
            if frame is None:
                raise SourceError(f"{source.description} ended; benchmark it through LoopedSource")
            cpu0 = time.process_time()
            result = pipeline.process(frame, (time.perf_counter() - t0) * 1e3)
            cpu_ms = (time.process_time() - cpu0) * 1e3
            if k >= warmup:
                report.add(result)
                report.process_cpu_ms.append(cpu_ms)
                bar.update(1)
                if run_raw is not None and result.pose.found:
                    t1 = time.perf_counter()
                    run_raw()
                    bare_ms = (time.perf_counter() - t1) * 1e3
                    bare_s += bare_ms / 1e3
                    timings = result.pose.timings_ms
                    report.paired_ms.append((timings["total"] - timings.get("fit", 0.0), bare_ms))
        report.wall_s = time.perf_counter() - t_start - bare_s
    return report


def bench_threaded(
    source: FrameSource, pipeline: Pipeline, frames: int, warmup: int = 5, progress: bool = True
) -> BenchReport:
    """Run the :class:`Tracker` (capture thread + worker) for ``warmup + frames`` frames; FPS is its throughput."""
    from inference.runtime.tracker import Tracker

    report = BenchReport()
    errors: list[Exception] = []
    bar = _progress(frames, "bench (threaded)", progress)
    seen = 0
    t_first = t_last = time.perf_counter()

    def on_result(result: FrameResult) -> None:
        nonlocal seen, t_first, t_last
        seen += 1
        if seen <= warmup:
            t_first = time.perf_counter()  # throughput counts from the end of the warm-up
            return
        report.add(result)
        bar.update(1)
        t_last = time.perf_counter()

    tracker = Tracker(source, pipeline, on_result, errors.append, max_frames=warmup + frames)
    tracker.start()
    try:
        tracker.wait()
    finally:
        tracker.stop()
        bar.close()
    fatal = [e for e in errors if not isinstance(e, DataFormatError)]  # corrupt frames are skipped, not fatal
    if fatal:
        raise fatal[0]
    report.wall_s = t_last - t_first
    return report


def rss_mb() -> float:
    """Resident memory of this process (MB)."""
    import psutil

    return psutil.Process().memory_info().rss / 2**20


def soak(source: FrameSource, pipeline: Pipeline, frames: int, warmup: int = 50, every: int = 1000) -> dict[str, float]:
    """Process ``frames`` frames and report resident memory growth (MB) after ``warmup`` frames.

    Prints a line to stderr every ``every`` frames so a leak shows its slope. ``two_hands``: frames where two hands
    were reported (a pipeline with ``max_hands=2``).
    """
    found = two = 0
    with source, _progress(frames, "soak", True) as bar:
        for k in range(warmup + frames):
            if k == warmup:
                rss_start_mb, t_start = rss_mb(), time.perf_counter()
            frame = source.read()
            if frame is None:
                raise SourceError(f"{source.description} ended; soak it through LoopedSource")
            pose = pipeline.process(frame).pose
            if k >= warmup:
                found += int(pose.found)
                two += int(pose.hands is not None and len(pose.hands) == 2)
                bar.update(1)
                done = k - warmup + 1
                if done % every == 0:
                    bar.write(f"soak: {done} frames, rss {rss_mb():.1f} MB (+{rss_mb() - rss_start_mb:.1f})",
                              file=sys.stderr)
    rss_end_mb = rss_mb()
    return {
        "frames": frames, "found": found, "two_hands": two, "max_hands": pipeline.settings.max_hands,
        "wall_s": round(time.perf_counter() - t_start, 2),
        "rss_start_mb": round(rss_start_mb, 1), "rss_end_mb": round(rss_end_mb, 1),
        "rss_growth_mb": round(rss_end_mb - rss_start_mb, 1),
    }
