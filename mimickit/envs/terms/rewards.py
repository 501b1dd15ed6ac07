"""The DeepMimic tracking reward as a pure function of simulated and reference state."""

from __future__ import annotations

from dataclasses import dataclass

import torch

from mimickit.util import rotations as rot

REWARD_TERMS = ("pose", "vel", "root_pose", "root_vel", "key_pos")


@dataclass(frozen=True)
class TrackingRewardConfig:
    """Weights ``w`` and error scales ``s`` of the five terms ``w exp(-s err)``."""

    pose_w: float
    vel_w: float
    root_pose_w: float
    root_vel_w: float
    key_pos_w: float
    pose_scale: float
    vel_scale: float
    root_pose_scale: float
    root_vel_scale: float
    key_pos_scale: float


@dataclass
class TrackingState:
    """Batched character (or reference) state used by the reward; shapes ``[N, ...]``."""

    root_pos: torch.Tensor  # [N, 3]
    root_rot: torch.Tensor  # [N, 4]
    root_vel: torch.Tensor  # [N, 3]
    root_ang_vel: torch.Tensor  # [N, 3]
    joint_rot: torch.Tensor  # [N, J, 4]
    dof_vel: torch.Tensor  # [N, D]
    key_pos: torch.Tensor  # [N, K, 3]


def _heading_frame(state: TrackingState) -> tuple[torch.Tensor, ...]:
    heading_inv = rot.calc_heading_quat_inv(state.root_rot)
    rel_key = rot.quat_rotate(heading_inv[:, None, :], state.key_pos - state.root_pos[:, None, :])
    return (rot.quat_mul(heading_inv, state.root_rot), rot.quat_rotate(heading_inv, state.root_vel),
            rot.quat_rotate(heading_inv, state.root_ang_vel), rel_key)


def compute_tracking_reward(sim: TrackingState, ref: TrackingState, cfg: TrackingRewardConfig,
                            joint_err_w: torch.Tensor, dof_err_w: torch.Tensor, track_root: bool,
                            track_root_h: bool) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
    """Reward ``[N]`` in [0, sum of weights] and each term's ``exp(-s err)`` ``[N]`` (before weighting).

    Errors: pose = sum_j w_j angle_j^2 over local joint rotations; vel = sum_d w_d (dq_d)^2; root_pose =
    |dp_root|^2 (x, y only if ``track_root``, z only if ``track_root_h``) + 0.1 angle_root^2; root_vel =
    |dv|^2 + 0.1 |dw|^2; key_pos = sum_k |d(key_k - root)|^2. Without ``track_root`` root rotation,
    velocities and key offsets are compared in each character's own heading frame.
    """
    pose_err = (joint_err_w * rot.quat_diff_angle(sim.joint_rot, ref.joint_rot) ** 2).sum(-1)
    vel_err = (dof_err_w * (ref.dof_vel - sim.dof_vel) ** 2).sum(-1)

    root_pos_diff = ref.root_pos - sim.root_pos
    mask = torch.tensor([float(track_root), float(track_root), float(track_root_h)], device=root_pos_diff.device)
    root_pos_err = ((root_pos_diff * mask) ** 2).sum(-1)
    if track_root:
        sim_rot, sim_vel, sim_ang, sim_key = (sim.root_rot, sim.root_vel, sim.root_ang_vel,
                                              sim.key_pos - sim.root_pos[:, None, :])
        ref_rot, ref_vel, ref_ang, ref_key = (ref.root_rot, ref.root_vel, ref.root_ang_vel,
                                              ref.key_pos - ref.root_pos[:, None, :])
    else:
        sim_rot, sim_vel, sim_ang, sim_key = _heading_frame(sim)
        ref_rot, ref_vel, ref_ang, ref_key = _heading_frame(ref)
    root_rot_err = rot.quat_diff_angle(sim_rot, ref_rot) ** 2
    root_vel_err = ((ref_vel - sim_vel) ** 2).sum(-1)
    root_ang_vel_err = ((ref_ang - sim_ang) ** 2).sum(-1)
    key_pos_err = ((ref_key - sim_key) ** 2).sum(-1).sum(-1)

    terms = {
        "pose": torch.exp(-cfg.pose_scale * pose_err),
        "vel": torch.exp(-cfg.vel_scale * vel_err),
        "root_pose": torch.exp(-cfg.root_pose_scale * (root_pos_err + 0.1 * root_rot_err)),
        "root_vel": torch.exp(-cfg.root_vel_scale * (root_vel_err + 0.1 * root_ang_vel_err)),
        "key_pos": torch.exp(-cfg.key_pos_scale * key_pos_err),
    }
    reward = (cfg.pose_w * terms["pose"] + cfg.vel_w * terms["vel"] + cfg.root_pose_w * terms["root_pose"]
              + cfg.root_vel_w * terms["root_vel"] + cfg.key_pos_w * terms["key_pos"])
    return reward, terms
