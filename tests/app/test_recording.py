"""The Record button's logic without a window: a real recorder fed with real pipeline results (Qt-free)."""

from __future__ import annotations

import dataclasses
import time
from types import SimpleNamespace

import pytest

from app.recording import Recording
from app.runtime import pipeline_settings
from app.settings import AppSettings
from inference.core.errors import HandposeError
from inference.core.frame import Frame
from inference.core.geometry import NYU_INTRINSICS
from inference.runtime.estimator import OnnxEstimator
from inference.runtime.pipeline import Pipeline
from inference.sources.replay import ReplaySource
from tests.app.scenes import hand_frame


class Calls:
    """What the recording told the window: status notes, errors, the Record button's state."""

    def __init__(self) -> None:
        self.status: list[tuple[str, int]] = []
        self.errors: list[str] = []
        self.active: list[bool] = []

    def recording(self, sink: SimpleNamespace) -> Recording:
        return Recording(sink, lambda m, ms: self.status.append((m, ms)), self.errors.append, self.active.append)


def _sink() -> SimpleNamespace:
    """Stands for the worker: the two attributes its tracker thread uses."""
    return SimpleNamespace(recorder=None, recorder_error="")


@pytest.fixture
def results(model_path) -> list:
    pipeline = Pipeline(OnnxEstimator(model_path, warmup_runs=0), pipeline_settings(AppSettings(smoothing=False)))
    frames = [Frame(*hand_frame(k)[:2], NYU_INTRINSICS, timestamp_s=k / 30, index=k) for k in range(3)]
    return [pipeline.process(f) for f in frames]


def test_a_recording_attaches_to_the_worker_and_replays(tmp_path, results) -> None:
    calls, sink, out = Calls(), _sink(), tmp_path / "rec"
    recording = calls.recording(sink)
    assert recording.start(out, live=False)
    assert sink.recorder is recording.recorder is not None
    assert calls.active == [True] and calls.status == [(f"recording to {out}", 5000)]
    for result in results:  # what the worker's tracker thread does with each processed frame
        sink.recorder.put(result.frame, result.pose)
    recording.stop()
    assert sink.recorder is None and recording.recorder is None
    assert calls.active == [True, False] and not calls.errors
    assert calls.status[-1] == (f"recorded 3 frames to {out} (0 dropped)", 10000)
    assert len(ReplaySource(out)) == 3
    assert (out / "poses.jsonl").read_text().count("\n") == 3
    recording.stop()  # not recording: nothing more to say
    recording.check()
    assert calls.active == [True, False] and len(calls.status) == 2


def test_a_directory_that_holds_a_recording_is_refused(tmp_path, results) -> None:
    first = Calls().recording(_sink())
    assert first.start(tmp_path, live=True)
    first.recorder.put(results[0].frame, results[0].pose)
    first.stop()
    again, sink = Calls(), _sink()
    assert not again.recording(sink).start(tmp_path, live=True)
    assert sink.recorder is None and again.active == [False] and not again.status
    assert len(again.errors) == 1 and again.errors[0].startswith("Cannot record: ")
    assert "already holds NYU frames" in again.errors[0]


def test_a_failed_write_stops_the_recording_and_is_reported(tmp_path, results) -> None:
    calls, sink = Calls(), _sink()
    recording = calls.recording(sink)
    assert recording.start(tmp_path / "rec", live=False)
    first = results[0]
    sink.recorder.put(first.frame, first.pose)
    recording.check()  # nothing failed yet: still recording
    assert recording.recorder is not None and calls.active == [True]
    # A frame from another camera cannot join the recording: the writer thread fails, the next put raises.
    other = dataclasses.replace(first.frame, intrinsics=dataclasses.replace(NYU_INTRINSICS, fx=500.0))
    sink.recorder.put(other, first.pose)
    deadline = time.monotonic() + 10.0
    while not sink.recorder_error:
        assert time.monotonic() < deadline, "the writer thread never reported the failure"
        try:
            sink.recorder.put(first.frame, first.pose)
        except HandposeError as exc:  # the worker keeps the message for the UI thread
            sink.recorder_error = str(exc)
        time.sleep(0.01)
    recording.check()
    assert recording.recorder is None and sink.recorder is None and sink.recorder_error == ""
    assert calls.active == [True, False]
    # Closing re-raises the writer's failure, then the put's message: both reach the banner.
    assert len(calls.errors) == 2 and all("has intrinsics" in e for e in calls.errors)
    assert len(ReplaySource(tmp_path / "rec")) == 1  # the frame written before the failure is kept


def test_a_second_start_finishes_the_first_recording(tmp_path, results) -> None:
    calls, sink = Calls(), _sink()
    recording = calls.recording(sink)
    assert recording.start(tmp_path / "a", live=False)
    first = recording.recorder
    for result in results[:2]:
        sink.recorder.put(result.frame, result.pose)
    assert recording.start(tmp_path / "b", live=False)  # without a stop in between
    assert sink.recorder is recording.recorder is not first
    assert len(ReplaySource(tmp_path / "a")) == 2  # the first one's frames written and its writer finished
    assert calls.active == [True, False, True]
    recording.stop()
