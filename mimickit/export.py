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
from mimickit.envs.hlc_env import HighLevelEnv
from mimickit.learning.agent_builder import build_agent
from mimickit.learning.ase_agent import ASEAgent
from mimickit.learning.low_level import build_env
from mimickit.learning.ppo_agent import PPOAgent
from mimickit.learning.runner import Runner
from mimickit.util.arg_parser import model_run_args
from mimickit.util.checkpoint import CheckpointError
from mimickit.util.cli import guarded
from mimickit.util.config import ConfigError, load_yaml
from mimickit.util.paths import resolve_path

SIDECAR_FORMAT = "mimickit-policy-1"
DEFAULT_ARG_FILE = "args/deepmimic_humanoid_ppo_args.txt"  # for checkpoints that carry no configs


class DeterministicActor(nn.Module):
    """``obs [B, obs_dim]`` (and, for a skill policy, ``latent [B, latent_dim]``) ``-> action [B, A]``: normalise
    the observation, append the latent as it is (as the ASE agent feeds it), actor MLP mean, unnormalise (env
    action units)."""

    obs_mean: torch.Tensor  # buffers [obs_dim], [obs_dim], [A], [A]
    obs_std: torch.Tensor
    action_mean: torch.Tensor
    action_std: torch.Tensor

    def __init__(self, agent: PPOAgent) -> None:
        super().__init__()
        seen = slice(None, agent.model.actor_dim)  # an asymmetric actor-critic's actor sees the leading part only
        self.register_buffer("obs_mean", agent.obs_norm.mean[seen].clone())
        self.register_buffer("obs_std", agent.obs_norm.std[seen].clone())
        self.register_buffer("action_mean", agent.a_norm.mean.clone())
        self.register_buffer("action_std", agent.a_norm.std.clone())
        self.clip = float(agent.obs_norm.clip)
        self.body = agent.model.actor_body
        self.head = agent.model.policy.mean

    def forward(self, obs: torch.Tensor, latent: torch.Tensor | None = None) -> torch.Tensor:
        norm = ((obs - self.obs_mean) / self.obs_std).clamp(-self.clip, self.clip)
        if latent is not None:
            norm = torch.cat([norm, latent], dim=-1)
        return self.head(self.body(norm)) * self.action_std + self.action_mean


def _write_onnx(agent: PPOAgent, obs_dim: int, latent_dim: int, path: Path) -> None:
    """The agent's deterministic actor as ONNX: input ``obs`` (and ``latent`` when ``latent_dim`` > 0), output
    ``action``, any batch size."""
    actor = DeterministicActor(agent).eval()
    batch = torch.export.Dim("batch")
    example: tuple[torch.Tensor, ...] = (torch.zeros(2, obs_dim),)
    names, shapes = ["obs"], {"obs": {0: batch}}
    if latent_dim:
        example += (torch.nn.functional.normalize(torch.ones(2, latent_dim), dim=-1),)
        names.append("latent")
        shapes["latent"] = {0: batch}
    torch.onnx.export(actor, example, str(path), input_names=names, output_names=["action"], dynamic_shapes=shapes,
                      dynamo=True, verbose=False, external_data=False)


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
    drive = env.drive_description()
    low, high = env.action_bounds
    config = env.config
    residual = config.get("residual_action", False)
    return {
        "format": SIDECAR_FORMAT, "agent": agent.NAME, "env_name": config.get("env_name"),
        "observation": {
            "dim": env.actor_obs_dim,  # what the actor needs; a privileged critic-only part is left out
            "layout": [{"name": name, "start": part.start, "size": part.stop - part.start}
                       for name, part in env.obs_layout.items() if part.stop <= env.actor_obs_dim],
            "robot_obs": bool(config.get("robot_obs", False)),
            "obs_history": int(config.get("obs_history", 0)),  # earlier char terms, newest first (char_history)
            "global_obs": config["global_obs"],
            "root_height_obs": config["root_height_obs"],
            "key_bodies": list(config["key_bodies"]), "tar_obs_steps": config.get("tar_obs_steps"),
            "definition": "mimickit/envs/terms/observations.py (compute_char_obs, compute_target_obs, ...)"},
        "action": {"dim": int(low.numel()), "dof_names": _dof_names(env), "low": low.tolist(), "high": high.tolist(),
                   "control_mode": drive["control_mode"], "residual_action": residual,
                   "meaning": ("PD target = reference DoF positions one control step ahead + action" if residual
                               else "PD target DoF positions"),
                   "units": "rad per hinge DoF; exp-map components (rad) for 3-DoF ball joints"},
        "pd": {"kp": drive["kp"], "kd": drive["kd"], "torque_limit": drive["torque_limit"]},
        "rates": {"control_freq": drive["control_freq"], "sim_freq": drive["sim_freq"]},
        "character": {"char_file": config.get("char_file"), "body_names": env.kin_model.body_names,
                      "joint_names": [j.name for j in env.kin_model.joints[1:]]},
        "motion_file": config.get("motion_file"), "episode_length": config.get("episode_length"),
        "env_config": config, "engine_config": load_yaml(engine_config) if engine_config else {},
        "source_env_config": env_config,
    }


def export_policy(model_file: str, out: str, arg_file: str | None = None) -> dict:
    """Write ``out`` (ONNX, input ``obs`` [batch, obs_dim] — plus ``latent`` for an ASE skill policy — output
    ``action`` [batch, A]) and ``out`` with ``.json``; a high-level controller also writes its frozen skill policy
    as ``<out stem>_low_level.onnx``, the sidecar saying how the two chain. Returns the sidecar."""
    model = resolve_path(model_file)
    args = model_run_args(model, arg_file, DEFAULT_ARG_FILE)
    env_config, agent_config = args["env_config"], args["agent_config"]
    env = build_env(env_config, args["engine_config"], 1)
    try:
        agent = build_agent(agent_config, env)
        if not isinstance(agent, PPOAgent):
            raise ConfigError(f"{model_file}: export supports Gaussian policies (PPO, AWR, AMP, ADD, ASE), "
                              f"not {agent.NAME}")
        Runner(env, agent).load(model, resume=False)
        out_path = Path(out)
        out_path.parent.mkdir(parents=True, exist_ok=True)
        char_env = env.inner if isinstance(env, HighLevelEnv) else env
        if not isinstance(char_env, CharEnv):
            raise ConfigError(f"{model_file}: export needs a character env, not {type(char_env).__name__}")
        latent_dim = agent.latent_dim if isinstance(agent, ASEAgent) else 0
        _write_onnx(agent, env.actor_obs_dim, latent_dim, out_path)
        sidecar = describe(char_env, agent, env_config, args["engine_config"])
        if isinstance(agent, ASEAgent):
            sidecar["latent"] = {"dim": latent_dim, "input": "latent",
                                 "meaning": "skill latent z of unit length (ASE); one latent held for seconds "
                                            "gives one behaviour",
                                 "hold_seconds": list(agent.latent_time)}  # how long training held each latent
        if isinstance(env, HighLevelEnv):
            sidecar.update(_high_level_parts(env, out_path))
        scene = char_env.exported_scene()
        if scene is not None:  # a MuJoCo engine: the exact scene, for tools/sim2sim.py
            scene.save_model(str(out_path.with_suffix(".mjb")))
            sidecar["mujoco"] = {"model_file": out_path.with_suffix(".mjb").name, **scene.mujoco_layout()}
        out_path.with_suffix(".json").write_text(json.dumps(sidecar, indent=1) + "\n")
        return sidecar
    finally:
        env.close()


def _high_level_parts(env: HighLevelEnv, out_path: Path) -> dict[str, Any]:
    """Write the frozen skill policy beside the high-level one; the sidecar fields that chain them."""
    low_level = env.low_level
    if not isinstance(low_level, ASEAgent):
        raise ConfigError("export of a high-level controller needs an ASE skill policy underneath")
    low_path = out_path.with_name(f"{out_path.stem}_low_level.onnx")
    char_obs = env.char_obs
    _write_onnx(low_level, char_obs.stop - char_obs.start, low_level.latent_dim, low_path)
    return {
        "high_level": {
            "action": {"dim": low_level.latent_dim,
                       "meaning": "a skill latent: normalise it to unit length, feed it to the low-level policy "
                                  "for llc_steps control steps"},
            "llc_steps": env.llc_steps,
            "low_level_model": low_path.name,
            "low_level_inputs": {"obs": {"from": "observation", "start": char_obs.start,
                                         "size": char_obs.stop - char_obs.start},
                                 "latent": "the high-level action normalised to unit length"},
            "note": "the 'action' entry below describes the low-level policy's output (PD targets)"},
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="mimickit export", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model_file", required=True)
    parser.add_argument("--out", required=True, help="the .onnx file to write (its .json sidecar goes beside it)")
    parser.add_argument("--arg_file", default=None,
                        help="configs to export with (default: those the model was trained with; for an old "
                             f"checkpoint that carries none, {DEFAULT_ARG_FILE})")
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
    sys.exit(guarded(main))
