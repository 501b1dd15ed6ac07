"""Batched rotation math on torch tensors.

Conventions (shared by the whole package):
- quaternions are ``(x, y, z, w)`` and unit length; ``q`` and ``-q`` are the same rotation,
  "canonical" means ``w >= 0``;
- an exp map (rotation vector) is ``axis * angle`` with the angle in radians;
- ``quat_mul(a, b)`` applies ``b`` first, then ``a``;
- every function accepts any number of leading batch dimensions and keeps them.

All functions are defined at angle 0 and at angle pi (no division by a vanishing sine).
"""

from __future__ import annotations

import torch

_SMALL_ANGLE = 1e-6


def normalize_angle(angle: torch.Tensor) -> torch.Tensor:
    """Wrap angles [rad] into (-pi, pi]."""
    return torch.atan2(torch.sin(angle), torch.cos(angle))


def quat_unit(q: torch.Tensor) -> torch.Tensor:
    """Scale quaternions ``[..., 4]`` to unit length."""
    return q / q.norm(dim=-1, keepdim=True).clamp_min(1e-12)


def quat_pos(q: torch.Tensor) -> torch.Tensor:
    """Flip quaternions ``[..., 4]`` into the canonical hemisphere ``w >= 0``."""
    return torch.where(q[..., 3:4] < 0, -q, q)


def quat_normalize(q: torch.Tensor) -> torch.Tensor:
    """Unit length and canonical hemisphere."""
    return quat_pos(quat_unit(q))


def quat_identity(shape: tuple[int, ...] | torch.Size, dtype=torch.float32, device=None) -> torch.Tensor:
    """Identity quaternions of shape ``[*shape, 4]``."""
    q = torch.zeros(*shape, 4, dtype=dtype, device=device)
    q[..., 3] = 1.0
    return q


def quat_conjugate(q: torch.Tensor) -> torch.Tensor:
    """Inverse rotation of unit quaternions ``[..., 4]``."""
    return torch.cat([-q[..., :3], q[..., 3:]], dim=-1)


def quat_mul(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """Hamilton product ``a * b`` (``b`` applied first), shapes broadcast, ``[..., 4]``."""
    ax, ay, az, aw = a.unbind(-1)
    bx, by, bz, bw = b.unbind(-1)
    return torch.stack(
        [
            aw * bx + ax * bw + ay * bz - az * by,
            aw * by - ax * bz + ay * bw + az * bx,
            aw * bz + ax * by - ay * bx + az * bw,
            aw * bw - ax * bx - ay * by - az * bz,
        ],
        dim=-1,
    )


def quat_rotate(q: torch.Tensor, v: torch.Tensor) -> torch.Tensor:
    """Rotate vectors ``v [..., 3]`` by unit quaternions ``q [..., 4]`` (shapes broadcast)."""
    qv, v = torch.broadcast_tensors(q[..., :3], v)
    t = 2.0 * torch.cross(qv, v, dim=-1)
    return v + q[..., 3:4] * t + torch.cross(qv, t, dim=-1)


def quat_rotate_inverse(q: torch.Tensor, v: torch.Tensor) -> torch.Tensor:
    """Rotate vectors ``v`` by the inverse of ``q``."""
    return quat_rotate(quat_conjugate(q), v)


def quat_to_axis_angle(q: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Axis ``[..., 3]`` (unit) and angle ``[...]`` in [0, pi] of unit quaternions.

    For the identity the axis is (0, 0, 1).
    """
    q = quat_pos(q)
    s = q[..., :3].norm(dim=-1)
    angle = 2.0 * torch.atan2(s, q[..., 3])
    default_axis = torch.zeros_like(q[..., :3])
    default_axis[..., 2] = 1.0
    axis = torch.where((s > _SMALL_ANGLE)[..., None], q[..., :3] / s.clamp_min(_SMALL_ANGLE)[..., None],
                       default_axis)
    angle = torch.where(s > _SMALL_ANGLE, angle, torch.zeros_like(angle))
    return axis, angle


def axis_angle_to_quat(axis: torch.Tensor, angle: torch.Tensor) -> torch.Tensor:
    """Quaternions for rotations of ``angle [...]`` rad about ``axis [..., 3]`` (need not be unit)."""
    axis = axis / axis.norm(dim=-1, keepdim=True).clamp_min(1e-12)
    half = 0.5 * angle
    return torch.cat([axis * torch.sin(half)[..., None], torch.cos(half)[..., None]], dim=-1)


def quat_to_exp_map(q: torch.Tensor) -> torch.Tensor:
    """Exp maps ``[..., 3]`` (norm in [0, pi]) of unit quaternions ``[..., 4]``."""
    q = quat_pos(q)
    s = q[..., :3].norm(dim=-1)
    w = q[..., 3]
    angle = 2.0 * torch.atan2(s, w)
    # angle / s -> 2 / w as s -> 0 (w -> 1 there, since q is canonical and unit).
    scale = torch.where(s > _SMALL_ANGLE, angle / s.clamp_min(_SMALL_ANGLE), 2.0 / w.clamp_min(0.5))
    return q[..., :3] * scale[..., None]


def exp_map_to_quat(e: torch.Tensor) -> torch.Tensor:
    """Unit quaternions ``[..., 4]`` of exp maps ``[..., 3]`` (any norm)."""
    angle = e.norm(dim=-1)
    half = 0.5 * angle
    # sin(angle/2) / angle -> 1/2 - angle^2/48 as angle -> 0.
    scale = torch.where(angle > _SMALL_ANGLE, torch.sin(half) / angle.clamp_min(_SMALL_ANGLE),
                        0.5 - angle * angle / 48.0)
    return torch.cat([e * scale[..., None], torch.cos(half)[..., None]], dim=-1)


def quat_to_matrix(q: torch.Tensor) -> torch.Tensor:
    """Rotation matrices ``[..., 3, 3]`` of unit quaternions."""
    x, y, z, w = q.unbind(-1)
    xx, yy, zz = x * x, y * y, z * z
    xy, xz, yz = x * y, x * z, y * z
    wx, wy, wz = w * x, w * y, w * z
    rows = [
        torch.stack([1 - 2 * (yy + zz), 2 * (xy - wz), 2 * (xz + wy)], dim=-1),
        torch.stack([2 * (xy + wz), 1 - 2 * (xx + zz), 2 * (yz - wx)], dim=-1),
        torch.stack([2 * (xz - wy), 2 * (yz + wx), 1 - 2 * (xx + yy)], dim=-1),
    ]
    return torch.stack(rows, dim=-2)


def matrix_to_quat(m: torch.Tensor) -> torch.Tensor:
    """Canonical unit quaternions of rotation matrices ``[..., 3, 3]`` (Shepperd's method)."""
    m00, m01, m02 = m[..., 0, 0], m[..., 0, 1], m[..., 0, 2]
    m10, m11, m12 = m[..., 1, 0], m[..., 1, 1], m[..., 1, 2]
    m20, m21, m22 = m[..., 2, 0], m[..., 2, 1], m[..., 2, 2]
    trace = m00 + m11 + m22
    # Four candidate solutions; each is accurate where its pivot is largest.
    cands = torch.stack(
        [
            torch.stack([m21 - m12, m02 - m20, m10 - m01, 1.0 + trace], dim=-1),
            torch.stack([1.0 + m00 - m11 - m22, m01 + m10, m02 + m20, m21 - m12], dim=-1),
            torch.stack([m01 + m10, 1.0 - m00 + m11 - m22, m12 + m21, m02 - m20], dim=-1),
            torch.stack([m02 + m20, m12 + m21, 1.0 - m00 - m11 + m22, m10 - m01], dim=-1),
        ],
        dim=-2,
    )
    pivots = torch.stack([trace, m00, m11, m22], dim=-1)
    best = pivots.argmax(dim=-1)
    q = torch.gather(cands, -2, best[..., None, None].expand(*best.shape, 1, 4)).squeeze(-2)
    return quat_normalize(q)


def quat_to_tan_norm(q: torch.Tensor) -> torch.Tensor:
    """6-D rotation encoding ``[R x_hat, R z_hat]`` of quaternions ``[..., 4]`` -> ``[..., 6]``."""
    x, y, z, w = q.unbind(-1)
    tan = torch.stack([1 - 2 * (y * y + z * z), 2 * (x * y + w * z), 2 * (x * z - w * y)], dim=-1)
    norm = torch.stack([2 * (x * z + w * y), 2 * (y * z - w * x), 1 - 2 * (x * x + y * y)], dim=-1)
    return torch.cat([tan, norm], dim=-1)


def tan_norm_to_quat(tn: torch.Tensor) -> torch.Tensor:
    """Inverse of :func:`quat_to_tan_norm`; the two axes are re-orthonormalised first."""
    tan = tn[..., :3] / tn[..., :3].norm(dim=-1, keepdim=True).clamp_min(1e-12)
    norm = tn[..., 3:6] - (tn[..., 3:6] * tan).sum(-1, keepdim=True) * tan
    norm = norm / norm.norm(dim=-1, keepdim=True).clamp_min(1e-12)
    binorm = torch.cross(norm, tan, dim=-1)
    return matrix_to_quat(torch.stack([tan, binorm, norm], dim=-1))


def quat_diff(q0: torch.Tensor, q1: torch.Tensor) -> torch.Tensor:
    """World-frame delta rotation taking ``q0`` to ``q1``: ``q1 * conj(q0)``."""
    return quat_mul(q1, quat_conjugate(q0))


def quat_diff_angle(q0: torch.Tensor, q1: torch.Tensor) -> torch.Tensor:
    """Angle [rad, in [0, pi]] of the rotation between ``q0`` and ``q1``."""
    d = quat_diff(q0, q1)
    return 2.0 * torch.atan2(d[..., :3].norm(dim=-1), d[..., 3].abs())


def slerp(q0: torch.Tensor, q1: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
    """Shortest-path spherical interpolation; ``t [...]`` in [0, 1], quaternions ``[..., 4]``."""
    t = t[..., None]
    cos_half = (q0 * q1).sum(-1, keepdim=True)
    q1 = torch.where(cos_half < 0, -q1, q1)
    cos_half = cos_half.abs().clamp(max=1.0)
    half = torch.acos(cos_half)
    sin_half = torch.sin(half)
    near = sin_half < 1e-4
    safe_sin = torch.where(near, torch.ones_like(sin_half), sin_half)
    w0 = torch.where(near, 1.0 - t, torch.sin((1.0 - t) * half) / safe_sin)
    w1 = torch.where(near, t, torch.sin(t * half) / safe_sin)
    return quat_unit(w0 * q0 + w1 * q1)


def calc_heading(q: torch.Tensor) -> torch.Tensor:
    """Heading angle [rad] about +z: direction of the rotated x axis projected onto the ground."""
    x, y, z, w = q.unbind(-1)
    dir_x = 1 - 2 * (y * y + z * z)
    dir_y = 2 * (x * y + w * z)
    return torch.atan2(dir_y, dir_x)


def heading_to_quat(heading: torch.Tensor) -> torch.Tensor:
    """Rotation of ``heading [...]`` rad about +z as quaternions ``[..., 4]``."""
    half = 0.5 * heading
    zeros = torch.zeros_like(half)
    return torch.stack([zeros, zeros, torch.sin(half), torch.cos(half)], dim=-1)


def calc_heading_quat(q: torch.Tensor) -> torch.Tensor:
    """Yaw-only part of ``q`` as a quaternion."""
    return heading_to_quat(calc_heading(q))


def calc_heading_quat_inv(q: torch.Tensor) -> torch.Tensor:
    """Inverse of :func:`calc_heading_quat`: maps world vectors into the local heading frame."""
    return heading_to_quat(-calc_heading(q))


def remove_heading(q: torch.Tensor) -> torch.Tensor:
    """``heading_inv * q``: the rotation with its yaw removed."""
    return quat_mul(calc_heading_quat_inv(q), q)


def quat_twist_angle(q: torch.Tensor, axis: torch.Tensor) -> torch.Tensor:
    """Signed angle [rad, (-pi, pi]] of the twist of ``q`` about unit ``axis [..., 3]``."""
    proj = (q[..., :3] * axis).sum(-1)
    return normalize_angle(2.0 * torch.atan2(proj, q[..., 3]))


def wxyz_to_xyzw(q: torch.Tensor) -> torch.Tensor:
    """Reorder MuJoCo-style ``(w, x, y, z)`` quaternions to ``(x, y, z, w)``."""
    return torch.cat([q[..., 1:], q[..., :1]], dim=-1)


def xyzw_to_wxyz(q: torch.Tensor) -> torch.Tensor:
    """Reorder ``(x, y, z, w)`` quaternions to MuJoCo's ``(w, x, y, z)``."""
    return torch.cat([q[..., 3:], q[..., :3]], dim=-1)
