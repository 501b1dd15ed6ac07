#!/usr/bin/env python
"""Import a BVH motion onto a character through the retargeter (inverse kinematics on corresponding bodies).

    python tools/import_bvh.py --input_file walk.bvh --config my_bvh_to_smpl.yaml \\
        --output_file data/motions/smpl/my_walk.pkl --length_unit 0.01 --up y --forward z

The correspondence yaml is the retargeter's (``data/retarget/*.yaml``) without ``source_char``: ``bodies``
map target bodies to BVH joint names (end sites are ``<joint>_end``). ``--length_unit`` is metres per file
unit (0.01 for centimetres), ``--up`` / ``--forward`` the file's up and facing axes (signed: ``-z``).
``scale: auto`` compares the target's standing height with the BVH root's height above its lowest joint in
the zero pose. Prints the clip's quality like tools/retarget.py. Needs ``pip install mink``.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
if str(REPO_ROOT) not in sys.path:
    sys.path.insert(0, str(REPO_ROOT))

from mimickit.anim.bvh import axis_change, bvh_source, load_bvh  # noqa: E402
from mimickit.anim.motion import LoopMode, MotionFileError, save_motion  # noqa: E402
from mimickit.anim.retarget import Correspondence, retarget_source  # noqa: E402
from mimickit.util.cli import guarded  # noqa: E402
from mimickit.util.config import ConfigError  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--input_file", required=True, help="BVH file")
    parser.add_argument("--config", required=True, help="correspondence yaml: target bodies <- BVH joints")
    parser.add_argument("--output_file", required=True)
    parser.add_argument("--length_unit", type=float, default=0.01, help="metres per BVH length unit [0.01]")
    parser.add_argument("--up", default="y", help="the file's up axis [y]")
    parser.add_argument("--forward", default="z", help="the file's facing axis [z]")
    parser.add_argument("--loop", choices=["wrap", "clamp"], default="wrap")
    cli = parser.parse_args(argv)
    try:
        corr = Correspondence.from_yaml(cli.config)
        try:
            axis_change(cli.up, cli.forward)
        except ValueError as err:
            raise ConfigError(f"--up/--forward: {err}") from None
        source = bvh_source(load_bvh(cli.input_file), cli.length_unit, cli.up, cli.forward,
                            LoopMode.WRAP if cli.loop == "wrap" else LoopMode.CLAMP)
        clip, report = retarget_source(source, corr)
        save_motion(cli.output_file, clip)
    except (ConfigError, MotionFileError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    print(f"{cli.output_file}: {clip.num_frames} frames at {clip.fps:g} fps; foot skating "
          f"{report.foot_skating_cm:.2f} cm/frame, penetration {report.max_penetration_cm:.2f} cm, limit violations "
          f"{report.limit_violations}, IK target error {report.target_error_cm:.1f} cm")
    return 0


if __name__ == "__main__":
    sys.exit(guarded(main))
