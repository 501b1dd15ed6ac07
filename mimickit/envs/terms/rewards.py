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


def heading_direction(root_rot: torch.Tensor) -> torch.Tensor:
    """Unit ground-plane direction ``[N, 2]`` the root faces (its x axis, yaw only)."""
    heading = rot.calc_heading(root_rot)
    return torch.stack([torch.cos(heading), torch.sin(heading)], dim=-1)


def location_reward(root_xy: torch.Tensor, prev_root_xy: torch.Tensor, facing: torch.Tensor, tar_xy: torch.Tensor,
                    dt: float, tar_speed: float, dist_threshold: float, pos_err_scale: float, vel_err_scale: float,
                    pos_w: float, vel_w: float, face_w: float) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
    """Reward ``[N]`` for heading to a target and its terms (upstream's location task).

    Args: root_xy / prev_root_xy ``[N, 2]`` root ground position after / before the step [m]; facing ``[N, 2]``
    unit heading direction; tar_xy ``[N, 2]``; dt the step [s]. pos = exp(-pos_err_scale |d|^2); vel =
    exp(-vel_err_scale max(0, tar_speed - s)^2) with s the velocity towards the target (0 when s <= 0);
    face = max(0, u . facing) with u the unit direction to the target. Within ``dist_threshold`` of the
    target (compared with the *squared* distance, as upstream) vel and face are 1.
    """
    delta = tar_xy - root_xy
    dist_sq = (delta ** 2).sum(-1)
    to_tar = delta / dist_sq.sqrt().clamp_min(1e-6)[:, None]
    speed = ((root_xy - prev_root_xy) / dt * to_tar).sum(-1)
    r_pos = torch.exp(-pos_err_scale * dist_sq)
    r_vel = torch.exp(-vel_err_scale * (tar_speed - speed).clamp_min(0.0) ** 2)
    r_vel = torch.where(speed > 0, r_vel, torch.zeros_like(r_vel))
    r_face = (to_tar * facing).sum(-1).clamp_min(0.0)
    near = dist_sq < dist_threshold
    r_vel = torch.where(near, torch.ones_like(r_vel), r_vel)
    r_face = torch.where(near, torch.ones_like(r_face), r_face)
    terms = {"location_pos": r_pos, "location_vel": r_vel, "location_face": r_face}
    return pos_w * r_pos + vel_w * r_vel + face_w * r_face, terms


def steering_reward(root_xy: torch.Tensor, prev_root_xy: torch.Tensor, facing: torch.Tensor, tar_dir: torch.Tensor,
                    tar_speed: torch.Tensor, face_dir: torch.Tensor, dt: float, vel_scale: float, tar_w: float,
                    face_w: float) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
    """Reward ``[N]`` for moving at ``tar_speed [N]`` m/s along unit ``tar_dir [N, 2]`` while facing ``face_dir``.

    tar = exp(-vel_scale |tar_speed tar_dir - v|^2) with v the finite-difference ground velocity (0 when moving
    against ``tar_dir``); face = max(0, face_dir . facing).
    """
    vel = (root_xy - prev_root_xy) / dt
    r_tar = torch.exp(-vel_scale * ((tar_speed[:, None] * tar_dir - vel) ** 2).sum(-1))
    r_tar = torch.where((tar_dir * vel).sum(-1) < 0, torch.zeros_like(r_tar), r_tar)
    r_face = (face_dir * facing).sum(-1).clamp_min(0.0)
    return tar_w * r_tar + face_w * r_face, {"steering_vel": r_tar, "steering_face": r_face}
