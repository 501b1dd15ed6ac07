"""The training loop's promises: nothing lost on interrupt, timed checkpoints, honest logs, exact test counts,
clear notices on resume, and no files written into the working directory."""

import importlib.util
import logging
import signal
import subprocess
import sys
import time

import pytest
import torch

from mimickit.envs.base_env import DoneFlags, EnvMode
from mimickit.envs.env_builder import build_env
from mimickit.learning.agent_builder import build_agent
from mimickit.learning.return_tracker import ReturnTracker
from mimickit.learning.runner import Runner, episode_quota
from mimickit.run import main
from mimickit.util.video import gif_durations

from .conftest import REPO_ROOT

ENV_YAML = "data/envs/deepmimic_humanoid_env.yaml"
ENGINE_YAML = "data/engines/mujoco_engine.yaml"
TINY_AGENT = "tests/data/configs/tiny_ppo_agent.yaml"


def tiny(agent=TINY_AGENT) -> list[str]:
    """Arguments of a tiny training run (the first occurrence of an argument wins, so pick the agent here)."""
    return ["--env_config", ENV_YAML, "--engine_config", ENGINE_YAML, "--agent_config", str(agent),
            "--num_envs", "4", "--rand_seed", "7"]


TINY = tiny()


def checkpoint(path):
    return torch.load(path, weights_only=True)


def test_sigint_during_training_leaves_a_checkpoint_of_the_last_iteration(tmp_path):
    out = tmp_path / "run"
    agent = tmp_path / "agent.yaml"  # no output iteration after 0, so only the interrupt can save later ones
    agent.write_text((REPO_ROOT / TINY_AGENT).read_text().replace("iters_per_output: 2", "iters_per_output: 100000"))
    cmd = [sys.executable, "mimickit/run.py", *tiny(agent), "--out_dir", str(out), "--checkpoint_interval", "100000"]
    proc = subprocess.Popen(cmd, cwd=REPO_ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    lines = []
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        line = proc.stdout.readline()
        lines.append(line)
        if line.startswith("iter      5 "):
            break
    proc.send_signal(signal.SIGINT)
    rest, _ = proc.communicate(timeout=60)
    lines += rest.splitlines(keepends=True)
    assert proc.returncode == 128 + signal.SIGINT, "".join(lines)
    last_iter = max(int(line.split()[1]) for line in lines if line.startswith("iter "))
    assert last_iter >= 5
    saved = checkpoint(out / "model.pt")
    assert saved["iteration"] == last_iter + 1 and saved["sample_count"] == (last_iter + 1) * 32
    assert any("checkpoint written to" in line for line in lines)
    # the checkpoint continues
    assert main(tiny(agent) + ["--out_dir", str(out), "--resume", "true",
                               "--max_samples", str(saved["sample_count"] + 32)]) == 0
    assert checkpoint(out / "model.pt")["iteration"] == last_iter + 2


def test_max_minutes_stops_at_the_end_of_an_iteration_with_a_checkpoint_and_resumes(tmp_path, capsys):
    out = tmp_path / "run"
    budget = "0.000001"  # 60 us: over after the first iteration, long before the sample budget
    assert main(TINY + ["--out_dir", str(out), "--max_samples", "3200", "--max_minutes", budget]) == 0
    assert "Reached --max_minutes 1e-06 at iteration 0" in capsys.readouterr().out
    saved = checkpoint(out / "model.pt")
    assert saved["iteration"] == 1 and saved["sample_count"] == 32 and saved["wall_time"] >= 60e-6
    assert len((out / "log.txt").read_text().splitlines()) == 2  # header and iteration 0
    # the same budget again has nothing left to do; a larger one continues the run
    assert main(TINY + ["--out_dir", str(out), "--resume", "true", "--max_minutes", budget]) == 2
    assert "already at --max_minutes" in capsys.readouterr().err
    assert main(TINY + ["--out_dir", str(out), "--resume", "true", "--max_minutes", "10", "--max_samples", "64"]) == 0
    assert checkpoint(out / "model.pt")["sample_count"] == 64


def test_timed_checkpoints_between_output_iterations(tmp_path):
    out = tmp_path / "run"
    agent = tmp_path / "agent.yaml"
    agent.write_text((REPO_ROOT / TINY_AGENT).read_text().replace("iters_per_output: 2", "iters_per_output: 100000"))
    saves = []
    original = Runner.save
    Runner.save = lambda self, path: (saves.append(self.iteration), original(self, path))
    try:
        # interval 0: a checkpoint after every iteration; only iterations 0 and 3 are output iterations
        assert main(tiny(agent) + ["--out_dir", str(out), "--max_samples", "128", "--checkpoint_interval", "0"]) == 0
        saves_with_timer = list(saves)
        saves.clear()
        assert main(tiny(agent) + ["--out_dir", str(tmp_path / "b"), "--max_samples", "128",
                                   "--checkpoint_interval", "100000"]) == 0
    finally:
        Runner.save = original
    assert saves_with_timer == [1, 2, 3, 4]
    assert saves == [1, 4]


def test_episode_quota_counts_exactly():
    assert episode_quota(32, 256).sum() == 32 and episode_quota(32, 256)[:32].eq(1).all()
    assert episode_quota(5, 4).tolist() == [2, 1, 1, 1]
    assert episode_quota(8, 4).tolist() == [2, 2, 2, 2]


def test_tracker_drops_uncounted_episodes_but_restarts_them():
    tracker = ReturnTracker(3, torch.device("cpu"), keep_returns=True)
    done = torch.tensor([int(DoneFlags.FAIL), int(DoneFlags.TIME), int(DoneFlags.NULL)], dtype=torch.int32)
    tracker.update(torch.ones(3), done, count=torch.tensor([True, False, True]))
    totals = tracker.totals()
    assert totals.num_episodes == 1 and tracker.episode_returns == [1.0] and totals.return_sum == 1.0
    assert totals.done_counts[DoneFlags.FAIL] == 1 and totals.done_counts[DoneFlags.TIME] == 0
    assert totals.done_rates()["fail"] == 1.0 and totals.mean_length == 1.0
    assert tracker.episode_return.tolist() == [0.0, 0.0, 1.0] and tracker.episodes_per_env.tolist() == [1, 0, 0]


@pytest.fixture(scope="module")
def tiny_runner():
    torch.manual_seed(0)
    env = build_env(ENV_YAML, ENGINE_YAML, 4)
    yield Runner(env, build_agent(TINY_AGENT, env))
    env.close()


@pytest.mark.parametrize("episodes", [1, 3, 6])
def test_test_mode_runs_exactly_the_requested_episodes(tiny_runner, episodes):
    info = tiny_runner.test(episodes)
    assert info["num_eps"] == episodes and len(info["returns"]) == episodes
    assert len(info["episode_metrics"]["e_pos"]) == episodes and len(info["episode_metrics"]["e_vel"]) == episodes
    assert 0.0 < info["e_pos"] < 1.0


def test_envs_with_all_their_test_episodes_counted_skip_physics_and_the_results_stay_bit_identical(monkeypatch):
    env = build_env(ENV_YAML, ENGINE_YAML, 8)
    runner = Runner(env, build_agent(TINY_AGENT, env))
    held_counts = []
    hold = env.engine.hold_envs
    monkeypatch.setattr(env.engine, "hold_envs", lambda held: (
        held_counts.append(None if held is None else int(held.sum())), hold(held)))
    torch.manual_seed(3)
    with_holds = runner.test(3)  # envs 3-7 count nothing; envs 0-2 one episode each
    monkeypatch.setattr(env.engine, "hold_envs", lambda held: None)
    torch.manual_seed(3)
    without = runner.test(3)
    env.close()
    assert held_counts[0] == 5 and max(held_counts[:-1]) >= 6 and held_counts[-1] is None  # released at the end
    assert with_holds["returns"] == without["returns"]
    assert with_holds["episode_metrics"] == without["episode_metrics"]


def test_reward_terms_are_averaged_over_training_steps_only(tiny_runner):
    env = tiny_runner.env
    env.get_diagnostics()
    env.set_mode(EnvMode.TEST)
    env.reset()
    for _ in range(3):
        env.step(torch.zeros(4, 28))
    assert env.reward_term_means.count == 0  # test steps leave the training means alone
    env.set_mode(EnvMode.TRAIN)
    env.reset()
    rewards = []
    for _ in range(2):
        _, reward, _, _ = env.step(torch.zeros(4, 28))
        rewards.append(reward.clone())
    terms = env.get_diagnostics()
    weights = {term.name: term.weight for term in env.reward_terms}
    assert sorted(weights) == ["key_pos", "pose", "root_pose", "root_vel", "vel"]
    mixed = sum(terms[f"reward_{t}"] * w for t, w in weights.items())
    assert mixed == pytest.approx(torch.stack(rewards).mean().item(), abs=1e-5)
    assert env.get_diagnostics()["reward_pose"] == 0.0  # the call restarts the means


def test_resume_keeps_the_last_test_and_says_which_learning_rate_it_uses(tmp_path, capsys):
    out = tmp_path / "run"
    assert main(TINY + ["--out_dir", str(out), "--max_samples", "64"]) == 0
    last_test = checkpoint(out / "model.pt")["last_test"]
    assert {"mean_return", "mean_ep_len", "e_pos", "e_vel"} <= set(last_test)
    slower = tmp_path / "slower.yaml"
    slower.write_text((REPO_ROOT / TINY_AGENT).read_text().replace("learning_rate: 1.0e-4", "learning_rate: 2.5e-5")
                      .replace("iters_per_output: 2", "iters_per_output: 100000"))
    capsys.readouterr()
    assert main(tiny(slower) + ["--out_dir", str(out), "--resume", "true", "--max_samples", "128"]) == 0
    printed = capsys.readouterr().out
    assert "actor_optimizer: using learning rate 2.5e-05 from the agent config" in printed
    progress = [line for line in printed.splitlines() if line.startswith("iter ")]
    assert progress and all("return     nan" not in line for line in progress)
    # the figures carried over from the first session are marked with the iteration of their test
    assert f"test@{int(last_test['iteration'])} return {last_test['mean_return']:7.3f}" in progress[0]


@pytest.mark.skipif(importlib.util.find_spec("wandb") is not None, reason="wandb is installed")
def test_missing_wandb_fails_before_the_env_is_built(tmp_path, capsys):
    assert main(TINY + ["--out_dir", str(tmp_path), "--logger", "wandb"]) == 2
    captured = capsys.readouterr()
    assert "--logger wandb needs the wandb package" in captured.err and "Building" not in captured.out


def test_gif_frames_keep_the_control_rate():
    durations = gif_durations(30, 1.0 / 30.0)
    assert sum(durations) == 1000 and set(durations) == {30, 40}
    assert all(d % 10 == 0 for d in durations)  # GIF stores centiseconds


def test_motion_file_argument_replaces_the_clip_and_is_recorded(tmp_path):
    out = tmp_path / "run"
    assert main(TINY + ["--out_dir", str(out), "--max_samples", "32",
                        "--motion_file", "data/motions/humanoid/humanoid_run.pkl"]) == 0
    text = (out / "env_config.yaml").read_text()
    assert "motion_file: data/motions/humanoid/humanoid_run.pkl" in text and "humanoid_walk" not in text


def test_mujoco_warnings_are_logged_not_written_to_the_working_directory(tmp_path, monkeypatch, caplog):
    monkeypatch.chdir(tmp_path)
    env = build_env(str(REPO_ROOT / ENV_YAML), str(REPO_ROOT / ENGINE_YAML), 2)
    try:
        env.reset()
        env.engine.set_state(env.char_id, torch.tensor([1]), dof_vel=torch.full((28,), float("nan")))
        with caplog.at_level(logging.WARNING, logger="mimickit.mujoco"):
            env.step(torch.zeros(2, 28))
    finally:
        env.close()
    assert any("MuJoCo:" in r.getMessage() for r in caplog.records)
    assert not (tmp_path / "MUJOCO_LOG.TXT").exists()
