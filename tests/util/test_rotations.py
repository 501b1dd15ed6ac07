import math

import pytest
import torch

from mimickit.util import rotations as rot

DT = torch.float64


def random_quats(n: int, seed: int = 0) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    return rot.quat_unit(torch.randn(n, 4, generator=g, dtype=DT))


def special_quats() -> torch.Tensor:
    """Identity, angle pi about each axis and a diagonal, tiny angles."""
    axes = torch.tensor([[1, 0, 0], [0, 1, 0], [0, 0, 1], [1, 1, 1]], dtype=DT)
    angles = torch.tensor([0.0, math.pi, 1e-9, 1e-4, math.pi - 1e-7], dtype=DT)
    qs = [rot.axis_angle_to_quat(a, ang) for a in axes for ang in angles]
    return torch.stack(qs)


def same_rotation(q0, q1, tol=1e-9):
    return torch.all(rot.quat_diff_angle(q0, q1) < tol)


def test_quat_mul_matches_matrix_product():
    a, b = random_quats(64, 1), random_quats(64, 2)
    m = rot.quat_to_matrix(rot.quat_mul(a, b))
    assert torch.allclose(m, rot.quat_to_matrix(a) @ rot.quat_to_matrix(b), atol=1e-12)


def test_quat_rotate_known_value():
    q = rot.axis_angle_to_quat(torch.tensor([0.0, 0.0, 1.0], dtype=DT), torch.tensor(math.pi / 2, dtype=DT))
    v = rot.quat_rotate(q, torch.tensor([1.0, 0.0, 0.0], dtype=DT))
    assert torch.allclose(v, torch.tensor([0.0, 1.0, 0.0], dtype=DT), atol=1e-12)


@pytest.mark.parametrize("qs", [random_quats(256), special_quats()], ids=["random", "angle_0_and_pi"])
def test_exp_map_round_trip(qs):
    e = rot.quat_to_exp_map(qs)
    assert torch.all(torch.isfinite(e))
    assert torch.all(e.norm(dim=-1) <= math.pi + 1e-12)
    assert same_rotation(rot.exp_map_to_quat(e), qs, 1e-7)


def test_exp_map_known_values():
    e = torch.tensor([[0.0, 0.0, 0.0], [math.pi, 0.0, 0.0], [0.0, 0.5, 0.0]], dtype=DT)
    q = rot.exp_map_to_quat(e)
    expected = torch.tensor([[0, 0, 0, 1], [1, 0, 0, 0], [0, math.sin(0.25), 0, math.cos(0.25)]], dtype=DT)
    assert torch.allclose(q, expected, atol=1e-12)
    # exp maps beyond pi describe the same rotation as their wrapped form
    big = torch.tensor([[0.0, 0.0, 1.5 * math.pi]], dtype=DT)
    wrapped = torch.tensor([[0, 0, -0.5 * math.pi]], dtype=DT)
    assert same_rotation(rot.exp_map_to_quat(big), rot.exp_map_to_quat(wrapped))


@pytest.mark.parametrize("qs", [random_quats(256), special_quats()], ids=["random", "angle_0_and_pi"])
def test_axis_angle_round_trip(qs):
    axis, angle = rot.quat_to_axis_angle(qs)
    assert torch.all((angle >= 0) & (angle <= math.pi))
    assert torch.allclose(axis.norm(dim=-1), torch.ones_like(angle))
    assert same_rotation(rot.axis_angle_to_quat(axis, angle), qs, 1e-7)


def test_identity_axis_angle_is_zero_about_z():
    axis, angle = rot.quat_to_axis_angle(torch.tensor([[0.0, 0.0, 0.0, 1.0]], dtype=DT))
    assert angle.item() == 0.0 and axis.tolist() == [[0.0, 0.0, 1.0]]


@pytest.mark.parametrize("qs", [random_quats(256), special_quats()], ids=["random", "angle_0_and_pi"])
def test_matrix_and_tan_norm_round_trips(qs):
    assert same_rotation(rot.matrix_to_quat(rot.quat_to_matrix(qs)), qs, 1e-7)
    assert same_rotation(rot.tan_norm_to_quat(rot.quat_to_tan_norm(qs)), qs, 1e-7)


def test_tan_norm_is_rotated_x_and_z_axes():
    qs = random_quats(32)
    m = rot.quat_to_matrix(qs)
    tn = rot.quat_to_tan_norm(qs)
    assert torch.allclose(tn[:, :3], m[:, :, 0], atol=1e-12)
    assert torch.allclose(tn[:, 3:], m[:, :, 2], atol=1e-12)
    assert torch.equal(rot.quat_to_tan_norm(torch.tensor([0.0, 0, 0, 1])), torch.tensor([1.0, 0, 0, 0, 0, 1]))


def test_heading_extraction_and_removal():
    yaw = torch.linspace(-3.0, 3.0, 13, dtype=DT)
    tilt = rot.axis_angle_to_quat(torch.tensor([1.0, 0.3, 0.0], dtype=DT).expand(13, 3), torch.full_like(yaw, 0.4))
    q = rot.quat_mul(rot.heading_to_quat(yaw), tilt)
    assert torch.allclose(rot.calc_heading(rot.heading_to_quat(yaw)), yaw, atol=1e-12)
    assert torch.allclose(rot.calc_heading(rot.remove_heading(q)), torch.zeros_like(yaw), atol=1e-9)
    assert same_rotation(rot.quat_mul(rot.calc_heading_quat(q), rot.remove_heading(q)), q)
    assert same_rotation(rot.quat_mul(rot.calc_heading_quat_inv(q), rot.calc_heading_quat(q)),
                         rot.quat_identity((13,), dtype=DT))


def test_slerp_endpoints_midpoint_and_shortest_path():
    q0, q1 = random_quats(64, 3), random_quats(64, 4)
    zeros, ones = torch.zeros(64, dtype=DT), torch.ones(64, dtype=DT)
    assert same_rotation(rot.slerp(q0, q1, zeros), q0, 1e-7)
    assert same_rotation(rot.slerp(q0, q1, ones), q1, 1e-7)
    mid = rot.slerp(q0, q1, 0.5 * ones)
    assert torch.allclose(rot.quat_diff_angle(q0, mid), rot.quat_diff_angle(mid, q1), atol=1e-7)
    # -q1 is the same rotation: slerp must give the same answer
    assert same_rotation(rot.slerp(q0, -q1, 0.3 * ones), rot.slerp(q0, q1, 0.3 * ones), 1e-7)
    # identical inputs (sin(theta) = 0) stay well defined
    assert same_rotation(rot.slerp(q0, q0, 0.5 * ones), q0, 1e-7)


def test_quat_diff_angle_known_values():
    z = torch.tensor([0.0, 0.0, 1.0], dtype=DT)
    q0 = rot.axis_angle_to_quat(z, torch.tensor(0.2, dtype=DT))
    for ang in (0.0, 1.0, math.pi):
        q1 = rot.quat_mul(rot.axis_angle_to_quat(z, torch.tensor(ang, dtype=DT)), q0)
        assert abs(rot.quat_diff_angle(q0, q1).item() - ang) < 1e-7
        assert abs(rot.quat_diff_angle(q0, -q1).item() - ang) < 1e-7


def test_twist_angle_recovers_hinge_angle():
    axis = torch.tensor([0.0, 1.0, 0.0], dtype=DT)
    angles = torch.tensor([-3.0, -1.0, 0.0, 0.5, 3.1], dtype=DT)
    q = rot.axis_angle_to_quat(axis.expand(5, 3), angles)
    assert torch.allclose(rot.quat_twist_angle(q, axis), angles, atol=1e-12)
    assert torch.allclose(rot.quat_twist_angle(-q, axis), angles, atol=1e-12)


def test_quaternion_order_conversions_round_trip():
    q = random_quats(8)
    assert torch.equal(rot.wxyz_to_xyzw(rot.xyzw_to_wxyz(q)), q)
    assert rot.xyzw_to_wxyz(torch.tensor([1.0, 2, 3, 4])).tolist() == [4.0, 1, 2, 3]


def test_normalize_angle_range():
    x = torch.tensor([-7.0, -math.pi, 0.0, math.pi, 7.0], dtype=DT)
    y = rot.normalize_angle(x)
    assert torch.all((y > -math.pi - 1e-12) & (y <= math.pi + 1e-12))
    assert torch.allclose(torch.cos(y), torch.cos(x)) and torch.allclose(torch.sin(y), torch.sin(x))
