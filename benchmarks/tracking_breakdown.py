#!/usr/bin/env python
"""Where a tracking policy's Eq. 2 error comes from: root drift vs root-relative body error, over episode
time, per body and per joint angle, plus heading error and falls. The root drift is also split in the
reference's heading frame: along its walking direction (signed: + ahead of the reference, - behind) and
sideways (unsigned), which tells a character that lags or outruns its clip from one that turns off its path.

Runs ``--num_envs`` deterministic episodes of the checkpoint's env (TEST mode: early termination only on
undesired ground contact) for one full episode length, with the configs its run folder holds (or those of
``--arg_file``).

    python benchmarks/tracking_breakdown.py --model_file data/models/deepmimic_humanoid_walk_model.pt
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import torch

REPO_ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO_ROOT))

from mimickit.envs.base_env import DoneFlags, EnvMode  # noqa: E402
from mimickit.envs.env_builder import build_env  # noqa: E402
from mimickit.learning.agent_builder import build_agent  # noqa: E402
from mimickit.learning.runner import Runner  # noqa: E402
from mimickit.util import rotations as rot  # noqa: E402
from mimickit.util.arg_parser import model_run_args  # noqa: E402
from mimickit.util.cli import at_least, guarded  # noqa: E402
from mimickit.util.paths import resolve_path  # noqa: E402

WINDOWS_S = ((0.0, 1.0), (1.0, 3.0), (3.0, 6.0), (6.0, 10.0))


def heading_frame_offset(offset_xy: torch.Tensor, heading: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """A horizontal offset ``[N, 2]`` (m) in the frame of a heading ``[N]`` (rad, about z from the x axis): its
    component along the heading and its component to the heading's left, ``[N]`` each (m)."""
    cos, sin = torch.cos(heading), torch.sin(heading)
    return offset_xy[:, 0] * cos + offset_xy[:, 1] * sin, offset_xy[:, 1] * cos - offset_xy[:, 0] * sin


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model_file", required=True)
    parser.add_argument("--arg_file", default=None, help="configs (default: those the model was trained with)")
    parser.add_argument("--motion_file", default="")
    parser.add_argument("--num_envs", type=at_least(1), default=64)
    parser.add_argument("--seed", type=int, default=0)
    cli = parser.parse_args()
    model = resolve_path(cli.model_file)
    args = model_run_args(model, cli.arg_file, "args/deepmimic_humanoid_ppo_args.txt")
    env_config, agent_config = args["env_config"], args["agent_config"]
    torch.manual_seed(cli.seed)
    env = build_env(env_config, args["engine_config"], cli.num_envs, motion_file=cli.motion_file)
    agent = build_agent(agent_config, env)
    runner = Runner(env, agent)
    runner.load(model, resume=False)
    runner.set_mode(EnvMode.TEST)
    steps = round(env.episode_length / env.step_time)
    root_err, body_err, heading_err, joint_err, along_err, side_err = [], [], [], [], [], []
    falls = 0
    with torch.no_grad():
        obs, _ = env.reset()
        obs = obs.clone()
        for _ in range(steps):
            action, _ = agent.act(obs)
            obs, _, done, _ = env.step(action)
            obs = obs.clone()
            state, reference = env.char_state(), env.reference
            sim, ref = state["body_pos"], reference["body_pos"]
            root_err.append((sim[:, 0] - ref[:, 0]).norm(dim=-1))
            along, side = heading_frame_offset(sim[:, 0, :2] - ref[:, 0, :2], rot.calc_heading(reference["root_rot"]))
            along_err.append(along)
            side_err.append(side.abs())
            body_err.append(((sim[:, 1:] - sim[:, :1]) - (ref[:, 1:] - ref[:, :1])).norm(dim=-1))
            root_rot = state["root_rot"]
            heading_err.append(rot.quat_diff_angle(rot.calc_heading_quat(root_rot),
                                                   rot.calc_heading_quat(reference["root_rot"])))
            joint_err.append(rot.quat_diff_angle(state["joint_rot"], reference["joint_rot"]))
            falls += int((done == int(DoneFlags.FAIL)).sum())
            if (done != int(DoneFlags.NULL)).any():
                obs, _ = env.reset((done != int(DoneFlags.NULL)).nonzero().flatten())
                obs = obs.clone()
    root, body = torch.stack(root_err), torch.stack(body_err)  # [T, N], [T, N, B - 1]
    heading, joints = torch.stack(heading_err), torch.stack(joint_err)
    along, side = torch.stack(along_err), torch.stack(side_err)  # [T, N] each
    num_bodies = body.shape[-1] + 1
    e_pos = (root + body.sum(-1)) / num_bodies
    print(f"{cli.num_envs} envs x {steps} steps; falls (episodes ended by ground contact): {falls}")
    print(f"{'episode time':<14}{'root drift (m)':>16}{'along (m)':>11}{'sideways (m)':>14}{'body error (m)':>16}"
          f"{'heading (deg)':>15}{'e_pos (m)':>11}")
    for start, end in WINDOWS_S:
        s = slice(round(start / env.step_time), round(end / env.step_time))
        print(f"{f'{start:g}-{end:g} s':<14}{root[s].mean():>16.3f}{along[s].mean():>+11.3f}{side[s].mean():>14.3f}"
              f"{body[s].mean():>16.4f}"
              f"{heading[s].mean().rad2deg():>15.1f}{e_pos[s].mean():>11.4f}")
    print(f"e_pos {e_pos.mean():.4f} m = root term {(root / num_bodies).mean():.4f} + body term "
          f"{(body.sum(-1) / num_bodies).mean():.4f}")
    names = env.kin_model.body_names[1:]
    print("root-relative body error (m): " + ", ".join(f"{n} {body[:, :, i].mean():.3f}" for i, n in enumerate(names)))
    print("joint angle error (deg): " + ", ".join(f"{n} {joints[:, :, i].mean().rad2deg():.1f}"
                                                  for i, n in enumerate(names)))
    env.close()


if __name__ == "__main__":
    sys.exit(guarded(main))
