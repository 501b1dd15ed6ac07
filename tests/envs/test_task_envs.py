"""Location and steering tasks: rewards and task observations on hand-made states, task resampling and the
location success count."""

import json
import math

import pytest
import torch

from mimickit.envs.base_env import EnvMode
from mimickit.envs.env_builder import build_env
from mimickit.envs.terms.observations import compute_location_obs, compute_steering_obs
from mimickit.envs.terms.rewards import heading_direction, location_reward, steering_reward
from mimickit.run import main
from mimickit.util import rotations as rot

from ..conftest import REPO_ROOT

ENGINE = str(REPO_ROOT / "data/engines/mujoco_engine.yaml")


def yaw(angle: float) -> torch.Tensor:
    return rot.axis_angle_to_quat(torch.tensor([[0.0, 0.0, 1.0]]), torch.tensor([angle]))


def location(root, prev, facing, target, **kw):
    args = {"dt": 0.1, "tar_speed": 1.0, "dist_threshold": 0.5, "pos_err_scale": 0.5, "vel_err_scale": 4.0,
            "pos_w": 0.5, "vel_w": 0.4, "face_w": 0.1}
    args.update(kw)
    t = lambda v: torch.tensor([v], dtype=torch.float32)  # noqa: E731
    return location_reward(t(root), t(prev), t(facing), t(target), **args)


def test_location_reward_hand_made_states():
    # 1 m/s straight at a target 3 m ahead, facing it: r = 0.5 exp(-0.5 * 9) + 0.4 + 0.1
    reward, terms = location([0.0, 0.0], [-0.1, 0.0], [1.0, 0.0], [3.0, 0.0])
    assert reward.item() == pytest.approx(0.5 * math.exp(-4.5) + 0.5, rel=1e-5)
    # half the target speed: vel = exp(-4 * 0.5^2); facing sideways: face = 0
    _, terms = location([0.0, 0.0], [-0.05, 0.0], [0.0, 1.0], [3.0, 0.0])
    assert terms["location_vel"].item() == pytest.approx(math.exp(-1.0), rel=1e-5) and terms["location_face"] == 0
    # walking away: no velocity reward
    _, terms = location([0.0, 0.0], [0.1, 0.0], [1.0, 0.0], [3.0, 0.0])
    assert terms["location_vel"].item() == 0.0
    # within the threshold (squared distance 0.25 < 0.5): velocity and facing count as met
    _, terms = location([0.0, 0.0], [0.0, 0.0], [-1.0, 0.0], [0.5, 0.0])
    assert terms["location_vel"].item() == 1.0 and terms["location_face"].item() == 1.0


def test_steering_reward_hand_made_states():
    args = {"dt": 0.1, "vel_scale": 0.5, "tar_w": 0.7, "face_w": 0.3}
    t = lambda v: torch.tensor([v], dtype=torch.float32)  # noqa: E731
    reward, terms = steering_reward(t([0.15, 0.0]), t([0.0, 0.0]), t([1.0, 0.0]), t([1.0, 0.0]), t(2.0),
                                    t([0.0, 1.0]), **args)
    assert terms["steering_vel"].item() == pytest.approx(math.exp(-0.5 * 0.25), rel=1e-5)
    assert terms["steering_face"].item() == 0.0 and reward.item() == pytest.approx(0.7 * math.exp(-0.125), rel=1e-5)
    _, terms = steering_reward(t([-0.1, 0.0]), t([0.0, 0.0]), t([1.0, 0.0]), t([1.0, 0.0]), t(1.0),
                               t([1.0, 0.0]), **args)
    assert terms["steering_vel"].item() == 0.0 and terms["steering_face"].item() == 1.0


def test_task_observations_are_in_the_heading_frame():
    q = yaw(math.pi / 2)  # facing +y
    assert heading_direction(q)[0].tolist() == pytest.approx([0.0, 1.0], abs=1e-6)
    obs = compute_location_obs(torch.tensor([[1.0, 1.0, 0.9]]), q, torch.tensor([[1.0, 3.0]]))
    assert obs[0].tolist() == pytest.approx([2.0, 0.0], abs=1e-6)  # 2 m straight ahead
    obs = compute_steering_obs(q, torch.tensor([[1.0, 0.0]]), torch.tensor([1.5]), torch.tensor([[0.0, 1.0]]))
    assert obs[0].tolist() == pytest.approx([0.0, -1.0, 1.5, 1.0, 0.0], abs=1e-6)


@pytest.fixture(scope="module")
def location_env():
    torch.manual_seed(0)
    env = build_env(str(REPO_ROOT / "data/envs/amp_location_humanoid_env.yaml"), ENGINE, 2)
    yield env
    env.close()


def test_location_counts_reached_targets_and_resamples_on_time(location_env):
    env = location_env
    env.set_mode(EnvMode.TEST)
    env.reset()
    assert env.obs_dim == 142 and env.targets_set.tolist() == [1.0, 1.0]
    root_xy = env.engine.get_root_pos(env.char_id)[:, :2].clone()
    # env 0's target 0.3 m away, env 1's 0.65 m: within the reward's squared threshold (0.71 m) but outside the
    # 0.5 m a success asks for
    env.tar_xy[0] = root_xy[0] + torch.tensor([0.3, 0.0])
    env.tar_xy[1] = root_xy[1] + torch.tensor([0.0, 0.65])
    env.task_change_time[:] = 100.0
    _, _, _, info = env.step(torch.zeros(2, 28))
    summary = env._episode_summary(torch.ones(2, dtype=torch.bool))
    assert summary["location_success"].tolist() == [1.0, 0.0]
    assert info["episode_metrics"]["location_dist"].shape == (2,)
    env.task_change_time[1] = 0.0  # a new target for env 1 now
    old = env.tar_xy[1].clone()
    env.step(torch.zeros(2, 28))
    assert env.targets_set.tolist() == [1.0, 2.0] and not torch.equal(env.tar_xy[1], old)
    assert env.task_change_time[1] >= env.time[1] + 5.0 - 1e-6


def test_short_location_run_logs_the_task_success(tmp_path, capsys):
    out = tmp_path / "loc"
    assert main(["--env_config", "data/envs/amp_location_humanoid_env.yaml", "--engine_config",
                 "data/engines/mujoco_engine.yaml", "--agent_config", "tests/data/configs/tiny_amp_agent.yaml",
                 "--num_envs", "2", "--rand_seed", "3", "--max_samples", "32", "--out_dir", str(out)]) == 0
    columns = (out / "log.txt").read_text().splitlines()[0].split()
    assert {"Test_Location_Success", "Test_Location_Dist", "Reward_Location_Pos", "Disc_Agent_Acc"} <= set(columns)
    # the progress line shows the task figures in place of a tracking error (there is no reference clip)
    progress = [line for line in capsys.readouterr().out.splitlines() if line.startswith("iter ")]
    assert progress and all("| test location_success " in line and "e_pos" not in line for line in progress)
    # --mode test reports the task figures too
    assert main(["--env_config", "data/envs/amp_location_humanoid_env.yaml", "--engine_config",
                 "data/engines/mujoco_engine.yaml", "--agent_config", "tests/data/configs/tiny_amp_agent.yaml",
                 "--num_envs", "2", "--mode", "test", "--test_episodes", "2", "--model_file", str(out / "model.pt"),
                 "--out_dir", str(out)]) == 0
    assert "location_success: " in capsys.readouterr().out
    results = json.loads((out / "test_results.json").read_text())
    assert 0.0 <= results["location_success_mean"] <= 1.0 and results["location_dist_mean"] > 0.0


def test_steering_speed_curriculum_caps_training_draws_only(tmp_path):
    """tar_speed_max_schedule: TRAIN draws stay under the curriculum's speed for the run's sample count; TEST
    draws use the whole range (upstream's test, comparable across runs)."""
    path = tmp_path / "steering.yaml"
    path.write_text((REPO_ROOT / "data/envs/amp_steering_humanoid_env.yaml").read_text()
                    + "tar_speed_max_schedule: [[0, 1.0], [4e6, 2.0]]\n")
    torch.manual_seed(0)
    env = build_env(str(path), ENGINE, 64)
    try:
        env.set_mode(EnvMode.TRAIN)
        assert env.begin_iteration(0) == {"tar_speed_max": 1.0}
        env.reset()
        assert 0.5 <= env.tar_speed.min() and env.tar_speed.max() <= 1.0
        assert env.begin_iteration(4_000_000) == {"tar_speed_max": 2.0}
        env.reset()
        assert env.tar_speed.max() <= 2.0 and env.tar_speed.max() > 1.5
        env.set_mode(EnvMode.TEST)
        env.reset()
        assert env.tar_speed.max() > 3.0  # U[0.5, 5): 64 draws
    finally:
        env.close()


def test_a_curriculum_below_the_slowest_command_is_refused(tmp_path):
    from mimickit.util.config import ConfigError

    path = tmp_path / "steering.yaml"
    path.write_text((REPO_ROOT / "data/envs/amp_steering_humanoid_env.yaml").read_text()
                    + "tar_speed_max_schedule: [[0, 0.3]]\n")
    with pytest.raises(ConfigError, match=r"tar_speed_max_schedule speeds must be >= tar_speed_min \(0.5 m/s\)"):
        build_env(str(path), ENGINE, 2)


def test_short_steering_run_logs_its_curriculum(tmp_path):
    path = tmp_path / "steering.yaml"
    path.write_text((REPO_ROOT / "data/envs/amp_steering_humanoid_env.yaml").read_text()
                    + "tar_speed_max_schedule: [[0, 1.0], [30, 1.5]]\n")
    out = tmp_path / "run"
    assert main(["--env_config", str(path), "--engine_config", "data/engines/mujoco_engine.yaml", "--agent_config",
                 "tests/data/configs/tiny_amp_agent.yaml", "--num_envs", "2", "--rand_seed", "3",
                 "--max_samples", "64", "--out_dir", str(out)]) == 0
    lines = (out / "log.txt").read_text().splitlines()
    column = lines[0].split().index("Tar_Speed_Max")
    samples = lines[0].split().index("Samples")
    rows = [line.split() for line in lines[1:]]
    assert len(rows) >= 2
    for row in rows:  # each iteration's speed is the schedule's at the samples before it
        before = float(row[samples]) - 16  # tiny agent: 8 steps x 2 envs per iteration
        assert float(row[column]) == (1.0 if before < 30 else 1.5)
