"""`handpose app`: argument checks (no display needed) and the --screenshot mode end to end (Xvfb)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from handpose.cli import main

PROJECT_ROOT = Path(__file__).resolve().parents[2]


def test_command_module_imports_no_qt() -> None:
    code = "import sys, handpose.commands.app; assert not {'PySide6', 'app.main_window'} & set(sys.modules)"
    subprocess.run([sys.executable, "-c", code], check=True, cwd=PROJECT_ROOT)


def test_bad_arguments_are_one_line_errors(capsys) -> None:
    assert main(["app", "--frames", "0"]) == 2
    assert "--frames must be at least 1" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main(["app", "--size", "800x600"])
    assert "at least 1280x800" in capsys.readouterr().err


def _run_app(args: list[str], tmp_path: Path) -> subprocess.CompletedProcess:
    cmd = [sys.executable, "-m", "handpose", "app", "--settings", str(tmp_path / "s.ini"), *args]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=120, cwd=PROJECT_ROOT)


@pytest.mark.gui
@pytest.mark.slow
def test_screenshot_mode_writes_the_window_and_exits(display, tmp_path, replay_dir, model_path) -> None:
    from PySide6.QtGui import QImage

    from app.settings_store import SettingsStore

    out = tmp_path / "shot.png"
    proc = _run_app(["--source", f"replay:{replay_dir}", "--model", str(model_path), "--screenshot", str(out),
                     "--frames", "5", "--size", "1920x1080", "--no-refine"], tmp_path)
    assert proc.returncode == 0, proc.stderr
    image = QImage(str(out))
    assert (image.width(), image.height()) == (1920, 1080)
    assert SettingsStore(str(tmp_path / "s.ini")).load().refine is False  # --no-refine is kept like the checkbox


@pytest.mark.gui
@pytest.mark.slow
def test_screenshot_mode_with_a_bad_source_still_shows_the_error(display, tmp_path, model_path) -> None:
    out = tmp_path / "shot.png"
    proc = _run_app(["--source", f"replay:{tmp_path / 'missing'}", "--model", str(model_path),
                     "--screenshot", str(out), "--frames", "5"], tmp_path)
    assert proc.returncode == 1
    assert "missing" in proc.stderr and "directory does not exist" in proc.stderr
    assert out.is_file()  # the window with its error banner


@pytest.mark.gui
@pytest.mark.slow
def test_soak_app_runs_the_window_and_prints_one_json_object(display, tmp_path, replay_dir, model_path) -> None:
    import json

    cmd = [sys.executable, "-m", "handpose", "soak", "--app", "--source", f"replay:{replay_dir}", "--model",
           str(model_path), "--minutes", "0.05", "--sample-s", "1", "--replay-fps", "0",
           "--settings", str(tmp_path / "s.ini")]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=120, cwd=PROJECT_ROOT)
    assert proc.returncode == 0, proc.stderr
    result = json.loads(proc.stdout)
    assert result["frames_processed"] > 0 and result["rss_mb"]
    # The 3 s run from the first frame on: the warm-up before it (model load, the fit's first compilation on a
    # fresh checkout, seconds on a loaded machine) neither counts nor leaves the soak without frames (CI once did).
    assert result["warmup_s"] >= 0.0 and 2.5 <= result["seconds"] < 10.0


def test_soak_without_a_source_is_a_one_line_error(capsys) -> None:
    assert main(["soak", "--frames", "5"]) == 2
    assert "--source is required" in capsys.readouterr().err


@pytest.mark.gui
@pytest.mark.slow
def test_soak_runs_without_refinement_and_prints_strict_json(display, tmp_path, replay_dir, model_path) -> None:
    import json

    from app.settings import AppSettings
    from app.settings_store import SettingsStore

    user = tmp_path / "user.ini"  # stands for the user's stored settings
    SettingsStore(str(user)).save(AppSettings(refine=True, source="synthetic:3"))
    cmd = [sys.executable, "-m", "handpose", "soak", "--app", "--source", f"replay:{replay_dir}", "--model",
           str(model_path), "--minutes", "0.05", "--sample-s", "1", "--no-refine"]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=120, cwd=PROJECT_ROOT,
                          env={**os.environ, "HANDPOSE_APP_SETTINGS": str(user)})
    assert proc.returncode == 0, proc.stderr
    kept = SettingsStore(str(user)).load()  # a soak leaves what the app opens with next time as it was
    assert kept.refine is True and kept.source == "synthetic:3"

    def no_nan(name: str) -> None:
        raise AssertionError(f"{name} in the JSON")

    report = json.loads(proc.stdout, parse_constant=no_nan)
    assert report["refine"] is False and report["frames_processed"] > 0
    assert report["fit_residual_mm"] == {"median": None, "p95": None} and report["fit_ok_fraction"] == 0.0
    assert report["stages_ms"]["fit"]["median"] < 1.0  # the stage is there, and does nothing
