"""ASE's skill encoder and latent helpers (batched tensors)."""

from __future__ import annotations

import torch
from torch import nn
from torch.nn import functional as F

from mimickit.learning.nets import build_mlp


def sample_latents(num: int, dim: int, device: torch.device | str = "cpu") -> torch.Tensor:
    """``[num, dim]`` latents uniform on the unit sphere (normalised standard normals)."""
    return F.normalize(torch.randn(num, dim, device=device), dim=-1)


class Encoder(nn.Module):
    """ReLU MLP over a discriminator observation ``[n, d]`` -> unit latent ``[n, latent_dim]``; output layer
    weights uniform in [-0.1, 0.1], bias 0."""

    def __init__(self, net_name: str, in_dim: int, latent_dim: int) -> None:
        super().__init__()
        self.body, out_dim = build_mlp(net_name, in_dim)
        self.out = nn.Linear(out_dim, latent_dim)
        nn.init.uniform_(self.out.weight, -0.1, 0.1)
        nn.init.zeros_(self.out.bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.normalize(self.out(self.body(x)), dim=-1)


def encoder_reward(latents: torch.Tensor, encoded: torch.Tensor) -> torch.Tensor:
    """``max(0, z . E(s))`` per sample: how well the motion reveals the latent that drove it."""
    return (latents * encoded).sum(-1).clamp_min(0.0)


def encoder_loss(latents: torch.Tensor, encoded: torch.Tensor) -> torch.Tensor:
    """``mean(-z . E(s))``."""
    return -(latents * encoded).sum(-1).mean()


def diversity_loss(mean: torch.Tensor, new_mean: torch.Tensor, latents: torch.Tensor, new_latents: torch.Tensor,
                   target: float) -> torch.Tensor:
    """ASE's diversity term: ``mean((target - D_a / (D_z + 1e-5))^2)`` with ``D_a`` the mean squared difference
    of the action means ``[n, A]`` under two latents and ``D_z = 0.5 - 0.5 z' . z``."""
    action_diff = (new_mean - mean).pow(2).mean(-1)
    latent_diff = 0.5 - 0.5 * (new_latents * latents).sum(-1)
    return (target - action_diff / (latent_diff + 1e-5)).pow(2).mean()
