"""Kinematic model of an articulated character: tree, DoF layout, forward kinematics.

Bodies are in depth-first file order with the root at index 0. Joint ``j`` (1..B-1) connects body ``j``
to its parent; arrays of joint rotations exclude the root and have shape ``[..., B-1, 4]``.
The DoF vector concatenates, for bodies 1..B-1, 3 values (exp map) for a spherical joint, 1 (angle,
rad) for a hinge and none for a fixed joint. All tensors are batch-first torch tensors.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

import torch

from mimickit.util import rotations as rot


class JointType(enum.IntEnum):
    ROOT = 0
    HINGE = 1
    SPHERICAL = 2
    FIXED = 3


JOINT_DOF_DIM = {JointType.ROOT: 0, JointType.HINGE: 1, JointType.SPHERICAL: 3, JointType.FIXED: 0}


@dataclass(frozen=True)
class Joint:
    """One joint: its type, hinge axis (body frame, unit) and slice of the DoF vector."""

    name: str
    joint_type: JointType
    axis: tuple[float, float, float]
    dof_idx: int
    dof_dim: int


class KinCharModel:
    """Tree structure, DoF layout and batched kinematics of one character.

    Args:
        body_names: ``B`` names in depth-first order, root first.
        parent_indices: ``B`` parent body index per body (-1 for the root); parents precede children.
        local_translation: ``[B, 3]`` body origin in the parent frame [m].
        local_rotation: ``[B, 4]`` constant parent-to-body rotation (x, y, z, w).
        joints: ``B`` joints; ``joints[0]`` is the root joint.
        dof_low, dof_high: ``[D]`` per-DoF joint ranges [rad] (exp-map components for spherical joints).
    """

    def __init__(self, body_names: list[str], parent_indices: list[int], local_translation: torch.Tensor,
                 local_rotation: torch.Tensor, joints: list[Joint], dof_low: torch.Tensor,
                 dof_high: torch.Tensor, device: torch.device | str = "cpu") -> None:
        num_bodies = len(body_names)
        if not (len(parent_indices) == len(joints) == num_bodies == local_translation.shape[0]
                == local_rotation.shape[0]):
            raise ValueError("body_names, parent_indices, joints and local transforms disagree in length")
        if parent_indices[0] != -1 or any(not 0 <= p < i for i, p in enumerate(parent_indices) if i > 0):
            raise ValueError("bodies must be in depth-first order: root first, every parent before its child")
        self.body_names = list(body_names)
        self.joints = list(joints)
        self.device = torch.device(device)
        self.parent_indices = torch.tensor(parent_indices, dtype=torch.long, device=self.device)
        self.local_translation = local_translation.to(self.device, torch.float32)
        self.local_rotation = rot.quat_unit(local_rotation.to(self.device, torch.float32))
        self.dof_size = sum(j.dof_dim for j in self.joints)
        self.dof_low = dof_low.to(self.device, torch.float32)
        self.dof_high = dof_high.to(self.device, torch.float32)
        if self.dof_low.shape != (self.dof_size,) or self.dof_high.shape != (self.dof_size,):
            raise ValueError(f"dof_low/dof_high must have shape [{self.dof_size}]")
        self._build_index_maps()

    # ----------------------------------------------------------------------------------------- layout
    def _build_index_maps(self) -> None:
        sph_joint, sph_dof, hinge_joint, hinge_dof, hinge_axis = [], [], [], [], []
        for j, joint in enumerate(self.joints[1:]):
            if joint.joint_type == JointType.SPHERICAL:
                sph_joint.append(j)
                sph_dof.append(list(range(joint.dof_idx, joint.dof_idx + 3)))
            elif joint.joint_type == JointType.HINGE:
                hinge_joint.append(j)
                hinge_dof.append(joint.dof_idx)
                hinge_axis.append(joint.axis)
        dev = self.device
        self._sph_joint = torch.tensor(sph_joint, dtype=torch.long, device=dev)
        self._sph_dof = torch.tensor(sph_dof, dtype=torch.long, device=dev).reshape(-1, 3)
        self._hinge_joint = torch.tensor(hinge_joint, dtype=torch.long, device=dev)
        self._hinge_dof = torch.tensor(hinge_dof, dtype=torch.long, device=dev)
        self._hinge_axis = torch.tensor(hinge_axis, dtype=torch.float32, device=dev).reshape(-1, 3)
        # Bodies grouped by tree depth: FK runs one batched op per level instead of one per body.
        depth = [0] * self.num_bodies
        for b in range(1, self.num_bodies):
            depth[b] = depth[int(self.parent_indices[b])] + 1
        self._levels = [torch.tensor([b for b in range(self.num_bodies) if depth[b] == d], dtype=torch.long,
                                     device=dev) for d in range(1, max(depth) + 1)]
        # Per-DoF owner joint index (0..B-2), used to expand per-joint weights to per-DoF weights.
        owner = [j - 1 for j, joint in enumerate(self.joints) for _ in range(joint.dof_dim)]
        self.dof_joint_index = torch.tensor(owner, dtype=torch.long, device=dev)

    @property
    def num_bodies(self) -> int:
        return len(self.body_names)

    @property
    def num_joints(self) -> int:
        """Number of non-root joints (B - 1)."""
        return len(self.body_names) - 1

    def get_body_id(self, name: str) -> int:
        try:
            return self.body_names.index(name)
        except ValueError:
            raise KeyError(f"no body named '{name}'; bodies are {self.body_names}") from None

    def to(self, device: torch.device | str) -> KinCharModel:
        """A copy of the model on another torch device."""
        return KinCharModel(self.body_names, self.parent_indices.tolist(), self.local_translation,
                            self.local_rotation, self.joints, self.dof_low, self.dof_high, device)

    def expand_joint_weights(self, joint_weights: torch.Tensor) -> torch.Tensor:
        """Per-joint values ``[B-1]`` to per-DoF values ``[D]`` (each DoF takes its joint's value)."""
        return joint_weights[self.dof_joint_index]

    # ---------------------------------------------------------------------------------- conversions
    def dof_to_rot(self, dof_pos: torch.Tensor) -> torch.Tensor:
        """DoF positions ``[..., D]`` -> local joint rotations ``[..., B-1, 4]``."""
        batch = dof_pos.shape[:-1]
        joint_rot = rot.quat_identity((*batch, self.num_joints), dtype=dof_pos.dtype, device=dof_pos.device)
        if len(self._sph_joint):
            joint_rot[..., self._sph_joint, :] = rot.exp_map_to_quat(dof_pos[..., self._sph_dof])
        if len(self._hinge_joint):
            axis = self._hinge_axis.to(dof_pos.dtype)
            joint_rot[..., self._hinge_joint, :] = rot.axis_angle_to_quat(
                axis.expand(*batch, -1, -1), dof_pos[..., self._hinge_dof])
        return joint_rot

    def rot_to_dof(self, joint_rot: torch.Tensor) -> torch.Tensor:
        """Local joint rotations ``[..., B-1, 4]`` -> DoF positions ``[..., D]``."""
        batch = joint_rot.shape[:-2]
        dof = torch.zeros(*batch, self.dof_size, dtype=joint_rot.dtype, device=joint_rot.device)
        if len(self._sph_joint):
            dof[..., self._sph_dof] = rot.quat_to_exp_map(joint_rot[..., self._sph_joint, :])
        if len(self._hinge_joint):
            dof[..., self._hinge_dof] = rot.quat_twist_angle(joint_rot[..., self._hinge_joint, :],
                                                             self._hinge_axis.to(joint_rot.dtype))
        return dof

    def compute_dof_vel(self, rot0: torch.Tensor, rot1: torch.Tensor, dt: float) -> torch.Tensor:
        """DoF velocities ``[..., D]`` (rad/s, child-local) taking joint rotations ``rot0`` to ``rot1``."""
        delta = rot.quat_normalize(rot.quat_mul(rot.quat_conjugate(rot0), rot1))
        ang_vel = rot.quat_to_exp_map(delta) / dt
        batch = rot0.shape[:-2]
        dof_vel = torch.zeros(*batch, self.dof_size, dtype=rot0.dtype, device=rot0.device)
        if len(self._sph_joint):
            dof_vel[..., self._sph_dof] = ang_vel[..., self._sph_joint, :]
        if len(self._hinge_joint):
            dof_vel[..., self._hinge_dof] = (ang_vel[..., self._hinge_joint, :]
                                            * self._hinge_axis.to(rot0.dtype)).sum(-1)
        return dof_vel

    # ------------------------------------------------------------------------------------------- FK
    def forward_kinematics(self, root_pos: torch.Tensor, root_rot: torch.Tensor,
                           joint_rot: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """World body-origin positions ``[..., B, 3]`` and rotations ``[..., B, 4]``.

        Args:
            root_pos: ``[..., 3]`` root position [m]; root_rot: ``[..., 4]``; joint_rot: ``[..., B-1, 4]``.
        One batched step per tree level (torch op overhead, not arithmetic, dominates at these sizes).
        """
        batch = root_pos.shape[:-1]
        dtype = root_pos.dtype
        local_trans = self.local_translation.to(dtype)
        body_local_rot = rot.quat_mul(self.local_rotation[1:].to(dtype), joint_rot)
        body_pos = torch.empty(*batch, self.num_bodies, 3, dtype=dtype, device=root_pos.device)
        body_rot = torch.empty(*batch, self.num_bodies, 4, dtype=dtype, device=root_pos.device)
        body_pos[..., 0, :] = root_pos
        body_rot[..., 0, :] = root_rot
        for bodies in self._levels:
            parents = self.parent_indices[bodies]
            parent_rot = body_rot[..., parents, :]
            body_pos[..., bodies, :] = body_pos[..., parents, :] + rot.quat_rotate(parent_rot, local_trans[bodies])
            body_rot[..., bodies, :] = rot.quat_mul(parent_rot, body_local_rot[..., bodies - 1, :])
        return body_pos, body_rot
