"""The CLI composition root: every subcommand exists, explains itself, and loads only what it needs."""

from __future__ import annotations

import importlib
import subprocess
import sys

import pytest

from handpose.cli import COMMANDS, build_parser


@pytest.mark.parametrize("name", list(COMMANDS))
def test_every_subcommand_is_implemented(name: str) -> None:
    module = importlib.import_module(f"handpose.commands.{name.replace('-', '_')}")
    assert callable(module.add_arguments) and callable(module.run)


def test_parser_has_all_subcommands() -> None:
    parser = build_parser()
    sub = next(a for a in parser._actions if a.dest == "command")
    assert set(sub.choices) == set(COMMANDS)


def test_command_modules_import_only_the_standard_library() -> None:
    """Building the parser must not drag in numpy, torch or Qt (so `handpose --help` is instant)."""
    code = (
        "import sys; from handpose.cli import build_parser; build_parser();"
        "heavy = [m for m in ('numpy', 'torch', 'PySide6', 'onnxruntime', 'open3d', 'cv2') if m in sys.modules];"
        "print(','.join(heavy))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""


@pytest.mark.parametrize("name", list(COMMANDS))
def test_help_explains(name: str) -> None:
    out = subprocess.run([sys.executable, "-m", "handpose", name, "--help"], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    assert "usage: handpose " + name in out.stdout
