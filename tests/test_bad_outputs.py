"""Outputs that cannot be written, pipes that close, disks that fill up: one clear line, nothing lost.

Each command is run as a user would (the CLI, often in a subprocess with real pipes and devices). A full disk
is simulated two ways that need no root: a file-size limit (RLIMIT_FSIZE with SIGXFSZ ignored, so the kernel
fails the write that does not fit, partial writes included, also for writers in C/C++ such as torch.save) and
files whose ``write`` raises ENOSPC once a byte budget is spent (monkeypatched ``open``), plus ``/dev/full``.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import json
import os
import resource
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from handpose.cli import main
from inference.core.errors import HandposeError
from tests.helpers.blob_frames import write_blob_sequence
from tests.helpers.tiny_models import make_tiny_model

PROJECT_ROOT = Path(__file__).resolve().parents[1]
HAS_DEV_FULL = Path("/dev/full").exists()
HAS_PROC = Path("/proc/self").is_dir()


@pytest.fixture(scope="module")
def model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_tiny_model(tmp_path_factory.mktemp("m") / "d.onnx")


@pytest.fixture(scope="module")
def sequence(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_blob_sequence(tmp_path_factory.mktemp("seq"), frames=12, seed=4)


def _handpose(*args: str, **kwargs: Any) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(PROJECT_ROOT)}
    return subprocess.run([sys.executable, "-m", "handpose", *args], env=env, cwd=PROJECT_ROOT, **kwargs)


def _file_size_limit(nbytes: int):
    """A ``preexec_fn``: no file of the child may grow beyond ``nbytes`` (the write that would fails, EFBIG)."""
    def limit() -> None:
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, (nbytes, resource.getrlimit(resource.RLIMIT_FSIZE)[1]))
    return limit


@contextlib.contextmanager
def _disk_full_after(nbytes: int):
    """The same limit for this process, only inside the ``with`` block."""
    old_limit = resource.getrlimit(resource.RLIMIT_FSIZE)
    old_handler = signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
    resource.setrlimit(resource.RLIMIT_FSIZE, (nbytes, old_limit[1]))
    try:
        yield
    finally:
        resource.setrlimit(resource.RLIMIT_FSIZE, old_limit)
        signal.signal(signal.SIGXFSZ, old_handler)


class _DiskWithBudget:
    """A file on a disk with ``budget[0]`` bytes free: a write stores what fits, then raises ENOSPC."""

    def __init__(self, fh: Any, budget: list[int]) -> None:
        self._fh, self._budget = fh, budget

    def write(self, data: Any) -> int:
        room = self._budget[0]
        written = self._fh.write(data[:room]) if room > 0 else 0
        self._budget[0] -= written
        if written < len(data):
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        return written

    def __getattr__(self, name: str) -> Any:
        return getattr(self._fh, name)

    def __enter__(self) -> _DiskWithBudget:
        return self

    def __exit__(self, *exc: object) -> None:
        self._fh.close()


def _enospc_open(free_bytes: int):
    """An ``open`` for monkeypatching into a module: files opened for writing share ``free_bytes`` of disk."""
    budget = [free_bytes]

    def fake_open(file: Any, mode: str = "r", *args: Any, **kwargs: Any) -> Any:
        fh = open(file, mode, *args, **kwargs)
        return _DiskWithBudget(fh, budget) if any(c in mode for c in "wax") else fh
    return fake_open


def _error_lines(stderr: str) -> list[str]:
    return [line for line in stderr.splitlines() if ": error:" in line]


def _assert_one_clear_line(stderr: str, *needles: str) -> None:
    assert "Traceback" not in stderr and "Exception ignored" not in stderr, stderr
    errors = _error_lines(stderr)
    assert len(errors) == 1, stderr
    for needle in needles:
        assert needle in errors[0], errors[0]


def _no_part_files(root: Path) -> list[Path]:
    return sorted(p for p in root.rglob("*") if p.name.endswith(".part"))


# --- D1: devices and pipes ------------------------------------------------------------------------------

def test_run_out_dev_stdout_through_a_pipe_writes_every_line(model: Path, sequence: Path) -> None:
    out = _handpose("run", "--source", f"replay:{sequence}", "--model", str(model), "--out", "/dev/stdout",
                    capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    rows = [json.loads(line) for line in out.stdout.splitlines()]
    assert [r["index"] for r in rows] == list(range(12))


@pytest.mark.skipif(not HAS_DEV_FULL, reason="no /dev/full on this system")
def test_run_out_dev_full_is_one_line(model: Path, sequence: Path, capsys: pytest.CaptureFixture) -> None:
    code = main(["run", "--source", f"replay:{sequence}", "--model", str(model), "--out", "/dev/full"])
    assert code == 2
    _assert_one_clear_line(capsys.readouterr().err, "--out /dev/full: cannot write", os.strerror(errno.ENOSPC))


@pytest.mark.skipif(not hasattr(fcntl, "F_SETPIPE_SZ"), reason="pipe sizes cannot be set on this system")
@pytest.mark.parametrize("out", [None, "/dev/stdout"])
def test_a_reader_closing_the_pipe_ends_run_quietly(model: Path, sequence: Path, out: str | None) -> None:
    """`handpose run ... | head -1`: exit 0, no BrokenPipeError text, even when output was still pending."""
    read_end, write_end = os.pipe()
    fcntl.fcntl(write_end, fcntl.F_SETPIPE_SZ, 4096)  # 12 lines of ~1 KB cannot all fit: writes are pending
    args = ["--out", out] if out else []
    env = {**os.environ, "PYTHONPATH": str(PROJECT_ROOT)}
    proc = subprocess.Popen([sys.executable, "-m", "handpose", "run", "--source", f"replay:{sequence}", "--model",
                             str(model), *args], stdout=write_end, stderr=subprocess.PIPE, text=True, env=env)
    os.close(write_end)
    with os.fdopen(read_end, "rb") as reader:
        first = reader.readline()  # what `head -1` reads, then it exits
    _, err = proc.communicate(timeout=120)
    assert json.loads(first)["index"] == 0
    assert proc.returncode == 0, err
    assert "Traceback" not in err and "BrokenPipe" not in err and "Exception ignored" not in err, err


@pytest.mark.skipif(not HAS_DEV_FULL, reason="no /dev/full on this system")
def test_stdout_on_a_full_disk_is_one_line() -> None:
    with open("/dev/full", "w") as full:
        out = _handpose("nets", "--json", stdout=full, stderr=subprocess.PIPE, text=True)
    assert out.returncode == 2
    _assert_one_clear_line(out.stderr, "stdout: cannot write", os.strerror(errno.ENOSPC))


# --- D2: the disk fills up during `run --out` ---------------------------------------------------------------

def test_disk_full_during_run_keeps_every_line_whole(model: Path, sequence: Path, tmp_path: Path) -> None:
    out = tmp_path / "poses.jsonl"
    result = _handpose("run", "--source", f"replay:{sequence}", "--model", str(model), "--out", str(out),
                       capture_output=True, text=True, preexec_fn=_file_size_limit(5000))
    assert result.returncode == 2
    _assert_one_clear_line(result.stderr, f"--out {out}: cannot write", "whole lines written before are kept")
    text = out.read_text()
    assert text.endswith("\n") and 0 < len(text) <= 5000
    rows = [json.loads(line) for line in text.splitlines()]  # every line parses: none was cut
    assert [r["index"] for r in rows] == list(range(len(rows))) and len(rows) < 12


def test_poses_writer_cuts_the_partial_line_on_enospc(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import inference.formats.poses_jsonl as poses_jsonl
    from inference.core.frame import HandPose

    line = json.dumps(poses_jsonl.pose_record(0, 0.0, HandPose(found=False)), separators=(",", ":")) + "\n"
    monkeypatch.setattr(poses_jsonl, "open", _enospc_open(3 * len(line) + 10), raising=False)
    path = tmp_path / "p.jsonl"
    writer = poses_jsonl.PosesJsonlWriter(path)
    for index in range(3):
        writer.write(index, 0.0, HandPose(found=False))
    with pytest.raises(HandposeError, match=rf"{path.name}: cannot write \(No space left on device\); the 3 whole"):
        writer.write(3, 0.0, HandPose(found=False))
    writer.close()
    assert [json.loads(r)["index"] for r in path.read_text().splitlines()] == [0, 1, 2]


# --- the shared atomic write: a full disk leaves the old file and no .part file --------------------------------

def test_atomic_write_on_a_full_disk_keeps_the_old_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import inference.core.outputs as outputs

    target = tmp_path / "labels.json"
    target.write_text("old")
    monkeypatch.setattr(outputs, "open", _enospc_open(10), raising=False)
    with pytest.raises(HandposeError, match=r"labels\.json: cannot write \(No space left on device\); the previous"):
        outputs.write_text_atomic(target, "x" * 100)
    assert target.read_text() == "old" and _no_part_files(tmp_path) == []


def test_an_exception_while_writing_leaves_no_part_file(tmp_path: Path) -> None:
    from inference.core.outputs import atomic_write

    target = tmp_path / "a.bin"
    with pytest.raises(ZeroDivisionError), atomic_write(target) as fh:
        fh.write(b"half")
        raise ZeroDivisionError  # a bug of the caller stays itself, and still no .part file
    assert not target.exists() and _no_part_files(tmp_path) == []


def test_labels_on_a_full_disk(tmp_path: Path) -> None:
    """write_joint_data (NyuWriter.close) when the disk is full: one error line, the old labels intact."""
    from inference.formats.nyu_io import read_joint_data, write_joint_data

    uvd = np.random.default_rng(0).normal(size=(1, 50, 36, 3))
    write_joint_data(tmp_path / "joint_data.mat", uvd[:, :2], uvd[:, :2])
    old = (tmp_path / "joint_data.mat").read_bytes()
    with _disk_full_after(len(old) + 200), pytest.raises(HandposeError, match=r"joint_data\.mat: cannot write"):
        write_joint_data(tmp_path / "joint_data.mat", uvd, uvd)
    assert (tmp_path / "joint_data.mat").read_bytes() == old and _no_part_files(tmp_path) == []
    assert read_joint_data(tmp_path / "joint_data.mat")["joint_uvd"].shape == (1, 2, 36, 3)


def test_synth_on_a_full_disk(tmp_path: Path) -> None:
    out = tmp_path / "synth"
    result = _handpose("synth", str(out), "--frames", "4", "--workers", "1", "--seed", "3",
                       capture_output=True, text=True, preexec_fn=_file_size_limit(50_000))
    assert result.returncode == 2
    _assert_one_clear_line(result.stderr, "cannot write")
    assert _no_part_files(tmp_path) == []


def test_record_on_a_full_disk(sequence: Path, tmp_path: Path) -> None:
    out = tmp_path / "rec"
    result = _handpose("record", "--source", f"replay:{sequence}", "--out", str(out),
                       capture_output=True, text=True, preexec_fn=_file_size_limit(4000))
    assert result.returncode == 2
    _assert_one_clear_line(result.stderr, "cannot write")
    assert _no_part_files(tmp_path) == []


# --- D5: bad output paths fail before any work ------------------------------------------------------------------

@pytest.fixture(scope="module")
def train_data(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from tests.training.procedural import write_sequence

    root = tmp_path_factory.mktemp("train") / "seq"
    write_sequence(root, 16, seed=2)
    return root


TINY_TRAIN = ["--arch", "net1", "--fc-width", "16", "--epochs", "1", "--batch-size", "4", "--workers", "0"]


def _bad_dirs(tmp_path: Path) -> list[tuple[str, str]]:
    """(path, reason the message must give) for output folders that cannot be written."""
    (tmp_path / "afile").write_text("x")
    cases = [(str(tmp_path / "afile" / "sub"), "afile is a file, not a folder")]
    if HAS_PROC:
        cases.append(("/proc/handpose-test", "cannot create anything in /proc"))
    return cases


def test_train_bad_out_or_cache_dir_fails_before_preprocessing(train_data: Path, tmp_path: Path,
                                                                capsys: pytest.CaptureFixture) -> None:
    cache = tmp_path / "cache"
    for bad, reason in _bad_dirs(tmp_path):
        for flag, args in (("--out", ["--out", bad, "--cache-dir", str(cache)]),
                           ("--cache-dir", ["--out", str(tmp_path / "run"), "--cache-dir", bad])):
            assert main(["train", str(train_data), *TINY_TRAIN, *args]) == 2
            _assert_one_clear_line(capsys.readouterr().err, f"{flag} {bad}: cannot write there", reason)
            assert not cache.exists() and not (tmp_path / "run").exists()  # no work was done, nothing was made


def test_export_bad_out_gives_the_real_reason(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    (tmp_path / "afile").write_text("x")
    cases = [(tmp_path / "afile" / "x.onnx", "afile is a file, not a folder"), (tmp_path, "is a folder")]
    if HAS_PROC:
        cases.append((Path("/proc/x.onnx"), "cannot create files in /proc"))
    for bad, reason in cases:
        # The run does not exist either: the output is checked first, before anything is loaded.
        assert main(["export", str(tmp_path / "no-run"), "--out", str(bad)]) == 2
        _assert_one_clear_line(capsys.readouterr().err, f"--out {bad}: cannot write", reason)


# --- D6: the disk fills up while a checkpoint is saved ---------------------------------------------------------

def test_disk_full_while_saving_a_checkpoint(train_data: Path, tmp_path: Path) -> None:
    import torch

    from training.train import TrainConfig, train

    def config(epochs: int) -> TrainConfig:
        return TrainConfig(data=[str(train_data)], out=str(tmp_path / "run"), arch="net1", fc_width=16, input_size=32,
                           epochs=epochs, batch_size=4, workers=0, cache_dir=str(tmp_path / "cache"), lr=0.01,
                           momentum=0.9)

    run = tmp_path / "run"
    train(config(1), progress=False)
    last = (run / "last.pt").read_bytes()
    best_size = (run / "best.pt").stat().st_size
    assert best_size < len(last) - 1000  # last.pt also holds the optimizer state: a limit can split them
    with _disk_full_after((best_size + len(last)) // 2), \
            pytest.raises(HandposeError, match=r"last\.pt: cannot write .*; the previous last\.pt is kept"):
        train(config(2), progress=False)
    assert (run / "last.pt").read_bytes() == last  # the old checkpoint survived
    assert torch.load(run / "last.pt", weights_only=True)["epoch"] == 1
    rows = (run / "log.csv").read_text().strip().splitlines()
    assert len(rows) == 2 and rows[1].startswith("1,")  # log.csv claims no epoch last.pt does not hold
    assert _no_part_files(tmp_path) == []
    assert train(config(2), progress=False)["epochs"] == 2  # with room again, the run resumes


# --- D4 (output side): a bad seed creates nothing ----------------------------------------------------------------

def test_negative_seeds_are_one_line_and_create_nothing(tmp_path: Path, train_data: Path,
                                                        capsys: pytest.CaptureFixture) -> None:
    out = tmp_path / "out"
    cases = [
        (["synth", str(out), "--frames", "2", "--seed", "-1"], "--seed must be an integer from 0 to 4294967295"),
        (["run", "--source", "synthetic:-1", "--max-frames", "1", "--out", str(out)], "'synthetic:-1': the seed"),
        (["record", "--source", "synthetic:-1", "--frames", "1", "--out", str(out)], "'synthetic:-1': the seed"),
        (["train", str(train_data), *TINY_TRAIN, "--seed", "-1", "--out", str(out),
          "--cache-dir", str(tmp_path / "cache")], "--seed must be an integer from 0 to 4294967295, got -1"),
        (["synth", str(out), "--frames", "2", "--seed", str(2**32)], "got 4294967296"),
    ]
    for args, message in cases:
        assert main(args) == 2, args
        _assert_one_clear_line(capsys.readouterr().err, message)
        assert sorted(p.name for p in tmp_path.iterdir()) == [], args  # no output folder, no cache


# --- record: a second Ctrl-C while the queue is written keeps the labels -----------------------------------------

@pytest.mark.slow
def test_second_ctrl_c_during_record_shutdown_keeps_the_labels(tmp_path: Path) -> None:
    from inference.formats.nyu_io import NyuSequence, read_joint_data, write_joint_data

    source = write_blob_sequence(tmp_path / "src", frames=4, seed=1)
    labels = read_joint_data(source / "joint_data.mat")
    frames = 160  # copies of the four frames: enough to keep the writer busy for a second after the first Ctrl-C
    for number in range(5, frames + 1):
        for kind in ("depth", "rgb"):
            shutil.copy(source / f"{kind}_1_{(number - 1) % 4 + 1:07d}.png", source / f"{kind}_1_{number:07d}.png")
    write_joint_data(source / "joint_data.mat", *(np.tile(labels[k], (1, frames // 4, 1, 1))
                                                  for k in ("joint_uvd", "joint_xyz")))
    out = tmp_path / "rec"
    env = {**os.environ, "PYTHONPATH": str(PROJECT_ROOT)}
    proc = subprocess.Popen([sys.executable, "-m", "handpose", "record", "--source", f"replay:{source}", "--out",
                             str(out), "--queue", "100"], stderr=subprocess.PIPE, text=True, env=env)

    def written() -> int:
        return len(list(out.glob("depth_*.png"))) if out.is_dir() else 0

    deadline = time.monotonic() + 60
    while written() < 5 and time.monotonic() < deadline:
        time.sleep(0.01)
    proc.send_signal(signal.SIGINT)  # stop capturing; the queued frames are being written
    at_first = written()
    while written() == at_first and proc.poll() is None:
        time.sleep(0.005)
    proc.send_signal(signal.SIGINT)  # while they are still being written
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, err
    assert "second Ctrl-C" in err and "Traceback" not in err, err
    seq = NyuSequence(out)
    assert 5 <= len(seq) < frames  # the rest of the queue was dropped...
    assert all(seq.eval_labels_uvd(n) is not None for n in seq.frame_numbers)  # ...every written frame is labelled
    assert _no_part_files(out) == []


def test_atomic_write_through_a_symlink_keeps_the_link(tmp_path: Path) -> None:
    from inference.core.outputs import write_text_atomic

    (tmp_path / "real.json").write_text("old")
    (tmp_path / "link.json").symlink_to("real.json")
    write_text_atomic(tmp_path / "link.json", "new")
    assert (tmp_path / "link.json").is_symlink() and (tmp_path / "real.json").read_text() == "new"


def test_crop_cache_on_a_full_disk_leaves_no_partial_cache(train_data: Path, tmp_path: Path) -> None:
    from training.crop_cache import CacheParams, build_cache

    with _disk_full_after(20_000), pytest.raises(HandposeError, match=r"--cache-dir .*: cannot write \(File too"):
        build_cache([train_data], tmp_path / "cache", CacheParams(size=64, centre="labels"), workers=0,
                    progress=False)
    assert list((tmp_path / "cache").iterdir()) == []  # no half-built (possibly gigabytes) .part folder
