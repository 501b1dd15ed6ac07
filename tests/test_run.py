"""The command line end to end: training writes its outputs, checkpoints reload and resume exactly,
test mode reports the paper's metrics, and bad input gets a clear error."""

import json
import shutil
import subprocess
import sys

import numpy as np
import pytest
import torch

from mimickit.plot import read_log
from mimickit.run import main
from mimickit.util.arg_parser import parse_args
from mimickit.util.config import ConfigError

from .conftest import REPO_ROOT

TINY = ["--env_config", "data/envs/deepmimic_humanoid_env.yaml", "--engine_config", "data/engines/mujoco_engine.yaml",
        "--agent_config", "tests/data/configs/tiny_ppo_agent.yaml", "--num_envs", "4", "--rand_seed", "7"]


def agent_state(path):
    return torch.load(path, weights_only=True)["agent"]


def test_train_writes_outputs_and_test_mode_reports_metrics(tmp_path, capsys):
    out = tmp_path / "run"
    assert main(TINY + ["--max_samples", "96", "--out_dir", str(out)]) == 0
    for name in ("model.pt", "log.txt", "env_config.yaml", "agent_config.yaml", "engine_config.yaml"):
        assert (out / name).is_file(), name
    header = (out / "log.txt").read_text().splitlines()[0]
    for column in ("Iteration", "Samples", "Test_Return", "Train_Return", "Critic_Loss", "Reward_Pose",
                   "Train_Fail_Rate", "Samples_Per_Sec"):
        assert column in header.split()
    log = read_log(out)
    assert log["Iteration"].tolist() == [0, 1, 2]  # a row every iteration
    tested = np.isfinite(log["Test_Return"]).tolist()
    assert tested == [True, False, True]  # the test runs at output iterations 0 and the last one
    assert np.isfinite(log["Train_Return"]).all()
    capsys.readouterr()
    assert main(TINY + ["--mode", "test", "--model_file", str(out / "model.pt"), "--test_episodes", "4",
                        "--out_dir", str(out)]) == 0
    printed = capsys.readouterr().out
    for label in ("Mean Return:", "Mean Episode Length:", "Position Tracking Error (Eq. 2):",
                  "DoF Velocity Error (Eq. 3):"):
        assert label in printed
    results = json.loads((out / "test_results.json").read_text())
    assert results["episodes"] >= 4 and 0.0 < results["e_pos_mean"] < 1.0


def test_checkpoint_reloads_bit_identically_and_resume_continues_exactly(tmp_path):
    straight, split = tmp_path / "straight", tmp_path / "split"
    assert main(TINY + ["--max_samples", "160", "--out_dir", str(straight)]) == 0  # 5 iterations of 32 samples
    assert main(TINY + ["--max_samples", "96", "--out_dir", str(split)]) == 0
    first = torch.load(split / "model.pt", weights_only=True)
    assert first["sample_count"] == 96 and first["iteration"] == 3
    # a reloaded agent holds exactly the saved tensors
    from mimickit.envs.env_builder import build_env
    from mimickit.learning.agent_builder import build_agent
    from mimickit.learning.runner import Runner

    env = build_env("data/envs/deepmimic_humanoid_env.yaml", "data/engines/mujoco_engine.yaml", 4)
    agent = build_agent("tests/data/configs/tiny_ppo_agent.yaml", env)
    runner = Runner(env, agent)
    runner.load(split / "model.pt")
    assert runner.sample_count == 96 and runner.iteration == 3
    for key, value in agent.state_dict().items():
        assert torch.equal(value, first["agent"][key]), key
    env.close()
    assert main(TINY + ["--max_samples", "160", "--out_dir", str(split), "--resume", "true"]) == 0
    resumed, reference = agent_state(split / "model.pt"), agent_state(straight / "model.pt")
    assert torch.load(split / "model.pt", weights_only=True)["sample_count"] == 160
    for key in reference:
        assert torch.equal(resumed[key], reference[key]), key
    # the log of the two sessions reads as the straight run's: every iteration once, the same figures
    straight_log, split_log = read_log(straight), read_log(split)
    assert split_log["Iteration"].tolist() == [0, 1, 2, 3, 4]
    for column in ("Samples", "Train_Return", "Test_Return", "Critic_Loss"):
        np.testing.assert_array_equal(split_log[column], straight_log[column], err_msg=column)


def test_wrong_shape_and_truncated_checkpoints_are_refused(tmp_path, capsys):
    out = tmp_path / "a"
    assert main(TINY + ["--max_samples", "32", "--out_dir", str(out)]) == 0
    other_agent = tmp_path / "wide.yaml"
    other_agent.write_text((REPO_ROOT / "tests/data/configs/tiny_ppo_agent.yaml").read_text()
                           .replace("fc_2layers_128units", "fc_2layers_256units"))
    args = TINY + ["--mode", "test", "--test_episodes", "1", "--out_dir", str(out)]
    capsys.readouterr()
    wide = args[:4] + ["--agent_config", str(other_agent)] + args[6:]
    assert main(wide + ["--model_file", str(out / "model.pt")]) == 2
    assert "network shapes differ" in capsys.readouterr().err
    cut = tmp_path / "cut.pt"
    data = (out / "model.pt").read_bytes()
    cut.write_bytes(data[: len(data) // 2])
    elsewhere = args[:-1] + [str(tmp_path / "results")]  # a folder holding no run: the checkpoint is what fails
    assert main(elsewhere + ["--model_file", str(cut)]) == 2
    assert "cut.pt: not a readable checkpoint" in capsys.readouterr().err
    assert main(elsewhere + ["--model_file", str(tmp_path / "missing.pt")]) == 2
    assert "missing.pt: checkpoint file not found" in capsys.readouterr().err


def test_arguments_file_precedence_and_unknown_keys(tmp_path):
    arg_file = tmp_path / "args.txt"
    arg_file.write_text("# comment line\n--num_envs 64  # trailing comment\n--mode test\n--env_config a.yaml\n")
    args = parse_args(["--arg_file", str(arg_file), "--num_envs", "8", "--visualize", "false"])
    assert args["num_envs"] == 8 and args["mode"] == "test" and args["env_config"] == "a.yaml"
    assert args["visualize"] is False and args["test_episodes"] == 32
    arg_file.write_text("--out_dir \"/tmp/my runs/a\"  # quoted: one value\n--motion_file 'x y.pkl'\n")
    args = parse_args(["--arg_file", str(arg_file)])
    assert args["out_dir"] == "/tmp/my runs/a" and args["motion_file"] == "x y.pkl"
    for key, value in (("num_envs", "0"), ("test_episodes", "0"), ("max_samples", "-5"), ("num_workers", "0"),
                       ("checkpoint_interval", "nan")):
        with pytest.raises(ConfigError, match=f"--{key} must be >= "):
            parse_args([f"--{key}", value])
    arg_file.write_text("--num_envs 4\n--out_dir \"/tmp/unclosed\n")
    with pytest.raises(ConfigError, match=r"args.txt, line 2: No closing quotation"):
        parse_args(["--arg_file", str(arg_file)])
    with pytest.raises(ConfigError, match="unknown argument --log_file; valid arguments are --arg_file"):
        parse_args(["--log_file", "x"])
    with pytest.raises(ConfigError, match="--num_envs must be int"):
        parse_args(["--num_envs", "many"])
    with pytest.raises(ConfigError, match="--mode must be train or test"):
        parse_args(["--mode", "play"])


def test_script_entry_point_help_and_errors():
    help_out = subprocess.run([sys.executable, "mimickit/run.py", "--help"], cwd=REPO_ROOT, capture_output=True,
                              text=True, check=True).stdout
    assert "--arg_file" in help_out and "--max_samples" in help_out
    bad = subprocess.run([sys.executable, "mimickit/run.py", "--env_config", "data/envs/none.yaml"], cwd=REPO_ROOT,
                         capture_output=True, text=True)
    assert bad.returncode == 2 and "data/envs/none.yaml: config file not found" in bad.stderr


@pytest.mark.skipif(shutil.which("mimickit") is None, reason="package not installed (pip install -e .)")
def test_installed_console_command():
    out = subprocess.run(["mimickit", "--help"], capture_output=True, text=True, check=True).stdout
    assert "usage:" in out and "--env_config" in out


def test_a_reader_that_goes_away_ends_the_command_quietly():
    """``mimickit keys env deepmimic | head -1``: the closed pipe ends the command with SIGPIPE's code, no traceback."""
    process = subprocess.Popen(["mimickit", "keys", "env", "deepmimic"], stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE)
    process.stdout.close()  # the reader is gone before the first line is written
    err = process.stderr.read().decode()
    process.stderr.close()
    assert process.wait() == 141 and err == ""


def test_tensorboard_logger_writes_every_column(tmp_path):
    pytest.importorskip("tensorboard")
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    out = tmp_path / "tb"
    assert main(TINY + ["--max_samples", "64", "--out_dir", str(out), "--logger", "tb"]) == 0
    events = EventAccumulator(str(next(out.glob("events.out.tfevents.*"))))
    events.Reload()
    columns = (out / "log.txt").read_text().splitlines()[0].split()
    assert set(columns) <= set(events.Tags()["scalars"])
    assert [e.step for e in events.Scalars("Train_Return")] == [32, 64]


@pytest.mark.parametrize("device, message", [
    ("gpu", "not a torch device"), ("mps", "runs on cpu or cuda devices"),
    *([("cuda:0", "no CUDA device")] if not torch.cuda.is_available() else []),
])
def test_devices_this_machine_cannot_run_on_get_a_one_line_error(tmp_path, capsys, device, message):
    out = tmp_path / "run"
    assert main(TINY + ["--devices", device, "--max_samples", "32", "--out_dir", str(out)]) == 2
    err = capsys.readouterr().err
    assert message in err and len(err.strip().splitlines()) == 1
    assert not out.exists()


def test_slim_model_evaluates_like_its_checkpoint_and_refuses_to_resume(tmp_path, capsys):
    out = tmp_path / "run"
    assert main(TINY + ["--max_samples", "64", "--out_dir", str(out)]) == 0
    slim = tmp_path / "slim.pt"
    tool = subprocess.run([sys.executable, str(REPO_ROOT / "tools/slim_model.py"), str(out / "model.pt"), str(slim)],
                          capture_output=True, text=True)
    assert tool.returncode == 0, tool.stderr
    refused = subprocess.run([sys.executable, str(REPO_ROOT / "tools/slim_model.py"), str(out / "model.pt"),
                              str(out / "model.pt")], capture_output=True, text=True)  # would lose the optimiser state
    assert refused.returncode == 2 and "is a full checkpoint" in refused.stderr
    assert slim.stat().st_size < 0.5 * (out / "model.pt").stat().st_size
    full_agent, slim_agent = agent_state(out / "model.pt"), agent_state(slim)
    assert full_agent.keys() == slim_agent.keys() and all(torch.equal(full_agent[k], slim_agent[k]) for k in full_agent)
    results = {}
    for name, model in (("full", out / "model.pt"), ("slim", slim)):
        assert main(TINY + ["--mode", "test", "--model_file", str(model), "--test_episodes", "2",
                            "--out_dir", str(tmp_path / name)]) == 0
        results[name] = json.loads((tmp_path / name / "test_results.json").read_text())
    assert results["full"].pop("model_file") == str(out / "model.pt") and results["slim"].pop("model_file") == str(slim)
    assert results["full"] == results["slim"]
    capsys.readouterr()
    tuned = tmp_path / "tuned"  # training from a slim model starts from its weights, afresh
    assert main(TINY + ["--max_samples", "32", "--out_dir", str(tuned), "--model_file", str(slim)]) == 0
    assert "is a slim model: training starts from its weights" in capsys.readouterr().out
    assert torch.load(tuned / "model.pt", weights_only=True)["sample_count"] == 32
    shutil.copy(slim, out / "model.pt")
    assert main(TINY + ["--max_samples", "96", "--out_dir", str(out), "--resume", "true"]) == 2
    assert "slim model" in capsys.readouterr().err
