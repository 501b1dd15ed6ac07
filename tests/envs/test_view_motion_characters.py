"""Every character's motion viewer plays its clips: each env is posed on its clip's frame at the env's time
(bodies where the clip's forward kinematics puts them), for the G1, the SMPL humanoid and the Go2."""

import pytest
import torch

from mimickit.envs.env_builder import build_env

from ..conftest import REPO_ROOT


@pytest.mark.parametrize("character, num_clips", [("g1", 5), ("smpl", 5), ("go2", 1)])
def test_viewer_poses_each_env_on_its_clip(character, num_clips):
    env = build_env(str(REPO_ROOT / f"data/envs/view_motion_{character}_env.yaml"),
                    str(REPO_ROOT / "data/engines/mujoco_engine.yaml"), 5)
    try:
        env.reset()
        assert env.motion_lib.num_motions == num_clips  # G1 / SMPL: walk, run, spinkick, backflip, cartwheel
        for _ in range(7):
            env.step(torch.zeros(5, env.kin_model.dof_size))
        frame = env.motion_lib.calc_motion_frame(env.motion_ids, env.time)
        body_pos, _ = env.kin_model.forward_kinematics(frame.root_pos, frame.root_rot, frame.joint_rot)
        assert torch.allclose(env.engine.get_body_pos(env.char_id), body_pos, atol=1e-4)
        assert torch.all(env.time > 0.2)
    finally:
        env.close()
