"""Training and evaluation on the MuJoCo Warp engine (Warp's CPU device): a DeepMimic run learns through it, and the
shipped walk policy tracks its clip there as on the CPU engine."""

import json

import pytest
import torch

from mimickit.run import main

pytest.importorskip("mujoco_warp")

COMMON = ["--env_config", "data/envs/deepmimic_humanoid_env.yaml", "--num_envs", "4", "--rand_seed", "7"]
WARP = ["--engine_config", "data/engines/mujoco_warp_engine.yaml"]
CPU = ["--engine_config", "data/engines/mujoco_engine.yaml"]


def test_deepmimic_trains_on_the_warp_engine(tmp_path):
    out = tmp_path / "run"
    args = COMMON + WARP + ["--agent_config", "tests/data/configs/tiny_ppo_agent.yaml"]
    assert main(args + ["--max_samples", "8", "--out_dir", str(out / "start")]) == 0
    assert main(args + ["--max_samples", "128", "--out_dir", str(out / "trained")]) == 0
    start = torch.load(out / "start/model.pt", weights_only=True)["agent"]
    trained = torch.load(out / "trained/model.pt", weights_only=True)["agent"]
    changed = [k for k in start if start[k].is_floating_point() and not torch.equal(start[k], trained[k])]
    assert any("actor" in k for k in changed) and any("critic" in k for k in changed)
    header, *rows = (out / "trained/log.txt").read_text().splitlines()
    columns = header.split()
    last = dict(zip(columns, rows[-1].split(), strict=True))
    assert int(last["Samples"]) >= 128 and int(last["Num_Faults"]) == 0
    assert float(last["Critic_Loss"]) > 0 and float(last["Test_Return"]) > 0


def test_shipped_walk_policy_tracks_on_the_warp_engine_as_on_the_cpu_engine(tmp_path):
    results = {}
    for name, engine in (("cpu", CPU), ("warp", WARP)):
        out = tmp_path / name
        assert main(COMMON + engine + ["--agent_config", "data/agents/deepmimic_humanoid_ppo_cpu_agent.yaml",
                                       "--mode", "test", "--test_episodes", "4", "--out_dir", str(out),
                                       "--model_file", "data/models/deepmimic_humanoid_walk_model.pt"]) == 0
        results[name] = json.loads((out / "test_results.json").read_text())
    # the whole 10-s episode (300 control steps) on both; tracking errors within each other's spread (~0.008 m)
    assert results["warp"]["mean_episode_length"] == results["cpu"]["mean_episode_length"] == 300
    assert abs(results["warp"]["e_pos_mean"] - results["cpu"]["e_pos_mean"]) < 0.005
    assert results["warp"]["e_pos_mean"] < 0.04
