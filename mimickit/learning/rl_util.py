"""Return estimation."""

from __future__ import annotations

import torch

from mimickit.envs.base_env import DoneFlags


def compute_td_lambda_return(reward: torch.Tensor, next_value: torch.Tensor, done: torch.Tensor,
                             discount: float, td_lambda: float) -> torch.Tensor:
    """TD(lambda) returns ``[T, N]`` from rewards, bootstrap values V(s_t+1) and done flags ``[T, N]``.

    ``R_t = r_t + discount ((1 - l_t) V(s_t+1) + l_t R_t+1)`` with ``l_t = lambda`` while the episode goes on
    and 0 after a done step (so terminal steps bootstrap only from ``next_value``, which the caller sets to
    the terminal value for FAIL / SUCC and keeps V(s_T) for TIME truncations); ``R_T-1`` bootstraps fully.
    """
    returns = torch.zeros_like(reward)
    running = torch.zeros_like(reward[0])
    for t in reversed(range(reward.shape[0])):
        lam = td_lambda * (done[t] == int(DoneFlags.NULL)).to(reward.dtype)
        if t == reward.shape[0] - 1:
            lam = torch.zeros_like(lam)
        running = reward[t] + discount * ((1.0 - lam) * next_value[t] + lam * running)
        returns[t] = running
    return returns
