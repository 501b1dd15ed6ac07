"""Running mean / standard deviation of a stream of vectors, used to normalise observations."""

from __future__ import annotations

import torch
from torch import nn

from mimickit.util import distributed


class Normalizer(nn.Module):
    """Normalises ``x [..., *shape]`` to ``clip((x - mean) / std)``.

    Statistics accumulate with :meth:`record` and are merged into the saved mean/std by :meth:`update`
    (count-weighted, in float64 so hundreds of millions of samples lose no precision).
    """

    count: torch.Tensor  # buffers: samples merged so far [1], mean / std [*shape] (float32), mean of squares (float64)
    mean: torch.Tensor
    std: torch.Tensor
    mean_sq: torch.Tensor

    def __init__(self, shape: tuple[int, ...], init_mean: torch.Tensor | None = None,
                 init_std: torch.Tensor | None = None, min_std: float = 1e-4, clip: float = float("inf")) -> None:
        super().__init__()
        self.min_std = min_std
        self.clip = clip
        self.register_buffer("count", torch.zeros(1, dtype=torch.int64))
        self.register_buffer("mean", torch.zeros(shape) if init_mean is None else init_mean.clone().float())
        self.register_buffer("std", torch.ones(shape) if init_std is None else init_std.clone().float())
        self.register_buffer("mean_sq", self.std.double() ** 2 + self.mean.double() ** 2)
        self._new_count = 0
        self._new_sum = torch.zeros(shape, dtype=torch.float64)
        self._new_sum_sq = torch.zeros(shape, dtype=torch.float64)

    def record(self, x: torch.Tensor) -> None:
        """Accumulate samples ``x [..., *shape]`` (all leading dims are samples)."""
        flat = x.detach().reshape(-1, *tuple(self.mean.shape)).double()  # stays on x's device: no host copy per batch
        if self._new_sum.device != flat.device:
            self._new_sum, self._new_sum_sq = self._new_sum.to(flat.device), self._new_sum_sq.to(flat.device)
        self._new_count += flat.shape[0]
        self._new_sum += flat.sum(0)
        self._new_sum_sq += (flat ** 2).sum(0)

    def update(self) -> None:
        """Merge the recorded samples (of every worker, pooled exactly) into mean and std."""
        if distributed.is_distributed():
            count = torch.tensor([float(self._new_count)], dtype=torch.float64, device=self._new_sum.device)
            pooled = distributed.all_reduce_sum(torch.cat([count, self._new_sum.flatten(), self._new_sum_sq.flatten()]))
            n = self._new_sum.numel()
            self._new_count = int(pooled[0].item())
            self._new_sum = pooled[1:1 + n].view_as(self._new_sum).clone()
            self._new_sum_sq = pooled[1 + n:].view_as(self._new_sum_sq).clone()
        if self._new_count == 0:
            return
        old = int(self.count.item())
        total = old + self._new_count
        device = self.mean.device
        new_mean = (self._new_sum / self._new_count).to(device)
        new_mean_sq = (self._new_sum_sq / self._new_count).to(device)
        w_old, w_new = old / total, self._new_count / total
        mean = w_old * self.mean.double() + w_new * new_mean
        mean_sq = w_old * self.mean_sq + w_new * new_mean_sq
        var = (mean_sq - mean ** 2).clamp_min(self.min_std ** 2)
        self.mean.copy_(mean.float())
        self.mean_sq.copy_(mean_sq)
        self.std.copy_(var.sqrt().float())
        self.count.fill_(total)
        self._new_count = 0
        self._new_sum.zero_()
        self._new_sum_sq.zero_()

    def normalize(self, x: torch.Tensor) -> torch.Tensor:
        return ((x - self.mean) / self.std).clamp(-self.clip, self.clip)

    def unnormalize(self, z: torch.Tensor) -> torch.Tensor:
        return z * self.std + self.mean


class DiffNormalizer(nn.Module):
    """Scales differences ``x [..., *shape]`` by their running mean absolute value (no centring): ``clip(x /
    max(mean_abs, min_diff))``; ``mean_abs`` starts at ones and merges recorded batches count-weighted."""

    count: torch.Tensor  # buffers: samples merged so far [1], mean absolute difference [*shape]
    mean_abs: torch.Tensor

    def __init__(self, shape: tuple[int, ...], min_diff: float = 1e-4, clip: float = float("inf")) -> None:
        super().__init__()
        self.min_diff = min_diff
        self.clip = clip
        self.register_buffer("count", torch.zeros(1, dtype=torch.int64))
        self.register_buffer("mean_abs", torch.ones(shape))
        self._new_count = 0
        self._new_sum_abs = torch.zeros(shape, dtype=torch.float64)

    def record(self, x: torch.Tensor) -> None:
        flat = x.detach().reshape(-1, *tuple(self.mean_abs.shape)).double()  # stays on x's device
        if self._new_sum_abs.device != flat.device:
            self._new_sum_abs = self._new_sum_abs.to(flat.device)
        self._new_count += flat.shape[0]
        self._new_sum_abs += flat.abs().sum(0)

    def update(self) -> None:
        if distributed.is_distributed():
            count = torch.tensor([float(self._new_count)], dtype=torch.float64, device=self._new_sum_abs.device)
            pooled = distributed.all_reduce_sum(torch.cat([count, self._new_sum_abs.flatten()]))
            self._new_count = int(pooled[0].item())
            self._new_sum_abs = pooled[1:].view_as(self._new_sum_abs).clone()
        if self._new_count == 0:
            return
        old = int(self.count.item())
        total = old + self._new_count
        new_mean = (self._new_sum_abs / self._new_count).to(self.mean_abs.device)
        merged = (old / total) * self.mean_abs.double() + (self._new_count / total) * new_mean
        self.mean_abs.copy_(merged.float())
        self.count.fill_(total)
        self._new_count = 0
        self._new_sum_abs.zero_()

    def normalize(self, x: torch.Tensor) -> torch.Tensor:
        return (x / self.mean_abs.clamp_min(self.min_diff)).clamp(-self.clip, self.clip)
