"""Shared by every command-line entry point (``mimickit``, ``tools/*.py``, ``benchmarks/*.py``): input a user can
fix is reported as one line on stderr with exit code 2, never as a traceback."""

from __future__ import annotations

import argparse
import math
import signal
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

from mimickit.anim.mjcf_loader import CharModelError
from mimickit.anim.motion import MotionFileError
from mimickit.util.checkpoint import CheckpointError
from mimickit.util.config import ConfigError

USER_ERRORS = (ConfigError, MotionFileError, CheckpointError, CharModelError)


def guarded(main: Callable[[], int | None]) -> int:
    """Run a tool's ``main``; its return value (None: 0) is the exit code, a user error prints
    ``error: <message>`` and gives 2, Ctrl-C prints ``interrupted`` and gives 130 (no traceback either way)."""
    try:
        return main() or 0
    except USER_ERRORS as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 128 + signal.SIGINT


def run_child(command: list[str], cwd: str | Path) -> int:
    """Run ``command`` to its end and return its exit code, from a parent that outlives Ctrl-C.

    A terminal sends Ctrl-C's SIGINT to the child itself (one process group), and a training run stops after its
    iteration with a checkpoint; so while the child runs this process ignores SIGINT (``subprocess.run`` would
    raise KeyboardInterrupt and kill the child before its checkpoint) and forwards SIGTERM."""
    child = subprocess.Popen(command, cwd=cwd)
    previous = {signal.SIGINT: signal.signal(signal.SIGINT, signal.SIG_IGN),  # set after the exec: the child keeps it
                signal.SIGTERM: signal.signal(signal.SIGTERM, lambda signum, frame: child.send_signal(signum))}
    try:
        return child.wait()
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def at_least(minimum: float, kind: type = int) -> Callable[[str], float]:
    """An argparse ``type`` that converts with ``kind`` and refuses values below ``minimum`` (and NaN)."""

    def convert(text: str) -> float:
        try:
            value = kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"must be {kind.__name__}, found {text!r}") from None
        if not (value >= minimum and not (isinstance(value, float) and math.isnan(value))):
            raise argparse.ArgumentTypeError(f"must be >= {minimum}, found {text}")
        return value

    return convert
