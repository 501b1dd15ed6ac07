"""A tiny, fast control task for agent tests: steer a 2-D point to a random goal."""

from __future__ import annotations

import torch

from mimickit.envs.base_env import BaseEnv, DoneFlags


class PointMassEnv(BaseEnv):
    """obs = (position, goal) in R^4; action = velocity in [-1, 1]^2; reward = exp(-4 |x - g|^2) per step;
    episodes last ``horizon`` steps (TIME)."""

    def __init__(self, num_envs: int = 64, horizon: int = 20) -> None:
        self.num_envs, self.horizon, self.device = num_envs, horizon, torch.device("cpu")
        self.pos = torch.zeros(num_envs, 2)
        self.goal = torch.zeros(num_envs, 2)
        self.steps = torch.zeros(num_envs, dtype=torch.long)
        self.obs = torch.zeros(num_envs, 4)
        self.time = torch.zeros(num_envs)
        self.fault_count = torch.zeros((), dtype=torch.long)

    @property
    def obs_dim(self) -> int:
        return 4

    @property
    def step_time(self) -> float:
        return 0.1

    @property
    def action_bounds(self):
        return -torch.ones(2), torch.ones(2)

    def reset(self, env_ids=None):
        ids = torch.arange(self.num_envs) if env_ids is None else env_ids
        self.pos[ids] = 0.0
        self.goal[ids] = torch.rand(len(ids), 2) * 2 - 1
        self.steps[ids] = 0
        self.obs[ids] = torch.cat([self.pos[ids], self.goal[ids]], dim=-1)
        self.time[ids] = 0.0
        return self.obs, {}

    def step(self, action):
        self.pos += 0.2 * action.clamp(-1, 1)
        self.steps += 1
        self.time[:] = self.steps * self.step_time
        reward = torch.exp(-4.0 * ((self.pos - self.goal) ** 2).sum(-1))
        done = torch.where(self.steps >= self.horizon, int(DoneFlags.TIME), int(DoneFlags.NULL)).to(torch.int32)
        self.obs[:] = torch.cat([self.pos, self.goal], dim=-1)
        return self.obs, reward, done, {}
