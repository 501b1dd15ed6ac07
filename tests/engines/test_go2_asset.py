"""The shipped Unitree Go2 loads with its 12 DoFs and 15.21 kg, has foot bodies that carry the ground contacts,
and holds its home pose under the PD of its position actuators."""

import pytest
import torch

from mimickit.engines.engine import build_engine, load_engine_config

from ..conftest import REPO_ROOT

HOME = torch.tensor([0.0, 0.9, -1.8] * 4)


def test_go2_stands_on_its_feet():
    engine = build_engine(load_engine_config(str(REPO_ROOT / "data/engines/mujoco_engine.yaml"), {"num_threads": 1}), 1)
    char = engine.add_character(str(REPO_ROOT / "data/assets/go2/go2.xml"), start_pos=(0.0, 0.0, 0.27))
    engine.initialize()
    try:
        km = engine.get_kin_char_model(char)
        assert km.dof_size == 12 and km.num_joints == 16
        assert engine.scene.mass == pytest.approx(15.21, abs=0.01)
        feet = [km.get_body_id(f"{leg}_foot") for leg in ("FL", "FR", "RL", "RR")]
        kp, kd = engine.get_pd_gains(char)
        assert torch.all(kp == 60.0) and torch.all(kd == 3.0)
        assert engine.get_torque_limits(char).tolist() == pytest.approx([23.7, 23.7, 45.43] * 4)
        engine.set_state(char, None, root_pos=torch.tensor([0.0, 0.0, 0.27]), root_rot=torch.tensor([0.0, 0, 0, 1]),
                         root_vel=torch.zeros(3), root_ang_vel=torch.zeros(3), dof_pos=HOME, dof_vel=torch.zeros(12))
        for _ in range(60):  # 2 s
            engine.set_cmd(char, HOME[None])
            engine.step()
        assert 0.23 < engine.get_root_pos(char)[0, 2].item() < 0.29
        touching = (engine.get_ground_contact_forces(char)[0].abs().sum(-1) > 0.1).nonzero().flatten().tolist()
        assert touching == feet
    finally:
        engine.close()


def test_go2_deepmimic_env_plays_its_retargeted_walk():
    from mimickit.envs.env_builder import build_env

    torch.manual_seed(0)
    env = build_env(str(REPO_ROOT / "data/envs/deepmimic_go2_env.yaml"),
                    str(REPO_ROOT / "data/engines/mujoco_engine.yaml"), 2)
    try:
        env.reset()
        for _ in range(8):  # a zero residual action plays the clip open-loop through the PD servos
            _, reward, done, _ = env.step(torch.zeros(2, 12))
            assert torch.all(done == 0) and torch.all(reward > 0.7), reward
    finally:
        env.close()
