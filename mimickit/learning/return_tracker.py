"""Mean undiscounted return and length of completed episodes."""

from __future__ import annotations

import torch

from mimickit.envs.base_env import DoneFlags


class ReturnTracker:
    def __init__(self, num_envs: int, device: torch.device) -> None:
        self.episode_return = torch.zeros(num_envs, device=device)
        self.episode_length = torch.zeros(num_envs, device=device)
        self.episodes_per_env = torch.zeros(num_envs, dtype=torch.long, device=device)
        self.reset()

    def reset(self) -> None:
        self.episode_return.zero_()
        self.episode_length.zero_()
        self.episodes_per_env.zero_()
        self.num_episodes = 0
        self.return_sum = 0.0
        self.length_sum = 0.0
        self.done_counts = {flag: 0 for flag in DoneFlags if flag != DoneFlags.NULL}
        self.episode_returns: list[float] = []

    def update(self, reward: torch.Tensor, done: torch.Tensor, count: torch.Tensor | None = None) -> None:
        """Add one step ``reward [N]`` with ``done [N]`` flags; episodes that finish where ``count [N]`` (bool)
        is False are dropped (their per-env accumulators still restart)."""
        self.episode_return += reward
        self.episode_length += 1
        ended = done != int(DoneFlags.NULL)
        finished = ended if count is None else ended & count
        if finished.any():
            self.num_episodes += int(finished.sum())
            self.episode_returns.extend(self.episode_return[finished].tolist())
            self.return_sum += float(self.episode_return[finished].sum())
            self.length_sum += float(self.episode_length[finished].sum())
            for flag in self.done_counts:
                self.done_counts[flag] += int((done[finished] == int(flag)).sum())
            self.episodes_per_env += finished.long()
        running = (~ended).to(self.episode_return.dtype)
        self.episode_return.mul_(running)
        self.episode_length.mul_(running)

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
