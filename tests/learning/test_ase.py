"""ASE: latents on the unit sphere resampled on the documented schedule, encoder and diversity losses on
hand-computed cases, default-pose resets, and a short run with its diagnostics."""

import pytest
import torch

from mimickit.envs.env_builder import build_env
from mimickit.learning.ase_agent import ASEAgent
from mimickit.learning.ase_model import diversity_loss, encoder_loss, encoder_reward, sample_latents
from mimickit.learning.runner import Runner
from mimickit.run import main
from mimickit.util.config import load_yaml

from ..conftest import REPO_ROOT

ENV = str(REPO_ROOT / "data/envs/ase_humanoid_env.yaml")
ENGINE = str(REPO_ROOT / "data/engines/mujoco_engine.yaml")
TINY = REPO_ROOT / "tests/data/configs/tiny_ase_agent.yaml"


def test_encoder_loss_and_reward_hand_computed():
    z = torch.tensor([[1.0, 0.0], [0.0, 1.0]])
    enc = torch.tensor([[0.6, 0.8], [0.0, -1.0]])
    assert encoder_loss(z, enc).item() == pytest.approx(-(0.6 - 1.0) / 2)
    assert encoder_reward(z, enc).tolist() == pytest.approx([0.6, 0.0])  # negative agreement is clamped


def test_diversity_loss_on_a_tiny_linear_policy():
    # policy mean = W [s, z] with W = [[0, 1, 2]]: the latent part moves the action by z . (1, 2)
    w = torch.tensor([[0.0, 1.0, 2.0]])
    s = torch.tensor([[0.5]])
    z, z_new = torch.tensor([[1.0, 0.0]]), torch.tensor([[0.0, 1.0]])
    mean, new_mean = torch.cat([s, z], -1) @ w.T, torch.cat([s, z_new], -1) @ w.T
    # D_a = (2 - 1)^2 = 1; D_z = 0.5 - 0.5 * 0 = 0.5; loss = (1 - 1 / 0.50001)^2
    expected = (1.0 - 1.0 / (0.5 + 1e-5)) ** 2
    assert diversity_loss(mean, new_mean, z, z_new, target=1.0).item() == pytest.approx(expected, rel=1e-6)


def test_sampled_latents_are_unit_vectors():
    z = sample_latents(1000, 64)
    assert torch.allclose(z.norm(dim=-1), torch.ones(1000), atol=1e-5)
    assert z.mean(0).abs().max() < 0.02  # no preferred direction


@pytest.fixture(scope="module")
def ase():
    torch.manual_seed(0)
    env = build_env(ENV, ENGINE, 4)
    agent = ASEAgent(load_yaml(TINY), env)
    yield env, agent, Runner(env, agent)
    env.close()


def test_latents_resample_on_reset_and_on_their_timer(ase):
    env, agent, runner = ase
    obs = runner._reset_all()
    assert torch.allclose(agent.latents.norm(dim=-1), torch.ones(4), atol=1e-5)
    assert ((agent.latent_resample_time >= 0.0) & (agent.latent_resample_time <= 5.0)).all()
    before = agent.latents.clone()
    agent.latent_resample_time[:] = 100.0
    agent.latent_resample_time[1] = 0.0  # env 1's time has come
    action, _ = agent.act(obs)
    changed = (agent.latents != before).any(-1)
    assert changed.tolist() == [False, True, False, False] and action.shape == (4, 28)
    assert agent.latent_resample_time[1] <= env.time[1] + 5.0
    runner._reset_done_envs(obs, torch.tensor([0, 0, 1, 0], dtype=torch.int32))  # env 2 ends its episode
    assert (agent.latents[2] != before[2]).any() and torch.equal(agent.latents[0], before[0])


def test_actor_and_critic_read_the_latent(ase):
    env, agent, _ = ase
    assert agent.model.actor_body[0].in_features == env.obs_dim + agent.latent_dim
    obs = torch.zeros(4, env.obs_dim)
    agent.latents[:] = sample_latents(4, agent.latent_dim)
    agent.set_mode(agent.mode)
    with torch.no_grad():
        a = agent._decide_action(torch.cat([obs, agent.latents], -1))[0]
        b = agent._decide_action(torch.cat([obs, -agent.latents], -1))[0]
    assert not torch.equal(a, b)


def test_default_pose_resets(ase):
    env, _, _ = ase
    env.default_reset_prob = 1.0
    try:
        env.reset()
        root = env.engine.get_root_pos(env.char_id)
        assert torch.allclose(root, env.init_root_pos.expand(4, 3), atol=1e-5)
    finally:
        env.default_reset_prob = 0.5


def test_short_ase_run_logs_encoder_and_diversity(tmp_path, capsys):
    out = tmp_path / "ase"
    assert main(["--env_config", "data/envs/ase_humanoid_env.yaml",
                 "--engine_config", "data/engines/mujoco_engine.yaml",
                 "--agent_config", str(TINY), "--num_envs", "4", "--rand_seed", "3", "--max_samples", "64",
                 "--out_dir", str(out)]) == 0
    columns = (out / "log.txt").read_text().splitlines()[0].split()
    assert {"Enc_Reward_Mean", "Enc_Loss", "Diversity_Loss", "Disc_Agent_Acc", "Disc_Reward_Mean"} <= set(columns)
    progress = [line for line in capsys.readouterr().out.splitlines() if line.startswith("iter ")]
    assert progress and all("| disc reward " in line and " enc reward " in line for line in progress)
