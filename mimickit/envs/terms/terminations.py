"""Termination terms and the done-flag rule, as pure functions of batched tensors."""

from __future__ import annotations

import torch

from mimickit.envs.base_env import DoneFlags

CONTACT_FORCE_THRESHOLD = 0.1  # N


def contact_failure(ground_forces: torch.Tensor, allowed_contact: torch.Tensor) -> torch.Tensor:
    """``[N]`` True where a body not allowed to touch the ground feels a ground force component above 0.1 N.

    Args:
        ground_forces: ``[N, B, 3]`` force of the ground on each body; allowed_contact: bool ``[B]``.
    """
    touching = (ground_forces.abs() > CONTACT_FORCE_THRESHOLD).any(dim=-1)
    return (touching & ~allowed_contact).any(dim=-1)


def pose_failure(body_pos: torch.Tensor, ref_body_pos: torch.Tensor, max_dist: float) -> torch.Tensor:
    """``[N]`` True where any body origin is more than ``max_dist`` m from its reference (world positions)."""
    return ((body_pos - ref_body_pos) ** 2).sum(-1).max(dim=-1).values > max_dist ** 2


def compute_done(time: torch.Tensor, episode_length: float, motion_ended: torch.Tensor,
                 failed: torch.Tensor) -> torch.Tensor:
    """Done flags ``[N]`` (int): TIME at the episode length, SUCC when a clamped clip ended, FAIL (wins) when
    ``failed`` and time > 0 (a freshly reset state never fails)."""
    done = torch.full_like(time, int(DoneFlags.NULL), dtype=torch.int32)
    done[time >= episode_length] = int(DoneFlags.TIME)
    done[motion_ended] = int(DoneFlags.SUCC)
    done[failed & (time > 0)] = int(DoneFlags.FAIL)
    return done
