"""Gymnasium views of MimicKit environments: ``GymEnv`` (one environment, ``gymnasium.Env``) and
``GymVectorEnv`` (all of them, ``gymnasium.vector.VectorEnv`` with same-step autoreset).

Done flags map to Gymnasium's pair: FAIL and SUCC end the episode (``terminated``), TIME truncates it
(``truncated``). Observations and actions are float32 numpy arrays; actions are clipped to the bounds by
the env. ``reset(seed=s)`` seeds torch's global generator, which the envs draw from (start clip and time).
"""

from __future__ import annotations

from typing import Any

import gymnasium as gym
import numpy as np
import torch
from gymnasium.vector import AutoresetMode

from mimickit.envs.base_env import BaseEnv, DoneFlags


def _spaces(env: BaseEnv) -> tuple[gym.spaces.Box, gym.spaces.Box]:
    low, high = (b.detach().cpu().numpy().astype(np.float32) for b in env.action_bounds)
    obs = gym.spaces.Box(-np.inf, np.inf, (env.obs_dim,), dtype=np.float32)
    return obs, gym.spaces.Box(low, high, dtype=np.float32)


def _episode_flags(done: torch.Tensor) -> tuple[np.ndarray, np.ndarray]:
    d = done.cpu().numpy()
    return (d == int(DoneFlags.FAIL)) | (d == int(DoneFlags.SUCC)), d == int(DoneFlags.TIME)


class GymEnv(gym.Env):
    """A single MimicKit environment (``num_envs`` must be 1) as a ``gymnasium.Env``."""

    def __init__(self, env: BaseEnv) -> None:
        if env.num_envs != 1:
            raise ValueError(f"GymEnv wraps one environment; this one has {env.num_envs} (use GymVectorEnv)")
        self.metadata = {"render_modes": []}
        self.env = env
        self.observation_space, self.action_space = _spaces(env)

    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None) -> tuple[np.ndarray, dict]:
        super().reset(seed=seed)
        if seed is not None:
            torch.manual_seed(seed)
        obs, _ = self.env.reset()
        return obs[0].detach().cpu().numpy().astype(np.float32), {}

    def step(self, action: np.ndarray) -> tuple[np.ndarray, float, bool, bool, dict]:
        act = torch.as_tensor(np.asarray(action, dtype=np.float32), device=self.env.device)[None]
        obs, reward, done, info = self.env.step(act)
        terminated, truncated = _episode_flags(done)
        out = {k: v for k, v in info.items() if not isinstance(v, (torch.Tensor, dict))}
        if "episode_metrics" in info and (terminated[0] or truncated[0]):
            out["episode_metrics"] = {k: float(v[0]) for k, v in info["episode_metrics"].items()}
        return (obs[0].detach().cpu().numpy().astype(np.float32), float(reward[0]), bool(terminated[0]),
                bool(truncated[0]), out)

    def close(self) -> None:
        self.env.close()


class GymVectorEnv(gym.vector.VectorEnv):
    """All ``num_envs`` environments as one ``gymnasium.vector.VectorEnv``. Finished environments reset in the
    same step (``AutoresetMode.SAME_STEP``): the returned observation starts the next episode and
    ``info["final_obs"]`` holds the last one of the finished episode."""

    def __init__(self, env: BaseEnv) -> None:
        self.metadata = {"autoreset_mode": AutoresetMode.SAME_STEP}
        self.env = env
        self.num_envs = env.num_envs
        self.single_observation_space, self.single_action_space = _spaces(env)
        self.observation_space = gym.vector.utils.batch_space(self.single_observation_space, self.num_envs)
        self.action_space = gym.vector.utils.batch_space(self.single_action_space, self.num_envs)

    def reset(self, *, seed: int | list[int] | None = None,
              options: dict[str, Any] | None = None) -> tuple[np.ndarray, dict]:
        if seed is not None:
            torch.manual_seed(seed if isinstance(seed, int) else seed[0])
        obs, _ = self.env.reset()
        return obs.detach().cpu().numpy().astype(np.float32), {}

    def step(self, actions: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, dict]:
        act = torch.as_tensor(np.asarray(actions, dtype=np.float32), device=self.env.device)
        obs, reward, done, _ = self.env.step(act)
        terminated, truncated = _episode_flags(done)
        reward_np = reward.detach().cpu().numpy().astype(np.float32)
        info: dict[str, Any] = {}
        ended = terminated | truncated
        if ended.any():
            info["final_obs"] = obs.detach().cpu().numpy().astype(np.float32)
            info["_final_obs"] = ended
            ids = torch.as_tensor(np.flatnonzero(ended), device=self.env.device)
            obs, _ = self.env.reset(ids)
        return obs.detach().cpu().numpy().astype(np.float32), reward_np, terminated, truncated, info

    def close_extras(self, **kwargs: Any) -> None:
        self.env.close()
