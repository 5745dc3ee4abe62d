"""Tracker threads: replay keeps every frame in order, live keeps the latest, pause/step/resume, stop, errors."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import numpy as np
import pytest

from inference.core.errors import SourceError
from inference.core.frame import Frame, HandCrop
from inference.core.geometry import Intrinsics
from inference.runtime.estimator import OnnxEstimator
from inference.runtime.pipeline import FrameResult, Pipeline, PipelineSettings
from inference.runtime.tracker import Tracker
from inference.sources import open_source
from inference.sources.base import FrameSource
from tests.helpers.blob_frames import blob_depth, write_blob_sequence
from tests.helpers.tiny_models import make_tiny_model

_DEPTH = blob_depth()
# The threads are under test, not the hands: the single-hand path calls the (slowed) network fewest times.
ONE_HAND = PipelineSettings(max_hands=1)


class SlowEstimator:
    """Wraps a real estimator and sleeps ``delay_s`` per call (a slow network)."""

    def __init__(self, inner: OnnxEstimator, delay_s: float) -> None:
        self.inner, self.delay_s = inner, delay_s
        self.metadata, self.provider = inner.metadata, inner.provider

    def predict(self, crop: HandCrop) -> np.ndarray:
        time.sleep(self.delay_s)
        return self.inner.predict(crop)


class CameraLike(FrameSource):
    """A live source producing a frame every ``period_s`` (the SDK's wait), optionally failing after N frames."""

    live = True

    def __init__(self, period_s: float = 0.002, fail_after: int | None = None, frames: int | None = None) -> None:
        self.period_s, self.fail_after, self.frames = period_s, fail_after, frames
        self.count = 0
        self.opened = self.closed = False

    @property
    def description(self) -> str:
        return "camera-like"

    @property
    def intrinsics(self) -> Intrinsics:
        return Intrinsics(588.03, 587.07, 320.0, 240.0)

    def open(self) -> None:
        self.opened = True

    def close(self) -> None:
        self.closed = True

    def read(self) -> Frame | None:
        if self.fail_after is not None and self.count >= self.fail_after:
            raise SourceError("camera-like: device disconnected")
        if self.frames is not None and self.count >= self.frames:
            return None
        time.sleep(self.period_s)
        self.count += 1
        return Frame(_DEPTH, None, self.intrinsics, self.count * self.period_s, self.count - 1)


@pytest.fixture(scope="module")
def estimator(tmp_path_factory: pytest.TempPathFactory) -> OnnxEstimator:
    return OnnxEstimator(make_tiny_model(tmp_path_factory.mktemp("m") / "d.onnx"), providers="cpu")


@pytest.fixture(scope="module")
def replay_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_blob_sequence(tmp_path_factory.mktemp("seq"), frames=12, seed=4, with_rgb=False)


def _collect(tracker_args: dict, timeout_s: float = 20.0) -> tuple[Tracker, list[FrameResult], list[Exception]]:
    results: list[FrameResult] = []
    errors: list[Exception] = []
    tracker = Tracker(on_result=results.append, on_error=errors.append, **tracker_args)
    tracker.start()
    assert tracker.wait(timeout_s), "tracker did not finish"
    tracker.stop()
    return tracker, results, errors


def test_replay_delivers_every_frame_in_order_with_a_slow_model(estimator: OnnxEstimator, replay_dir: Path) -> None:
    pipeline = Pipeline(SlowEstimator(estimator, 0.01), PipelineSettings(smoothing=False, max_hands=1))
    tracker, results, errors = _collect({"source": open_source(f"replay:{replay_dir}"), "pipeline": pipeline})
    assert not errors
    assert [r.frame.index for r in results] == list(range(12))
    assert all(r.pose.found for r in results)
    assert tracker.frames_dropped == 0 and not tracker.is_running
    assert all(r.pose.timings_ms["capture"] > 0 for r in results)  # PNG decoding timed on the capture thread


def test_live_source_keeps_only_the_latest_frame(estimator: OnnxEstimator) -> None:
    source = CameraLike(period_s=0.002, frames=60)
    pipeline = Pipeline(SlowEstimator(estimator, 0.02), PipelineSettings(smoothing=False, max_hands=1))
    tracker, results, errors = _collect({"source": source, "pipeline": pipeline})
    indices = [r.frame.index for r in results]
    assert not errors and indices == sorted(indices)
    assert tracker.frames_dropped > 20 and len(results) + tracker.frames_dropped == 60
    assert source.opened and source.closed


def test_max_frames(estimator: OnnxEstimator, replay_dir: Path) -> None:
    _, results, _ = _collect(
        {"source": open_source(f"replay:{replay_dir}"), "pipeline": Pipeline(estimator, ONE_HAND), "max_frames": 5}
    )
    assert [r.frame.index for r in results] == [0, 1, 2, 3, 4]


def test_pause_step_resume(estimator: OnnxEstimator, replay_dir: Path) -> None:
    results: list[FrameResult] = []
    tracker = Tracker(open_source(f"replay:{replay_dir}"), Pipeline(estimator, ONE_HAND), results.append)
    tracker.pause()
    tracker.start()
    time.sleep(0.3)
    assert results == [] and tracker.is_running
    tracker.step()
    deadline = time.monotonic() + 5
    while len(results) < 1 and time.monotonic() < deadline:
        time.sleep(0.01)
    time.sleep(0.2)
    assert len(results) == 1
    tracker.step()
    tracker.step()
    deadline = time.monotonic() + 5
    while len(results) < 3 and time.monotonic() < deadline:
        time.sleep(0.01)
    time.sleep(0.2)
    assert [r.frame.index for r in results] == [0, 1, 2]
    tracker.resume()
    assert tracker.wait(10)
    tracker.stop()
    assert [r.frame.index for r in results] == list(range(12))


def test_a_frame_in_flight_when_paused_is_delivered_and_then_nothing(estimator: OnnxEstimator,
                                                                   replay_dir: Path) -> None:
    """``in_flight`` is True from the moment a frame leaves the queue until its result was delivered: once a pause
    sees it False, no more results come (what the app's tests wait for on a loaded machine)."""
    results: list[FrameResult] = []
    tracker = Tracker(open_source(f"replay:{replay_dir}"), Pipeline(SlowEstimator(estimator, 0.3), ONE_HAND),
                      results.append)
    assert not tracker.in_flight
    tracker.start()
    deadline = time.monotonic() + 5
    while not tracker.in_flight and time.monotonic() < deadline:
        time.sleep(0.005)
    tracker.pause()
    assert tracker.in_flight  # the slow network holds the frame it took
    while tracker.in_flight and time.monotonic() < deadline:
        time.sleep(0.005)
    delivered = len(results)
    assert delivered >= 1
    time.sleep(0.8)  # longer than two frames of the slow network
    assert len(results) == delivered and not tracker.in_flight
    tracker.stop()


def test_stop_mid_stream_joins_threads_and_closes_the_source(estimator: OnnxEstimator) -> None:
    source = CameraLike(period_s=0.005)  # endless
    tracker = Tracker(source, Pipeline(estimator, ONE_HAND), lambda r: None)
    tracker.start()
    time.sleep(0.2)
    tracker.stop()
    assert not tracker.is_running and source.closed
    assert not any(t.name.startswith("handpose-") for t in threading.enumerate())


def test_source_failure_is_reported_and_ends_tracking(estimator: OnnxEstimator) -> None:
    _, results, errors = _collect({"source": CameraLike(fail_after=3), "pipeline": Pipeline(estimator, ONE_HAND)})
    assert len(errors) == 1 and isinstance(errors[0], SourceError) and "disconnected" in str(errors[0])
    assert 1 <= len(results) <= 3


def test_corrupt_replay_frame_is_skipped(estimator: OnnxEstimator, tmp_path: Path) -> None:
    root = write_blob_sequence(tmp_path / "seq", frames=5, seed=1, with_rgb=False)
    (root / "depth_1_0000003.png").write_bytes(b"\x89PNG\r\n\x1a\n garbage")
    source = open_source(f"replay:{root}")
    _, results, errors = _collect({"source": source, "pipeline": Pipeline(estimator, ONE_HAND)})
    assert [r.frame.index for r in results] == [0, 1, 3, 4] and not errors
    assert [index for index, _ in source.skipped] == [2]
