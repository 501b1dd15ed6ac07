"""What an env step records beside its outputs: training-step means of the reward terms, and per-episode
means of metrics (e.g. the tracking errors) for the episodes that end."""

from __future__ import annotations

import torch

from mimickit.util.rows import write_rows


class StepMeans:
    """Mean over recorded steps of named per-env values ``[N]`` (each step contributes its batch mean)."""

    def __init__(self) -> None:
        self._sums: dict[str, torch.Tensor] = {}
        self.count = 0

    def add(self, values: dict[str, torch.Tensor]) -> None:
        for name, value in values.items():
            mean = value.mean()
            self._sums[name] = self._sums[name] + mean if name in self._sums else mean
        self.count += 1

    def pop(self) -> dict[str, float]:
        """The means since the last call (0 for names seen before but not since), then restart."""
        out = {name: float(total) / max(self.count, 1) for name, total in self._sums.items()}
        self._sums = {name: torch.zeros_like(total) for name, total in self._sums.items()}
        self.count = 0
        return out


class EpisodeMeans:
    """Per-env running sums of named metrics over the steps of the current episode."""

    def __init__(self, num_envs: int, device: torch.device) -> None:
        self.num_envs = num_envs
        self.device = device
        self._sums: dict[str, torch.Tensor] = {}
        self._steps = torch.zeros(num_envs, device=device)

    def add(self, values: dict[str, torch.Tensor]) -> None:
        """One step of every env: ``values`` maps names to ``[N]``; an empty dict records nothing."""
        if not values:
            return
        for name, value in values.items():
            if name not in self._sums:
                self._sums[name] = torch.zeros(self.num_envs, device=self.device)
            self._sums[name] += value
        self._steps += 1

    def reset(self, env_ids: torch.Tensor) -> None:
        """Restart the episodes of ``env_ids`` (ids or a bool mask, :mod:`mimickit.util.rows`)."""
        for total in self._sums.values():
            write_rows(total, env_ids, 0.0)
        write_rows(self._steps, env_ids, 0.0)

    def means(self, ended: torch.Tensor) -> dict[str, torch.Tensor]:
        """Each metric's episode mean ``[N]`` where ``ended`` (bool ``[N]``), NaN elsewhere."""
        steps = self._steps.clamp_min(1.0)
        out = {}
        for name, total in self._sums.items():
            mean = total / steps
            mean[~ended] = float("nan")
            out[name] = mean
        return out


class Smoothness:
    """Per-episode action smoothness of each env (TEST mode): mean ``|a_t - a_{t-1}|`` over action dimensions and
    steps (``action_delta``, action units per control step) and mean ``|d^3 q / dt^3|`` over DoFs and steps
    (``joint_jerk``, rad/s^3, third backward difference of the DoF positions with control step ``dt``). The first
    step of an episode has no previous action and the first three no jerk; those steps are left out."""

    def __init__(self, num_envs: int, action_dim: int, dof_dim: int, dt: float, device: torch.device) -> None:
        self.dt = dt
        self._prev_action = torch.zeros(num_envs, action_dim, device=device)
        self._dof_hist = torch.zeros(num_envs, 3, dof_dim, device=device)  # q_{t-3}, q_{t-2}, q_{t-1}
        self._steps = torch.zeros(num_envs, device=device)  # steps recorded in this episode
        self._sums = {name: torch.zeros(num_envs, device=device) for name in ("action_delta", "joint_jerk")}
        self._counts = {name: torch.zeros(num_envs, device=device) for name in ("action_delta", "joint_jerk")}

    def reset(self, env_ids: torch.Tensor) -> None:
        """Restart the episodes of ``env_ids`` (ids or a bool mask, :mod:`mimickit.util.rows`)."""
        write_rows(self._steps, env_ids, 0.0)
        for name in self._sums:
            write_rows(self._sums[name], env_ids, 0.0)
            write_rows(self._counts[name], env_ids, 0.0)

    def add(self, action: torch.Tensor, dof_pos: torch.Tensor) -> None:
        """One step: the (clipped) actions ``[N, A]`` applied and the DoF positions ``[N, D]`` after it."""
        delta_valid = (self._steps >= 1).float()
        jerk_valid = (self._steps >= 3).float()
        delta = (action - self._prev_action).abs().mean(-1)
        q3, q2, q1 = self._dof_hist.unbind(1)
        jerk = ((dof_pos - 3.0 * q1 + 3.0 * q2 - q3) / self.dt ** 3).abs().mean(-1)
        self._sums["action_delta"] += delta * delta_valid
        self._counts["action_delta"] += delta_valid
        self._sums["joint_jerk"] += jerk * jerk_valid
        self._counts["joint_jerk"] += jerk_valid
        self._prev_action.copy_(action)
        self._dof_hist.copy_(torch.cat([self._dof_hist[:, 1:], dof_pos[:, None]], dim=1))
        self._steps += 1.0

    def means(self, ended: torch.Tensor) -> dict[str, torch.Tensor]:
        """Each figure's episode mean ``[N]`` where ``ended`` (NaN elsewhere, and where no step counted)."""
        out = {}
        for name, total in self._sums.items():
            count = self._counts[name]
            mean = total / count.clamp_min(1.0)
            out[name] = torch.where(ended & (count > 0), mean, torch.full_like(mean, float("nan")))
        return out
