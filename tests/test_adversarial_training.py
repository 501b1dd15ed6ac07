"""AMP and ADD end to end: a short run of each writes its discriminator diagnostics and its discriminator learns
to tell the clip from the policy, and a resume (replay buffer included) continues exactly."""

import numpy as np
import pytest
import torch

from mimickit.plot import read_log
from mimickit.run import main

DIAGNOSTICS = ("Disc_Loss", "Disc_Grad_Penalty", "Disc_Logit_Loss", "Disc_Agent_Acc", "Disc_Demo_Acc",
               "Disc_Agent_Logit", "Disc_Demo_Logit", "Disc_Reward_Mean", "Task_Reward_Mean", "Total_Reward_Mean",
               "Test_E_Pos", "Test_E_Vel")


def args(method: str) -> list[str]:
    return ["--env_config", f"data/envs/{method}_humanoid_env.yaml",
            "--engine_config", "data/engines/mujoco_engine.yaml",
            "--agent_config", f"tests/data/configs/tiny_{method}_agent.yaml", "--num_envs", "4", "--rand_seed", "5"]


@pytest.mark.parametrize("method", ["amp", "add"])
def test_short_run_trains_a_discriminator_that_tells_clip_from_policy(tmp_path, capsys, method):
    """20 iterations: at the start the untrained discriminator scores policy windows as high as the clip's; by
    the end demo logits exceed the policy's and the discriminator loss has fallen."""
    out = tmp_path / method
    assert main(args(method) + ["--max_samples", "640", "--out_dir", str(out)]) == 0
    progress = [line for line in capsys.readouterr().out.splitlines() if line.startswith("iter ")]
    assert progress and all("| disc reward " in line and "| test e_pos " in line for line in progress)
    log = read_log(out)
    assert set(DIAGNOSTICS) <= set(log) and len(log["Iteration"]) == 20
    gap = log["Disc_Demo_Logit"] - log["Disc_Agent_Logit"]
    assert gap[:3].mean() < 0.3 < gap[-5:].mean(), gap
    assert log["Disc_Loss"][-5:].mean() < log["Disc_Loss"][:5].mean() - 0.15, log["Disc_Loss"]
    assert np.all(log["Disc_Reward_Mean"] > 0.0)
    tested = np.isfinite(log["Test_E_Pos"])
    assert tested[0] and tested[-1] and np.all((0.0 < log["Test_E_Pos"][tested]) & (log["Test_E_Pos"][tested] < 1.0))
    assert (out / "model_training_state.pt").is_file()


def test_amp_resume_with_its_replay_buffer_is_exact(tmp_path):
    straight, split = tmp_path / "straight", tmp_path / "split"
    assert main(args("amp") + ["--max_samples", "160", "--out_dir", str(straight)]) == 0
    assert main(args("amp") + ["--max_samples", "96", "--out_dir", str(split)]) == 0
    assert main(args("amp") + ["--max_samples", "160", "--out_dir", str(split), "--resume", "true"]) == 0
    a = torch.load(straight / "model.pt", weights_only=True)["agent"]
    b = torch.load(split / "model.pt", weights_only=True)["agent"]
    assert any(k.startswith("disc.") for k in a)
    for key in a:
        assert torch.equal(a[key], b[key]), key


@pytest.mark.parametrize("method", ["amp", "add"])
@pytest.mark.parametrize("character", ["g1", "smpl", "go2"])
def test_every_character_trains_with_amp_and_add(tmp_path, method, character):
    out = tmp_path / f"{method}_{character}"
    argv = args(method)
    argv[1] = f"data/envs/{method}_{character}_env.yaml"
    assert main(argv + ["--num_envs", "2", "--max_samples", "32", "--out_dir", str(out)]) == 0
    log = read_log(out)
    assert log["Samples"][-1] == 32 and np.all(np.isfinite(log["Disc_Loss"])) and np.all(log["Disc_Reward_Mean"] > 0)
