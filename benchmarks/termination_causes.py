#!/usr/bin/env python
"""Why training episodes end: a model played in its own TRAIN-mode env (randomisation and pushes included, its
stochastic policy), each failure classified as a ground contact, pose termination in world positions, and pose
termination that would remain with the character moved onto its reference's root x-y (drift excluded).

    python benchmarks/termination_causes.py --model_file data/models/deepmimic_g1_walk_robust_model.pt \\
        [--num_envs 128] [--steps 450] [--seed 0]
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
from mimickit.envs.terms.terminations import contact_failure, pose_failure  # noqa: E402
from mimickit.learning.agent_builder import build_agent  # noqa: E402
from mimickit.learning.runner import Runner  # noqa: E402
from mimickit.util.arg_parser import model_run_args  # noqa: E402
from mimickit.util.cli import at_least, guarded  # noqa: E402
from mimickit.util.paths import resolve_path  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model_file", required=True)
    parser.add_argument("--arg_file", default=None, help="configs (default: those the model was trained with)")
    parser.add_argument("--num_envs", type=at_least(1), default=128)
    parser.add_argument("--steps", type=at_least(1), default=450)
    parser.add_argument("--seed", type=int, default=0)
    cli = parser.parse_args()
    model = resolve_path(cli.model_file)
    args = model_run_args(model, cli.arg_file, "args/deepmimic_humanoid_ppo_args.txt")
    torch.manual_seed(cli.seed)
    env = build_env(args["env_config"], args["engine_config"], cli.num_envs)
    try:
        if not hasattr(env, "pose_termination_dist"):
            raise SystemExit(f"{cli.model_file}: {type(env).__name__} is not a tracking env")
        agent = build_agent(args["agent_config"], env)
        runner = Runner(env, agent)
        runner.load(model, resume=False)
        runner.set_mode(EnvMode.TRAIN)
        obs = runner._reset_all()
        ended = contact = pose_world = pose_aligned = 0
        with torch.no_grad():
            for _ in range(cli.steps):
                action, _ = agent.act(obs)
                obs, _, done, _ = env.step(action)
                failed = done == int(DoneFlags.FAIL)
                body, ref = env.engine.get_body_pos(env.char_id), env.reference["body_pos"]
                contact += int((contact_failure(env.engine.get_ground_contact_forces(env.char_id),
                                                env.allowed_contact) & failed).sum())
                pose_world += int((pose_failure(body, ref, env.pose_termination_dist, False) & failed).sum())
                pose_aligned += int((pose_failure(body, ref, env.pose_termination_dist, True) & failed).sum())
                finished = (done != int(DoneFlags.NULL)).nonzero().flatten()
                ended += finished.numel()
                obs = env.reset(finished)[0].clone() if finished.numel() else obs.clone()
    finally:
        env.close()
    print(f"{cli.num_envs} envs x {cli.steps} TRAIN steps: {ended} episodes ended; failures by ground contact "
          f"{contact}, by pose termination in world positions {pose_world}, of which with the root moved onto the "
          f"reference's x-y {pose_aligned}")


if __name__ == "__main__":
    sys.exit(guarded(main))
