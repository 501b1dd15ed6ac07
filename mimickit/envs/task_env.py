"""AMP with a task (upstream's location and steering envs): the style reward comes from the discriminator,
the env adds a task observation and a task reward, and resamples the task at reset and at random times."""

from __future__ import annotations

import torch

from mimickit.envs.amp_env import AMP_SCHEMA, AMPEnv
from mimickit.envs.base_env import EnvMode
from mimickit.envs.char_env import ObsTerm
from mimickit.envs.terms.rewards import heading_direction
from mimickit.util.config import ConfigError
from mimickit.util.schema import Field

TASK_SCHEMA: dict[str, Field] = {
    **AMP_SCHEMA,
    "tar_change_time_min": Field(float, help="shortest time before the task is redrawn", unit="s", gt=0),
    "tar_change_time_max": Field(float, help="longest time before the task is redrawn", unit="s", gt=0),
}


class AMPTaskEnv(AMPEnv):
    """Shared machinery: the root position before each step (for finite-difference velocities), per-env task
    change times drawn from ``[tar_change_time_min, tar_change_time_max]`` s, and a ``task`` observation term.
    Subclasses define ``_resample_task``, ``_task_obs``, ``_compute_reward`` and their TEST metrics. Tracking
    a single clip is not the goal here, so the tracking errors are not reported."""

    SCHEMA = TASK_SCHEMA
    MASKED_RESET = False  # its task draws take ids

    def _build_task(self) -> None:
        super()._build_task()
        self.tar_change_time_min = self.config["tar_change_time_min"]
        self.tar_change_time_max = self.config["tar_change_time_max"]
        if self.tar_change_time_max < self.tar_change_time_min:
            raise ConfigError(f"{self.source}: tar_change_time_max ({self.tar_change_time_max:g} s) is below "
                              f"tar_change_time_min ({self.tar_change_time_min:g} s)")
        self.prev_root_xy = torch.zeros(self.num_envs, 2, device=self.device)
        self.task_change_time = torch.zeros(self.num_envs, device=self.device)

    def _build_obs_terms(self) -> list[tuple[str, ObsTerm]]:
        return super()._build_obs_terms() + [("task", self._task_obs)]

    def _task_obs(self, env_ids: torch.Tensor | None) -> torch.Tensor:
        raise NotImplementedError

    def _resample_task(self, env_ids: torch.Tensor) -> None:
        """Draw a new task for ``env_ids``."""
        raise NotImplementedError

    def _start_task(self, env_ids: torch.Tensor) -> None:
        self._resample_task(env_ids)
        span = self.tar_change_time_max - self.tar_change_time_min
        self.task_change_time[env_ids] = (self.time[env_ids] + self.tar_change_time_min
                                          + span * torch.rand(env_ids.numel(), device=self.device))

    def _reset_envs(self, env_ids: torch.Tensor) -> None:
        super()._reset_envs(env_ids)
        self._start_task(env_ids)

    def _apply_action(self, action: torch.Tensor) -> None:
        self.prev_root_xy[:] = self.engine.get_root_pos(self.char_id)[:, :2]
        super()._apply_action(action)

    def _update_misc(self) -> None:
        super()._update_misc()
        due = (self.time >= self.task_change_time).nonzero(as_tuple=False).flatten()
        if due.numel() > 0:
            self._start_task(due)

    def _root_xy_and_facing(self) -> tuple[torch.Tensor, torch.Tensor]:
        return self.engine.get_root_pos(self.char_id)[:, :2], heading_direction(self.engine.get_root_rot(self.char_id))

    def _compute_metrics(self) -> dict[str, torch.Tensor]:
        return self._task_metrics() if self.mode == EnvMode.TEST else {}

    def _task_metrics(self) -> dict[str, torch.Tensor]:
        """TEST-mode per-step task figures ``[N]``."""
        return {}
