#!/usr/bin/env python
"""Convert a GMR retargeting result (a pickle of ``fps``, ``root_pos`` [N, 3], ``root_rot`` [N, 4] as x, y, z, w,
``dof_pos`` [N, D]) into a MimicKit clip for a robot with 1-DoF joints (G1, Go2, ...).

    python tools/import_gmr.py --input_file walk_gmr.pkl --output_file data/motions/g1/g1_walk_gmr.pkl \\
        --char_file data/assets/g1/g1.xml --loop wrap

The pickle is read with MimicKit's restricted unpickler (arrays, numbers, strings and containers only).
``--start_frame`` / ``--end_frame`` cut the clip; ``--output_fps`` resamples it in time (root position and
DoFs linearly, root rotation by slerp), unlike upstream's converter, which only relabelled the rate.
``--char_file`` checks that the DoF count matches the character.
"""

from __future__ import annotations

import argparse
import math
import pickle
import sys
from pathlib import Path

import numpy as np
import torch

REPO_ROOT = Path(__file__).resolve().parents[1]
if str(REPO_ROOT) not in sys.path:
    sys.path.insert(0, str(REPO_ROOT))

from mimickit.anim.mjcf_loader import load_mjcf_char_model  # noqa: E402
from mimickit.anim.motion import LoopMode, Motion, MotionFileError, safe_load_pickle, save_motion  # noqa: E402
from mimickit.util import rotations as rot  # noqa: E402
from mimickit.util.cli import guarded  # noqa: E402


def convert(data: dict, source: str, loop: LoopMode, start: int = 0, end: int = -1,
            output_fps: float = -1.0) -> Motion:
    """A clip from GMR arrays; errors name ``source`` and the field."""
    for key in ("fps", "root_pos", "root_rot", "dof_pos"):
        if key not in data:
            raise MotionFileError(f"{source}: missing field {key!r}")
    root_pos, root_rot = np.asarray(data["root_pos"], np.float64), np.asarray(data["root_rot"], np.float64)
    dof_pos = np.asarray(data["dof_pos"], np.float64)
    n = root_pos.shape[0]
    if root_pos.shape != (n, 3) or root_rot.shape != (n, 4) or dof_pos.ndim != 2 or dof_pos.shape[0] != n:
        raise MotionFileError(f"{source}: root_pos [N, 3], root_rot [N, 4] and dof_pos [N, D] must share N; found "
                              f"{root_pos.shape}, {root_rot.shape}, {dof_pos.shape}")
    fps = float(data["fps"])
    if not (math.isfinite(fps) and fps > 0):
        raise MotionFileError(f"{source}: field 'fps' must be a frame rate > 0, found {fps}")
    sl = slice(start, None if end < 0 else end)
    root_pos, root_rot, dof_pos = root_pos[sl], root_rot[sl], dof_pos[sl]
    for name, values in (("root_pos", root_pos), ("root_rot", root_rot), ("dof_pos", dof_pos)):
        if not np.isfinite(values).all():
            frame = int(np.argwhere(~np.isfinite(values))[0, 0]) + start
            raise MotionFileError(f"{source}: field {name!r} has a non-finite value in frame {frame}")
    if output_fps > 0 and output_fps != fps and len(root_pos) > 1:
        t_out = np.arange(0.0, (len(root_pos) - 1) / fps + 1e-9, 1.0 / output_fps)
        f = t_out * fps
        i0 = np.minimum(np.floor(f).astype(int), len(root_pos) - 2)
        b = (f - i0)[:, None]
        root_pos = (1 - b) * root_pos[i0] + b * root_pos[i0 + 1]
        dof_pos = (1 - b) * dof_pos[i0] + b * dof_pos[i0 + 1]
        q0, q1 = torch.tensor(root_rot[i0]), torch.tensor(root_rot[i0 + 1])
        root_rot = rot.slerp(rot.quat_unit(q0), rot.quat_unit(q1), torch.tensor(b[:, 0])).numpy()
        fps = output_fps
    root_exp = rot.quat_to_exp_map(rot.quat_unit(torch.tensor(root_rot))).numpy()
    frames = np.concatenate([root_pos, root_exp, dof_pos], axis=1).astype(np.float32)
    return Motion(loop, fps, frames)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--input_file", required=True)
    parser.add_argument("--output_file", required=True)
    parser.add_argument("--char_file", default="", help="check the DoF count against this character")
    parser.add_argument("--loop", choices=["wrap", "clamp"], default="wrap")
    parser.add_argument("--start_frame", type=int, default=0)
    parser.add_argument("--end_frame", type=int, default=-1)
    parser.add_argument("--output_fps", type=float, default=-1.0, help="resample to this rate [source rate]")
    cli = parser.parse_args(argv)
    try:
        try:
            data = safe_load_pickle(Path(cli.input_file).read_bytes())
        except pickle.UnpicklingError as err:
            raise MotionFileError(f"{cli.input_file}: {err}") from None
        if not isinstance(data, dict):
            raise MotionFileError(f"{cli.input_file}: expected a dict of arrays")
        motion = convert(data, cli.input_file, LoopMode.WRAP if cli.loop == "wrap" else LoopMode.CLAMP,
                         cli.start_frame, cli.end_frame, cli.output_fps)
        if cli.char_file:
            dofs = load_mjcf_char_model(cli.char_file).dof_size
            if motion.frames.shape[1] - 6 != dofs:
                raise MotionFileError(f"{cli.input_file}: dof_pos has {motion.frames.shape[1] - 6} values per frame, "
                                      f"{cli.char_file} has {dofs} DoFs")
        save_motion(cli.output_file, motion)
    except (OSError, MotionFileError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    print(f"wrote {cli.output_file}: {motion.num_frames} frames at {motion.fps:g} fps")
    return 0


if __name__ == "__main__":
    sys.exit(guarded(main))
