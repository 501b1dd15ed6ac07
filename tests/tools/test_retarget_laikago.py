"""The laikago clip reader: motor angles in Unitree's convention become URDF joint angles (offsets, right-hip
direction), the URDF's body axes turn into ours, and a foot's stance is pinned without touching its swing."""

import importlib.util
import math
import sys

import pytest
import torch

from mimickit.anim.retarget import pin_contacts

from ..conftest import REPO_ROOT

spec = importlib.util.spec_from_file_location("retarget_laikago", REPO_ROOT / "tools" / "retarget_laikago.py")
tool = importlib.util.module_from_spec(spec)
sys.modules.setdefault(spec.name, tool)
spec.loader.exec_module(tool)

HIPS = {"FR": (-0.1, 0.2), "FL": (0.1, 0.2), "RR": (-0.1, -0.2), "RL": (0.1, -0.2)}  # body (x left, z forward)


def toy_urdf() -> str:
    """A laikago-shaped chain: hip about the body's forward axis (backward on the right, as in laikago's URDF),
    thigh and calf about its left axis, 0.2 m bones straight down (body -y) at zero URDF angles."""
    joints = []
    for leg, (x, z) in HIPS.items():
        joints += [
            f'<joint name="{leg}h" type="continuous"><parent link="chassis"/><child link="{leg}_hip_motor"/>'
            f'<origin xyz="{x} 0 {z}" rpy="0 0 0"/><axis xyz="0 0 {1 if x > 0 else -1}"/></joint>',
            f'<joint name="{leg}u" type="continuous"><parent link="{leg}_hip_motor"/><child link="{leg}_upper_leg"/>'
            f'<origin xyz="0 0 0"/><axis xyz="1 0 0"/></joint>',
            f'<joint name="{leg}l" type="continuous"><parent link="{leg}_upper_leg"/><child link="{leg}_lower_leg"/>'
            f'<origin xyz="0 -0.2 0"/><axis xyz="1 0 0"/></joint>',
            f'<joint name="{leg}t" type="fixed"><parent link="{leg}_lower_leg"/><child link="toe{leg}"/>'
            f'<origin xyz="0 -0.2 0"/></joint>']
    return "<robot name='toy'><link name='chassis'/>" + "".join(joints) + "</robot>"


def test_motor_angles_map_to_urdf_angles_and_our_axes():
    upright = tool.BODY_TO_OURS.tolist()
    straight = [0.0, 0.6, -0.66] * 4  # motor angles whose URDF angles are zero: legs straight down
    bent = [0.0, 0.6, -0.66] * 4
    bent[0] = 0.3  # FR hip: URDF angle -0.3 about the forward axis swings the right foot to the robot's left
    frames = [[0.05, 1.0, 2.0, 0.5, *upright, *straight], [0.05, 1.0, 2.0, 0.5, *upright, *bent]]
    clip = {"Loop": "wrap", "Frames": frames}
    source = tool.laikago_source(clip, toy_urdf())
    assert source.fps == pytest.approx(20.0)
    for leg, (x, z) in HIPS.items():  # body x (left) -> our y, body z (forward) -> our x
        toe = source.body_pos[0, source.body_names.index(f"toe{leg}")]
        assert toe.tolist() == pytest.approx([1.0 + z, 2.0 + x, 0.1], abs=1e-9)
    toe = source.body_pos[1, source.body_names.index("toeFR")]
    assert toe.tolist() == pytest.approx([1.2, 2.0 - 0.1 + 0.4 * math.sin(0.3), 0.5 - 0.4 * math.cos(0.3)], abs=1e-9)
    # rest = motors at zero: URDF thigh -0.6, calf -0.6 + 0.66 (laikago's bones are straight there; the toy's bend)
    rest = 0.2 * math.cos(0.6) + 0.2 * math.cos(0.06) + tool.TOE_RADIUS
    assert source.standing_height == pytest.approx(rest)


def test_pin_contacts_holds_stance_and_leaves_swing():
    traj = torch.tensor([[0.00, 0, 0.030], [0.01, 0, 0.031], [0.02, 0, 0.035], [0.10, 0, 0.09],
                         [0.20, 0, 0.12], [0.30, 0, 0.034], [0.31, 0, 0.030]], dtype=torch.float64)
    pinned = pin_contacts(traj, 0.01)
    assert pinned[:3, 0].tolist() == pytest.approx([0.01] * 3) and torch.all(pinned[:3, 2] == 0.03)
    assert torch.equal(pinned[3:5], traj[3:5])
    assert pinned[5:, 0].tolist() == pytest.approx([0.305] * 2) and torch.all(pinned[5:, 2] == 0.03)
