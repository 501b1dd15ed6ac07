import math

import pytest
import torch

from mimickit.envs.base_env import DoneFlags, EnvMode
from mimickit.envs.env_builder import build_env
from mimickit.util import rotations as rot
from mimickit.util.config import ConfigError

from ..conftest import REPO_ROOT

ENV_YAML = REPO_ROOT / "data/envs/deepmimic_humanoid_env.yaml"
ENGINE_YAML = REPO_ROOT / "data/engines/mujoco_engine.yaml"


@pytest.fixture(scope="module")
def env():
    torch.manual_seed(0)
    e = build_env(str(ENV_YAML), str(ENGINE_YAML), 4)
    yield e
    e.close()


def test_observation_size_matches_reference(env):
    obs, _ = env.reset()
    assert env.obs_dim == 464 and obs.shape == (4, 464)
    low, high = env.action_bounds
    assert low[0].item() == pytest.approx(-1.885, abs=1e-3) and high[9].item() == pytest.approx(3.351, abs=1e-3)
    assert low[9].item() == pytest.approx(-0.5585, abs=1e-3)


def test_reset_places_the_character_on_the_reference(env):
    env.reset()
    e, c = env.engine, env.char_id
    assert torch.allclose(e.get_body_pos(c), env._ref["body_pos"], atol=1e-4)
    assert torch.all(rot.quat_diff_angle(env.kin_model.dof_to_rot(e.get_dof_pos(c)), env._ref["joint_rot"]) < 1e-3)
    assert torch.allclose(e.get_dof_vel(c), env._ref["dof_vel"], atol=1e-4)


def test_tracking_the_reference_with_pd_targets_earns_high_reward(env):
    env.reset()
    for _ in range(10):
        next_ref = env._tar["joint_rot"][:, 0]  # the reference one control step ahead
        _, reward, done, _ = env.step(env.kin_model.rot_to_dof(next_ref))
        assert torch.all(done == int(DoneFlags.NULL))
        assert torch.all(reward > 0.6), reward


def test_a_body_on_the_ground_fails_the_episode(env):
    env.reset()
    ids = torch.tensor([1])
    lying = rot.axis_angle_to_quat(torch.tensor([0.0, 1.0, 0.0]), torch.tensor(math.pi / 2))
    env.engine.set_state(env.char_id, ids, root_pos=torch.tensor([0.0, 0.0, 0.12]), root_rot=lying,
                         root_vel=torch.zeros(3), root_ang_vel=torch.zeros(3))
    _, _, done, _ = env.step(env.kin_model.rot_to_dof(env._tar["joint_rot"][:, 0]))
    assert done[1].item() == int(DoneFlags.FAIL)


def test_nan_in_one_env_ends_that_episode_and_is_counted(env):
    obs, _ = env.reset()
    env.engine.set_state(env.char_id, torch.tensor([2]), dof_vel=torch.full((28,), float("nan")))
    before = env.fault_count
    obs, reward, done, info = env.step(env.kin_model.rot_to_dof(env._tar["joint_rot"][:, 0]))
    assert done[2].item() == int(DoneFlags.FAIL) and info["num_faults"] == before + 1
    assert torch.all(torch.isfinite(obs)) and torch.all(torch.isfinite(reward))
    obs, _ = env.reset(torch.tensor([2]))
    assert torch.all(torch.isfinite(obs))


def test_tracking_errors_are_recorded_in_test_mode(env):
    env.set_mode(EnvMode.TEST)
    env.reset()
    done = torch.zeros(4, dtype=torch.int32)
    steps = 0
    while not (done != 0).all() and steps < 400:
        _, _, d, _ = env.step(env.kin_model.rot_to_dof(env._tar["joint_rot"][:, 0]))
        done |= d
        finished = (d != 0).nonzero().flatten()
        if finished.numel():
            env.reset(finished)
        steps += 1
    errors = env.tracking_errors()
    env.set_mode(EnvMode.TRAIN)
    assert len(errors["e_pos"]) >= 4
    assert all(0.0 < e < 0.3 for e in errors["e_pos"]) and all(0.0 < e < 5.0 for e in errors["e_vel"])


@pytest.mark.parametrize("edit, message", [
    ({"reward_pose_wt": 1.0}, "unknown key"),
    ({"key_bodies": ["head", "tail"]}, r"unknown bodies \['tail'\]"),
    ({"joint_err_w": [1.0, 1.0]}, "joint_err_w needs 14 values"),
    ({"init_pose": [0.0] * 10}, "init_pose must hold 3 or 34 numbers"),
    ({"motion_file": "data/motions/humanoid/nope.pkl"}, "nope.pkl: motion file not found"),
    ({"engine": {"sim_freq": 100}}, "integer multiple"),
])
def test_bad_env_configs_name_the_problem(tmp_path, edit, message):
    import yaml

    config = yaml.safe_load(ENV_YAML.read_text())
    config.update(edit)
    path = tmp_path / "env.yaml"
    path.write_text(yaml.safe_dump(config))
    with pytest.raises(Exception, match=message):
        build_env(str(path), str(ENGINE_YAML), 1)


def test_missing_and_malformed_env_files(tmp_path):
    with pytest.raises(ConfigError, match="nothere.yaml: config file not found"):
        build_env(str(tmp_path / "nothere.yaml"), str(ENGINE_YAML), 1)
    bad = tmp_path / "bad.yaml"
    bad.write_text("env_name: [deepmimic\n")
    with pytest.raises(ConfigError, match="bad.yaml: malformed yaml"):
        build_env(str(bad), str(ENGINE_YAML), 1)
