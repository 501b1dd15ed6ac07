#!/usr/bin/env python
"""Write a slim copy of a checkpoint: the agent's networks and normalisers, its signature and counters, without
optimiser and RNG state (what ``data/models/`` ships; full checkpoints stay in run folders for resuming).

    python tools/slim_model.py data/runs/<run>/model.pt data/models/<method>_<char>_<clip>_model.pt

A checkpoint from before checkpoints carried their run's configs gets them with ``--arg_file`` (and
``--motion_file`` when the run replaced its env config's clip), so the slim model alone can be tested and exported.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from mimickit.util import run_folder
from mimickit.util.arg_parser import parse_args
from mimickit.util.checkpoint import CheckpointError, load_checkpoint, save_checkpoint, slim_payload
from mimickit.util.cli import guarded
from mimickit.util.config import ConfigError


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("model_file", help="a checkpoint written by MimicKit (model.pt)")
    parser.add_argument("out", help="where to write the slim model (a new file, or a slim model to replace)")
    parser.add_argument("--arg_file", default="", help="the run's arg file: its configs go into a model that "
                        "carries none")
    parser.add_argument("--motion_file", default="", help="with --arg_file: the clip the run trained on instead of "
                        "its env config's")
    args = parser.parse_args(argv)
    try:
        payload = load_checkpoint(args.model_file)
        if "agent" not in payload or "signature" not in payload:
            raise CheckpointError(f"{args.model_file}: not a MimicKit checkpoint (no agent or signature)")
        out = Path(args.out)
        if out.exists() and not load_checkpoint(out).get("slim"):  # a full checkpoint holds what resuming needs
            raise CheckpointError(f"{out}: exists and is a full checkpoint (optimiser and RNG state); write the slim "
                                  f"model to another file")
        slim = slim_payload(payload)
        if args.arg_file:
            if slim.get("run_configs"):
                raise CheckpointError(f"{args.model_file}: carries its run's configs already; --arg_file would "
                                      f"replace them")
            run_args = parse_args(["--arg_file", args.arg_file])
            slim["run_configs"] = run_folder.config_texts(run_args["env_config"], run_args["agent_config"],
                                                          run_args["engine_config"], args.motion_file)
        save_checkpoint(out, slim)
    except (CheckpointError, ConfigError, OSError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    print(f"wrote {args.out} ({Path(args.out).stat().st_size / 1e6:.1f} MB)")
    return 0


if __name__ == "__main__":
    sys.exit(guarded(main))
