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
from mimickit.util.config import ConfigError, load_yaml
from mimickit.util.schema import Field, validate

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
    config = validate(config, env_cls.SCHEMA, str(env_file))
    engine_config = load_engine_config(engine_file, config["engine"])
    print(f"Building {name} env with {num_envs} envs", flush=True)
    return env_cls(config, engine_config, num_envs, device, visualize=visualize, record_video=record_video,
                   source=str(env_file))


HLC_SCHEMA: dict[str, Field] = {
    "env_name": Field(str, help="ase_hlc"),
    "task_env": Field(str, help="env yaml of the task the high-level policy solves"),
    "llc_agent": Field(str, help="agent yaml of the frozen ASE low-level policy"),
    "llc_model": Field(str, help="checkpoint of the low-level policy"),
    "llc_steps": Field(int, help="control steps the low-level policy runs per high-level action", ge=1),
    "task_reward_w": Field(float, help="weight of the task env's reward", ge=0),
    "style_reward_w": Field(float, help="weight of the low-level discriminator's style reward", ge=0),
}


def _build_high_level_env(config: dict, env_file: str, engine_file: str | None, num_envs: int,
                          device: torch.device | str, visualize: bool, record_video: bool,
                          motion_file: str) -> BaseEnv:
    """``env_name: ase_hlc``: the ``task_env`` driven through the frozen ASE policy ``llc_model`` (built from
    ``llc_agent``), ``llc_steps`` control steps per action, reward weights ``task_reward_w`` / ``style_reward_w``."""
    from mimickit.envs.hlc_env import HighLevelEnv
    from mimickit.learning.low_level import load_low_level_policy

    config = validate(config, HLC_SCHEMA, env_file)
    inner = build_env(config["task_env"], engine_file, num_envs, device, visualize, record_video, motion_file)
    try:
        low_level = load_low_level_policy(config["llc_agent"], config["llc_model"], inner)
    except Exception:
        inner.close()
        raise
    return HighLevelEnv(inner, low_level, config["llc_steps"], config["task_reward_w"], config["style_reward_w"])
