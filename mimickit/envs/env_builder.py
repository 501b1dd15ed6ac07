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
from mimickit.util.distributed import LONE_WORKER, WorkerPlace
from mimickit.util.schema import validate

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
              visualize: bool = False, record_video: bool = False, motion_file: str = "",
              worker: WorkerPlace = LONE_WORKER) -> BaseEnv:
    """The environment of ``env_file``; its ``engine:`` mapping overrides keys of ``engine_file``, and a
    non-empty ``motion_file`` replaces the config's clip or dataset. ``worker``: this process's place among
    training workers (they share a dataset's clips; the CPU engine divides the cores among them)."""
    config = load_yaml(env_file)
    name = config.get("env_name")
    if name == "ase_hlc":  # a composition with a trained policy: built a layer up, where policies live
        raise ConfigError(f"{env_file}: env_name ase_hlc drives a trained skill policy; the learning layer builds "
                          f"it (learning/low_level.py: build_env, as mimickit's run does)")
    if motion_file:
        if "motion_file" not in config:
            raise ConfigError(f"{env_file}: --motion_file given, but this env ({config.get('env_name')!r}) "
                              f"has no motion_file key")
        config["motion_file"] = motion_file
    if name not in ENV_REGISTRY:
        raise ConfigError(f"{env_file}: env_name must be one of {sorted([*ENV_REGISTRY, 'ase_hlc'])}, "
                          f"found {name!r}")
    env_cls = ENV_REGISTRY[name]
    config = validate(config, env_cls.SCHEMA, str(env_file))
    engine_config = load_engine_config(engine_file, config["engine"])
    print(f"Building {name} env with {num_envs} envs", flush=True)
    return env_cls(config, engine_config, num_envs, device, visualize=visualize, record_video=record_video,
                   source=str(env_file), worker=worker)
