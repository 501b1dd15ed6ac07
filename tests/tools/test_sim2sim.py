"""tools/sim2sim.py plays an exported policy in plain MuJoCo: the same observations as MimicKit's env for the
same states, and the shipped walk policy tracks its clip there."""

import importlib.util
import sys

import numpy as np
import pytest
import torch

from mimickit.envs.base_env import EnvMode
from mimickit.envs.env_builder import build_env
from mimickit.run import main

from ..conftest import REPO_ROOT

pytest.importorskip("onnxruntime")
pytest.importorskip("onnxscript")

spec = importlib.util.spec_from_file_location("sim2sim", REPO_ROOT / "tools" / "sim2sim.py")
sim2sim = importlib.util.module_from_spec(spec)
spec.loader.exec_module(sim2sim)


@pytest.fixture(scope="module")
def exported(tmp_path_factory):
    out = tmp_path_factory.mktemp("export") / "walk.onnx"
    assert main(["export", "--model_file", str(REPO_ROOT / "data/models/deepmimic_humanoid_walk_model.pt"),
                 "--out", str(out)]) == 0
    return out


def test_the_standalone_module_needs_no_mimickit():
    source = (REPO_ROOT / "tools" / "sim2sim.py").read_text()
    assert "mimickit." not in source.replace("mimickit export", "")
    assert "torch" not in source


def test_observations_match_the_framework_step_by_step(exported, monkeypatch):
    monkeypatch.chdir(REPO_ROOT)
    sim = sim2sim.Sim2Sim(str(exported))
    env = build_env(str(REPO_ROOT / "data/envs/deepmimic_humanoid_env.yaml"),
                    str(REPO_ROOT / "data/engines/mujoco_engine.yaml"), 1)
    try:
        env.set_mode(EnvMode.TEST)
        torch.manual_seed(3)
        obs = env.reset()[0].clone()
        t0 = float(env.motion_time_offset[0])
        sim.reset(t0)
        assert np.abs(sim.observe(t0) - obs[0].numpy()).max() < 1e-4
        for k in range(20):  # the same policy input in both simulations
            before = obs[0].numpy()
            action = sim.session.run(["action"], {"obs": before[None]})[0]
            obs = env.step(torch.tensor(action))[0].clone()
            sim.step(t0 + k * sim.dt, before)
            assert np.abs(sim.observe(t0 + (k + 1) * sim.dt) - obs[0].numpy()).max() < 1e-3, k
    finally:
        env.close()


def test_shipped_walk_policy_tracks_in_plain_mujoco(exported, monkeypatch, capsys):
    monkeypatch.chdir(REPO_ROOT)
    sim = sim2sim.Sim2Sim(str(exported))
    sim.episode_length = 2.0
    survived, e_pos = sim.episode(0.3)
    assert survived == pytest.approx(2.0) and e_pos < 0.05
    assert sim2sim.main(["--policy", str(exported), "--episodes", "1"]) == 0
    assert "100% to the end" in capsys.readouterr().out
    sys.modules.pop("sim2sim", None)
