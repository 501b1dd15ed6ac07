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


def pose_failure(body_pos: torch.Tensor, ref_body_pos: torch.Tensor, max_dist: float,
                 align_root_xy: bool) -> torch.Tensor:
    """``[N]`` True where any body origin ``[N, B, 3]`` (body 0 the root) is more than ``max_dist`` m from its
    reference: world positions, or with ``align_root_xy`` after moving the character horizontally so that its
    root's x-y is the reference root's (only the pose and height relative to the root's ground point count)."""
    offset = ref_body_pos - body_pos
    if align_root_xy:
        shift = torch.zeros_like(offset[:, :1])
        shift[..., :2] = offset[:, :1, :2]
        offset = offset - shift
    return (offset ** 2).sum(-1).max(dim=-1).values > max_dist ** 2


def compute_done(time: torch.Tensor, episode_length: float, motion_ended: torch.Tensor,
                 failed: torch.Tensor) -> torch.Tensor:
    """Done flags ``[N]`` (int): TIME at the episode length, SUCC when a clamped clip ended, FAIL (wins) when
    ``failed`` and time > 0 (a freshly reset state never fails)."""
    done = torch.full_like(time, int(DoneFlags.NULL), dtype=torch.int32)
    done[time >= episode_length] = int(DoneFlags.TIME)
    done[motion_ended] = int(DoneFlags.SUCC)
    done[failed & (time > 0)] = int(DoneFlags.FAIL)
    return done
