"""Advantage-weighted regression (Peng et al. 2019) with a replay of recent rollouts: off-policy when the
replay holds several iterations, upstream's on-policy AWR when it holds one."""

from __future__ import annotations

import math
from collections.abc import Iterator
from typing import Any

import torch

from mimickit.envs.base_env import BaseEnv
from mimickit.learning.ppo_agent import POLICY_GRADIENT_SCHEMA, PPOAgent
from mimickit.learning.replay_buffer import TrajectoryReplay
from mimickit.util import distributed
from mimickit.util.config import ConfigError
from mimickit.util.schema import Field

AWR_SCHEMA: dict[str, Field] = {
    **POLICY_GRADIENT_SCHEMA,
    "actor_steps": Field(int, None, "actor minibatches per iteration (default: actor_epochs passes)", ge=1),
    "critic_steps": Field(int, None, "critic minibatches per iteration (default: critic_epochs passes)", ge=1),
    "awr_temp": Field(float, 1.0, "temperature of the advantage weights", gt=0),
    "a_weight_clip": Field(float, 20.0, "largest advantage weight", gt=0),
    "replay_samples": Field(int, None, "samples of recent rollouts replayed (default: one iteration)", ge=1),
}
REPLAY_FIELDS = ("obs", "norm_action", "next_obs", "reward", "done")


def awr_weights(norm_adv: torch.Tensor, temperature: float, max_weight: float) -> torch.Tensor:
    """``min(exp(A / temperature), max_weight)`` per sample."""
    return torch.exp(norm_adv / temperature).clamp(max=max_weight)


class AWRAgent(PPOAgent):
    """PPO's networks and acting; learning by advantage-weighted regression on a replay of recent rollouts.

    Each iteration the rollout joins a replay of the most recent ``replay_samples`` samples (whole
    iterations, at least one; one iteration = upstream's on-policy AWR). TD(lambda) targets are recomputed
    along every stored trajectory with the current critic (stored done flags cut them), advantages are
    normalised over the replay, and the actor minimises ``-mean(w log pi(a|s))`` with ``w = awr_weights(A,
    awr_temp, a_weight_clip)`` plus PPO's bound / entropy / regularisation terms. Update counts per
    iteration: ``critic_steps`` and ``actor_steps`` minibatches (default: ``*_epochs x ceil(iteration
    samples / minibatch)``, upstream's count), minibatches of ``*_batch_size x num_envs`` samples drawn
    without replacement from the whole replay.
    """

    SCHEMA = AWR_SCHEMA
    NAME = "AWR"

    def __init__(self, config: dict[str, Any], env: BaseEnv, device: torch.device | str = "cpu",
                 source: str = "agent config") -> None:
        super().__init__(config, env, device, source)
        iter_samples = self.steps_per_iter * env.num_envs
        replay_samples = self.config["replay_samples"] or iter_samples
        if replay_samples < iter_samples:
            raise ConfigError(f"{source}: replay_samples ({replay_samples}) must hold at least one iteration "
                              f"({iter_samples} samples = steps_per_iter x num_envs)")
        self.replay = TrajectoryReplay(math.ceil(replay_samples / iter_samples), self.device)
        self._train: dict[str, torch.Tensor] = {}

    def _build_train_data(self) -> dict[str, float]:
        buf = self.buffer
        self.replay.push({name: buf.get(name) for name in REPLAY_FIELDS})
        obs = self.replay.stacked("obs")
        returns = self._value_targets(self.replay.stacked("next_obs"), self.replay.stacked("reward"),
                                      self.replay.stacked("done"))
        adv = returns - self.model.value(self._norm_obs(obs))
        pooled = distributed.is_distributed()
        adv_mean, adv_std = distributed.pooled_mean_std(adv) if pooled else (adv.mean(), adv.std())
        weights = awr_weights((adv - adv_mean) / adv_std.clamp_min(1e-5), self.config["awr_temp"],
                              self.config["a_weight_clip"])
        actions = self.replay.stacked("norm_action")
        self._train = {"obs": obs.reshape(-1, obs.shape[-1]), "target_value": returns.reshape(-1),
                       "norm_action": actions.reshape(-1, actions.shape[-1]), "a_weight": weights.reshape(-1)}
        return {"adv_mean": float(adv_mean), "adv_std": float(adv_std), "a_weight_mean": float(weights.mean()),
                "a_weight_min": float(weights.min()), "a_weight_max": float(weights.max()),
                "replay_samples": float(self.replay.num_samples)}

    def _replay_minibatches(self, batch_size_mult: float, epochs: int, steps: int | None) -> Iterator[torch.Tensor]:
        total = self._train["target_value"].numel()
        size = min(total, math.ceil(batch_size_mult * self.env.num_envs))
        if steps is None:
            steps = epochs * math.ceil(self.steps_per_iter * self.env.num_envs / size)
        done = 0
        while done < steps:
            perm = torch.randperm(total, device=self.device)
            for start in range(0, total, size):
                if done == steps:
                    return
                yield perm[start:start + size]
                done += 1

    def _update_data(self) -> dict[str, torch.Tensor]:
        return self._train

    def _network_batches(self, network: str) -> Iterator[torch.Tensor]:
        c = self.config
        return self._replay_minibatches(c[f"{network}_batch_size"], c[f"{network}_epochs"], c[f"{network}_steps"])

    def _policy_loss(self, log_prob: torch.Tensor, data: dict[str, torch.Tensor],
                     idx: torch.Tensor) -> tuple[torch.Tensor, dict[str, float]]:
        """Advantage-weighted regression: ``-mean(w log pi(a|s))``."""
        return -(data["a_weight"][idx] * log_prob).mean(), {}

    def training_state(self) -> dict[str, torch.Tensor]:
        return {f"replay.{k}": v for k, v in self.replay.state_dict().items()} if self.replay.capacity > 1 else {}

    def load_training_state(self, state: dict[str, torch.Tensor]) -> None:
        self.replay.load_state_dict({k.removeprefix("replay."): v for k, v in state.items() if k.startswith("replay.")})
