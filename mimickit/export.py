"""Export a trained policy for use outside MimicKit: an ONNX actor with the observation and action normalisers
folded in, a JSON sidecar describing its inputs, outputs and the character it drives, and (MuJoCo engine) the
compiled scene as ``.mjb`` with the index layout ``tools/sim2sim.py`` needs.

    mimickit export --model_file output/deepmimic_humanoid_walk/model.pt --out policy.onnx
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

import torch
from torch import nn

from mimickit.anim.kin_char_model import JointType
from mimickit.envs.char_env import CharEnv
from mimickit.envs.env_builder import build_env
from mimickit.learning.agent_builder import build_agent
from mimickit.learning.ppo_agent import PPOAgent
from mimickit.learning.runner import Runner
from mimickit.util.arg_parser import parse_args
from mimickit.util.checkpoint import CheckpointError
from mimickit.util.config import ConfigError, load_yaml
from mimickit.util.paths import resolve_path, run_config_files

SIDECAR_FORMAT = "mimickit-policy-1"


class DeterministicActor(nn.Module):
    """``obs [B, obs_dim] -> action [B, A]``: normalise, actor MLP mean, unnormalise (env action units)."""

    def __init__(self, agent: PPOAgent) -> None:
        super().__init__()
        self.register_buffer("obs_mean", agent.obs_norm.mean.clone())
        self.register_buffer("obs_std", agent.obs_norm.std.clone())
        self.register_buffer("action_mean", agent.a_norm.mean.clone())
        self.register_buffer("action_std", agent.a_norm.std.clone())
        self.clip = float(agent.obs_norm.clip)
        self.body = agent.model.actor_body
        self.head = agent.model.policy.mean

    def forward(self, obs: torch.Tensor) -> torch.Tensor:
        norm = ((obs - self.obs_mean) / self.obs_std).clamp(-self.clip, self.clip)
        return self.head(self.body(norm)) * self.action_std + self.action_mean


def _dof_names(env: CharEnv) -> list[str]:
    names = []
    for joint in env.kin_model.joints[1:]:
        if joint.joint_type == JointType.SPHERICAL:
            names += [f"{joint.name}:exp_map_{axis}" for axis in "xyz"]
        else:
            names += [f"{joint.name}:{'hinge' if joint.dof_dim == 1 else 'dof'}{'' if joint.dof_dim == 1 else i}"
                      for i in range(joint.dof_dim)]
    return names


def describe(env: CharEnv, agent: PPOAgent, env_config: str, engine_config: str | None) -> dict[str, Any]:
    """The sidecar: observation layout, action meaning and order, PD gains, limits, rates, character, clip."""
    kp, kd = env.engine.get_pd_gains(env.char_id)
    low, high = env.action_bounds
    config = env.config
    residual = config.get("residual_action", False)
    return {
        "format": SIDECAR_FORMAT, "agent": agent.NAME, "env_name": config.get("env_name"),
        "observation": {
            "dim": env.obs_dim,
            "layout": [{"name": name, "start": part.start, "size": part.stop - part.start}
                       for name, part in env.obs_layout.items()],
            "global_obs": config["global_obs"],
            "root_height_obs": config["root_height_obs"],
            "key_bodies": list(config["key_bodies"]), "tar_obs_steps": config.get("tar_obs_steps"),
            "definition": "mimickit/envs/terms/observations.py (compute_char_obs, compute_target_obs, ...)"},
        "action": {"dim": int(low.numel()), "dof_names": _dof_names(env), "low": low.tolist(), "high": high.tolist(),
                   "control_mode": env.engine.control_mode.name.lower(), "residual_action": residual,
                   "meaning": ("PD target = reference DoF positions one control step ahead + action" if residual
                               else "PD target DoF positions"),
                   "units": "rad per hinge DoF; exp-map components (rad) for 3-DoF ball joints"},
        "pd": {"kp": kp.tolist(), "kd": kd.tolist(),
               "torque_limit": env.engine.get_torque_limits(env.char_id).tolist()},
        "rates": {"control_freq": env.engine.control_freq, "sim_freq": env.engine.sim_freq},
        "character": {"char_file": config.get("char_file"), "body_names": env.kin_model.body_names,
                      "joint_names": [j.name for j in env.kin_model.joints[1:]]},
        "motion_file": config.get("motion_file"), "episode_length": config.get("episode_length"),
        "env_config": config, "engine_config": load_yaml(engine_config) if engine_config else {},
        "source_env_config": env_config,
    }


def export_policy(model_file: str, out: str, arg_file: str = "args/deepmimic_humanoid_ppo_args.txt") -> dict:
    """Write ``out`` (ONNX, input ``obs`` [batch, obs_dim], output ``action`` [batch, A]) and ``out`` with
    ``.json``; returns the sidecar."""
    args = parse_args(["--arg_file", arg_file])
    model = resolve_path(model_file)
    env_config, agent_config = run_config_files(model, args["env_config"], args["agent_config"])
    env = build_env(env_config, args["engine_config"], 1)
    try:
        agent = build_agent(agent_config, env)
        if not isinstance(agent, PPOAgent) or agent._policy_input_dim() != env.obs_dim:
            raise ConfigError(f"{model_file}: export supports observation-only Gaussian policies (PPO, AWR, AMP, ADD), "
                              f"not {agent.NAME}")
        Runner(env, agent).load(model, resume=False)
        actor = DeterministicActor(agent).eval()
        out_path = Path(out)
        out_path.parent.mkdir(parents=True, exist_ok=True)
        example = (torch.zeros(2, env.obs_dim),)
        torch.onnx.export(actor, example, str(out_path), input_names=["obs"], output_names=["action"],
                          dynamic_shapes={"obs": {0: torch.export.Dim("batch")}}, dynamo=True, verbose=False,
                          external_data=False)
        sidecar = describe(env, agent, env_config, args["engine_config"])
        scene = getattr(env.engine, "scene", None)
        if scene is not None:  # a MuJoCo engine: the exact scene, for tools/sim2sim.py
            scene.save_model(str(out_path.with_suffix(".mjb")))
            sidecar["mujoco"] = {"model_file": out_path.with_suffix(".mjb").name, **scene.mujoco_layout()}
        out_path.with_suffix(".json").write_text(json.dumps(sidecar, indent=1) + "\n")
        return sidecar
    finally:
        env.close()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="mimickit export", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model_file", required=True)
    parser.add_argument("--out", required=True, help="the .onnx file to write (its .json sidecar goes beside it)")
    parser.add_argument("--arg_file", default="args/deepmimic_humanoid_ppo_args.txt",
                        help="configs for a model whose folder holds no config copies")
    cli = parser.parse_args(argv)
    try:
        sidecar = export_policy(cli.model_file, cli.out, cli.arg_file)
    except (ConfigError, CheckpointError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    except ImportError as err:
        print(f"error: ONNX export needs onnx and onnxscript (pip install 'mimickit[export]'): {err}", file=sys.stderr)
        return 2
    print(f"wrote {cli.out} (obs {sidecar['observation']['dim']} -> action {sidecar['action']['dim']}) and "
          f"{Path(cli.out).with_suffix('.json')}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
