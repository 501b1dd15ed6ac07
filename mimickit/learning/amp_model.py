"""The discriminator network of AMP-style agents and its losses, as small functions of batched tensors."""

from __future__ import annotations

import torch
from torch import nn
from torch.nn import functional as F

from mimickit.learning.nets import build_mlp

REWARD_FLOOR = 1e-4  # 1 - D is floored here before the log


class Discriminator(nn.Module):
    """ReLU MLP over a discriminator observation ``[n, d]`` -> logit ``[n]``; the logit layer starts with
    weights uniform in [-1, 1] and bias 0."""

    def __init__(self, net_name: str, in_dim: int) -> None:
        super().__init__()
        self.body, out_dim = build_mlp(net_name, in_dim)
        self.logit = nn.Linear(out_dim, 1)
        nn.init.uniform_(self.logit.weight, -1.0, 1.0)
        nn.init.zeros_(self.logit.bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.logit(self.body(x)).squeeze(-1)

    def logit_weights(self) -> torch.Tensor:
        return self.logit.weight.flatten()


def disc_bce_loss(logit_pos: torch.Tensor, logit_neg: torch.Tensor) -> torch.Tensor:
    """``0.5 (BCE(logit_pos, 1) + BCE(logit_neg, 0))``, each a batch mean."""
    return 0.5 * (F.binary_cross_entropy_with_logits(logit_pos, torch.ones_like(logit_pos))
                  + F.binary_cross_entropy_with_logits(logit_neg, torch.zeros_like(logit_neg)))


def input_grad_sq(logits: torch.Tensor, inputs: torch.Tensor) -> torch.Tensor:
    """Mean over the batch of ``|d logit / d input|^2`` (``inputs`` must require grad; differentiable)."""
    (grad,) = torch.autograd.grad(logits.sum(), inputs, create_graph=True)
    return grad.pow(2).sum(-1).mean()


def style_reward(logits: torch.Tensor, scale: float) -> torch.Tensor:
    """``-log(max(1 - sigmoid(logit), 1e-4)) * scale`` per sample: high where the discriminator is fooled."""
    return -torch.log((1.0 - torch.sigmoid(logits)).clamp_min(REWARD_FLOOR)) * scale
