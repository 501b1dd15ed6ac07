"""The shipped pretrained policy loads with the shipped configs and tracks its clip."""

import re
import subprocess
import sys

import pytest
import torch

from mimickit.envs.env_builder import build_env
from mimickit.learning.agent_builder import build_agent
from mimickit.learning.runner import Runner

from .conftest import REPO_ROOT

WALK_MODEL = REPO_ROOT / "data/models/deepmimic_humanoid_walk_model.pt"


def test_shipped_walk_policy_tracks_the_clip_without_falling():
    torch.manual_seed(0)
    env = build_env(str(REPO_ROOT / "data/envs/deepmimic_humanoid_env.yaml"),
                    str(REPO_ROOT / "data/engines/mujoco_engine.yaml"), 8)
    try:
        agent = build_agent(str(REPO_ROOT / "data/agents/deepmimic_humanoid_ppo_cpu_agent.yaml"), env)
        runner = Runner(env, agent)
        runner.load(WALK_MODEL, resume=False)
        env.episode_length = 2.0  # 60 control steps per episode keep the test short
        info = runner.test(8)
    finally:
        env.close()
    assert info["num_eps"] == 8 and info["mean_ep_len"] == 60  # every episode reaches the time limit
    assert info["e_pos"] < 0.05, info["e_pos"]  # an untrained policy: ~0.2 m


def test_tracking_breakdown_splits_the_error_of_the_shipped_policy():
    out = subprocess.run([sys.executable, "benchmarks/tracking_breakdown.py", "--model_file", str(WALK_MODEL),
                          "--num_envs", "2"], cwd=REPO_ROOT, capture_output=True, text=True, check=True).stdout
    assert "falls (episodes ended by ground contact): 0" in out
    total, root, body = (float(x) for x in re.search(
        r"e_pos ([\d.]+) m = root term ([\d.]+) \+ body term ([\d.]+)", out).groups())
    assert total == pytest.approx(root + body, abs=2e-4) and total < 0.05
    assert "left_foot" in out.splitlines()[-2] and "joint angle error (deg)" in out.splitlines()[-1]
