"""Proximal Policy Optimization (Schulman et al. 2017) with TD(lambda) targets, as MimicKit runs it."""

from __future__ import annotations

import math
from collections.abc import Iterator
from typing import Any

import torch

from mimickit.envs.base_env import DoneFlags, EnvMode
from mimickit.learning.base_agent import (
    BASE_AGENT_SCHEMA,
    BaseAgent,
    build_optimizer,
    optimizer_field,
)
from mimickit.learning.nets import NET_LAYERS
from mimickit.learning.ppo_model import STD_TYPES, PPOModel
from mimickit.learning.rl_util import compute_td_lambda_return
from mimickit.util import distributed
from mimickit.util.config import ConfigError
from mimickit.util.schedule import parse_schedule, scheduled_value
from mimickit.util.schema import REQUIRED, Field


def net_field(help: str, default: str | None = REQUIRED) -> Field:
    """A network name: a key of :data:`~mimickit.learning.nets.NET_LAYERS` (None: the default says what)."""
    return Field(str, default, help, choices=tuple(NET_LAYERS))


PPO_MODEL_SCHEMA: dict[str, Field] = {
    "actor_net": net_field("the actor's hidden layers"),
    "critic_net": net_field("the critic's hidden layers"),
    "actor_init_output_scale": Field(float, 0.01, "scale of the actor's initial output weights", gt=0),
    "actor_std_type": Field(str, "FIXED", "FIXED exploration std, or CONSTANT (state-independent, trained)",
                            choices=STD_TYPES),
    "action_std": Field(float, 0.05, "exploration std, in normalised action units", gt=0),
}
# training loop settings PPO and AWR share
POLICY_GRADIENT_SCHEMA: dict[str, Field] = {
    **BASE_AGENT_SCHEMA,
    "model": Field(dict, help="network settings", schema=PPO_MODEL_SCHEMA),
    "actor_optimizer": optimizer_field("the actor's optimiser"),
    "critic_optimizer": optimizer_field("the critic's optimiser"),
    "actor_epochs": Field(int, 5, "passes over the rollout per actor update", ge=1),
    "actor_batch_size": Field(float, 4.0, "actor minibatch, in multiples of num_envs samples", gt=0),
    "critic_epochs": Field(int, 2, "passes over the rollout per critic update", ge=1),
    "critic_batch_size": Field(float, 2.0, "critic minibatch, in multiples of num_envs samples", gt=0),
    "td_lambda": Field(float, 0.95, "lambda of the TD(lambda) returns", ge=0, le=1),
    "action_bound_weight": Field(float, 10.0, "weight of the penalty on action means outside the bounds", ge=0),
    "action_entropy_weight": Field(float, 0.0, "weight of the entropy bonus", ge=0),
    "action_reg_weight": Field(float, 0.0, "weight of the squared normalised action mean", ge=0),
    "action_std_schedule": Field(list, None, "[[samples, std], ...]: FIXED std from each sample count on"),
    "actor_lr_schedule": Field(list, None, "[[samples, learning_rate], ...]: actor learning rate from each sample "
                                           "count on"),
}
PPO_SCHEMA: dict[str, Field] = {
    **POLICY_GRADIENT_SCHEMA,
    "ppo_clip_ratio": Field(float, 0.2, "PPO's ratio clip epsilon", gt=0),
    "norm_adv_clip": Field(float, 4.0, "clip of the normalised advantages", gt=0),
}


def action_bound_loss(norm_mean: torch.Tensor) -> torch.Tensor:
    """``[n]`` penalty on normalised action means outside [-1, 1]: sum_d min(mu+1, 0)^2 + max(mu-1, 0)^2."""
    return ((norm_mean + 1.0).clamp(max=0.0) ** 2 + (norm_mean - 1.0).clamp(min=0.0) ** 2).sum(-1)


def ppo_surrogate_loss(log_prob: torch.Tensor, old_log_prob: torch.Tensor, adv: torch.Tensor,
                       clip_ratio: float) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Clipped surrogate loss (to minimise), clip fraction and mean importance ratio."""
    ratio = torch.exp(log_prob - old_log_prob)
    loss = -torch.minimum(adv * ratio, adv * ratio.clamp(1.0 - clip_ratio, 1.0 + clip_ratio)).mean()
    clip_frac = ((ratio - 1.0).abs() > clip_ratio).float().mean()
    return loss, clip_frac, ratio.mean()


class PPOAgent(BaseAgent):
    """PPO: critic regressed to TD(lambda) returns, then the clipped surrogate on normalised advantages.

    Minibatch sizes are ``*_batch_size x num_envs`` samples; one epoch visits the whole rollout once.
    Extra config keys: :data:`PPO_SCHEMA`. ``action_std_schedule`` sets a FIXED exploration std once its
    sample counts are reached (the model's ``action_std`` before the first entry); ``actor_lr_schedule`` does the
    same for the actor's learning rate (``actor_optimizer.learning_rate`` before the first entry).
    """

    SCHEMA = PPO_SCHEMA
    NAME = "PPO"

    def _build_model(self, model_config: dict[str, Any]) -> None:
        low, _ = self.env.action_bounds
        actor_dim = self.env.actor_obs_dim
        if actor_dim < self.env.obs_dim and self._policy_input_dim() != self.env.obs_dim:
            raise ConfigError(f"{self.source}: the {self.NAME} agent's policy input extends the observation; it "
                              f"cannot use an env whose critic sees privileged observations")
        self.model = PPOModel(self._policy_input_dim(), int(low.numel()), model_config,
                              actor_dim if actor_dim < self.env.obs_dim else None)
        self._std_schedule = parse_schedule(self.config["action_std_schedule"],
                                            f"{self.source}: action_std_schedule")
        if self._std_schedule and self.model.policy.log_std.requires_grad:
            raise ConfigError(f"{self.source}: action_std_schedule needs actor_std_type FIXED (a trainable std has "
                              f"no schedule)")
        self._lr_schedule = parse_schedule(self.config["actor_lr_schedule"], f"{self.source}: actor_lr_schedule")

    def _policy_input_dim(self) -> int:
        """Size of the actor's and critic's input (the observation here)."""
        return self.env.obs_dim

    def _extra_actor_loss(self, norm_input: torch.Tensor, mean: torch.Tensor,
                          norm_action: torch.Tensor) -> tuple[torch.Tensor, dict[str, float]] | None:
        """Hook: a loss added to the actor's on a minibatch (network inputs ``[n, in]``, action means ``[n, A]``,
        the normalised actions taken ``[n, A]``) and values to log; None adds nothing."""
        return None

    def _configured_learning_rate(self, name: str) -> float | None:
        lr = super()._configured_learning_rate(name)
        return scheduled_value(self._lr_schedule, self.sample_count, lr) if name == "actor" and lr else lr

    def _begin_iteration(self) -> dict[str, float]:
        """Apply the schedules for this iteration's sample count: exploration std and actor learning rate."""
        info = {}
        if self._std_schedule:
            std = scheduled_value(self._std_schedule, self.sample_count, self.config["model"]["action_std"])
            self.model.policy.log_std.data.fill_(math.log(std))
        info["action_std"] = float(self.model.policy.log_std.exp().mean())
        if self._lr_schedule:
            lr = scheduled_value(self._lr_schedule, self.sample_count, self.config["actor_optimizer"]["learning_rate"])
            for group in self.optimizers["actor"].param_groups:
                group["lr"] = lr
        info["actor_lr"] = self.optimizers["actor"].param_groups[0]["lr"]
        return info

    def _build_optimizers(self) -> dict[str, torch.optim.Optimizer]:
        c = self.config
        actor_params = [p for p in [*self.model.actor_body.parameters(), *self.model.policy.parameters()]
                        if p.requires_grad]
        critic_params = [*self.model.critic_body.parameters(), *self.model.critic_out.parameters()]
        self._grad_clip = {"actor": c["actor_optimizer"]["grad_clip"], "critic": c["critic_optimizer"]["grad_clip"]}
        return {"actor": build_optimizer(c["actor_optimizer"], actor_params, f"{self.source}: actor_optimizer"),
                "critic": build_optimizer(c["critic_optimizer"], critic_params, f"{self.source}: critic_optimizer")}

    def _decide_action(self, obs: torch.Tensor) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        mean = self.model.action_mean(self._norm_obs(obs))
        if self.mode == EnvMode.TEST:
            return self.a_norm.unnormalize(mean), {}
        norm_action = self.model.policy.sample(mean)
        log_prob = self.model.policy.log_prob(mean, norm_action)
        return self.a_norm.unnormalize(norm_action), {"norm_action": norm_action, "log_prob": log_prob}

    def _value_targets(self, next_obs: torch.Tensor, reward: torch.Tensor, done: torch.Tensor) -> torch.Tensor:
        """TD(lambda) returns ``[T, N]`` of trajectories ``[T, N, ...]`` with the current critic; FAIL / SUCC steps
        bootstrap from the env's terminal values."""
        next_value = self.model.value(self._norm_obs(next_obs))
        gamma = self.discount
        next_value[done == int(DoneFlags.FAIL)] = self.env.get_reward_fail() / (1.0 - gamma)
        next_value[done == int(DoneFlags.SUCC)] = self.env.get_reward_succ() / (1.0 - gamma)
        return compute_td_lambda_return(reward, next_value, done, gamma, self.config["td_lambda"])

    def _build_train_data(self) -> dict[str, float]:
        c = self.config
        buf = self.buffer
        obs = buf.get("obs")
        returns = self._value_targets(buf.get("next_obs"), buf.get("reward"), buf.get("done"))
        adv = returns - self.model.value(self._norm_obs(obs))
        pooled = distributed.is_distributed()
        adv_mean, adv_std = distributed.pooled_mean_std(adv) if pooled else (adv.mean(), adv.std())
        clip = c["norm_adv_clip"]
        buf.set("target_value", returns)
        buf.set("adv", ((adv - adv_mean) / adv_std.clamp_min(1e-5)).clamp(-clip, clip))
        return {"adv_mean": float(adv_mean), "adv_std": float(adv_std)}

    def _minibatches(self, batch_size_mult: float, epochs: int):
        total = self.steps_per_iter * self.env.num_envs
        size = min(total, math.ceil(batch_size_mult * self.env.num_envs))
        for _ in range(epochs):
            perm = torch.randperm(total, device=self.device)
            for start in range(0, total, size):
                yield perm[start:start + size]

    def _step(self, name: str, loss: torch.Tensor) -> None:
        opt = self.optimizers[name]
        opt.zero_grad(set_to_none=True)
        loss.backward()
        distributed.average_gradients(p for g in opt.param_groups for p in g["params"])
        if self._grad_clip[name] > 0:
            torch.nn.utils.clip_grad_norm_([p for g in opt.param_groups for p in g["params"]], self._grad_clip[name])
        opt.step()

    def _update_data(self) -> dict[str, torch.Tensor]:
        """The samples this iteration's update learns from, flat ``[S, ...]``: ``obs``, ``norm_action``,
        ``target_value`` and what :meth:`_policy_loss` reads (PPO: this rollout's ``log_prob`` and ``adv``)."""
        return self.buffer.flat(["obs", "norm_action", "log_prob", "target_value", "adv"])

    def _network_batches(self, network: str) -> Iterator[torch.Tensor]:
        """Minibatch indices into :meth:`_update_data` for ``network`` (``critic`` or ``actor``): PPO makes
        ``<network>_epochs`` passes over the rollout in minibatches of ``<network>_batch_size x num_envs``."""
        return self._minibatches(self.config[f"{network}_batch_size"], self.config[f"{network}_epochs"])

    def _policy_loss(self, log_prob: torch.Tensor, data: dict[str, torch.Tensor],
                     idx: torch.Tensor) -> tuple[torch.Tensor, dict[str, float]]:
        """The actor's policy-gradient loss on minibatch ``idx`` given the current ``log_prob`` of its actions,
        and figures to log (means over minibatches). PPO: the clipped surrogate, clip fraction, ratio."""
        surrogate, clip_frac, ratio = ppo_surrogate_loss(log_prob, data["log_prob"][idx], data["adv"][idx],
                                                         self.config["ppo_clip_ratio"])
        return surrogate, {"clip_frac": clip_frac.item(), "imp_ratio": ratio.item()}

    def _update_model(self) -> dict[str, float]:
        """Critic regression on ``target_value``, then the actor on :meth:`_policy_loss` plus the action bound,
        entropy and regularisation terms and any :meth:`_extra_actor_loss`, in :meth:`_network_batches`."""
        c = self.config
        data = self._update_data()
        norm_obs = self._norm_obs(data["obs"])
        critic_sum, n_critic = 0.0, 0
        for idx in self._network_batches("critic"):
            loss = (data["target_value"][idx] - self.model.value(norm_obs[idx])).pow(2).mean()
            self._step("critic", loss)
            critic_sum += loss.item()
            n_critic += 1
        bound_w, entropy_w, reg_w = c["action_bound_weight"], c["action_entropy_weight"], c["action_reg_weight"]
        sums: dict[str, float] = {"actor_loss": 0.0}
        n_actor = 0
        for idx in self._network_batches("actor"):
            mean = self.model.action_mean(norm_obs[idx])
            log_prob = self.model.policy.log_prob(mean, data["norm_action"][idx])
            policy_loss, figures = self._policy_loss(log_prob, data, idx)
            bound = action_bound_loss(mean).mean()
            loss = (policy_loss + bound_w * bound - entropy_w * self.model.policy.entropy()
                    + reg_w * mean.pow(2).sum(-1).mean())
            extra = self._extra_actor_loss(norm_obs[idx], mean, data["norm_action"][idx])
            if extra is not None:
                loss = loss + extra[0]
            self._step("actor", loss)
            for name, value in (("actor_loss", policy_loss.item()), *figures.items(),
                                ("action_bound_loss", bound.item()), *(extra[1].items() if extra else ())):
                sums[name] = sums.get(name, 0.0) + value
            n_actor += 1
        return {"critic_loss": critic_sum / max(n_critic, 1), **{k: v / max(n_actor, 1) for k, v in sums.items()}}
