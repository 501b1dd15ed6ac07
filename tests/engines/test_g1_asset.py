"""The shipped Unitree G1 loads in the engine with the importer's physics: 29 hinge DoFs, 33.34 kg, the rotor
PD gains and effort limits, and the bodies upstream's G1 configs name as key and contact bodies."""

import math

import pytest
import torch

from mimickit.engines.engine import build_engine, load_engine_config

from ..conftest import REPO_ROOT

G1 = REPO_ROOT / "data/assets/g1/g1.xml"


@pytest.fixture(scope="module")
def g1():
    engine = build_engine(load_engine_config(str(REPO_ROOT / "data/engines/mujoco_engine.yaml"), {"num_threads": 1}), 1)
    char = engine.add_character(str(G1), start_pos=(0.0, 0.0, 0.8))
    engine.initialize()
    yield engine, char
    engine.close()


def test_g1_structure_and_mass(g1):
    engine, char = g1
    km = engine.get_kin_char_model(char)
    assert km.dof_size == 29 and km.num_bodies == 31
    assert engine.scene.mass == pytest.approx(33.34, abs=0.01)
    for body in ("head_link", "left_ankle_roll_link", "right_wrist_yaw_link", "left_knee_link",
                 "right_ankle_pitch_link"):
        assert body in km.body_names
    elbows = [km.joints[1:].index(j) for j in km.joints[1:] if j.name.endswith("elbow_joint")]
    assert [km.joints[1:][i].dof_idx for i in elbows] == [18, 25]  # upstream's init pose bends DoFs 18 and 25


def test_g1_gains_follow_the_rotor_table(g1):
    engine, char = g1
    km = engine.get_kin_char_model(char)
    kp, kd = engine.get_pd_gains(char)
    limits = engine.get_torque_limits(char)
    by_name = {j.name: j.dof_idx for j in km.joints[1:] if j.dof_dim}
    w = 2 * math.pi * 10
    table = (("left_knee_joint", 0.025101925, 139.0), ("left_hip_pitch_joint", 0.01017752, 88.0),
             ("right_wrist_yaw_joint", 0.00425, 5.0), ("waist_roll_joint", 2 * 0.003609725, 50.0))
    for joint, armature, effort in table:
        d = by_name[joint]
        assert kp[d].item() == pytest.approx(armature * w * w, rel=1e-5)
        assert kd[d].item() == pytest.approx(4 * armature * w, rel=1e-5)
        assert limits[d].item() == pytest.approx(effort)
    assert torch.all(kp > 0)


def test_g1_deepmimic_env_plays_its_retargeted_walk():
    from mimickit.envs.env_builder import build_env

    torch.manual_seed(0)
    env = build_env(str(REPO_ROOT / "data/envs/deepmimic_g1_env.yaml"),
                    str(REPO_ROOT / "data/engines/mujoco_engine.yaml"), 2)
    try:
        env.reset()
        for _ in range(5):  # a zero residual action plays the clip open-loop through the PD servos
            _, reward, done, _ = env.step(torch.zeros(2, 29))
            assert torch.all(done == 0) and torch.all(reward > 0.5), reward
        assert env.obs_dim == 849
    finally:
        env.close()


def test_g1_soles_keep_the_outline_of_mjlabs_seven_capsules():
    """Each sole has 5 capsules (mjlab's 7 less the two interior ones): the toe corners, both sides and the middle,
    spanning what the 7 span (x -0.064..0.142 m, y -0.0365..0.0365 m in the ankle-roll frame, radius included)."""
    import mujoco
    import numpy as np

    model = mujoco.MjModel.from_xml_path(str(G1))
    for side in ("left", "right"):
        body = model.body(f"{side}_ankle_roll_link").id
        geoms = [g for g in range(model.ngeom) if model.geom_bodyid[g] == body and model.geom_contype[g]]
        assert len(geoms) == 5 and all(model.geom_type[g] == mujoco.mjtGeom.mjGEOM_CAPSULE for g in geoms)
        ends = []
        for g in geoms:
            axis = np.zeros(3)
            mujoco.mju_rotVecQuat(axis, np.array([0.0, 0.0, 1.0]), model.geom_quat[g])
            radius, half = model.geom_size[g][:2]
            for sign in (-1.0, 1.0):
                ends.append(model.geom_pos[g] + sign * half * axis)
        ends = np.array(ends)
        radius = model.geom_size[geoms[0]][0]
        assert ends[:, 0].min() - radius == pytest.approx(-0.064, abs=1e-3)
        assert ends[:, 0].max() + radius == pytest.approx(0.142, abs=1e-3)
        assert ends[:, 1].min() - radius == pytest.approx(-0.0365, abs=1e-3)
        assert ends[:, 1].max() + radius == pytest.approx(0.0365, abs=1e-3)
