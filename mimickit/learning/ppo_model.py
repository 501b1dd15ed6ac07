"""Actor (diagonal Gaussian policy) and critic networks for PPO-style agents."""

from __future__ import annotations

import math

import torch
from torch import nn

from mimickit.learning.nets import build_mlp
from mimickit.util.config import ConfigError

STD_TYPES = ("FIXED", "CONSTANT")


class GaussianPolicy(nn.Module):
    """``pi(a|s) = N(mu(s), diag(sigma^2))`` in normalised action space; sigma is a fixed or trainable vector."""

    def __init__(self, in_dim: int, action_dim: int, init_output_scale: float, std_type: str,
                 action_std: float) -> None:
        super().__init__()
        if std_type not in STD_TYPES:
            raise ConfigError(f"actor_std_type must be one of {list(STD_TYPES)}, found {std_type!r}")
        self.mean = nn.Linear(in_dim, action_dim)
        nn.init.uniform_(self.mean.weight, -init_output_scale, init_output_scale)
        nn.init.zeros_(self.mean.bias)
        self.log_std = nn.Parameter(torch.full((action_dim,), math.log(action_std)),
                                    requires_grad=std_type == "CONSTANT")

    def forward(self, features: torch.Tensor) -> torch.Tensor:
        return self.mean(features)

    def log_prob(self, mean: torch.Tensor, action: torch.Tensor) -> torch.Tensor:
        """``[n]`` log density of ``action [n, A]``."""
        z = (action - mean) / self.log_std.exp()
        return (-0.5 * z.pow(2) - self.log_std - 0.5 * math.log(2 * math.pi)).sum(-1)

    def sample(self, mean: torch.Tensor) -> torch.Tensor:
        return mean + self.log_std.exp() * torch.randn_like(mean)

    def entropy(self) -> torch.Tensor:
        return (self.log_std + 0.5 * math.log(2 * math.pi * math.e)).sum()


class PPOModel(nn.Module):
    """Separate actor and critic MLPs over normalised observations ``[n, obs_dim]``; with ``actor_dim`` the actor
    sees only the leading ``actor_dim`` entries (an asymmetric actor-critic: the rest is the critic's)."""

    def __init__(self, obs_dim: int, action_dim: int, config: dict, actor_dim: int | None = None) -> None:
        super().__init__()
        self.actor_dim = actor_dim
        self.actor_body, actor_out = build_mlp(config["actor_net"], obs_dim if actor_dim is None else actor_dim)
        self.policy = GaussianPolicy(actor_out, action_dim, config["actor_init_output_scale"],
                                     config["actor_std_type"], config["action_std"])
        self.critic_body, critic_out = build_mlp(config["critic_net"], obs_dim)
        self.critic_out = nn.Linear(critic_out, 1)
        nn.init.zeros_(self.critic_out.bias)

    def action_mean(self, norm_obs: torch.Tensor) -> torch.Tensor:
        actor_input = norm_obs if self.actor_dim is None else norm_obs[..., :self.actor_dim]
        return self.policy(self.actor_body(actor_input))

    def value(self, norm_obs: torch.Tensor) -> torch.Tensor:
        return self.critic_out(self.critic_body(norm_obs)).squeeze(-1)
