"""AWR with a replay of recent rollouts: weights on a hand-made batch, the replay keeps the newest rollouts and
its TD(lambda) targets follow the stored done flags, one-iteration replay is upstream's on-policy AWR, and a
short run's return rises."""

import math

import pytest
import torch

from mimickit.envs.base_env import DoneFlags
from mimickit.learning.awr_agent import AWRAgent, awr_weights
from mimickit.learning.checkpoints import training_state_path
from mimickit.learning.replay_buffer import TrajectoryReplay
from mimickit.learning.rl_util import compute_td_lambda_return
from mimickit.learning.runner import Runner
from mimickit.run import main
from mimickit.util.config import ConfigError, load_yaml
from mimickit.util.logger import Logger

from ..conftest import REPO_ROOT
from .point_mass_env import PointMassEnv


def config(**overrides):
    c = load_yaml(REPO_ROOT / "tests/data/configs/tiny_ppo_agent.yaml")
    for key in ("ppo_clip_ratio", "norm_adv_clip"):
        c.pop(key)
    c.update(agent_name="AWR", awr_temp=1.0, a_weight_clip=20.0)
    c.update(overrides)
    return c


def test_weights_on_a_hand_made_batch():
    w = awr_weights(torch.tensor([0.0, 1.0, -2.0, 5.0]), temperature=0.5, max_weight=20.0)
    assert w.tolist() == pytest.approx([1.0, math.e ** 2, math.e ** -4, 20.0])


def test_replay_keeps_the_newest_rollouts_whole():
    replay = TrajectoryReplay(2, torch.device("cpu"))
    for k in range(3):  # rollouts of T = 2 steps for N = 3 envs, filled with k
        replay.push({"reward": torch.full((2, 3), float(k))})
    stacked = replay.stacked("reward")
    assert stacked.shape == (2, 6) and sorted(set(stacked.flatten().tolist())) == [1.0, 2.0]
    assert replay.num_samples == 12
    other = TrajectoryReplay(2, torch.device("cpu"))
    other.load_state_dict(replay.state_dict())
    assert torch.equal(other.stacked("reward"), stacked) and other.head == replay.head


def test_targets_follow_the_stored_trajectories_and_done_flags():
    torch.manual_seed(0)
    env = PointMassEnv(num_envs=2, horizon=3)
    agent = AWRAgent(config(steps_per_iter=4, replay_samples=16), env)  # two iterations of 4 x 2
    runner = Runner(env, agent)
    obs = runner._reset_all()
    rollouts = []
    for it in range(3):
        agent.begin_iteration(it * 8)
        with torch.no_grad():
            obs = runner.rollout(obs, 4)
            rollouts.append(agent.buffer.get("obs").clone())
            agent._build_train_data()
        agent._update_model()
    # the replay holds the two newest rollouts, whole
    stored = agent.replay.stacked("obs")
    assert agent.replay.count == 2 and agent._train["target_value"].numel() == 16
    assert {tuple(x) for x in stored.reshape(-1, 4).tolist()} == {tuple(x) for x in
                                                                  torch.cat(rollouts[1:], 1).reshape(-1, 4).tolist()}
    with torch.no_grad():
        agent.begin_iteration(24)
        obs = runner.rollout(obs, 4)
        agent._build_train_data()
        done = agent.replay.stacked("done")
        reward = agent.replay.stacked("reward")
        next_v = agent.model.value(agent.obs_norm.normalize(agent.replay.stacked("next_obs")))
        expected = compute_td_lambda_return(reward, next_v, done, agent.discount, 0.95)
    targets = agent._train["target_value"].reshape(4, 4)
    assert torch.allclose(targets, expected, atol=1e-6)
    # episodes of 3 steps end inside 4-step rollouts: there the target bootstraps from V(s') only
    ended = done == int(DoneFlags.TIME)
    assert ended.any()
    assert torch.allclose(targets[ended], (reward + agent.discount * next_v)[ended], atol=1e-6)


def test_one_iteration_replay_is_on_policy_and_replay_must_hold_an_iteration():
    env = PointMassEnv(num_envs=2)
    agent = AWRAgent(config(), env)
    assert agent.replay.capacity == 1 and agent.training_state() == {}
    with pytest.raises(ConfigError, match="must hold at least one iteration"):
        AWRAgent(config(replay_samples=3), env)


@pytest.mark.parametrize("replay_samples", [None, 20 * 64 * 4])
def test_awr_improves_return_on_a_small_control_task(tmp_path, replay_samples):
    torch.manual_seed(0)
    env = PointMassEnv(num_envs=64)
    overrides = {"steps_per_iter": 20, "iters_per_output": 1000, "actor_epochs": 4, "actor_batch_size": 5,
                 "critic_epochs": 4, "actor_optimizer": {"type": "Adam", "learning_rate": 3e-3},
                 "critic_optimizer": {"type": "Adam", "learning_rate": 3e-3},
                 "model": {"actor_net": "fc_2layers_128units", "critic_net": "fc_2layers_128units",
                            "action_std": 0.3, "actor_init_output_scale": 0.01}}
    if replay_samples:
        overrides["replay_samples"] = replay_samples
    runner = Runner(env, AWRAgent(config(**overrides), env))
    before = runner.test(64)["mean_return"]
    runner.train(40 * 20 * 64, tmp_path, Logger(tmp_path))
    after = runner.test(64)["mean_return"]
    assert after > before + 4.0, (before, after)


def test_off_policy_resume_with_its_replay_is_exact(tmp_path):
    argv = ["--env_config", "data/envs/deepmimic_humanoid_env.yaml",
            "--engine_config", "data/engines/mujoco_engine.yaml",
            "--agent_config", "tests/data/configs/tiny_awr_agent.yaml", "--num_envs", "4", "--rand_seed", "3"]
    straight, split = tmp_path / "straight", tmp_path / "split"
    assert main(argv + ["--max_samples", "160", "--out_dir", str(straight)]) == 0
    assert main(argv + ["--max_samples", "96", "--out_dir", str(split)]) == 0
    replay = torch.load(training_state_path(split / "model.pt"), weights_only=True)
    assert replay["replay.field.obs"].shape[0] == 2  # the two newest of three rollouts travel with the checkpoint
    assert main(argv + ["--max_samples", "160", "--out_dir", str(split), "--resume", "true"]) == 0
    a = torch.load(straight / "model.pt", weights_only=True)["agent"]
    b = torch.load(split / "model.pt", weights_only=True)["agent"]
    for key in a:
        assert torch.equal(a[key], b[key]), key
