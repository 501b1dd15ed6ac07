"""A task solved through a frozen low-level skill policy (ASE's reuse): the high-level action is a latent that
the low-level policy follows for a few control steps."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Protocol

import numpy as np
import torch
from torch.nn import functional as F

from mimickit.envs.base_env import BaseEnv, DoneFlags, EnvMode
from mimickit.envs.char_env import CharEnv


class LowLevelPolicy(Protocol):
    """What the wrapper needs from a trained skill policy (an ASE agent, frozen)."""

    latent_dim: int

    def skill_action(self, obs: torch.Tensor, latents: torch.Tensor) -> torch.Tensor:
        """Deterministic action ``[n, A]`` for character observations ``[n, d]`` and unit latents."""
        ...

    def style_reward(self, disc_obs: torch.Tensor) -> torch.Tensor:
        """The frozen discriminator's reward ``[n]`` for discriminator observations ``[n, d]``."""
        ...


class HighLevelEnv(BaseEnv):
    """``inner``'s task through ``low_level``: an action ``[N, latent_dim]`` is normalised onto the unit sphere
    and held for ``llc_steps`` control steps, in which the low-level policy acts deterministically on the
    inner env's ``char`` observation and that latent.

    Observation: the inner env's (character + task). Reward per high-level step: the mean over its control
    steps of ``task_reward_w r_task + style_reward_w r_style``, with ``r_style`` from the frozen
    discriminator (TRAIN mode; steps after an episode ended within the block do not count). Done: the first
    done flag of the block; ``info["episode_metrics"]`` is taken from the control step that ended each episode.
    """

    def __init__(self, inner: CharEnv, low_level: LowLevelPolicy, llc_steps: int, task_reward_w: float,
                 style_reward_w: float) -> None:
        self.inner = inner
        self.low_level = low_level
        self.llc_steps = llc_steps
        self.task_reward_w = task_reward_w
        self.style_reward_w = style_reward_w
        self.num_envs = inner.num_envs
        self.device = inner.device
        self.char_obs = inner.obs_layout["char"]
        latent_dim = low_level.latent_dim
        self._bounds = (-torch.ones(latent_dim, device=self.device), torch.ones(latent_dim, device=self.device))
        self.reward = torch.zeros(self.num_envs, device=self.device)
        self.done = torch.zeros(self.num_envs, dtype=torch.int32, device=self.device)

    @property
    def obs_dim(self) -> int:
        return self.inner.obs_dim

    @property
    def action_bounds(self) -> tuple[torch.Tensor, torch.Tensor]:
        return self._bounds

    @property
    def step_time(self) -> float:
        return self.inner.step_time * self.llc_steps

    @property
    def time(self) -> torch.Tensor:  # type: ignore[override]
        return self.inner.time

    @property
    def fault_count(self) -> torch.Tensor:  # type: ignore[override]
        return self.inner.fault_count

    def hold_physics(self, held: torch.Tensor | None) -> None:
        self.inner.hold_physics(held)

    def start_video(self, max_frames: int = 0, env_ids: Sequence[int] = (0,)) -> None:
        self.inner.start_video(max_frames, env_ids)  # a frame per low-level control step

    def stop_video(self) -> tuple[list[np.ndarray], float]:
        return self.inner.stop_video()

    def set_mode(self, mode: EnvMode) -> None:
        self.mode = mode
        self.inner.set_mode(mode)

    def begin_iteration(self, sample_count: int) -> dict[str, float]:
        """The task env's curricula, keyed on the controller's own sample count (high-level steps)."""
        return self.inner.begin_iteration(sample_count)

    def reset(self, env_ids: torch.Tensor | None = None) -> tuple[torch.Tensor, dict]:
        return self.inner.reset(env_ids)

    def step(self, action: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, dict]:
        latents = F.normalize(action, dim=-1)
        self.reward.zero_()
        self.done.fill_(int(DoneFlags.NULL))
        counted = torch.zeros(self.num_envs, device=self.device)
        metrics: dict[str, torch.Tensor] = {}
        obs, info = self.inner.obs, dict[str, Any]()
        for _ in range(self.llc_steps):
            low_action = self.low_level.skill_action(obs[:, self.char_obs], latents)
            obs, task_reward, done, info = self.inner.step(low_action)
            running = self.done == int(DoneFlags.NULL)
            reward = self.task_reward_w * task_reward
            if self.style_reward_w and "disc_obs" in info:
                with torch.no_grad():
                    reward = reward + self.style_reward_w * self.low_level.style_reward(info["disc_obs"])
            self.reward += torch.where(running, reward, torch.zeros_like(reward))
            counted += running.float()
            ended = running & (done != int(DoneFlags.NULL))
            self.done[ended] = done[ended]
            for key, values in info.get("episode_metrics", {}).items():
                metrics.setdefault(key, torch.full_like(values, float("nan")))[ended] = values[ended]
        self.reward /= counted.clamp_min(1.0)
        out: dict[str, Any] = {"num_faults": info.get("num_faults", 0)}
        if metrics:
            out["episode_metrics"] = metrics
        return obs, self.reward, self.done, out

    def get_diagnostics(self) -> dict[str, float]:
        return self.inner.get_diagnostics()

    def close(self) -> None:
        self.inner.close()
