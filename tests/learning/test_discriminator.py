"""Discriminator pieces of AMP and ADD: losses on hand-computed cases, the replay buffer, the difference
normaliser, and ADD's positive / negative samples."""

import math

import pytest
import torch

from mimickit.envs.env_builder import build_env
from mimickit.learning.add_agent import ADDAgent
from mimickit.learning.amp_agent import AMPAgent
from mimickit.learning.amp_model import Discriminator, disc_bce_loss, input_grad_sq, style_reward
from mimickit.learning.normalizer import DiffNormalizer
from mimickit.learning.ppo_agent import PPOAgent
from mimickit.learning.replay_buffer import ReplayBuffer
from mimickit.learning.runner import Runner
from mimickit.util.config import ConfigError, load_yaml

from ..conftest import REPO_ROOT
from .point_mass_env import PointMassEnv

ENGINE = str(REPO_ROOT / "data/engines/mujoco_engine.yaml")


def test_discriminator_loss_falls_on_separable_data():
    torch.manual_seed(0)
    disc = Discriminator("fc_2layers_128units", 8)
    opt = torch.optim.Adam(disc.parameters(), lr=1e-3)
    pos, neg = torch.randn(256, 8) + 1.0, torch.randn(256, 8) - 1.0
    losses = []
    for _ in range(200):
        loss = disc_bce_loss(disc(pos), disc(neg))
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(loss.item())
    assert losses[-1] < 0.1 * losses[0] and losses[-1] < 0.1
    assert (disc(pos) > 0).float().mean() > 0.95 and (disc(neg) < 0).float().mean() > 0.95


def test_bce_loss_hand_computed():
    # logit 0 on both sides: 0.5 (log 2 + log 2)
    assert disc_bce_loss(torch.zeros(3), torch.zeros(5)).item() == pytest.approx(math.log(2))
    # logit +2 on the positive, -1 on the negative
    expected = 0.5 * (math.log(1 + math.exp(-2)) + math.log(1 + math.exp(-1)))
    assert disc_bce_loss(torch.tensor([2.0]), torch.tensor([-1.0])).item() == pytest.approx(expected, rel=1e-6)


def test_gradient_penalty_equals_hand_computed_values():
    # a linear discriminator: d logit / dx = w for every sample, so the penalty is |w|^2
    disc = Discriminator("fc_2layers_128units", 3)
    linear = torch.nn.Linear(3, 1)
    with torch.no_grad():
        linear.weight.copy_(torch.tensor([[1.0, -2.0, 0.5]]))
    x = torch.randn(4, 3, requires_grad=True)
    assert input_grad_sq(linear(x).squeeze(-1), x).item() == pytest.approx(1 + 4 + 0.25)
    # logit = sum x^2: gradient 2x, penalty mean_i |2 x_i|^2
    x = torch.tensor([[1.0, 0.0], [0.0, 3.0]], requires_grad=True)
    assert input_grad_sq((x ** 2).sum(-1), x).item() == pytest.approx((4 + 36) / 2)
    # the penalty is differentiable, so it can train the network
    y = torch.randn(5, 3, requires_grad=True)
    input_grad_sq(disc(y), y).backward()
    assert disc.logit.weight.grad is not None and disc.logit.weight.grad.abs().sum() > 0


def test_style_reward_values():
    r = style_reward(torch.tensor([0.0, 100.0, -100.0]), scale=2.0)
    assert r[0].item() == pytest.approx(-2 * math.log(0.5))
    assert r[1].item() == pytest.approx(-2 * math.log(1e-4))  # floored
    assert r[2].item() == pytest.approx(0.0, abs=1e-6)


def test_replay_buffer_overwrites_the_oldest_and_round_trips():
    buf = ReplayBuffer(5, torch.device("cpu"))
    buf.push({"x": torch.arange(3.0)[:, None]})
    buf.push({"x": torch.arange(3.0, 7.0)[:, None]})  # 7 rows into 5: rows 0 and 1 overwritten
    assert buf.full and sorted(buf._data["x"].flatten().tolist()) == [2.0, 3.0, 4.0, 5.0, 6.0]
    buf.push({"x": torch.arange(10.0, 20.0)[:, None]})  # more than the capacity: the last 5 stay
    assert sorted(buf._data["x"].flatten().tolist()) == [15.0, 16.0, 17.0, 18.0, 19.0]
    other = ReplayBuffer(5, torch.device("cpu"))
    other.load_state_dict(buf.state_dict())
    torch.manual_seed(1)
    a = buf.sample(8)["x"]
    torch.manual_seed(1)
    assert torch.equal(other.sample(8)["x"], a) and other.head == buf.head


def test_diff_normalizer_scales_by_mean_absolute_value():
    norm = DiffNormalizer((2,), clip=10.0)
    assert torch.equal(norm.normalize(torch.tensor([[3.0, -4.0]])), torch.tensor([[3.0, -4.0]]))  # starts at 1
    norm.record(torch.tensor([[2.0, -1.0], [-4.0, 0.0]]))
    norm.update()
    assert norm.mean_abs.tolist() == [3.0, 0.5]
    assert norm.normalize(torch.tensor([[3.0, -1.0], [300.0, 0.0]])).tolist() == [[1.0, -2.0], [10.0, 0.0]]


def tiny_config(name):
    return load_yaml(REPO_ROOT / f"tests/data/configs/tiny_{name}_agent.yaml")


def test_add_positive_sample_is_zero_and_negatives_are_reference_minus_policy():
    torch.manual_seed(0)
    env = build_env(str(REPO_ROOT / "data/envs/add_humanoid_env.yaml"), ENGINE, 2)
    try:
        agent = ADDAgent(tiny_config("add"), env)
        dim = env.disc_obs_dim
        data = {"disc_obs": torch.randn(6, dim), "disc_obs_demo": torch.randn(6, dim)}
        replay = {"disc_obs": torch.randn(4, dim), "disc_obs_demo": torch.randn(4, dim)}
        agent.replay.push(replay)
        agent.disc_obs_norm.mean_abs.fill_(2.0)
        idx = torch.tensor([1, 4])
        pos, neg = agent._disc_minibatch(data, idx)
        assert pos.shape == (1, dim) and torch.count_nonzero(pos) == 0
        expected = ((data["disc_obs_demo"][idx] - data["disc_obs"][idx]) / 2.0).clamp(-10, 10)
        assert torch.allclose(neg[:2], expected)
        replayed = ((replay["disc_obs_demo"] - replay["disc_obs"]) / 2.0).clamp(-10, 10)
        assert all(any(torch.allclose(row, r) for r in replayed) for row in neg[2:])
    finally:
        env.close()


def test_adversarial_agents_need_a_discriminator_env():
    env = build_env(str(REPO_ROOT / "data/envs/deepmimic_humanoid_env.yaml"), ENGINE, 2)
    try:
        with pytest.raises(ConfigError, match="needs an env with a discriminator observation"):
            AMPAgent(tiny_config("amp"), env)
    finally:
        env.close()


def test_an_info_field_the_env_does_not_provide_is_named():
    class NeedsFoo(PPOAgent):
        INFO_KEYS = ("foo",)

    agent = NeedsFoo(tiny_config("ppo"), PointMassEnv(4))
    runner = Runner(agent.env, agent)
    obs, _ = agent.env.reset()
    agent.begin_iteration(0)
    with pytest.raises(ConfigError, match=r"needs info\['foo'\] from the environment, which PointMassEnv"):
        runner.rollout(obs.clone(), 1)
