import pytest
import torch

from mimickit.envs.base_env import DoneFlags
from mimickit.learning.normalizer import Normalizer
from mimickit.learning.ppo_agent import PPOAgent, action_bound_loss, ppo_surrogate_loss
from mimickit.learning.rl_util import compute_td_lambda_return
from mimickit.learning.runner import Runner
from mimickit.util.config import ConfigError, load_yaml
from mimickit.util.logger import Logger

from ..conftest import REPO_ROOT
from .point_mass_env import PointMassEnv

TINY_AGENT = REPO_ROOT / "tests/data/configs/tiny_ppo_agent.yaml"


def test_td_lambda_matches_hand_computation():
    r = torch.tensor([[1.0], [2.0], [3.0]])
    v_next = torch.tensor([[10.0], [20.0], [30.0]])
    done = torch.zeros(3, 1, dtype=torch.int32)
    g, lam = 0.9, 0.5
    ret = compute_td_lambda_return(r, v_next, done, g, lam)
    r2 = 3 + g * 30
    r1 = 2 + g * ((1 - lam) * 20 + lam * r2)
    r0 = 1 + g * ((1 - lam) * 10 + lam * r1)
    assert torch.allclose(ret[:, 0], torch.tensor([r0, r1, r2]))
    done[1, 0] = int(DoneFlags.FAIL)  # the episode ends at t = 1: no lambda-mixing across it
    ret = compute_td_lambda_return(r, v_next, done, g, lam)
    assert ret[1, 0].item() == pytest.approx(2 + g * 20)


def test_normalizer_matches_batch_statistics():
    g = torch.Generator().manual_seed(0)
    data = torch.randn(1000, 3, generator=g) * torch.tensor([1.0, 5.0, 0.1]) + torch.tensor([2.0, -1.0, 0.0])
    norm = Normalizer((3,), clip=10.0)
    for chunk in data.split(300):
        norm.record(chunk)
        norm.update()
    assert torch.allclose(norm.mean, data.mean(0), atol=1e-5)
    assert torch.allclose(norm.std, data.std(0, unbiased=False), rtol=1e-4)
    assert torch.allclose(norm.unnormalize(norm.normalize(data)), data, atol=1e-4)
    assert norm.normalize(torch.full((1, 3), 1e6)).max() == 10.0


def test_surrogate_and_bound_losses():
    logp = torch.log(torch.tensor([1.5, 0.5]))
    adv = torch.tensor([1.0, -1.0])
    loss, clip_frac, ratio = ppo_surrogate_loss(logp, torch.zeros(2), adv, 0.2)
    assert loss.item() == pytest.approx(-(1.2 - 0.8) / 2)  # min(1.5, 1.2) and min(-0.5, -0.8) per sample
    assert clip_frac.item() == 1.0 and ratio.item() == pytest.approx(1.0)
    assert action_bound_loss(torch.tensor([[0.5, -0.5], [1.5, -2.0]])).tolist() == pytest.approx([0.0, 1.25])


def make_agent(env, **overrides):
    config = load_yaml(TINY_AGENT)
    config.update(overrides)
    return PPOAgent(config, env)


def test_ppo_improves_return_on_a_small_control_task(tmp_path):
    torch.manual_seed(0)
    env = PointMassEnv(num_envs=64)
    agent = make_agent(env, steps_per_iter=20, iters_per_output=1000, actor_epochs=4, actor_batch_size=5,
                       critic_epochs=4, actor_optimizer={"type": "Adam", "learning_rate": 3e-3},
                       critic_optimizer={"type": "Adam", "learning_rate": 3e-3},
                       model={"actor_net": "fc_2layers_128units", "critic_net": "fc_2layers_128units",
                              "action_std": 0.3, "actor_init_output_scale": 0.01})
    runner = Runner(env, agent)
    before = runner.test(64)["mean_return"]
    runner.train(40 * 20 * 64, tmp_path, Logger(tmp_path))
    after = runner.test(64)["mean_return"]
    assert after > before + 4.0, (before, after)


def test_unknown_agent_key_is_refused():
    with pytest.raises(ConfigError, match=r"unknown key\(s\) \['actor_epoch'\]"):
        make_agent(PointMassEnv(4), actor_epoch=3)


def test_bad_optimizer_type_is_refused():
    with pytest.raises(ConfigError, match=r"actor_optimizer: type must be one of \['SGD', 'Adam'\]"):
        make_agent(PointMassEnv(4), actor_optimizer={"type": "RMSprop", "learning_rate": 1e-3})


def test_action_std_schedule_follows_the_sample_count(tmp_path):
    torch.manual_seed(0)
    env = PointMassEnv(num_envs=4)  # 8 steps x 4 envs = 32 samples per iteration
    agent = make_agent(env, iters_per_output=1000, action_std_schedule=[[64, 0.01], [32, 0.03]],
                       actor_lr_schedule=[[96, 1e-5]])
    seen = []
    runner = Runner(env, agent)
    original = runner.rollout

    def rollout(obs, steps):
        seen.append((runner.sample_count, round(float(agent.model.policy.log_std.exp()[0]), 6),
                     agent.optimizers["actor"].param_groups[0]["lr"]))
        return original(obs, steps)

    runner.rollout = rollout
    runner.train(4 * 32, tmp_path, Logger(tmp_path))
    # before the first entry: the model's std and the optimiser's learning rate
    assert seen == [(0, 0.05, 1e-4), (32, 0.03, 1e-4), (64, 0.01, 1e-4), (96, 0.01, 1e-5)]
    header = (tmp_path / "log.txt").read_text().splitlines()[0].split()
    assert "Action_Std" in header and "Actor_Lr" in header


@pytest.mark.parametrize("schedule, message", [
    ([[0, -0.1]], "every value must be positive"),
    ([[0]], "list of \\[samples, value\\] pairs"),
])
def test_bad_std_schedules_are_refused(schedule, message):
    with pytest.raises(ConfigError, match=message):
        make_agent(PointMassEnv(4), action_std_schedule=schedule)


def test_std_schedule_needs_a_fixed_std():
    config = load_yaml(TINY_AGENT)
    config["model"] = {**config["model"], "actor_std_type": "CONSTANT"}
    config["action_std_schedule"] = [[0, 0.1]]
    with pytest.raises(ConfigError, match="needs actor_std_type FIXED"):
        PPOAgent(config, PointMassEnv(4))
