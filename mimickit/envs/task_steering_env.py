"""Steering task: move in a commanded direction at a commanded speed while facing a commanded way (AMP)."""

from __future__ import annotations

import math

import torch

from mimickit.envs.base_env import EnvMode
from mimickit.envs.task_env import TASK_SCHEMA, AMPTaskEnv
from mimickit.envs.terms.observations import compute_steering_obs
from mimickit.envs.terms.rewards import steering_reward
from mimickit.util.config import ConfigError
from mimickit.util.schedule import parse_schedule, scheduled_value
from mimickit.util.schema import Field

STEERING_SCHEMA: dict[str, Field] = {
    **TASK_SCHEMA,
    "rand_tar_dir": Field(bool, True, "draw the commanded direction at random (else along x)"),
    "rand_face_dir": Field(bool, True, "draw the facing direction at random (else the commanded direction)"),
    "tar_speed_min": Field(float, help="slowest commanded speed", unit="m/s", ge=0),
    "tar_speed_max": Field(float, help="fastest commanded speed", unit="m/s", ge=0),
    "tar_speed_max_schedule": Field(list, None, "[[samples, m/s], ...]: a commanded-speed curriculum, the fastest "
                                                "speed of TRAIN draws from each sample count of the run on "
                                                "(tar_speed_max before the first entry; TEST draws up to "
                                                "tar_speed_max)"),
    "reward_steering_tar_w": Field(float, help="weight of the velocity reward", ge=0),
    "reward_steering_face_w": Field(float, help="weight of the facing reward", ge=0),
    "reward_steering_vel_scale": Field(float, help="scale of the velocity reward's squared error", ge=0),
}


class TaskSteeringEnv(AMPTaskEnv):
    """Direction angle ``U[-pi, pi)`` (0 without ``rand_tar_dir``), facing angle ``U[-pi, pi)`` (the direction
    without ``rand_face_dir``) and speed ``U[tar_speed_min, tar_speed_max)`` m/s, redrawn at reset and every
    ``U[tar_change_time_min, tar_change_time_max]`` s (TRAIN draws up to the ``tar_speed_max_schedule``
    curriculum's speed where one is given); task observation (5) per
    :func:`~mimickit.envs.terms.observations.compute_steering_obs`; reward
    :func:`~mimickit.envs.terms.rewards.steering_reward`.

    TEST metric per episode: ``steering_vel_err``, the mean of ``|tar_speed tar_dir - v|`` [m/s] over its steps.
    Config keys: :data:`STEERING_SCHEMA`."""

    SCHEMA = STEERING_SCHEMA

    def _build_task(self) -> None:
        c = self.config
        self.rand_tar_dir = c["rand_tar_dir"]
        self.rand_face_dir = c["rand_face_dir"]
        self.tar_speed_range = (c["tar_speed_min"], c["tar_speed_max"])
        self.speed_schedule = parse_schedule(c["tar_speed_max_schedule"], f"{self.source}: tar_speed_max_schedule")
        if any(speed < c["tar_speed_min"] for _, speed in self.speed_schedule):
            raise ConfigError(f"{self.source}: tar_speed_max_schedule speeds must be >= tar_speed_min "
                              f"({c['tar_speed_min']:g} m/s), found {c['tar_speed_max_schedule']}")
        self.train_speed_max = c["tar_speed_max"]  # the curriculum's current value
        self.reward_w = (c["reward_steering_tar_w"], c["reward_steering_face_w"])
        self.vel_scale = c["reward_steering_vel_scale"]
        self.tar_dir = torch.zeros(self.num_envs, 2, device=self.device)
        self.tar_speed = torch.zeros(self.num_envs, device=self.device)
        self.face_dir = torch.zeros(self.num_envs, 2, device=self.device)
        super()._build_task()

    def _resample_task(self, env_ids: torch.Tensor) -> None:
        n = env_ids.numel()
        angle = (2.0 * math.pi * torch.rand(n, device=self.device) - math.pi if self.rand_tar_dir
                 else torch.zeros(n, device=self.device))
        face = 2.0 * math.pi * torch.rand(n, device=self.device) - math.pi if self.rand_face_dir else angle
        low, high = self.tar_speed_range
        if self.mode == EnvMode.TRAIN:
            high = self.train_speed_max
        self.tar_dir[env_ids] = torch.stack([torch.cos(angle), torch.sin(angle)], dim=-1)
        self.face_dir[env_ids] = torch.stack([torch.cos(face), torch.sin(face)], dim=-1)
        self.tar_speed[env_ids] = low + (high - low) * torch.rand(n, device=self.device)

    def begin_iteration(self, sample_count: int) -> dict[str, float]:
        info = super().begin_iteration(sample_count)
        if self.speed_schedule:
            self.train_speed_max = scheduled_value(self.speed_schedule, sample_count, self.tar_speed_range[1])
            info["tar_speed_max"] = self.train_speed_max
        return info

    def _task_obs(self, env_ids: torch.Tensor | None) -> torch.Tensor:
        sel = (lambda x: x) if env_ids is None else (lambda x: x[env_ids])
        return compute_steering_obs(sel(self.engine.get_root_rot(self.char_id)), sel(self.tar_dir),
                                    sel(self.tar_speed), sel(self.face_dir))

    def _compute_reward(self) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        root_xy, facing = self._root_xy_and_facing()
        tar_w, face_w = self.reward_w
        return steering_reward(root_xy, self.prev_root_xy, facing, self.tar_dir, self.tar_speed, self.face_dir,
                               self.engine.timestep, self.vel_scale, tar_w, face_w)

    def _task_metrics(self) -> dict[str, torch.Tensor]:
        vel = (self.engine.get_root_pos(self.char_id)[:, :2] - self.prev_root_xy) / self.engine.timestep
        return {"steering_vel_err": (self.tar_speed[:, None] * self.tar_dir - vel).norm(dim=-1)}
