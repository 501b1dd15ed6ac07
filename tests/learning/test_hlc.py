"""ASE reuse: a high-level controller's action reaches the frozen low-level policy as its latent."""

import numpy as np
import pytest
import torch
from torch.nn import functional as F

from mimickit.envs.base_env import EnvMode
from mimickit.learning.low_level import build_env
from mimickit.plot import read_log
from mimickit.run import main
from mimickit.util.config import ConfigError

from ..conftest import REPO_ROOT

ENGINE = str(REPO_ROOT / "data/engines/mujoco_engine.yaml")
TINY_ASE = REPO_ROOT / "tests/data/configs/tiny_ase_agent.yaml"


@pytest.fixture(scope="module")
def hlc_yaml(tmp_path_factory):
    root = tmp_path_factory.mktemp("hlc")
    assert main(["--env_config", "data/envs/ase_humanoid_env.yaml", "--engine_config", ENGINE, "--agent_config",
                 str(TINY_ASE), "--num_envs", "2", "--rand_seed", "1", "--max_samples", "16",
                 "--out_dir", str(root / "llc")]) == 0
    path = root / "hlc.yaml"
    path.write_text(f"env_name: ase_hlc\ntask_env: {REPO_ROOT / 'data/envs/amp_location_humanoid_env.yaml'}\n"
                    f"llc_agent: {TINY_ASE}\nllc_model: {root / 'llc' / 'model.pt'}\nllc_steps: 3\n"
                    f"task_reward_w: 0.9\nstyle_reward_w: 0.1\n")
    return path


class RecordingSkill:
    """A low-level policy that records what the high-level env asks of the real one."""

    def __init__(self, policy):
        self.policy, self.latent_dim, self.calls = policy, policy.latent_dim, []

    def skill_action(self, obs, latents):
        action = self.policy.skill_action(obs, latents)
        self.calls.append((obs.clone(), latents.clone(), action.clone()))
        return action

    def style_reward(self, disc_obs):
        return self.policy.style_reward(disc_obs)


def test_the_action_reaches_the_low_level_policy_as_its_latent(hlc_yaml):
    torch.manual_seed(0)
    env = build_env(str(hlc_yaml), ENGINE, 2)
    try:
        assert env.obs_dim == 142 and env.action_bounds[0].numel() == 8  # location obs; tiny latent_dim 8
        low = env.low_level
        env.low_level = recorder = RecordingSkill(low)
        env.set_mode(EnvMode.TRAIN)  # the high level explores; the low level still acts on its mean
        obs = env.reset()[0].clone()  # the env's own buffer: later steps overwrite it
        action = torch.randn(2, 8)
        _, reward, _done, _ = env.step(action)
        assert len(recorder.calls) == 3 and env.inner.step_count.tolist() == [3, 3]  # one latent held 3 steps
        for char_obs, latents, low_action in recorder.calls:
            assert char_obs.shape == (2, 140) and torch.allclose(latents, F.normalize(action, dim=-1))
            assert torch.equal(low.skill_action(char_obs, latents), low_action)  # deterministic: no sampling
            other = low.skill_action(char_obs, F.normalize(torch.randn(2, 8), dim=-1))
            assert not torch.allclose(other, low_action)  # and the latent steers it
        assert torch.equal(recorder.calls[0][0], obs[:, :140]) and reward.shape == (2,)
        assert not any(p.requires_grad for p in low.parameters())  # frozen
        assert env.step_time == pytest.approx(3 * env.inner.step_time)
        assert env.fault_count is env.inner.fault_count
    finally:
        env.close()


def test_high_level_env_records_video_of_its_character(hlc_yaml, tmp_path):
    """Video of a high-level run comes from the task env's renderer, a frame per low-level control step."""
    pytest.importorskip("PIL")
    env = build_env(str(hlc_yaml), ENGINE, 1, record_video=True)
    try:
        env.reset()
        env.start_video()
        env.step(torch.zeros(1, 8))
        frames, frame_time = env.stop_video()
        assert len(frames) == 3 and frames[0].ndim == 3 and frame_time == pytest.approx(env.inner.step_time)
        assert frames[0].std() > 1.0  # a picture, not a blank frame
    finally:
        env.close()


@pytest.mark.parametrize("task, column", [("location", "Test_Location_Success"),
                                          ("steering", "Test_Steering_Vel_Err")])
def test_a_short_high_level_run_trains(hlc_yaml, tmp_path, task, column):
    config = tmp_path / "hlc.yaml"
    config.write_text(hlc_yaml.read_text().replace("amp_location_humanoid_env", f"amp_{task}_humanoid_env"))
    out = tmp_path / "run"
    assert main(["--env_config", str(config), "--engine_config", ENGINE, "--agent_config",
                 "tests/data/configs/tiny_ppo_agent.yaml", "--num_envs", "2", "--rand_seed", "2",
                 "--max_samples", "16", "--out_dir", str(out)]) == 0
    log = read_log(out)
    tested = np.isfinite(log[column])  # the task's figure from the test episodes, in its own column
    assert tested[0] and tested[-1]
    # every high-level step pays the style reward of the frozen discriminator (> 0) on top of the task's (>= 0)
    assert np.all(log["Test_Return"][tested] > 0.0) and np.all(log["Num_Faults"] == 0)


def test_missing_low_level_model_is_named(hlc_yaml, tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text(hlc_yaml.read_text().replace("llc/model.pt", "nowhere/model.pt"))
    with pytest.raises(ConfigError, match="low-level model not found"):
        build_env(str(bad), ENGINE, 2)


def test_latent_sweep_reports_the_spread_and_draws_it(hlc_yaml, tmp_path, capsys):
    import importlib.util

    pytest.importorskip("matplotlib")
    spec = importlib.util.spec_from_file_location("sweep", REPO_ROOT / "tools" / "ase_latent_sweep.py")
    sweep = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(sweep)
    model = hlc_yaml.parent / "llc" / "model.pt"
    assert sweep.main(["--model_file", str(model), "--latents", "3", "--seconds", "0.5",
                       "--out_dir", str(tmp_path), "--no_video"]) == 0
    printed = capsys.readouterr().out
    assert "spread across latents: speed" in printed
    png = (tmp_path / "latent_sweep.png").read_bytes()
    assert png[:8] == b"\x89PNG\r\n\x1a\n" and len(png) > 5000
    assert not list(tmp_path.glob("latent_sweep.mp4")) + list(tmp_path.glob("latent_sweep.gif"))


def test_the_task_env_curriculum_follows_the_controller_samples(hlc_yaml, tmp_path):
    """A curriculum in the task env (here steering's commanded speed) is applied through the high-level env."""
    task = tmp_path / "steering.yaml"
    task.write_text((REPO_ROOT / "data/envs/amp_steering_humanoid_env.yaml").read_text()
                    + "tar_speed_max_schedule: [[0, 1.0], [100, 2.0]]\n")
    path = tmp_path / "hlc_steering.yaml"
    path.write_text(hlc_yaml.read_text().replace(str(REPO_ROOT / "data/envs/amp_location_humanoid_env.yaml"),
                                                 str(task)))
    env = build_env(str(path), ENGINE, 2)
    try:
        assert env.begin_iteration(0) == {"tar_speed_max": 1.0}
        assert env.begin_iteration(100) == {"tar_speed_max": 2.0}
        assert env.inner.train_speed_max == 2.0
    finally:
        env.close()
