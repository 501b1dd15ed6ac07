"""Tracking-error metrics of the MimicKit paper (Eq. 2 and Eq. 3) per environment and step."""

from __future__ import annotations

import torch

from mimickit.anim.kin_char_model import KinCharModel


def position_tracking_error(body_pos: torch.Tensor, ref_body_pos: torch.Tensor) -> torch.Tensor:
    """Eq. 2, ``[N]`` m: (sum over non-root joints of |(x^_j - x^_root) - (x_j - x_root)| + |x^_root - x_root|)
    / (N_joint + 1), with joint positions = body origins ``[N, B, 3]`` (N_joint = B - 1)."""
    rel = body_pos[:, 1:] - body_pos[:, :1]
    ref_rel = ref_body_pos[:, 1:] - ref_body_pos[:, :1]
    joint_err = (ref_rel - rel).norm(dim=-1).sum(-1)
    root_err = (ref_body_pos[:, 0] - body_pos[:, 0]).norm(dim=-1)
    return (joint_err + root_err) / body_pos.shape[1]


def dof_velocity_error(kin_model: KinCharModel, root_ang_vel: torch.Tensor, ref_root_ang_vel: torch.Tensor,
                       dof_vel: torch.Tensor, ref_dof_vel: torch.Tensor) -> torch.Tensor:
    """Eq. 3, ``[N]`` rad/s: (|w^_root - w_root| + sum over joints of |qdot^_j - qdot_j|) / (N_joint + 1),
    where |.| is the L2 norm of each joint's DoF-velocity vector (fixed joints contribute 0)."""
    sq = (ref_dof_vel - dof_vel) ** 2
    per_joint = torch.zeros(dof_vel.shape[0], kin_model.num_joints, dtype=dof_vel.dtype, device=dof_vel.device)
    per_joint.index_add_(1, kin_model.dof_joint_index.to(dof_vel.device), sq)
    root_err = (ref_root_ang_vel - root_ang_vel).norm(dim=-1)
    return (per_joint.sqrt().sum(-1) + root_err) / (kin_model.num_joints + 1)
