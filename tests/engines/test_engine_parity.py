"""The MuJoCo Warp engine (on Warp's CPU device) against the CPU engine: same scene, same initial states, same PD
targets, 30 control steps (1 s), for each shipped character.

Tolerance: with both engines stepping the same model, body positions agree to ~1e-6 m after 30 steps in most
envs (float32 against float64 arithmetic; docs/benchmarks.md). Contact events amplify the rounding difference
chaotically (a foot that lands one substep later), and one collision pair differs in kind: box-box contacts
(the SMPL body's and the humanoid's foot boxes touching each other) give 1-2 contacts in MuJoCo Warp 4.0.0
against up to 4 in C MuJoCo. So each character must agree within 1e-4 m in at least 6 of 8 envs, every env stays
within 0.25 m, and SMPL, whose feet touch each other in its standing pose, is compared without self-collisions.
"""

import pytest
import torch

from mimickit.engines.engine import build_engine, load_engine_config
from mimickit.util.config import load_yaml

from ..conftest import REPO_ROOT

pytest.importorskip("mujoco_warp")

NUM_ENVS, NUM_STEPS = 8, 30
CHARACTERS = ["humanoid", "g1", "go2", "smpl"]


def run(engine_file, char, seed=0):
    env_config = load_yaml(REPO_ROOT / f"data/envs/deepmimic_{char}_env.yaml")
    pose = torch.tensor(env_config["init_pose"], dtype=torch.float32)
    engine = build_engine(load_engine_config(REPO_ROOT / "data/engines" / engine_file), NUM_ENVS)
    char_id = engine.add_character(str(REPO_ROOT / env_config["char_file"]), start_pos=pose[:3].tolist(),
                                   enable_self_collisions=char != "smpl")
    engine.initialize()
    num_dofs = engine.get_kin_char_model(char_id).dof_size
    g = torch.Generator().manual_seed(seed)
    engine.set_state(char_id, root_pos=pose[:3], root_rot=torch.tensor([0.0, 0.0, 0.0, 1.0]),
                     root_vel=0.2 * torch.randn(NUM_ENVS, 3, generator=g), root_ang_vel=torch.zeros(3),
                     dof_pos=pose[6:] + 0.05 * torch.randn(NUM_ENVS, num_dofs, generator=g),
                     dof_vel=0.5 * torch.randn(NUM_ENVS, num_dofs, generator=g))
    targets = pose[6:] + 0.05 * torch.randn(NUM_ENVS, num_dofs, generator=g)
    body_pos = []
    for _ in range(NUM_STEPS):
        engine.set_cmd(char_id, targets)
        assert not engine.step().any()
        body_pos.append(engine.get_body_pos(char_id).clone())
    engine.close()
    return torch.stack(body_pos)  # [steps, envs, bodies, 3]


@pytest.mark.parametrize("char", CHARACTERS)
def test_warp_engine_tracks_the_cpu_engine(char):
    cpu = run("mujoco_engine.yaml", char)
    warp = run("mujoco_warp_engine.yaml", char)
    per_env = (cpu - warp).norm(dim=-1).amax(dim=(0, 2))
    assert (cpu[-1, :, 0, 2] - cpu[0, :, 0, 2]).abs().max() > 1e-3  # the characters moved
    assert (per_env < 1e-4).sum() >= 6, per_env
    assert per_env.max() < 0.25, per_env
