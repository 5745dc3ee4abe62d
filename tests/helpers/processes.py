"""Child processes that a test interrupts with SIGINT, as a user's Ctrl-C would."""

from __future__ import annotations

import signal
import subprocess
from typing import Any


def _default_sigint() -> None:
    # A shell running a command in the background (CI runners, `cmd &`) starts it with SIGINT ignored, and Python
    # then never installs its KeyboardInterrupt handler: give the child the default a terminal would.
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def interruptible(args: list[str], **kwargs: Any) -> subprocess.Popen:
    """``subprocess.Popen(args, **kwargs)`` whose child reacts to SIGINT whatever this process inherited."""
    return subprocess.Popen(args, preexec_fn=_default_sigint, **kwargs)
