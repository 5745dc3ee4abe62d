"""Without MediaPipe (or on a Python it has no wheels for) every command and the app still work, and asking for
the teacher is one clear line (exit 2), never a traceback. The absence is simulated: the import is made to fail."""

from __future__ import annotations

import sys
from collections import namedtuple
from pathlib import Path

import pytest

from handpose.cli import main
from inference.core.errors import ModelError
from inference.teacher import mediapipe_hands
from inference.teacher.mediapipe_hands import import_mediapipe, mediapipe_available
from tests.sources.frames import write_sequence


@pytest.fixture
def no_mediapipe(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "mediapipe", None)  # `import mediapipe` raises ImportError


def test_the_import_fails_with_how_to_install(no_mediapipe: None) -> None:
    with pytest.raises(ModelError) as err:
        import_mediapipe()
    message = str(err.value)
    assert "\n" not in message and "scripts/setup.sh" in message and "mediapipe==0.10.14" in message
    assert not mediapipe_available()


def test_a_python_without_wheels_is_named(monkeypatch: pytest.MonkeyPatch) -> None:
    version = namedtuple("version_info", "major minor micro releaselevel serial")
    monkeypatch.setattr(mediapipe_hands.sys, "version_info", version(3, 13, 1, "final", 0))
    with pytest.raises(ModelError, match=r"no wheels for Python 3\.13"):
        import_mediapipe()


@pytest.mark.parametrize("command", [
    ["run", "--source", "SRC", "--model", "mediapipe"],
    ["bench", "--source", "SRC", "--model", "mediapipe-full", "--frames", "2"],
    ["record", "--source", "SRC", "--out", "OUT", "--model", "mediapipe"],
    ["label", "--source", "SRC", "--out", "OUT"],
    ["eval", "--labels", "DIR", "--model", "mediapipe"],
])
def test_commands_asking_for_the_teacher_fail_in_one_line(
    no_mediapipe: None, command: list[str], tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    seq = write_sequence(tmp_path / "seq", 3)
    args = [a.replace("SRC", f"replay:{seq}").replace("OUT", str(tmp_path / "out")).replace("DIR", str(seq))
            for a in command]
    assert main(args) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "optional mediapipe package" in err[0], err
    assert not (tmp_path / "out").exists()  # nothing written before the failure


def test_handpose_model_env_names_the_teacher(no_mediapipe: None, monkeypatch: pytest.MonkeyPatch, tmp_path: Path,
                                              capsys: pytest.CaptureFixture) -> None:
    monkeypatch.setenv("HANDPOSE_MODEL", "mediapipe")
    seq = write_sequence(tmp_path / "seq", 2)
    assert main(["run", "--source", f"replay:{seq}"]) == 2
    assert "optional mediapipe package" in capsys.readouterr().err


def test_other_models_are_unaffected(no_mediapipe: None, tmp_path: Path) -> None:
    seq = write_sequence(tmp_path / "seq", 2)
    assert main(["run", "--source", f"replay:{seq}", "--out", str(tmp_path / "poses.jsonl")]) == 0
    assert len((tmp_path / "poses.jsonl").read_text().splitlines()) == 2


def test_the_app_offers_the_teacher_only_when_installed(no_mediapipe: None) -> None:
    pytest.importorskip("PySide6")
    from app import runtime

    names = [p.name for p in runtime.model_choices()]
    assert "mediapipe" not in names and "depthnet.onnx" in names
    with pytest.raises(ModelError, match="optional mediapipe package"):
        runtime.load_model("mediapipe")
