"""Location task: walk to a target on the ground, in the style of the clips (AMP)."""

from __future__ import annotations

import math

import torch

from mimickit.envs.task_env import TASK_SCHEMA, AMPTaskEnv
from mimickit.envs.terms.observations import compute_location_obs
from mimickit.envs.terms.rewards import location_reward
from mimickit.util.schema import Field

LOCATION_SCHEMA: dict[str, Field] = {
    **TASK_SCHEMA,
    "tar_speed": Field(float, help="speed the reward asks for towards the target", unit="m/s", ge=0),
    "tar_dist_min": Field(float, 0.0, "nearest target distance", unit="m", ge=0),
    "tar_dist_max": Field(float, help="farthest target distance", unit="m", ge=0),
    "dist_threshold": Field(float, 0.5, "squared ground distance counted as at the target", unit="m^2", ge=0),
    "success_dist": Field(float, 0.5, "ground distance that counts as reaching the target (TEST metric)", unit="m",
                          gt=0),
    "pos_err_scale": Field(float, 0.5, "scale of the position reward's squared distance", ge=0),
    "vel_err_scale": Field(float, 4.0, "scale of the velocity reward's squared speed shortfall", ge=0),
    "pos_reward_w": Field(float, 0.5, "weight of the position reward", ge=0),
    "vel_reward_w": Field(float, 0.4, "weight of the velocity reward", ge=0),
    "face_reward_w": Field(float, 0.1, "weight of the facing reward", ge=0),
}


class TaskLocationEnv(AMPTaskEnv):
    """A target ``d ~ U[tar_dist_min, tar_dist_max]`` m from the root in a uniform direction, redrawn at reset and
    every ``U[tar_change_time_min, tar_change_time_max]`` s; task observation: the target in the heading frame
    (2); reward :func:`~mimickit.envs.terms.rewards.location_reward` (m/s ``tar_speed``; its ``dist_threshold``
    compares the *squared* distance, as upstream, so 0.5 means within about 0.71 m).

    TEST metrics per episode: ``location_dist`` (mean ground distance to the target [m]) and
    ``location_success`` (fraction of the episode's targets reached, i.e. the root's ground distance below
    ``success_dist`` [m] before the target changed). Config keys: :data:`LOCATION_SCHEMA`."""

    SCHEMA = LOCATION_SCHEMA

    def _build_task(self) -> None:
        c = self.config
        self.tar_speed = c["tar_speed"]
        self.tar_dist_min = c["tar_dist_min"]
        self.tar_dist_max = c["tar_dist_max"]
        self.dist_threshold = c["dist_threshold"]
        self.success_dist = c["success_dist"]
        self.pos_err_scale = c["pos_err_scale"]
        self.vel_err_scale = c["vel_err_scale"]
        self.reward_w = (c["pos_reward_w"], c["vel_reward_w"], c["face_reward_w"])
        n, dev = self.num_envs, self.device
        self.tar_xy = torch.zeros(n, 2, device=dev)
        self.targets_set = torch.zeros(n, device=dev)
        self.targets_reached = torch.zeros(n, device=dev)
        self.reached_current = torch.zeros(n, dtype=torch.bool, device=dev)
        super()._build_task()

    def _resample_task(self, env_ids: torch.Tensor) -> None:
        n = env_ids.numel()
        dist = self.tar_dist_min + (self.tar_dist_max - self.tar_dist_min) * torch.rand(n, device=self.device)
        angle = 2.0 * math.pi * torch.rand(n, device=self.device)
        root_xy = self.engine.get_root_pos(self.char_id)[env_ids, :2]
        self.tar_xy[env_ids] = root_xy + dist[:, None] * torch.stack([torch.cos(angle), torch.sin(angle)], dim=-1)
        fresh = self.time[env_ids] == 0
        self.targets_set[env_ids] = torch.where(fresh, 1.0, self.targets_set[env_ids] + 1.0)
        self.targets_reached[env_ids] = torch.where(fresh, 0.0, self.targets_reached[env_ids])
        self.reached_current[env_ids] = False

    def _task_obs(self, env_ids: torch.Tensor | None) -> torch.Tensor:
        sel = (lambda x: x) if env_ids is None else (lambda x: x[env_ids])
        return compute_location_obs(sel(self.engine.get_root_pos(self.char_id)),
                                    sel(self.engine.get_root_rot(self.char_id)), sel(self.tar_xy))

    def _compute_reward(self) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        root_xy, facing = self._root_xy_and_facing()
        pos_w, vel_w, face_w = self.reward_w
        return location_reward(root_xy, self.prev_root_xy, facing, self.tar_xy, self.engine.timestep, self.tar_speed,
                               self.dist_threshold, self.pos_err_scale, self.vel_err_scale, pos_w, vel_w, face_w)

    def _task_metrics(self) -> dict[str, torch.Tensor]:
        dist_sq = ((self.tar_xy - self.engine.get_root_pos(self.char_id)[:, :2]) ** 2).sum(-1)
        newly = (dist_sq < self.success_dist ** 2) & ~self.reached_current
        self.targets_reached += newly.float()
        self.reached_current |= newly
        return {"location_dist": dist_sq.sqrt()}

    def _episode_summary(self, ended: torch.Tensor) -> dict[str, torch.Tensor]:
        success = self.targets_reached / self.targets_set.clamp_min(1.0)
        return {"location_success": torch.where(ended, success, torch.full_like(success, float("nan")))}
