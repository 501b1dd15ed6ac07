"""What an env step records beside its outputs: training-step means of the reward terms, and per-episode
means of metrics (e.g. the tracking errors) for the episodes that end."""

from __future__ import annotations

import torch


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
        for total in self._sums.values():
            total[env_ids] = 0.0
        self._steps[env_ids] = 0.0

    def means(self, ended: torch.Tensor) -> dict[str, torch.Tensor]:
        """Each metric's episode mean ``[N]`` where ``ended`` (bool ``[N]``), NaN elsewhere."""
        steps = self._steps.clamp_min(1.0)
        out = {}
        for name, total in self._sums.items():
            mean = total / steps
            mean[~ended] = float("nan")
            out[name] = mean
        return out
