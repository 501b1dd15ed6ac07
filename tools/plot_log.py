#!/usr/bin/env python
"""Learning curves from MimicKit logs (the same as ``mimickit plot``); see mimickit/plot.py or ``--help``."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from mimickit.plot import main
from mimickit.util.cli import guarded

if __name__ == "__main__":
    sys.exit(guarded(main))
