"""Reward terms as pure functions of simulated and reference state, composed by config.

The tracking reward is ``sum_t w_t exp(-s_t err_t)`` over the terms an env offers (:data:`TRACKING_TERMS`), each
an error function of the two characters seen in a shared comparison frame (:class:`TrackingFrames`); an env's
config gives each term's weight ``reward_<term>_w`` and scale ``reward_<term>_scale`` (:func:`reward_schema`),
so a term is dropped with weight 0 and a new term is a function plus a registry line.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass

import torch

from mimickit.util import rotations as rot
from mimickit.util.schema import Field


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


@dataclass
class TrackingFrames:
    """The simulated (``sim``) and reference (``ref``) characters and what the terms compare, computed once per
    step: root rotation, velocities and key-body offsets in the world frame when ``track_root`` (global
    tracking), else each in its own character's heading frame; ``root_pos_mask`` picks the compared root
    coordinates (x, y with ``track_root``, z with ``track_root_h``)."""

    sim: TrackingState
    ref: TrackingState
    sim_root: tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]  # rot, vel, ang_vel, key offsets
    ref_root: tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]
    root_pos_mask: torch.Tensor  # [3]
    root_rot_err_w: float  # weight of the root's rotation angle^2 in root_pose_error
    joint_err_w: torch.Tensor  # [J]
    dof_err_w: torch.Tensor  # [D]


def _heading_frame(state: TrackingState) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
    heading_inv = rot.calc_heading_quat_inv(state.root_rot)
    rel_key = rot.quat_rotate(heading_inv[:, None, :], state.key_pos - state.root_pos[:, None, :])
    return (rot.quat_mul(heading_inv, state.root_rot), rot.quat_rotate(heading_inv, state.root_vel),
            rot.quat_rotate(heading_inv, state.root_ang_vel), rel_key)


def _world_frame(state: TrackingState) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
    return state.root_rot, state.root_vel, state.root_ang_vel, state.key_pos - state.root_pos[:, None, :]


def tracking_frames(sim: TrackingState, ref: TrackingState, joint_err_w: torch.Tensor, dof_err_w: torch.Tensor,
                    track_root: bool, track_root_h: bool, track_root_xy: bool,
                    root_rot_err_w: float) -> TrackingFrames:
    """What the tracking terms compare (see :class:`TrackingFrames`); ``track_root_xy`` False keeps the world
    frame of ``track_root`` but drops the root's x-y position from the comparison (drift is not penalised);
    ``root_rot_err_w`` weighs the root's rotation angle^2 [rad^2] against its position error^2 [m^2]."""
    frame = _world_frame if track_root else _heading_frame
    xy = float(track_root and track_root_xy)
    mask = torch.tensor([xy, xy, float(track_root_h)], device=sim.root_pos.device)
    return TrackingFrames(sim, ref, frame(sim), frame(ref), mask, root_rot_err_w, joint_err_w, dof_err_w)


def pose_error(f: TrackingFrames) -> torch.Tensor:
    """``sum_j w_j angle_j^2`` over the local joint rotations [rad^2]."""
    return (f.joint_err_w * rot.quat_diff_angle(f.sim.joint_rot, f.ref.joint_rot) ** 2).sum(-1)


def vel_error(f: TrackingFrames) -> torch.Tensor:
    """``sum_d w_d (dq_d)^2`` over DoF velocities [(rad/s)^2]."""
    return (f.dof_err_w * (f.ref.dof_vel - f.sim.dof_vel) ** 2).sum(-1)


def root_pose_error(f: TrackingFrames) -> torch.Tensor:
    """``|dp_root|^2`` over the compared coordinates [m^2] ``+ root_rot_err_w angle_root^2``."""
    root_pos_err = (((f.ref.root_pos - f.sim.root_pos) * f.root_pos_mask) ** 2).sum(-1)
    return root_pos_err + f.root_rot_err_w * rot.quat_diff_angle(f.sim_root[0], f.ref_root[0]) ** 2


def root_vel_error(f: TrackingFrames) -> torch.Tensor:
    """``|dv|^2 + 0.1 |dw|^2`` of the root's linear [m/s] and angular [rad/s] velocity."""
    return ((f.ref_root[1] - f.sim_root[1]) ** 2).sum(-1) + 0.1 * ((f.ref_root[2] - f.sim_root[2]) ** 2).sum(-1)


def key_pos_error(f: TrackingFrames) -> torch.Tensor:
    """``sum_k |d(key_k - root)|^2`` [m^2]."""
    return ((f.ref_root[3] - f.sim_root[3]) ** 2).sum(-1).sum(-1)


TrackingTerm = Callable[[TrackingFrames], torch.Tensor]
TRACKING_TERMS: dict[str, TrackingTerm] = {
    "pose": pose_error, "vel": vel_error, "root_pose": root_pose_error, "root_vel": root_vel_error,
    "key_pos": key_pos_error,
}


def reward_schema(terms: Mapping[str, TrackingTerm]) -> dict[str, Field]:
    """The config keys of ``terms``: ``reward_<term>_w`` (weight) and ``reward_<term>_scale`` (error scale)."""
    return {**{f"reward_{t}_w": Field(float, help=f"weight of the {t} reward term", ge=0) for t in terms},
            **{f"reward_{t}_scale": Field(float, help=f"error scale of the {t} reward term (exp(-scale err))",
                                          ge=0) for t in terms}}


@dataclass(frozen=True)
class RewardTerm:
    """One configured term: ``weight * exp(-scale * error(frames))``."""

    name: str
    error: TrackingTerm
    weight: float
    scale: float


def configured_terms(config: Mapping[str, object], terms: Mapping[str, TrackingTerm]) -> list[RewardTerm]:
    """``terms`` with the weights and scales of a validated env config (keys from :func:`reward_schema`)."""
    return [RewardTerm(t, fn, float(config[f"reward_{t}_w"]), float(config[f"reward_{t}_scale"]))  # type: ignore[arg-type]
            for t, fn in terms.items()]


def compose_reward(frames: TrackingFrames, terms: list[RewardTerm]) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
    """Reward ``[N]`` in [0, sum of weights] and each term's ``exp(-scale err)`` ``[N]`` (before weighting)."""
    values = {term.name: torch.exp(-term.scale * term.error(frames)) for term in terms}
    reward = torch.zeros_like(frames.sim.root_pos[:, 0])
    for term in terms:
        reward = reward + term.weight * values[term.name]
    return reward, values


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
