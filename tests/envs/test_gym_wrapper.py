"""The Gymnasium views pass Gymnasium's own checker and map done flags to terminated / truncated."""

import math

import numpy as np
import pytest
import torch

gym = pytest.importorskip("gymnasium")

from gymnasium.utils.env_checker import check_env  # noqa: E402

from mimickit.envs.base_env import EnvMode  # noqa: E402
from mimickit.envs.env_builder import build_env  # noqa: E402
from mimickit.envs.gym_wrapper import GymEnv, GymVectorEnv  # noqa: E402
from mimickit.util import rotations as rot  # noqa: E402

from ..conftest import REPO_ROOT  # noqa: E402

ENV = str(REPO_ROOT / "data/envs/deepmimic_humanoid_env.yaml")
ENGINE = str(REPO_ROOT / "data/engines/mujoco_engine.yaml")


@pytest.mark.filterwarnings("ignore:.*(symmetric and normalized|infinity).*:UserWarning")
def test_single_env_passes_gymnasiums_checker():
    env = GymEnv(build_env(ENV, ENGINE, 1))
    try:
        check_env(env, skip_render_check=True)
        assert env.observation_space.shape == (464,) and env.action_space.shape == (28,)
    finally:
        env.close()


def test_done_flags_map_to_terminated_and_truncated():
    inner = build_env(ENV, ENGINE, 1)
    env = GymEnv(inner)
    try:
        inner.set_mode(EnvMode.TEST)
        env.reset(seed=0)
        inner.episode_length = 3 * inner.engine.timestep  # a 3-step episode ends by the time limit
        for _ in range(3):
            _, reward, terminated, truncated, info = env.step(np.zeros(28, dtype=np.float32))
        assert truncated and not terminated and isinstance(reward, float)
        assert set(info["episode_metrics"]) == {"e_pos", "e_vel", "action_delta", "joint_jerk"}
        inner.episode_length = 10.0
        env.reset(seed=0)
        lying = rot.axis_angle_to_quat(torch.tensor([0.0, 1.0, 0.0]), torch.tensor(math.pi / 2))
        inner.engine.set_state(inner.char_id, torch.tensor([0]), root_pos=torch.tensor([0.0, 0.0, 0.12]),
                               root_rot=lying, root_vel=torch.zeros(3), root_ang_vel=torch.zeros(3))
        _, _, terminated, truncated, _ = env.step(np.zeros(28, dtype=np.float32))
        assert terminated and not truncated  # lying on the ground: a fall
    finally:
        env.close()


def test_vector_env_resets_finished_envs_in_the_same_step():
    inner = build_env(ENV, ENGINE, 3)
    env = GymVectorEnv(inner)
    try:
        obs, _ = env.reset(seed=1)
        assert obs.shape == (3, 464) and obs.dtype == np.float32 and env.action_space.shape == (3, 28)
        inner.episode_length = 2 * inner.engine.timestep
        env.step(np.zeros((3, 28), dtype=np.float32))
        obs, _reward, _terminated, truncated, info = env.step(np.zeros((3, 28), dtype=np.float32))
        assert truncated.all() and info["_final_obs"].all() and info["final_obs"].shape == (3, 464)
        assert inner.step_count.tolist() == [0, 0, 0]  # already reset for the next episode
        assert not np.allclose(obs, info["final_obs"])
    finally:
        env.close()
