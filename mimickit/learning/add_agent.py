"""ADD: an adversarial differential discriminator. The discriminator sees the difference between the reference
and the simulated character at the same motion time; its positive sample is the zero difference (perfect
tracking), its negatives the policy's differences, so its logits reward closeness to the clip."""

from __future__ import annotations

import torch

from mimickit.learning.amp_agent import AMPAgent
from mimickit.learning.normalizer import DiffNormalizer, Normalizer


class ADDAgent(AMPAgent):
    """AMPAgent with differences ``disc_obs_demo - disc_obs`` (from the env's ``info``) as the discriminator
    input, scaled by their running mean absolute value; replay holds (policy, reference) pairs; the positive
    sample is a single zero vector. Logged columns keep AMP's names: ``disc_demo_*`` is the zero difference,
    ``disc_agent_*`` the policy's differences."""

    NAME = "ADD"
    INFO_KEYS = ("disc_obs", "disc_obs_demo")
    REPLAY_FIELDS = ("disc_obs", "disc_obs_demo")

    def _build_disc_normalizer(self, dim: int) -> Normalizer | DiffNormalizer:
        return DiffNormalizer((dim,), clip=10.0)

    def _disc_input(self, disc_obs: torch.Tensor, disc_obs_demo: torch.Tensor | None = None) -> torch.Tensor:
        if disc_obs_demo is None:
            raise ValueError("ADD's discriminator compares the policy's window with the demo window at the same time")
        return self.disc_obs_norm.normalize(disc_obs_demo - disc_obs)

    def _record_disc_stats(self, disc_obs: torch.Tensor, disc_obs_demo: torch.Tensor) -> None:
        self.disc_obs_norm.record(disc_obs_demo - disc_obs)

    def _disc_minibatch(self, data: dict[str, torch.Tensor], idx: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        replay = self.replay.sample(idx.numel())
        neg = torch.cat([self._disc_input(data["disc_obs"][idx], data["disc_obs_demo"][idx]),
                         self._disc_input(replay["disc_obs"], replay["disc_obs_demo"])])
        return torch.zeros(1, neg.shape[-1], device=neg.device), neg
