"""What every environment offers the agent (batched over ``num_envs``)."""

from __future__ import annotations

import abc
import enum

import torch

__all__ = ["BaseEnv", "DoneFlags", "EnvMode"]


class DoneFlags(enum.IntEnum):
    """Per-environment episode status after a step."""

    NULL = 0  # running
    FAIL = 1  # failure (fall, lost track); terminal value from get_reward_fail
    SUCC = 2  # success (a clamped clip finished); terminal value from get_reward_succ
    TIME = 3  # time limit: truncation, the agent bootstraps from the last observation


class EnvMode(enum.IntEnum):
    TRAIN = 0
    TEST = 1


class BaseEnv(abc.ABC):
    """Agent-facing interface: ``obs, info = reset(env_ids)``; ``obs, reward, done, info = step(action)``.

    ``obs`` is ``[N, obs_dim]``, ``reward`` ``[N]``, ``done`` int ``[N]`` of :class:`DoneFlags`. Environments
    are not reset automatically: the agent resets the ``done != NULL`` ones after recording the step.
    Returned tensors are the environment's own buffers, overwritten by later calls.
    """

    num_envs: int
    device: torch.device
    mode: EnvMode = EnvMode.TRAIN
    VIDEO_ENVS = 1  # envs a test-mode recording pictures (several: tiled in a grid)

    @property
    @abc.abstractmethod
    def obs_dim(self) -> int:
        """Size of one observation vector."""

    @property
    @abc.abstractmethod
    def action_bounds(self) -> tuple[torch.Tensor, torch.Tensor]:
        """Per-dimension action limits ``([A], [A])``; actions are clipped to them."""

    @abc.abstractmethod
    def reset(self, env_ids: torch.Tensor | None = None) -> tuple[torch.Tensor, dict]:
        """Reset ``env_ids`` (all if None); returns the full observation buffer and info."""

    @abc.abstractmethod
    def step(self, action: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, dict]:
        """Apply ``action [N, A]`` for one control step."""

    def set_mode(self, mode: EnvMode) -> None:
        self.mode = mode

    def get_reward_fail(self) -> float:
        """Reward per step after a FAIL (the terminal value is this over 1 - discount)."""
        return 0.0

    def get_reward_succ(self) -> float:
        return 0.0

    def get_diagnostics(self) -> dict[str, float]:
        """Scalars to log once per iteration (e.g. reward-term means)."""
        return {}

    def close(self) -> None:  # noqa: B027 (an optional hook: most envs hold nothing to release)
        """Release viewers and renderers."""
