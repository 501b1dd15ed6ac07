"""Resets by a bool mask (the accelerator's way: no host sync): the masked envs start new episodes exactly as
a reset by their ids would set them up, and the other envs are left bit for bit as they were; on both engines."""

import pytest
import torch

from mimickit.envs.base_env import EnvMode
from mimickit.envs.env_builder import build_env

from ..conftest import REPO_ROOT

CASES = [("deepmimic_humanoid_env.yaml", "mujoco_engine.yaml"),
         ("deepmimic_humanoid_env.yaml", "mujoco_warp_engine.yaml"),
         ("amp_humanoid_env.yaml", "mujoco_engine.yaml"),
         ("add_humanoid_env.yaml", "mujoco_engine.yaml")]


def snapshot(env):
    e, c = env.engine, env.char_id
    return {"obs": env.obs.clone(), "root_pos": e.get_root_pos(c).clone(), "root_rot": e.get_root_rot(c).clone(),
            "dof_pos": e.get_dof_pos(c).clone(), "dof_vel": e.get_dof_vel(c).clone(),
            "step_count": env.step_count.clone(), "motion_ids": env.motion_ids.clone(),
            "offset": env.motion_time_offset.clone(), "ref_root_pos": env.reference["root_pos"].clone(),
            **{f"disc_{k}": v.clone() for k, v in getattr(env, "disc_history", {}).items()},
            **{f"demo_{k}": v.clone() for k, v in getattr(env, "ref_history", {}).items()}}


@pytest.mark.parametrize("env_file, engine", CASES)
def test_a_masked_reset_restarts_only_the_masked_envs(env_file, engine):
    if engine.startswith("mujoco_warp"):
        pytest.importorskip("mujoco_warp")
    env = build_env(str(REPO_ROOT / "data/envs" / env_file), str(REPO_ROOT / "data/engines" / engine), 4)
    try:
        env.set_mode(EnvMode.TEST)  # no observation noise: a fresh observation is comparable
        torch.manual_seed(0)
        env.reset()
        action = torch.zeros(4, env.action_bounds[0].numel())
        for _ in range(5):
            env.step(action)
        before = snapshot(env)
        mask = torch.tensor([True, False, True, False])
        obs, _ = env.reset(mask)
        after = snapshot(env)
        kept, reset = ~mask, mask
        for key, value in after.items():  # the unmasked envs: untouched
            assert torch.equal(value[kept], before[key][kept]), key
        assert after["step_count"][reset].tolist() == [0, 0]
        assert not torch.equal(after["root_pos"][reset], before["root_pos"][reset])
        # the masked envs stand in their clip's pose at their new start time, as a reset by ids puts them
        assert torch.allclose(after["root_pos"][reset], after["ref_root_pos"][reset], atol=1e-5)
        ref_dof = env.kin_model.rot_to_dof(env.reference["joint_rot"][reset])
        assert torch.allclose(after["dof_pos"][reset], ref_dof, atol=1e-4)
        assert torch.allclose(obs[reset], env._compute_obs(torch.tensor([0, 2])), atol=1e-5)
        for name, hist in getattr(env, "disc_history", {}).items():  # AMP/ADD: the window ending at the new start
            window = env._reference_window(env.motion_ids[reset], env.motion_time(torch.tensor([0, 2])))[name]
            assert torch.allclose(hist[reset], window, atol=1e-5), name
        env.step(action)  # and they step on from there
        assert env.step_count.tolist() == [1, 6, 1, 6]
    finally:
        env.close()


def test_an_env_without_masked_resets_takes_the_mask_as_ids():
    """ASE's reset picks envs for the default pose by ids: a mask is turned into ids (one host sync there)."""
    env = build_env(str(REPO_ROOT / "data/envs/ase_humanoid_env.yaml"),
                    str(REPO_ROOT / "data/engines/mujoco_engine.yaml"), 3)
    try:
        torch.manual_seed(0)
        env.reset()
        for _ in range(3):
            env.step(torch.zeros(3, env.action_bounds[0].numel()))
        before = env.obs.clone()
        env.reset(torch.tensor([False, True, False]))
        assert env.step_count.tolist() == [3, 0, 3]
        assert torch.equal(env.obs[0], before[0]) and torch.equal(env.obs[2], before[2])
    finally:
        env.close()
