#!/usr/bin/env python
"""Retarget clips from one character to another (inverse kinematics on corresponding bodies, mink).

    python tools/retarget.py --config data/retarget/humanoid_to_g1.yaml \\
        --motion data/motions/humanoid/humanoid_walk.pkl --out data/motions/g1/g1_walk.pkl

Several ``--motion`` / ``--out`` pairs may be given. Prints per clip: foot skating (mean horizontal slide of a
foot between consecutive frames on the ground, cm), ground penetration before the lift (cm), joint-limit
violations and the mean distance of the IK targets (cm). Needs ``pip install mink``.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
if str(REPO_ROOT) not in sys.path:
    sys.path.insert(0, str(REPO_ROOT))

from mimickit.anim.motion import MotionFileError, load_motion, save_motion  # noqa: E402
from mimickit.anim.retarget import Correspondence, retarget  # noqa: E402
from mimickit.util.cli import guarded  # noqa: E402
from mimickit.util.config import ConfigError  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--config", required=True, help="correspondence yaml (data/retarget/*.yaml)")
    parser.add_argument("--motion", action="append", required=True, help="source clip (.pkl); repeatable")
    parser.add_argument("--out", action="append", required=True, help="output clip (.pkl); one per --motion")
    cli = parser.parse_args(argv)
    if len(cli.motion) != len(cli.out):
        print("error: give one --out per --motion", file=sys.stderr)
        return 2
    try:
        corr = Correspondence.from_yaml(cli.config)
        for src, dst in zip(cli.motion, cli.out, strict=True):
            clip, report = retarget(load_motion(src), corr)
            save_motion(dst, clip)
            print(f"{dst}: {clip.num_frames} frames; foot skating {report.foot_skating_cm:.2f} cm/frame, "
                  f"penetration {report.max_penetration_cm:.2f} cm, limit violations {report.limit_violations}, "
                  f"IK target error {report.target_error_cm:.1f} cm")
    except (ConfigError, MotionFileError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(guarded(main))
