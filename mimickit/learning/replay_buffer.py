"""A fixed-capacity store of past samples, overwritten oldest first (the discriminators' agent replay)."""

from __future__ import annotations

import torch


class ReplayBuffer:
    """Rows of named fields ``[capacity, ...]``; fields are created by the first :meth:`push`."""

    def __init__(self, capacity: int, device: torch.device) -> None:
        if capacity < 1:
            raise ValueError(f"replay capacity must be positive, found {capacity}")
        self.capacity = capacity
        self.device = device
        self.head = 0
        self.size = 0
        self._data: dict[str, torch.Tensor] = {}

    def __len__(self) -> int:
        return self.size

    @property
    def full(self) -> bool:
        return self.size == self.capacity

    def push(self, fields: dict[str, torch.Tensor]) -> None:
        """Append ``n`` rows (each field ``[n, ...]``); past capacity the oldest rows are overwritten (when
        ``n`` exceeds the capacity only the last ``capacity`` rows are kept)."""
        n = next(iter(fields.values())).shape[0]
        keep = min(n, self.capacity)
        idx = (self.head + torch.arange(keep, device=self.device)) % self.capacity
        for name, value in fields.items():
            if name not in self._data:
                self._data[name] = torch.zeros(self.capacity, *value.shape[1:], dtype=value.dtype, device=self.device)
            self._data[name][idx] = value[n - keep:]
        self.head = (self.head + keep) % self.capacity
        self.size = min(self.size + keep, self.capacity)

    def sample(self, n: int) -> dict[str, torch.Tensor]:
        """``n`` rows drawn uniformly with replacement from what is stored."""
        idx = torch.randint(self.size, (n,), device=self.device)
        return {name: value[idx] for name, value in self._data.items()}

    def state_dict(self) -> dict[str, torch.Tensor]:
        """The stored rows and the write position, for exact resume."""
        state = {f"field.{name}": value[:self.size].clone() for name, value in self._data.items()}
        state["head"] = torch.tensor(self.head)
        return state

    def load_state_dict(self, state: dict[str, torch.Tensor]) -> None:
        fields = {k.removeprefix("field."): v for k, v in state.items() if k.startswith("field.")}
        self._data, self.size, self.head = {}, 0, 0
        if fields:
            size = next(iter(fields.values())).shape[0]
            for name, value in fields.items():
                self._data[name] = torch.zeros(self.capacity, *value.shape[1:], dtype=value.dtype, device=self.device)
                self._data[name][:size] = value.to(self.device)
            self.size = size
        self.head = int(state["head"])


class TrajectoryReplay:
    """The most recent ``capacity`` rollouts, each kept whole (fields ``[T, N, ...]``), so that returns can be
    recomputed along the stored trajectories with the current critic."""

    def __init__(self, capacity: int, device: torch.device) -> None:
        if capacity < 1:
            raise ValueError(f"replay capacity must be at least one rollout, found {capacity}")
        self.capacity = capacity
        self.device = device
        self.head = 0
        self.count = 0
        self._data: dict[str, torch.Tensor] = {}

    def push(self, rollout: dict[str, torch.Tensor]) -> None:
        """Store one rollout (copied), replacing the oldest when full."""
        for name, value in rollout.items():
            if name not in self._data:
                self._data[name] = torch.zeros(self.capacity, *value.shape, dtype=value.dtype, device=self.device)
            self._data[name][self.head] = value
        self.head = (self.head + 1) % self.capacity
        self.count = min(self.count + 1, self.capacity)

    def stacked(self, name: str) -> torch.Tensor:
        """Field ``name`` of every stored rollout side by side along the env axis: ``[T, count * N, ...]``."""
        x = self._data[name][:self.count]
        return x.transpose(0, 1).reshape(x.shape[1], -1, *x.shape[3:])

    @property
    def num_samples(self) -> int:
        if not self._data:
            return 0
        x = next(iter(self._data.values()))
        return self.count * x.shape[1] * x.shape[2]

    def state_dict(self) -> dict[str, torch.Tensor]:
        state = {f"field.{name}": value[:self.count].clone() for name, value in self._data.items()}
        state["head"] = torch.tensor(self.head)
        return state

    def load_state_dict(self, state: dict[str, torch.Tensor]) -> None:
        fields = {k.removeprefix("field."): v for k, v in state.items() if k.startswith("field.")}
        self._data, self.count = {}, 0
        for name, value in fields.items():
            self._data[name] = torch.zeros(self.capacity, *value.shape[1:], dtype=value.dtype, device=self.device)
            self._data[name][:value.shape[0]] = value.to(self.device)
            self.count = value.shape[0]
        self.head = int(state["head"])
