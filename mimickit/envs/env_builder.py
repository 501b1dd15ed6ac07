"""Build an environment from its yaml (``env_name`` picks the class) and an engine yaml."""

from __future__ import annotations

import torch

from mimickit.engines.engine import load_engine_config
from mimickit.envs.add_env import ADDEnv
from mimickit.envs.amp_env import AMPEnv
from mimickit.envs.ase_env import ASEEnv
from mimickit.envs.base_env import BaseEnv
from mimickit.envs.char_env import CharEnv
from mimickit.envs.deepmimic_env import DeepMimicEnv
from mimickit.envs.task_location_env import TaskLocationEnv
from mimickit.envs.task_steering_env import TaskSteeringEnv
from mimickit.envs.view_motion_env import ViewMotionEnv
from mimickit.util.config import ConfigError, check_keys, load_yaml

ENV_REGISTRY: dict[str, type[CharEnv]] = {
    "add": ADDEnv,
    "amp": AMPEnv,
    "ase": ASEEnv,
    "char": CharEnv,
    "deepmimic": DeepMimicEnv,
    "task_location": TaskLocationEnv,
    "task_steering": TaskSteeringEnv,
    "view_motion": ViewMotionEnv,
}


def build_env(env_file: str, engine_file: str | None, num_envs: int, device: torch.device | str = "cpu",
              visualize: bool = False, record_video: bool = False, motion_file: str = "") -> BaseEnv:
    """The environment of ``env_file``; its ``engine:`` mapping overrides keys of ``engine_file``, and a
    non-empty ``motion_file`` replaces the config's clip or dataset."""
    config = load_yaml(env_file)
    if motion_file and config.get("env_name") != "ase_hlc":
        if "motion_file" not in config:
            raise ConfigError(f"{env_file}: --motion_file given, but this env ({config.get('env_name')!r}) "
                              f"has no motion_file key")
        config["motion_file"] = motion_file
    name = config.get("env_name")
    if name == "ase_hlc":
        return _build_high_level_env(config, str(env_file), engine_file, num_envs, device, visualize, record_video,
                                     motion_file)
    if name not in ENV_REGISTRY:
        raise ConfigError(f"{env_file}: env_name must be one of {sorted([*ENV_REGISTRY, 'ase_hlc'])}, "
                          f"found {name!r}")
    env_cls = ENV_REGISTRY[name]
    check_keys(config, env_cls.CONFIG_KEYS, str(env_file), required=env_cls.REQUIRED_KEYS)
    engine_overrides = config.get("engine") or {}
    if not isinstance(engine_overrides, dict):
        raise ConfigError(f"{env_file}: 'engine' must be a mapping of engine keys to override")
    engine_config = load_engine_config(engine_file, engine_overrides)
    print(f"Building {name} env with {num_envs} envs", flush=True)
    return env_cls(config, engine_config, num_envs, device, visualize=visualize, record_video=record_video,
                   source=str(env_file))


HLC_KEYS = ("env_name", "task_env", "llc_agent", "llc_model", "llc_steps", "task_reward_w", "style_reward_w")


def _build_high_level_env(config: dict, env_file: str, engine_file: str | None, num_envs: int,
                          device: torch.device | str, visualize: bool, record_video: bool,
                          motion_file: str) -> BaseEnv:
    """``env_name: ase_hlc``: the ``task_env`` driven through the frozen ASE policy ``llc_model`` (built from
    ``llc_agent``), ``llc_steps`` control steps per action, reward weights ``task_reward_w`` / ``style_reward_w``."""
    from mimickit.envs.hlc_env import HighLevelEnv
    from mimickit.learning.low_level import load_low_level_policy

    check_keys(config, HLC_KEYS, env_file, required=HLC_KEYS)
    inner = build_env(config["task_env"], engine_file, num_envs, device, visualize, record_video, motion_file)
    try:
        low_level = load_low_level_policy(config["llc_agent"], config["llc_model"], inner)
    except Exception:
        inner.close()
        raise
    steps = int(config["llc_steps"])
    if steps < 1:
        raise ConfigError(f"{env_file}: llc_steps must be at least 1, found {steps}")
    return HighLevelEnv(inner, low_level, steps, float(config["task_reward_w"]), float(config["style_reward_w"]))
