"""A trained ASE skill policy, frozen, and the high-level controller env built over it (ASE's reuse): the layer
above ``mimickit.envs`` where envs and trained policies are composed, so envs never import learning."""

from __future__ import annotations

from typing import Any

import torch

from mimickit.envs.base_env import AdversarialEnv, BaseEnv, EnvMode
from mimickit.envs.char_env import CharEnv
from mimickit.envs.env_builder import build_env as build_plain_env
from mimickit.envs.hlc_env import HighLevelEnv
from mimickit.learning.agent_builder import build_agent
from mimickit.learning.ase_agent import ASEAgent
from mimickit.learning.checkpoints import load_agent_weights
from mimickit.util.config import ConfigError, load_yaml
from mimickit.util.distributed import LONE_WORKER, WorkerPlace
from mimickit.util.paths import resolve_path
from mimickit.util.schema import Field, validate

HLC_SCHEMA: dict[str, Field] = {
    "env_name": Field(str, help="ase_hlc"),
    "task_env": Field(str, help="env yaml of the task the high-level policy solves"),
    "llc_agent": Field(str, help="agent yaml of the frozen ASE low-level policy"),
    "llc_model": Field(str, help="checkpoint of the low-level policy"),
    "llc_steps": Field(int, help="control steps the low-level policy runs per high-level action", ge=1),
    "task_reward_w": Field(float, help="weight of the task env's reward", ge=0),
    "style_reward_w": Field(float, help="weight of the low-level discriminator's style reward", ge=0),
}


class CharacterView(BaseEnv):
    """A task env seen the way its skill policy was trained: observations are the task env's character part
    only; steps, resets, clock, faults, video and the discriminator observation are the task env's."""

    def __init__(self, inner: CharEnv) -> None:
        if "char" not in inner.obs_layout or not isinstance(inner, AdversarialEnv):
            raise ConfigError(f"{inner.source}: a high-level controller needs an AMP-style task env "
                              f"(character observation and a discriminator observation)")
        self.inner = inner
        self.num_envs, self.device = inner.num_envs, inner.device
        self.char_obs = inner.obs_layout["char"]
        self.disc_obs_dim = inner.disc_obs_dim
        self._demo_source: AdversarialEnv = inner

    @property
    def obs_dim(self) -> int:
        return self.char_obs.stop - self.char_obs.start

    @property
    def action_bounds(self) -> tuple[torch.Tensor, torch.Tensor]:
        return self.inner.action_bounds

    @property
    def step_time(self) -> float:
        return self.inner.step_time

    @property
    def time(self) -> torch.Tensor:  # type: ignore[override]
        return self.inner.time

    @property
    def fault_count(self) -> torch.Tensor:  # type: ignore[override]
        return self.inner.fault_count

    def fetch_disc_obs_demo(self, num_samples: int) -> torch.Tensor:
        return self._demo_source.fetch_disc_obs_demo(num_samples)

    def set_mode(self, mode: EnvMode) -> None:
        self.mode = mode
        self.inner.set_mode(mode)

    def reset(self, env_ids: torch.Tensor | None = None) -> tuple[torch.Tensor, dict]:
        obs, info = self.inner.reset(env_ids)
        return obs[:, self.char_obs], info

    def step(self, action: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, dict]:
        obs, reward, done, info = self.inner.step(action)
        return obs[:, self.char_obs], reward, done, info


def load_low_level_policy(agent_file: str, model_file: str, inner: CharEnv) -> ASEAgent:
    """The ASE agent of ``agent_file`` with the weights of ``model_file``, frozen and deterministic."""
    agent = build_agent(agent_file, CharacterView(inner), inner.device)
    if not isinstance(agent, ASEAgent):
        raise ConfigError(f"{agent_file}: the low-level policy must be an ASE agent, found {agent.NAME}")
    path = resolve_path(model_file)
    if not path.exists():
        raise ConfigError(f"{model_file}: low-level model not found (train one with args/ase_humanoid_args.txt)")
    load_agent_weights(agent, path)
    print(f"Loaded the low-level policy from {path}", flush=True)
    agent.requires_grad_(False)
    agent.eval()
    agent.set_mode(EnvMode.TEST)  # mean actions
    return agent


def build_env(env_file: str, engine_file: str | None, num_envs: int, device: torch.device | str = "cpu",
              visualize: bool = False, record_video: bool = False, motion_file: str = "",
              worker: WorkerPlace = LONE_WORKER) -> BaseEnv:
    """The env of ``env_file``: ``env_name: ase_hlc`` composes its ``task_env`` with the frozen ASE policy
    ``llc_model`` (built from ``llc_agent``), ``llc_steps`` control steps per high-level action, reward weights
    ``task_reward_w`` / ``style_reward_w``; every other env is :func:`mimickit.envs.env_builder.build_env`'s."""
    config: dict[str, Any] = load_yaml(env_file)
    if config.get("env_name") != "ase_hlc":
        return build_plain_env(env_file, engine_file, num_envs, device, visualize, record_video, motion_file, worker)
    config = validate(config, HLC_SCHEMA, str(env_file))
    inner = build_plain_env(config["task_env"], engine_file, num_envs, device, visualize, record_video, motion_file,
                            worker)
    if not isinstance(inner, CharEnv):
        inner.close()
        raise ConfigError(f"{env_file}: task_env {config['task_env']} is not a character env")
    try:
        low_level = load_low_level_policy(config["llc_agent"], config["llc_model"], inner)
    except Exception:
        inner.close()
        raise
    return HighLevelEnv(inner, low_level, config["llc_steps"], config["task_reward_w"], config["style_reward_w"])
