"""Rollout storage: named tensors of shape ``[steps, num_envs, ...]``."""

from __future__ import annotations

import torch


class ExperienceBuffer:
    """A time-major buffer of ``length`` steps for ``num_envs`` environments; fields are created on first record."""

    def __init__(self, length: int, num_envs: int, device: torch.device) -> None:
        self.length = length
        self.num_envs = num_envs
        self.device = device
        self.head = 0
        self.total_samples = 0
        self._data: dict[str, torch.Tensor] = {}

    def record(self, name: str, value: torch.Tensor) -> None:
        """Store ``value [num_envs, ...]`` at the current step."""
        if name not in self._data:
            self._data[name] = torch.zeros(self.length, *value.shape, dtype=value.dtype, device=self.device)
        self._data[name][self.head] = value

    def inc(self) -> None:
        self.head = (self.head + 1) % self.length
        self.total_samples += self.num_envs

    def reset(self) -> None:
        self.head = 0

    def get(self, name: str) -> torch.Tensor:
        return self._data[name]

    def set(self, name: str, value: torch.Tensor) -> None:
        self._data[name] = value

    def flat(self, names: list[str]) -> dict[str, torch.Tensor]:
        """``[length * num_envs, ...]`` views of the named fields."""
        return {n: self._data[n].reshape(-1, *self._data[n].shape[2:]) for n in names}
