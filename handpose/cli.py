"""`handpose` command line: the composition root.

Each subcommand lives in ``handpose/commands/<name>.py`` with ``add_arguments(parser)`` and
``run(args) -> int``; those modules import only the standard library at module level and load
numpy / torch / Qt lazily inside ``run``, so that e.g. ``handpose eval`` never imports torch or Qt.
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys
from typing import Any, TextIO

# name -> one-line help. The module handpose.commands.<name with '-' as '_'> implements it.
COMMANDS: dict[str, str] = {
    "synth": "generate a synthetic NYU-format RGB-D hand sequence",
    "eval": "evaluate predictions against labels (mean/per-joint error, success rate)",
    "nets": "list the thesis networks with their layer and parameter counts",
    "train": "train a network on NYU-format data",
    "tune": "random-search the learning rate, momentum and dropout (thesis sec. 4.3)",
    "export": "export a training run to a self-describing ONNX model",
    "run": "estimate poses from a source and write one JSON line per frame",
    "bench": "measure per-stage latency and FPS of the pipeline",
    "soak": "run the pipeline (or the app) for a long while and report memory growth",
    "app": "open the desktop app",
    "record": "record a source to an NYU-format directory",
    "label": "label an RGB-D source with the RGB teacher (MediaPipe) into an NYU-format directory",
    "devices": "list connected RealSense cameras",
}


def build_parser(command: str | None = None) -> argparse.ArgumentParser:
    """The whole command line; with ``command``, only that subcommand gets its options (the others list with their
    help line), so running one command never loads what another's options are built from (`handpose eval` does
    not import the training recipe behind `handpose train`'s defaults)."""
    parser = argparse.ArgumentParser(
        prog="handpose",
        description="Real-time 3D hand pose estimation from RGB-D cameras (thesis Depth-Net / Fuse-Net).",
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for name, help_text in COMMANDS.items():
        module = importlib.import_module(f"handpose.commands.{name.replace('-', '_')}")
        doc = (module.__doc__ or help_text).strip()
        p = sub.add_parser(name, help=help_text, description=doc, formatter_class=argparse.RawDescriptionHelpFormatter)
        if command is None or command == name:
            module.add_arguments(p)
        p.set_defaults(_module=module)
    return parser


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    command = next((a for a in argv if not a.startswith("-")), None)  # the subcommand: the first positional
    parser = build_parser(command if command in COMMANDS else None)
    args = parser.parse_args(argv)
    from inference.core.errors import HandposeError

    stdout = sys.stdout = _StdoutGuard(sys.stdout)
    try:
        code = int(args._module.run(args) or 0)
        sys.stdout.flush()  # a reader that left, or a full disk under `> file`, shows up here and not at exit
        return code
    except BrokenPipeError:
        if not (isinstance(stdout.error, BrokenPipeError) or _stdout_reader_gone()):
            raise  # some other pipe broke: a bug worth its traceback
        _discard_stdout()
        return 0  # the reader (e.g. `| head -1`) has what it wanted, as with any Unix tool
    except HandposeError as exc:
        _report(args.command, exc, stdout)
        return 2
    except OSError as exc:
        if stdout.error is not exc:
            raise
        _report(args.command, f"stdout: cannot write ({exc.strerror or exc})", stdout)
        return 2
    except KeyboardInterrupt:
        print(f"handpose {args.command}: interrupted", file=sys.stderr)
        return 130
    finally:
        sys.stdout = stdout.stream


class _StdoutGuard:
    """stdout as it is, remembering the first OSError of a write or flush: a full disk under ``> file`` is then
    told apart from other errors, and reported in one line."""

    def __init__(self, stream: TextIO) -> None:
        self.stream = stream
        self.error: OSError | None = None

    def write(self, text: str) -> int:
        try:
            return self.stream.write(text)
        except OSError as exc:
            self.error = self.error or exc
            raise

    def flush(self) -> None:
        try:
            self.stream.flush()
        except OSError as exc:
            self.error = self.error or exc
            raise

    def __getattr__(self, name: str) -> Any:
        return getattr(self.stream, name)


def _report(command: str, message: object, stdout: _StdoutGuard) -> None:
    if stdout.error is not None:
        _discard_stdout()  # output stdout cannot take must not turn into "Exception ignored" at exit
    print(f"handpose {command}: error: {message}", file=sys.stderr)


def _stdout_reader_gone() -> bool:
    """True when stdout is a pipe whose reading end was closed (poll reports an error on the writing end): also
    when the output went there by another way (``--out /dev/stdout``)."""
    import select

    try:
        poller = select.poll()
        poller.register(sys.stdout.fileno(), select.POLLOUT)
        return any(events & select.POLLERR for _, events in poller.poll(0))
    except (AttributeError, ValueError, OSError):  # no real file descriptor (e.g. captured in tests)
        return False


def _discard_stdout() -> None:
    """Point stdout at /dev/null, so that the interpreter's final flush of output nobody can take is silent
    (the recipe of the Python docs for SIGPIPE) instead of printing "Exception ignored ... BrokenPipeError"."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)
    except (AttributeError, ValueError, OSError):  # no real file descriptor: nothing will be flushed to it
        pass


if __name__ == "__main__":
    sys.exit(main())
