"""Mean undiscounted return and length of completed episodes, accumulated on the device.

:meth:`ReturnTracker.update` runs every environment step, so it only does tensor arithmetic (no host sync):
totals stay device tensors until :meth:`ReturnTracker.totals` reads them for a log row. Per-episode returns,
which need a host copy, are kept only when asked for (the test loop).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import torch

from mimickit.envs.base_env import DoneFlags

END_FLAGS = tuple(flag for flag in DoneFlags if flag != DoneFlags.NULL)


@dataclass
class EpisodeTotals:
    """Host-side totals of finished episodes: their number, summed return and length [steps], and how many ended
    with each done flag."""

    num_episodes: int = 0
    return_sum: float = 0.0
    length_sum: float = 0.0
    done_counts: dict[DoneFlags, int] = field(default_factory=lambda: dict.fromkeys(END_FLAGS, 0))

    @property
    def mean_return(self) -> float:
        return self.return_sum / max(self.num_episodes, 1)

    @property
    def mean_length(self) -> float:
        return self.length_sum / max(self.num_episodes, 1)

    def done_rates(self) -> dict[str, float]:
        """Fraction of finished episodes that ended FAIL / SUCC / TIME."""
        total = max(self.num_episodes, 1)
        return {flag.name.lower(): count / total for flag, count in self.done_counts.items()}

    def __add__(self, other: EpisodeTotals) -> EpisodeTotals:
        return EpisodeTotals(self.num_episodes + other.num_episodes, self.return_sum + other.return_sum,
                             self.length_sum + other.length_sum,
                             {f: self.done_counts[f] + other.done_counts[f] for f in END_FLAGS})


class ReturnTracker:
    """Running returns and lengths of ``num_envs`` envs and the totals of their finished episodes.

    Args:
        keep_returns: also keep each finished episode's return in :attr:`episode_returns` (a host copy per step
            that finishes an episode: for the test loop, not for training).
    """

    def __init__(self, num_envs: int, device: torch.device, keep_returns: bool = False) -> None:
        self.keep_returns = keep_returns
        self.episode_return = torch.zeros(num_envs, device=device)
        self.episode_length = torch.zeros(num_envs, device=device)
        self.episodes_per_env = torch.zeros(num_envs, dtype=torch.long, device=device)
        self._flag_values = torch.tensor([int(f) for f in END_FLAGS], device=device)
        self._num_episodes = torch.zeros((), dtype=torch.long, device=device)
        self._return_sum = torch.zeros((), dtype=torch.float64, device=device)
        self._length_sum = torch.zeros((), dtype=torch.float64, device=device)
        self._done_counts = torch.zeros(len(END_FLAGS), dtype=torch.long, device=device)
        self.episode_returns: list[float] = []

    def reset(self) -> None:
        for tensor in (self.episode_return, self.episode_length, self.episodes_per_env, self._num_episodes,
                       self._return_sum, self._length_sum, self._done_counts):
            tensor.zero_()
        self.episode_returns = []

    def update(self, reward: torch.Tensor, done: torch.Tensor, count: torch.Tensor | None = None) -> None:
        """Add one step ``reward [N]`` with ``done [N]`` flags; episodes that finish where ``count [N]`` (bool)
        is False are dropped (their per-env accumulators still restart)."""
        self.episode_return += reward
        self.episode_length += 1
        ended = done != int(DoneFlags.NULL)
        finished = ended if count is None else ended & count
        weight = finished.to(torch.float64)
        self._num_episodes += finished.sum()
        self._return_sum += (self.episode_return.double() * weight).sum()
        self._length_sum += (self.episode_length.double() * weight).sum()
        self._done_counts += ((done[None] == self._flag_values[:, None]) & finished[None]).sum(dim=1)
        self.episodes_per_env += finished.long()
        if self.keep_returns:
            self.episode_returns.extend(self.episode_return[finished].tolist())
        running = (~ended).to(self.episode_return.dtype)
        self.episode_return.mul_(running)
        self.episode_length.mul_(running)

    def totals(self) -> EpisodeTotals:
        """The finished episodes' totals, read to the host (one sync)."""
        counts = self._done_counts.tolist()
        return EpisodeTotals(int(self._num_episodes), float(self._return_sum), float(self._length_sum),
                             dict(zip(END_FLAGS, counts, strict=True)))
