"""Raw MuJoCo state rows <-> the Engine API's quantities, as batched torch code on any device.

Both MuJoCo backends keep ``qpos [N, nq]``, ``qvel [N, nv]`` and ``sensordata [N, ns]`` as torch tensors (views
of numpy arrays on the CPU, of Warp arrays on a GPU); these functions read and write them with the index maps
of a :class:`~mimickit.engines.mujoco_scene.StateLayout` on the same device. Body poses come from the
character's kinematic model (its FK equals MuJoCo's, tested), so they describe the state after the last
substep rather than MuJoCo's derived fields, which lag one substep behind.
"""

from __future__ import annotations

import torch

from mimickit.anim.kin_char_model import KinCharModel
from mimickit.engines.mujoco_scene import StateLayout
from mimickit.util import rotations as rot

DECODED_KEYS = ("root_pos", "root_rot", "root_vel", "root_ang_vel", "dof_pos", "dof_vel", "joint_rot", "body_pos",
                "body_rot", "ground_forces", "dof_forces")


def decode_state(layout: StateLayout, kin_model: KinCharModel, qpos: torch.Tensor, qvel: torch.Tensor,
                 sensordata: torch.Tensor) -> dict[str, torch.Tensor]:
    """The character's state from raw rows ``qpos [n, nq]``, ``qvel [n, nv]``, ``sensordata [n, ns]`` (any float
    dtype): a dict of float32 tensors keyed by :data:`DECODED_KEYS` — root pose and velocities (world frame),
    DoF positions and velocities ``[n, D]``, local joint rotations ``[n, B-1, 4]``, body poses ``[n, B, 3|4]``,
    ground forces on each body ``[n, B, 3]`` [N] and actuator torque per DoF ``[n, D]`` [N m]."""
    qpos, qvel, sensors = qpos.to(torch.float32), qvel.to(torch.float32), sensordata.to(torch.float32)
    n, km, lay = qpos.shape[0], kin_model, layout
    rq, rv = lay.root_qpos, lay.root_qvel
    root_pos, root_rot = qpos[:, rq:rq + 3], qpos[:, lay.root_rot_qpos]
    ball = qpos[:, lay.ball_qpos]
    joint_rot = rot.quat_identity((n, km.num_joints)).to(qpos.device)
    joint_rot[:, lay.ball_joint] = ball
    dof_pos = torch.zeros(n, km.dof_size, device=qpos.device)
    dof_pos[:, lay.ball_dof] = rot.quat_to_exp_map(ball)
    if len(lay.hinge_joint):
        hinge = qpos[:, lay.hinge_qpos]
        joint_rot[:, lay.hinge_joint] = rot.axis_angle_to_quat(lay.hinge_axis, hinge)
        dof_pos[:, lay.hinge_dof] = hinge
    body_pos, body_rot = km.forward_kinematics(root_pos, root_rot, joint_rot)
    dof_forces = torch.zeros(n, km.dof_size, device=qpos.device)
    dof_forces[:, lay.act_dof] = sensors[:, lay.act_force_cols]
    return {
        "root_pos": root_pos, "root_rot": root_rot, "root_vel": qvel[:, rv:rv + 3],
        "root_ang_vel": rot.quat_rotate(root_rot, qvel[:, rv + 3:rv + 6]), "dof_pos": dof_pos,
        "dof_vel": qvel[:, lay.dof_qvel], "joint_rot": joint_rot, "body_pos": body_pos, "body_rot": body_rot,
        # the contact sensor reports the force the body exerts on the ground; negate for the ground's force
        "ground_forces": -sensors[:, lay.contact_cols].reshape(n, -1, 3), "dof_forces": dof_forces,
    }


def write_state(layout: StateLayout, kin_model: KinCharModel, qpos: torch.Tensor, qvel: torch.Tensor,
                ids: torch.Tensor, *, root_pos: torch.Tensor | None = None, root_rot: torch.Tensor | None = None,
                root_vel: torch.Tensor | None = None, root_ang_vel: torch.Tensor | None = None,
                dof_pos: torch.Tensor | None = None, dof_vel: torch.Tensor | None = None) -> None:
    """Overwrite parts of rows ``ids`` (long ``[n]``, on the rows' device) of ``qpos`` / ``qvel`` in place, in their
    own dtype. Values are ``[n, ...]`` or broadcastable: root position [m] and rotation (x, y, z, w, normalised
    here), root linear and angular velocity (world frame), DoF positions and velocities ``[D]``."""
    num = ids.numel()
    rows = ids[:, None]
    cast = lambda x, *shape: torch.as_tensor(x).to(qpos.device, qpos.dtype).expand(num, *shape)  # noqa: E731
    lay = layout
    rq, rv = lay.root_qpos, lay.root_qvel
    arange = lambda start, stop: torch.arange(start, stop, device=qpos.device)  # noqa: E731
    if root_pos is not None:
        qpos[rows, arange(rq, rq + 3)] = cast(root_pos, 3)
    if root_rot is not None:
        qpos[rows, arange(rq + 3, rq + 7)] = rot.xyzw_to_wxyz(rot.quat_unit(cast(root_rot, 4)))
    if root_vel is not None:
        qvel[rows, arange(rv, rv + 3)] = cast(root_vel, 3)
    if root_ang_vel is not None:
        root_rot_now = rot.quat_unit(rot.wxyz_to_xyzw(qpos[ids, rq + 3:rq + 7]))
        qvel[rows, arange(rv + 3, rv + 6)] = rot.quat_rotate_inverse(root_rot_now, cast(root_ang_vel, 3))
    if dof_pos is not None:
        dof = cast(dof_pos, kin_model.dof_size)
        if len(lay.ball_dof):
            qpos[ids[:, None, None], lay.ball_qpos[None]] = rot.exp_map_to_quat(dof[:, lay.ball_dof])
        if len(lay.hinge_dof):
            qpos[rows, lay.hinge_qpos[None]] = dof[:, lay.hinge_dof]
    if dof_vel is not None:
        qvel[rows, lay.dof_qvel[None]] = cast(dof_vel, kin_model.dof_size)


def explicit_pd_torque(layout: StateLayout, qpos: torch.Tensor, qvel: torch.Tensor, target: torch.Tensor,
                       kp: torch.Tensor, kd: torch.Tensor, limit: torch.Tensor) -> torch.Tensor:
    """tau = kp (target - q) - kd qdot per DoF, clipped to ``[-limit, limit]`` [N m], ``[N, D]`` in ``target``'s dtype
    (characters whose joints are all hinges: ``pd_1d`` control). ``kp``, ``kd``, ``limit``: ``[D]``."""
    dofs = layout.hinge_dof
    kp, kd, limit = kp.to(target.dtype), kd.to(target.dtype), limit.to(target.dtype)
    tau = torch.zeros_like(target)
    tau[:, dofs] = kp[dofs] * (target[:, dofs] - qpos[:, layout.hinge_qpos]) - kd[dofs] * qvel[:, layout.dof_qvel[dofs]]
    return torch.maximum(torch.minimum(tau, limit), -limit)
