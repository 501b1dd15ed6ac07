"""Observation terms: pure functions of batched state tensors (``N`` environments, ``B`` bodies,
``J = B - 1`` joints, ``K`` key bodies, ``D`` DoFs, ``S`` future target frames)."""

from __future__ import annotations

import math

import torch

from mimickit.util import rotations as rot


def compute_char_obs(root_pos: torch.Tensor, root_rot: torch.Tensor, root_vel: torch.Tensor,
                     root_ang_vel: torch.Tensor, joint_rot: torch.Tensor, dof_vel: torch.Tensor,
                     key_pos: torch.Tensor, global_obs: bool, root_height_obs: bool) -> torch.Tensor:
    """Character state ``[N, (1) + 6 + 3 + 3 + 6J + D + 3K]`` (140 for the humanoid).

    Order: root height (if ``root_height_obs``), root rotation tan-norm, root linear and angular velocity,
    local joint rotations tan-norm, DoF velocities, key-body positions relative to the root. With
    ``global_obs`` rotations and vectors stay in world axes; otherwise they are expressed in the root's
    heading frame (yaw removed).
    """
    rel_key = key_pos - root_pos[:, None, :]
    if global_obs:
        root_rot_obs, vel, ang_vel = root_rot, root_vel, root_ang_vel
    else:
        heading_inv = rot.calc_heading_quat_inv(root_rot)
        root_rot_obs = rot.quat_mul(heading_inv, root_rot)
        vel, ang_vel = rot.quat_rotate(heading_inv, root_vel), rot.quat_rotate(heading_inv, root_ang_vel)
        rel_key = rot.quat_rotate(heading_inv[:, None, :], rel_key)
    parts = [root_pos[:, 2:3]] if root_height_obs else []
    parts += [rot.quat_to_tan_norm(root_rot_obs), vel, ang_vel,
              rot.quat_to_tan_norm(joint_rot).flatten(1), dof_vel, rel_key.flatten(1)]
    return torch.cat(parts, dim=-1)


def compute_target_obs(char_root_pos: torch.Tensor, tar_root_pos: torch.Tensor, tar_root_rot: torch.Tensor,
                       tar_joint_rot: torch.Tensor, tar_key_pos: torch.Tensor, global_obs: bool,
                       root_height_obs: bool) -> torch.Tensor:
    """Future reference frames ``[N, S * (3 + 6 + 6J + 3K)]`` (324 for the humanoid with S = 3).

    Args:
        char_root_pos: ``[N, 3]`` simulated root (the origin in global mode).
        tar_root_pos, tar_root_rot: ``[N, S, 3]`` / ``[N, S, 4]``; tar_joint_rot ``[N, S, J, 4]``;
        tar_key_pos ``[N, S, K, 3]`` world positions of the reference frames.
    Per frame: root position relative to the origin with z replaced by the absolute root height (only xy
    without ``root_height_obs``), root rotation tan-norm, joint rotations tan-norm, key bodies relative
    to that frame's root. In local mode the origin is the first target frame's root and everything is
    rotated by its heading inverse.
    """
    num_envs, num_steps = tar_root_pos.shape[:2]
    rel_key = tar_key_pos - tar_root_pos[:, :, None, :]
    if global_obs:
        rel_root = tar_root_pos - char_root_pos[:, None, :]
        root_rot_obs = tar_root_rot
    else:
        heading_inv = rot.calc_heading_quat_inv(tar_root_rot[:, 0])[:, None, :].expand(-1, num_steps, -1)
        rel_root = rot.quat_rotate(heading_inv, tar_root_pos - tar_root_pos[:, :1, :])
        root_rot_obs = rot.quat_mul(heading_inv, tar_root_rot)
        rel_key = rot.quat_rotate(heading_inv[:, :, None, :], rel_key)
    if root_height_obs:
        rel_root = torch.cat([rel_root[..., :2], tar_root_pos[..., 2:3]], dim=-1)
    else:
        rel_root = rel_root[..., :2]
    per_frame = torch.cat([rel_root, rot.quat_to_tan_norm(root_rot_obs),
                           rot.quat_to_tan_norm(tar_joint_rot).flatten(2), rel_key.flatten(2)], dim=-1)
    return per_frame.reshape(num_envs, -1)


def compute_phase_obs(phase: torch.Tensor, num_encoding: int) -> torch.Tensor:
    """``[N, 1 + 2K]``: phase in [0, 1], then sin and cos of ``2 pi 2^k phase`` for k < K."""
    freqs = 2.0 * math.pi * (2.0 ** torch.arange(num_encoding, dtype=phase.dtype, device=phase.device))
    angles = phase[:, None] * freqs
    return torch.cat([phase[:, None], torch.sin(angles), torch.cos(angles)], dim=-1)


def compute_amp_disc_obs(root_pos: torch.Tensor, root_rot: torch.Tensor, root_vel: torch.Tensor,
                         root_ang_vel: torch.Tensor, joint_rot: torch.Tensor, dof_vel: torch.Tensor | None,
                         key_pos: torch.Tensor, global_obs: bool, root_height_obs: bool,
                         track_root: bool) -> torch.Tensor:
    """AMP discriminator observation of a window of ``T`` steps, oldest first:
    ``[N, T * ((2 or 3) + 6 + 6J + 3K + 3 + 3 + D)]`` (humanoid: 142 per step, 1420 for T = 10).

    Args: ``[N, T, ...]`` states: root_pos / root_vel / root_ang_vel ``[N, T, 3]``, root_rot ``[N, T, 4]``,
    joint_rot ``[N, T, J, 4]``, dof_vel ``[N, T, D]`` (None leaves DoF velocities out), key_pos ``[N, T, K, 3]``.
    The whole window shares one reference: the world origin with ``track_root``, else the newest step's
    root. Per step: root position relative to the reference with z replaced by the absolute root height (xy
    only without ``root_height_obs``), root rotation tan-norm, joint rotations tan-norm, key bodies relative
    to that step's root, root linear and angular velocity, DoF velocities. In local mode (not
    ``global_obs``) positions, the root rotation and velocities are rotated by the reference's heading
    inverse; in global mode nothing is rotated.
    """
    num_envs, num_steps = root_pos.shape[:2]
    rel_root = root_pos if track_root else root_pos - root_pos[:, -1:, :]
    rel_key = key_pos - root_pos[:, :, None, :]
    root_rot_obs, vel, ang_vel = root_rot, root_vel, root_ang_vel
    if not global_obs:
        heading_inv = rot.calc_heading_quat_inv(root_rot[:, -1])[:, None, :].expand(-1, num_steps, -1)
        rel_root = rot.quat_rotate(heading_inv, rel_root)
        root_rot_obs = rot.quat_mul(heading_inv, root_rot)
        vel, ang_vel = rot.quat_rotate(heading_inv, root_vel), rot.quat_rotate(heading_inv, root_ang_vel)
        rel_key = rot.quat_rotate(heading_inv[:, :, None, :], rel_key)
    rel_root = torch.cat([rel_root[..., :2], root_pos[..., 2:3]], dim=-1) if root_height_obs else rel_root[..., :2]
    parts = [rel_root, rot.quat_to_tan_norm(root_rot_obs), rot.quat_to_tan_norm(joint_rot).flatten(2),
             rel_key.flatten(2), vel, ang_vel]
    if dof_vel is not None:
        parts.append(dof_vel)
    return torch.cat(parts, dim=-1).reshape(num_envs, -1)


def compute_add_disc_obs(root_pos: torch.Tensor, root_rot: torch.Tensor, root_vel: torch.Tensor,
                         root_ang_vel: torch.Tensor, joint_rot: torch.Tensor, dof_vel: torch.Tensor,
                         body_pos: torch.Tensor, global_obs: bool) -> torch.Tensor:
    """ADD discriminator observation of one state ``[N, 3 + 6 + 6J + 3B + 3 + 3 + D]`` (humanoid: 172).

    Args: root_pos / root_vel / root_ang_vel ``[N, 3]``, root_rot ``[N, 4]``, joint_rot ``[N, J, 4]``,
    dof_vel ``[N, D]``, body_pos ``[N, B, 3]`` (all bodies, world). Order: root position (world in global
    mode; height only, xy zeroed, in local mode), root rotation tan-norm, joint rotations tan-norm, every
    body relative to the root, root linear and angular velocity, DoF velocities. In local mode rotations,
    offsets and velocities are taken in the state's own heading frame.
    """
    rel_body = body_pos - root_pos[:, None, :]
    pos, root_rot_obs, vel, ang_vel = root_pos, root_rot, root_vel, root_ang_vel
    if not global_obs:
        heading_inv = rot.calc_heading_quat_inv(root_rot)
        pos = torch.cat([torch.zeros_like(root_pos[:, :2]), root_pos[:, 2:3]], dim=-1)
        root_rot_obs = rot.quat_mul(heading_inv, root_rot)
        vel, ang_vel = rot.quat_rotate(heading_inv, root_vel), rot.quat_rotate(heading_inv, root_ang_vel)
        rel_body = rot.quat_rotate(heading_inv[:, None, :], rel_body)
    return torch.cat([pos, rot.quat_to_tan_norm(root_rot_obs), rot.quat_to_tan_norm(joint_rot).flatten(1),
                      rel_body.flatten(1), vel, ang_vel, dof_vel], dim=-1)


def compute_location_obs(root_pos: torch.Tensor, root_rot: torch.Tensor, tar_xy: torch.Tensor) -> torch.Tensor:
    """``[N, 2]``: the target's ground position relative to the root, in the root's heading frame."""
    delta = torch.cat([tar_xy - root_pos[:, :2], torch.zeros_like(root_pos[:, :1])], dim=-1)
    return rot.quat_rotate(rot.calc_heading_quat_inv(root_rot), delta)[:, :2]


def compute_steering_obs(root_rot: torch.Tensor, tar_dir: torch.Tensor, tar_speed: torch.Tensor,
                         face_dir: torch.Tensor) -> torch.Tensor:
    """``[N, 5]``: target direction (2) in the heading frame, target speed [m/s] (1), facing direction (2) in
    the heading frame."""
    heading_inv = rot.calc_heading_quat_inv(root_rot)
    zeros = torch.zeros_like(tar_speed[:, None])
    local_dir = rot.quat_rotate(heading_inv, torch.cat([tar_dir, zeros], dim=-1))[:, :2]
    local_face = rot.quat_rotate(heading_inv, torch.cat([face_dir, zeros], dim=-1))[:, :2]
    return torch.cat([local_dir, tar_speed[:, None], local_face], dim=-1)


def compute_robot_char_obs(root_rot: torch.Tensor, root_ang_vel: torch.Tensor, joint_rot: torch.Tensor,
                           dof_vel: torch.Tensor, root_pos: torch.Tensor, key_pos: torch.Tensor) -> torch.Tensor:
    """What a robot measures itself, ``[N, 3 + 3 + 6J + D + 3K]``: gravity's direction in the root frame (an
    IMU), the root's angular velocity in the root frame (a gyro), local joint rotations tan-norm and DoF
    velocities (encoders), key bodies relative to the root in the root frame (forward kinematics). No root
    position and no root linear velocity (they need state estimation)."""
    gravity = torch.tensor([0.0, 0.0, -1.0], device=root_rot.device).expand(root_rot.shape[0], 3)
    rel_key = rot.quat_rotate_inverse(root_rot[:, None, :], key_pos - root_pos[:, None, :])
    return torch.cat([rot.quat_rotate_inverse(root_rot, gravity), rot.quat_rotate_inverse(root_rot, root_ang_vel),
                      rot.quat_to_tan_norm(joint_rot).flatten(1), dof_vel, rel_key.flatten(1)], dim=-1)


def compute_robot_target_obs(root_rot: torch.Tensor, tar_root_pos: torch.Tensor, tar_root_rot: torch.Tensor,
                             tar_joint_rot: torch.Tensor, tar_key_pos: torch.Tensor) -> torch.Tensor:
    """Future reference frames as a robot can relate them to itself, ``[N, S * (6 + 6J + 3K)]``: per frame the
    reference root rotation relative to the robot's (tan-norm), the reference joint rotations (tan-norm) and its
    key bodies relative to its root in its root frame; no reference root position (that needs the robot's)."""
    num_envs, num_steps = tar_root_rot.shape[:2]
    robot_inv = rot.quat_conjugate(root_rot)[:, None, :].expand(-1, num_steps, -1)
    rel_rot = rot.quat_mul(robot_inv, tar_root_rot)
    rel_key = rot.quat_rotate_inverse(tar_root_rot[:, :, None, :], tar_key_pos - tar_root_pos[:, :, None, :])
    per_frame = torch.cat([rot.quat_to_tan_norm(rel_rot), rot.quat_to_tan_norm(tar_joint_rot).flatten(2),
                           rel_key.flatten(2)], dim=-1)
    return per_frame.reshape(num_envs, -1)


def compute_privileged_obs(root_pos: torch.Tensor, root_rot: torch.Tensor, root_vel: torch.Tensor,
                           tar_root_pos: torch.Tensor) -> torch.Tensor:
    """What only the simulator knows, for the critic of an asymmetric actor-critic, ``[N, 1 + 3 + 3S]``: root
    height, root linear velocity in the root frame, and each future reference root position relative to the
    robot's root in the root frame."""
    rel = rot.quat_rotate_inverse(root_rot[:, None, :].expand(-1, tar_root_pos.shape[1], -1),
                                  tar_root_pos - root_pos[:, None, :])
    return torch.cat([root_pos[:, 2:3], rot.quat_rotate_inverse(root_rot, root_vel), rel.flatten(1)], dim=-1)
