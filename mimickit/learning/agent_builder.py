"""Build an agent from its yaml by ``agent_name``."""

from __future__ import annotations

import importlib

import torch

from mimickit.envs.base_env import BaseEnv
from mimickit.learning.base_agent import BaseAgent
from mimickit.util.config import ConfigError, load_yaml

AGENT_REGISTRY = {
    "ADD": "mimickit.learning.add_agent:ADDAgent",
    "AMP": "mimickit.learning.amp_agent:AMPAgent",
    "ASE": "mimickit.learning.ase_agent:ASEAgent",
    "AWR": "mimickit.learning.awr_agent:AWRAgent",
    "LCP": "mimickit.learning.lcp_agent:LCPAgent",
    "PPO": "mimickit.learning.ppo_agent:PPOAgent",
}


def build_agent(agent_file: str | None, env: BaseEnv, device: torch.device | str = "cpu") -> BaseAgent:
    """The agent named in ``agent_file``; without a file, the zero-action Dummy agent."""
    if not agent_file:
        from mimickit.learning.dummy_agent import DummyAgent

        return DummyAgent({"agent_name": "Dummy"}, env, device)
    config = load_yaml(agent_file)
    name = config.get("agent_name")
    if name not in AGENT_REGISTRY:
        raise ConfigError(f"{agent_file}: agent_name must be one of {sorted(AGENT_REGISTRY)}, found {name!r}")
    module_name, class_name = AGENT_REGISTRY[name].split(":")
    agent_cls = getattr(importlib.import_module(module_name), class_name)
    return agent_cls(config, env, device, source=str(agent_file))
