"""The SMPL-proportioned humanoid: the committed file is the generator's output, SMPL's 24 bodies and 23 ball
joints (nv 6 + 69), the body names upstream's SMPL configs use, it stands under PD at its init pose, and the
DeepMimic env plays its retargeted walk."""

import importlib.util
import sys

import pytest
import torch

from mimickit.engines.engine import build_engine, load_engine_config
from mimickit.envs.env_builder import build_env

from ..conftest import REPO_ROOT

SMPL = REPO_ROOT / "data/assets/smpl/smpl.xml"
ENGINE_YAML = REPO_ROOT / "data/engines/mujoco_engine.yaml"
SMPL_ORDER = ["Pelvis", "L_Hip", "L_Knee", "L_Ankle", "L_Toe", "R_Hip", "R_Knee", "R_Ankle", "R_Toe", "Torso",
              "Spine", "Chest", "Neck", "Head", "L_Thorax", "L_Shoulder", "L_Elbow", "L_Wrist", "L_Hand",
              "R_Thorax", "R_Shoulder", "R_Elbow", "R_Wrist", "R_Hand"]


def _generator():
    spec = importlib.util.spec_from_file_location("make_smpl_humanoid", REPO_ROOT / "tools/make_smpl_humanoid.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules.setdefault(spec.name, module)  # dataclasses look their module up while the file runs
    spec.loader.exec_module(module)
    return module


def test_committed_file_is_the_generators_output():
    assert SMPL.read_text() == _generator().build_xml()


def test_smpl_stands_under_pd_at_its_init_pose():
    init = torch.tensor(_generator().init_pose())
    engine = build_engine(load_engine_config(str(ENGINE_YAML), {"num_threads": 1}), 1)
    char = engine.add_character(str(SMPL), start_pos=init[:3].tolist())
    engine.initialize()
    try:
        km = engine.get_kin_char_model(char)
        assert km.body_names == SMPL_ORDER and km.dof_size == 69
        assert all(j.dof_dim == 3 for j in km.joints[1:])
        assert 55.0 < engine.scene.mass < 65.0
        dof = init[6:]
        engine.set_state(char, None, root_pos=init[:3], root_rot=torch.tensor([0.0, 0, 0, 1]),
                         root_vel=torch.zeros(3), root_ang_vel=torch.zeros(3), dof_pos=dof, dof_vel=torch.zeros(69))
        for _ in range(60):  # 2 s at 30 Hz
            engine.set_cmd(char, dof[None])
            assert not engine.step().any()
        assert engine.get_root_pos(char)[0, 2].item() == pytest.approx(init[2].item(), abs=0.03)
        assert (engine.get_dof_pos(char)[0] - dof).abs().max().item() < 0.08  # ankles give ~3° under the weight
        feet = sorted(km.get_body_id(b) for b in ("L_Ankle", "L_Toe", "R_Ankle", "R_Toe"))
        touching = (engine.get_ground_contact_forces(char)[0].abs().sum(-1) > 0.1).nonzero().flatten().tolist()
        assert set(touching) <= set(feet) and touching
    finally:
        engine.close()


def test_smpl_deepmimic_env_plays_its_retargeted_walk():
    torch.manual_seed(0)
    env = build_env(str(REPO_ROOT / "data/envs/deepmimic_smpl_env.yaml"), str(ENGINE_YAML), 2)
    try:
        env.reset()
        for _ in range(5):  # a zero residual action plays the clip open-loop through the PD servos
            _, reward, done, _ = env.step(torch.zeros(2, 69))
            assert torch.all(done == 0) and torch.all(reward > 0.5), reward
    finally:
        env.close()
