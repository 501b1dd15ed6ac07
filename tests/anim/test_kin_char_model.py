import mujoco
import numpy as np
import pytest
import torch

from mimickit.anim.kin_char_model import JointType
from mimickit.anim.mjcf_loader import CharModelError, character_body_ids, load_mjcf_char_model
from mimickit.util import rotations as rot

from ..conftest import HUMANOID_XML, SHIPPED_CHARACTERS

DT = torch.float64


def random_pose(km, n, seed):
    g = torch.Generator().manual_seed(seed)
    root_pos = torch.randn(n, 3, generator=g, dtype=DT)
    root_rot = rot.quat_unit(torch.randn(n, 4, generator=g, dtype=DT))
    dof = (torch.rand(n, km.dof_size, generator=g, dtype=DT) * 2 - 1) * 3.0
    return root_pos, root_rot, dof


def mujoco_qpos(km, root_pos, root_rot, dof):
    parts = [root_pos.numpy(), rot.xyzw_to_wxyz(root_rot).numpy()]
    for joint in km.joints[1:]:
        if joint.joint_type == JointType.SPHERICAL:
            parts.append(rot.xyzw_to_wxyz(rot.exp_map_to_quat(dof[joint.dof_idx:joint.dof_idx + 3])).numpy())
        elif joint.joint_type == JointType.HINGE:
            parts.append(dof[joint.dof_idx:joint.dof_idx + 1].numpy())
    return np.concatenate(parts)


@pytest.mark.parametrize("char_file", SHIPPED_CHARACTERS, ids=lambda p: p.stem)
def test_fk_matches_mujoco_kinematics(char_file):
    km = load_mjcf_char_model(char_file)
    model = mujoco.MjModel.from_xml_path(str(char_file))
    data = mujoco.MjData(model)
    bodies = character_body_ids(model)
    root_pos, root_rot, dof = random_pose(km, 64, seed=0)
    body_pos, body_rot = km.forward_kinematics(root_pos, root_rot, km.dof_to_rot(dof))
    pos_err, rot_err = 0.0, 0.0
    for i in range(64):
        data.qpos[:] = mujoco_qpos(km, root_pos[i], root_rot[i], dof[i])
        mujoco.mj_kinematics(model, data)
        pos_err = max(pos_err, np.abs(data.xpos[bodies] - body_pos[i].numpy()).max())
        mj_rot = torch.tensor(data.xquat[bodies][:, [1, 2, 3, 0]])
        rot_err = max(rot_err, rot.quat_diff_angle(mj_rot, body_rot[i]).max().item())
    assert pos_err <= 1e-5
    assert rot_err <= 1e-5


def test_humanoid_structure(humanoid):
    assert humanoid.num_bodies == 15 and humanoid.dof_size == 28
    assert humanoid.body_names[:4] == ["pelvis", "torso", "head", "right_upper_arm"]
    kinds = {j.name: (j.joint_type, j.dof_idx) for j in humanoid.joints}
    assert kinds["abdomen"] == (JointType.SPHERICAL, 0)
    assert kinds["right_elbow"] == (JointType.HINGE, 9)
    assert kinds["right_hand"][0] == JointType.FIXED
    assert kinds["left_ankle"] == (JointType.SPHERICAL, 25)
    assert humanoid.parent_indices.tolist()[:6] == [-1, 0, 1, 1, 3, 4]
    # per-axis ranges from the asset's custom numerics; hinge range from the joint
    assert humanoid.dof_low[1].item() == pytest.approx(-1.0472) and humanoid.dof_high[1].item() == pytest.approx(1.5708)
    assert humanoid.dof_low[9].item() == 0.0 and humanoid.dof_high[9].item() == pytest.approx(2.7925)


def test_dof_rotation_round_trip(humanoid):
    _, _, dof = random_pose(humanoid, 128, seed=1)
    dof = dof.clamp(-1.5, 1.5)  # hinge angles within (-pi, pi), exp maps within the ball of radius pi
    joint_rot = humanoid.dof_to_rot(dof)
    assert torch.allclose(humanoid.rot_to_dof(joint_rot), dof, atol=1e-9)
    fixed = humanoid.get_body_id("right_hand") - 1
    assert torch.equal(joint_rot[:, fixed], rot.quat_identity((128,), dtype=DT))


def test_dof_velocity_from_consecutive_rotations(humanoid):
    _, _, dof = random_pose(humanoid, 16, seed=2)
    dof = dof.clamp(-1.0, 1.0)
    vel = torch.zeros_like(dof)
    vel[:, 9] = 2.0  # right elbow at 2 rad/s
    vel[:, 0:3] = torch.tensor([0.0, 0.0, 1.5], dtype=DT)  # abdomen about its local z
    dt = 1e-4
    rot0 = humanoid.dof_to_rot(dof)
    # advance the spherical joint by a local rotation, the hinge by its angle
    rot1 = rot0.clone()
    step = rot.exp_map_to_quat(vel[:, 0:3] * dt)
    rot1[:, 0] = rot.quat_mul(rot0[:, 0], step)
    rot1[:, 3] = rot.axis_angle_to_quat(torch.tensor([0.0, 0.0, 1.0], dtype=DT).expand(16, 3), dof[:, 9] + 2.0 * dt)
    got = humanoid.compute_dof_vel(rot0, rot1, dt)
    assert torch.allclose(got, vel, atol=1e-6)


UPSTREAM_3_HINGE = """
<mujoco>
  <compiler angle="radian"/>
  <worldbody>
    <body name="pelvis">
      <freejoint name="root"/>
      <geom type="sphere" size="0.1"/>
      <body name="torso" pos="0 0 0.2">
        <joint name="abdomen_x" type="hinge" axis="1 0 0" range="-1 1"/>
        <joint name="abdomen_y" type="hinge" axis="0 1 0" range="-0.5 1.5"/>
        <joint name="abdomen_z" type="hinge" axis="0 0 1" range="-1.2 1.2"/>
        <geom type="sphere" size="0.1" pos="0 0 0.1"/>
        <body name="head" pos="0 0 0.3" euler="0 0 0.5">
          <joint name="neck" type="hinge" axis="0 1 0" range="-1 1"/>
          <geom type="sphere" size="0.1"/>
        </body>
      </body>
    </body>
  </worldbody>
</mujoco>
"""


def test_upstream_three_hinge_form_loads_as_spherical(tmp_path):
    path = tmp_path / "three_hinge.xml"
    path.write_text(UPSTREAM_3_HINGE)
    km = load_mjcf_char_model(path)
    assert [j.name for j in km.joints] == ["pelvis", "abdomen", "neck"]
    assert km.joints[1].joint_type == JointType.SPHERICAL and km.dof_size == 4
    assert km.dof_low.tolist() == pytest.approx([-1, -0.5, -1.2, -1])
    assert km.dof_high.tolist() == pytest.approx([1, 1.5, 1.2, 1])
    # body orientation from euler is honoured; FK agrees with MuJoCo for single-axis poses
    model = mujoco.MjModel.from_xml_path(str(path))
    data = mujoco.MjData(model)
    for k in range(3):
        dof = torch.zeros(4, dtype=DT)
        dof[k], dof[3] = 0.7, -0.4
        data.qpos[:] = [0.1, 0.2, 1.0, 1, 0, 0, 0, *([0.0] * 3), -0.4]
        data.qpos[7 + k] = 0.7
        mujoco.mj_kinematics(model, data)
        body_pos, _ = km.forward_kinematics(torch.tensor(data.qpos[:3]), torch.tensor([0.0, 0, 0, 1], dtype=DT),
                                            km.dof_to_rot(dof))
        assert np.abs(data.xpos[1:] - body_pos.numpy()).max() < 1e-6


@pytest.mark.parametrize("body_xml, message", [
    ('<joint type="hinge" axis="1 0 0"/><joint type="hinge" axis="0 1 0"/>', "joints of types"),
    ('<joint type="hinge" axis="0 1 0" pos="0 0 0.1"/>', "non-zero pos"),
    ('<joint type="slide"/>', "joints of types"),
])
def test_unsupported_joints_are_refused(tmp_path, body_xml, message):
    path = tmp_path / "bad.xml"
    path.write_text(f'<mujoco><worldbody><body name="a"><freejoint/><geom size="0.1"/>'
                    f'<body name="b">{body_xml}<geom size="0.1"/></body></body></worldbody></mujoco>')
    with pytest.raises(CharModelError, match=message) as err:
        load_mjcf_char_model(path)
    assert "bad.xml" in str(err.value)


def test_missing_character_file_names_the_file(tmp_path):
    with pytest.raises(CharModelError, match=r"nothere\.xml"):
        load_mjcf_char_model(tmp_path / "nothere.xml")


def test_humanoid_mass_matches_reference():
    model = mujoco.MjModel.from_xml_path(str(HUMANOID_XML))
    assert float(model.body_mass.sum()) == pytest.approx(50.05, abs=0.01)
