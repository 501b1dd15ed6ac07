"""Load a trained ASE skill policy, frozen, to drive a task env from a high-level controller."""

from __future__ import annotations

import torch

from mimickit.envs.base_env import EnvMode
from mimickit.envs.char_env import CharEnv
from mimickit.learning.agent_builder import build_agent
from mimickit.learning.ase_agent import ASEAgent
from mimickit.learning.runner import Runner
from mimickit.util.config import ConfigError
from mimickit.util.paths import resolve_path


class _CharacterView:
    """A task env seen the way the low-level policy was trained: its character observation only."""

    def __init__(self, inner: CharEnv) -> None:
        if "char" not in getattr(inner, "obs_layout", {}) or not hasattr(inner, "disc_obs_dim"):
            raise ConfigError(f"{inner.source}: a high-level controller needs an AMP-style task env "
                              f"(character observation and a discriminator observation)")
        self.inner = inner
        self.num_envs, self.device = inner.num_envs, inner.device
        part = inner.obs_layout["char"]
        self.obs_dim = part.stop - part.start
        self.action_bounds = inner.action_bounds
        self.disc_obs_dim = inner.disc_obs_dim

    @property
    def time(self) -> torch.Tensor:
        return self.inner.time


def load_low_level_policy(agent_file: str, model_file: str, inner: CharEnv) -> ASEAgent:
    """The ASE agent of ``agent_file`` with the weights of ``model_file``, frozen and deterministic."""
    view = _CharacterView(inner)
    agent = build_agent(agent_file, view, inner.device)
    if not isinstance(agent, ASEAgent):
        raise ConfigError(f"{agent_file}: the low-level policy must be an ASE agent, found {agent.NAME}")
    path = resolve_path(model_file)
    if not path.exists():
        raise ConfigError(f"{model_file}: low-level model not found (train one with args/ase_humanoid_args.txt)")
    Runner(view, agent).load(path, resume=False)
    agent.requires_grad_(False)
    agent.eval()
    agent.set_mode(EnvMode.TEST)  # mean actions
    return agent
