"""AMP and ADD end to end: a short run of each writes its discriminator diagnostics, and a resume (replay
buffer included) continues exactly."""

import pytest
import torch

from mimickit.run import main

DIAGNOSTICS = ("Disc_Loss", "Disc_Grad_Penalty", "Disc_Logit_Loss", "Disc_Agent_Acc", "Disc_Demo_Acc",
               "Disc_Agent_Logit", "Disc_Demo_Logit", "Disc_Reward_Mean", "Task_Reward_Mean", "Total_Reward_Mean",
               "Test_E_Pos", "Test_E_Vel")


def args(method: str) -> list[str]:
    return ["--env_config", f"data/envs/{method}_humanoid_env.yaml",
            "--engine_config", "data/engines/mujoco_engine.yaml",
            "--agent_config", f"tests/data/configs/tiny_{method}_agent.yaml", "--num_envs", "4", "--rand_seed", "5"]


@pytest.mark.parametrize("method", ["amp", "add"])
def test_short_run_writes_discriminator_diagnostics(tmp_path, capsys, method):
    out = tmp_path / method
    assert main(args(method) + ["--max_samples", "96", "--out_dir", str(out)]) == 0
    progress = [line for line in capsys.readouterr().out.splitlines() if line.startswith("iter ")]
    assert progress and all("| disc reward " in line and "| test e_pos " in line for line in progress)
    header, *rows = (out / "log.txt").read_text().splitlines()
    columns = header.split()
    assert set(DIAGNOSTICS) <= set(columns)
    last = dict(zip(columns, rows[-1].split(), strict=True))
    assert 0.0 <= float(last["Disc_Agent_Acc"]) <= 1.0 and float(last["Disc_Reward_Mean"]) > 0.0
    assert 0.0 < float(last["Test_E_Pos"]) < 1.0
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
    header, *rows = (out / "log.txt").read_text().splitlines()
    last = dict(zip(header.split(), rows[-1].split(), strict=True))
    assert 0.0 <= float(last["Disc_Agent_Acc"]) <= 1.0 and float(last["Samples"]) == 32
