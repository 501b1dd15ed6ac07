"""LCP: the gradient penalty on the policy's log-likelihood equals its hand-computed value, the agent adds it to
the actor loss with its weight, and a short run logs it."""

import math

import numpy as np
import pytest
import torch

from mimickit.learning.lcp_agent import LCPAgent, log_prob_input_grad_sq
from mimickit.plot import read_log
from mimickit.run import main
from mimickit.util.config import load_yaml

from ..conftest import REPO_ROOT
from .point_mass_env import PointMassEnv


def test_penalty_of_a_linear_gaussian_policy_is_hand_computed():
    """mu(s) = W s + b, fixed std sigma: d log pi(a|s) / d s = ((a - mu) / sigma^2) W, so the penalty is the mean of
    its squared norm."""
    w = torch.tensor([[1.0, -2.0, 0.5], [0.0, 3.0, -1.0]])
    b = torch.tensor([0.1, -0.2])
    sigma = torch.tensor([0.5, 2.0])
    s = torch.tensor([[0.2, -0.4, 1.0], [1.5, 0.0, -0.3]], requires_grad=True)
    a = torch.tensor([[0.3, 0.1], [-1.0, 2.0]])
    mu = s @ w.T + b
    log_prob = (-0.5 * ((a - mu) / sigma) ** 2 - torch.log(sigma) - 0.5 * math.log(2 * math.pi)).sum(-1)
    expected = (((a - mu.detach()) / sigma**2) @ w).pow(2).sum(-1).mean()
    assert log_prob_input_grad_sq(log_prob, s).item() == pytest.approx(expected.item(), rel=1e-6)
    # sample 0 by hand: mu = (0.2 + 0.8 + 0.5 + 0.1, -1.2 - 1.0 - 0.2) = (1.6, -2.4); a - mu = (-1.3, 2.5);
    # / sigma^2 = (-5.2, 0.625); gradient = -5.2 (1, -2, 0.5) + 0.625 (0, 3, -1) = (-5.2, 12.275, -3.225)
    assert torch.allclose(((a - mu.detach()) / sigma**2)[0] @ w, torch.tensor([-5.2, 12.275, -3.225]))


def tiny_lcp_config(weight: float) -> dict:
    config = load_yaml(REPO_ROOT / "tests/data/configs/tiny_ppo_agent.yaml")
    return {**config, "agent_name": "LCP", "lcp_weight": weight}


def test_agent_adds_its_weighted_penalty_computed_per_sample_through_its_network():
    torch.manual_seed(0)
    env = PointMassEnv(num_envs=6)
    agent = LCPAgent(tiny_lcp_config(0.5), env)
    norm_obs = torch.randn(6, 4)
    norm_action = torch.randn(6, 2)
    mean = agent.model.action_mean(norm_obs)
    loss, figures = agent._extra_actor_loss(norm_obs, mean, norm_action)
    per_sample = []
    for i in range(6):  # an independent route: the Jacobian of one sample's log-likelihood
        def log_prob_of(x, i=i):
            return agent.model.policy.log_prob(agent.model.action_mean(x[None]), norm_action[i:i + 1]).sum()
        grad = torch.autograd.functional.jacobian(log_prob_of, norm_obs[i])
        per_sample.append(grad.pow(2).sum())
    expected = torch.stack(per_sample).mean()
    assert figures["lcp_penalty"] == pytest.approx(expected.item(), rel=1e-5)
    assert loss.item() == pytest.approx(0.5 * expected.item(), rel=1e-5)
    assert loss.requires_grad  # trained through
    assert LCPAgent(tiny_lcp_config(0.0), env)._extra_actor_loss(norm_obs, mean, norm_action)[0].item() == 0.0


def test_short_lcp_run_logs_its_penalty(tmp_path):
    agent_file = tmp_path / "lcp.yaml"
    agent_file.write_text((REPO_ROOT / "tests/data/configs/tiny_ppo_agent.yaml").read_text()
                          .replace("agent_name: PPO", "agent_name: LCP") + "lcp_weight: 0.002\n")
    out = tmp_path / "run"
    assert main(["--env_config", "data/envs/deepmimic_g1_env.yaml", "--engine_config",
                 "data/engines/mujoco_engine.yaml", "--agent_config", str(agent_file), "--num_envs", "2",
                 "--rand_seed", "1", "--max_samples", "48", "--out_dir", str(out)]) == 0
    log = read_log(out)
    assert np.all(np.isfinite(log["Lcp_Penalty"])) and np.all(log["Lcp_Penalty"] > 0.0)
