"""Shared by every command-line entry point (``mimickit``, ``tools/*.py``, ``benchmarks/*.py``): input a user can
fix is reported as one line on stderr with exit code 2, never as a traceback."""

from __future__ import annotations

import argparse
import math
import sys
from collections.abc import Callable

from mimickit.anim.mjcf_loader import CharModelError
from mimickit.anim.motion import MotionFileError
from mimickit.util.checkpoint import CheckpointError
from mimickit.util.config import ConfigError

USER_ERRORS = (ConfigError, MotionFileError, CheckpointError, CharModelError)


def guarded(main: Callable[[], int | None]) -> int:
    """Run a tool's ``main``; its return value (None: 0) is the exit code, a user error prints
    ``error: <message>`` and gives 2."""
    try:
        return main() or 0
    except USER_ERRORS as err:
        print(f"error: {err}", file=sys.stderr)
        return 2


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
