"""What every environment offers the agent (batched over ``num_envs``)."""

from __future__ import annotations

import abc
import enum
from collections.abc import Sequence
from typing import Protocol, runtime_checkable

import numpy as np
import torch

__all__ = ["AdversarialEnv", "BaseEnv", "DoneFlags", "EnvMode"]


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

    Besides stepping, the agents and the runner use only what is declared here: episode ``time``, the
    ``fault_count``, the step duration and video recording; nothing outside ``mimickit/envs`` reaches into an
    env's engine.
    """

    num_envs: int
    device: torch.device
    mode: EnvMode = EnvMode.TRAIN
    VIDEO_ENVS = 1  # envs a test-mode recording pictures (several: tiled in a grid)
    time: torch.Tensor  # [N] s since each env's episode started
    fault_count: torch.Tensor  # () long: envs reset for broken physics since the env was built (on the device)

    @property
    @abc.abstractmethod
    def step_time(self) -> float:
        """Simulated time one ``step`` advances [s]."""

    @property
    @abc.abstractmethod
    def obs_dim(self) -> int:
        """Size of one observation vector."""

    @property
    def actor_obs_dim(self) -> int:
        """The leading part of the observation the policy may see; the rest (privileged state, for the critic of
        an asymmetric actor-critic) is for the critic only. All of it by default."""
        return self.obs_dim

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

    def begin_iteration(self, sample_count: int) -> dict[str, float]:
        """A training iteration starts at ``sample_count`` environment steps of the run (all workers): curricula
        keyed on it take their value here; returns values to log."""
        return {}

    def get_reward_fail(self) -> float:
        """Reward per step after a FAIL (the terminal value is this over 1 - discount)."""
        return 0.0

    def get_reward_succ(self) -> float:
        return 0.0

    def get_diagnostics(self) -> dict[str, float]:
        """Scalars to log once per iteration (e.g. reward-term means)."""
        return {}

    def start_video(self, max_frames: int = 0, env_ids: Sequence[int] = (0,)) -> None:
        """Record a frame of ``env_ids`` per simulated control step (at most ``max_frames``; 0: all; several
        envs tiled in a grid) until :meth:`stop_video`. Only envs built with ``record_video`` can."""
        raise RuntimeError(f"{type(self).__name__} records no video")

    def stop_video(self) -> tuple[list[np.ndarray], float]:
        """Stop recording; the frames (``[H, W, 3]`` uint8) and the time between them [s]."""
        return [], self.step_time

    def hold_physics(self, held: torch.Tensor | None) -> None:  # noqa: B027 (optional: a speed hint)
        """The envs set in ``held`` (bool ``[num_envs]``) need no physics in the next steps (their episodes no longer
        count); their state may stay as it is. None: every env is simulated again. Envs that cannot skip ignore it."""

    def close(self) -> None:  # noqa: B027 (an optional hook: most envs hold nothing to release)
        """Release viewers and renderers."""


@runtime_checkable
class AdversarialEnv(Protocol):
    """An env with a discriminator observation (AMP, ADD, ASE and their task envs): its steps put
    ``info["disc_obs"]`` ``[N, disc_obs_dim]``, and the demo side is drawn from its clips."""

    disc_obs_dim: int

    def fetch_disc_obs_demo(self, num_samples: int) -> torch.Tensor:
        """``[num_samples, disc_obs_dim]`` discriminator observations of the reference clips."""
        ...
