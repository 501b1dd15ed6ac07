"""Action smoothness in test results: the per-episode action change and joint jerk on hand-made sequences, and in a
test run of a shipped policy."""

import math

import torch

from mimickit.envs.episode_stats import Smoothness
from mimickit.learning.agent_builder import build_agent
from mimickit.learning.low_level import build_env
from mimickit.learning.runner import Runner

from ..conftest import REPO_ROOT


def test_action_change_and_jerk_on_hand_made_sequences():
    """Env 0: actions rise by 0.5 per step, DoFs follow q = t^3 (jerk 6 / dt^3 with dt = 0.5: 48); env 1 stays
    still. The first step has no previous action and the first three no jerk: they are left out."""
    smooth = Smoothness(2, action_dim=3, dof_dim=2, dt=0.5, device=torch.device("cpu"))
    for t in range(1, 7):
        action = torch.stack([torch.full((3,), 0.5 * t), torch.zeros(3)])
        dof = torch.stack([torch.full((2,), float(t) ** 3), torch.ones(2)])
        smooth.add(action, dof)
    means = smooth.means(torch.tensor([True, True]))
    assert means["action_delta"].tolist() == [0.5, 0.0]
    assert torch.allclose(means["joint_jerk"], torch.tensor([48.0, 0.0]))
    assert math.isnan(smooth.means(torch.tensor([False, True]))["action_delta"][0])  # not ended: no figure
    smooth.reset(torch.tensor([0]))
    smooth.add(torch.ones(2, 3), torch.ones(2, 2))  # one step after a reset: nothing to compare yet
    assert math.isnan(smooth.means(torch.tensor([True, True]))["action_delta"][0])


def test_shipped_walk_reports_its_smoothness_in_test_mode():
    torch.manual_seed(0)
    env = build_env(str(REPO_ROOT / "data/envs/deepmimic_humanoid_env.yaml"),
                    str(REPO_ROOT / "data/engines/mujoco_engine.yaml"), 4)
    try:
        agent = build_agent(str(REPO_ROOT / "data/agents/deepmimic_humanoid_ppo_cpu_agent.yaml"), env)
        runner = Runner(env, agent)
        runner.load(REPO_ROOT / "data/models/deepmimic_humanoid_walk_model.pt", resume=False)
        env.episode_length = 1.0
        info = runner.test(4)
    finally:
        env.close()
    # a trained walk changes its residual action by a few hundredths of a radian per step; joints move smoothly
    assert 0.0 < info["action_delta"] < 0.2 and 0.0 < info["joint_jerk"] < 5000.0, info
