"""LCP (Lipschitz-constrained policies): PPO whose actor loss also penalises how fast the policy's log-likelihood
changes with its observation, for smooth actions a robot can run."""

from __future__ import annotations

from typing import Any

import torch

from mimickit.envs.base_env import BaseEnv
from mimickit.learning.ppo_agent import PPO_SCHEMA, PPOAgent
from mimickit.util.schema import Field

LCP_SCHEMA: dict[str, Field] = {
    **PPO_SCHEMA,
    "lcp_weight": Field(float, 0.002, "weight of the gradient penalty mean ||d log pi(a|s) / d s||^2 (s normalised)",
                        ge=0),
}


def log_prob_input_grad_sq(log_prob: torch.Tensor, norm_input: torch.Tensor) -> torch.Tensor:
    """``mean_i ||d log_prob_i / d norm_input_i||^2`` over the minibatch; ``norm_input`` must require grad and
    ``log_prob`` [n] be computed from it. Kept differentiable (the penalty is trained through)."""
    (grad,) = torch.autograd.grad(log_prob.sum(), norm_input, create_graph=True)
    return grad.pow(2).sum(-1).mean()


class LCPAgent(PPOAgent):
    """PPO plus ``lcp_weight x mean ||d log pi(a|s) / d s||^2`` on the actor (upstream's LCP, lcp_weight 0.002):
    the log-likelihood of each minibatch's taken action, differentiated with respect to the normalised
    observation. Logged as ``lcp_penalty`` (before weighting)."""

    SCHEMA = LCP_SCHEMA
    NAME = "LCP"

    def __init__(self, config: dict[str, Any], env: BaseEnv, device: torch.device | str = "cpu",
                 source: str = "agent config") -> None:
        super().__init__(config, env, device, source)
        self.lcp_weight = self.config["lcp_weight"]

    def _extra_actor_loss(self, norm_input: torch.Tensor, mean: torch.Tensor,
                          norm_action: torch.Tensor) -> tuple[torch.Tensor, dict[str, float]] | None:
        obs = norm_input.detach().requires_grad_(True)
        log_prob = self.model.policy.log_prob(self.model.action_mean(obs), norm_action)
        penalty = log_prob_input_grad_sq(log_prob, obs)
        return self.lcp_weight * penalty, {"lcp_penalty": float(penalty.detach())}
