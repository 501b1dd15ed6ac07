"""mimickit plot draws learning curves from logs; mimickit export writes an ONNX actor that onnxruntime runs
with the same actions as the framework, and a sidecar that describes it."""

import json

import numpy as np
import pytest
import torch

from mimickit.envs.base_env import EnvMode
from mimickit.envs.env_builder import build_env
from mimickit.learning.agent_builder import build_agent
from mimickit.learning.runner import Runner
from mimickit.plot import group_curve, read_log
from mimickit.run import main

from ..conftest import REPO_ROOT

WALK_MODEL = REPO_ROOT / "data/models/deepmimic_humanoid_walk_model.pt"


def write_log(path, rows):
    path.mkdir(parents=True)
    lines = ["Iteration  Samples  Test_E_Pos  Train_Return"]
    lines += [f"{i}  {s}  {e}  {r}" for i, (s, e, r) in enumerate(rows)]
    (path / "log.txt").write_text("\n".join(lines) + "\n")
    return path


def test_groups_of_seeds_become_mean_and_std_and_a_png(tmp_path, capsys):
    pytest.importorskip("matplotlib")
    a = write_log(tmp_path / "a", [(0, 0.2, 1.0), (100, 0.1, 2.0), (200, 0.05, 3.0)])
    b = write_log(tmp_path / "b", [(0, 0.2, 1.0), (100, 0.3, 4.0), (200, 0.15, 5.0), (300, 0.1, 6.0)])
    grid, mean, std = group_curve([read_log(a), read_log(b)], "Samples", "Test_E_Pos", 1)
    assert grid.tolist() == [0, 100, 200] and mean.tolist() == pytest.approx([0.2, 0.2, 0.1])
    assert std.tolist() == pytest.approx([0.0, 0.1, 0.05])
    out = tmp_path / "curves.png"
    assert main(["plot", f"seeds={a},{b}", str(a), "--y", "Test_E_Pos", "Train_Return", "--smooth", "2",
                 "--out", str(out)]) == 0
    png = out.read_bytes()
    assert png[:8] == b"\x89PNG\r\n\x1a\n" and len(png) > 10_000
    assert main(["plot", str(a), "--y", "Nope", "--out", str(out)]) == 2
    assert "no column 'Nope'" in capsys.readouterr().err


def test_exported_policy_matches_the_framework(tmp_path):
    ort = pytest.importorskip("onnxruntime")
    pytest.importorskip("onnxscript")
    out = tmp_path / "walk.onnx"
    assert main(["export", "--model_file", str(WALK_MODEL), "--out", str(out)]) == 0
    sidecar = json.loads(out.with_suffix(".json").read_text())
    assert sidecar["observation"]["dim"] == 464 and sidecar["action"]["dim"] == 28
    assert [p["name"] for p in sidecar["observation"]["layout"]] == ["char", "target"]
    assert sidecar["action"]["residual_action"] and len(sidecar["action"]["dof_names"]) == 28
    assert sidecar["rates"] == {"control_freq": 30.0, "sim_freq": 120.0} and len(sidecar["pd"]["kp"]) == 28
    torch.manual_seed(0)
    env = build_env(str(REPO_ROOT / "data/envs/deepmimic_humanoid_env.yaml"),
                    str(REPO_ROOT / "data/engines/mujoco_engine.yaml"), 3)
    try:
        agent = build_agent(str(REPO_ROOT / "data/agents/deepmimic_humanoid_ppo_cpu_agent.yaml"), env)
        runner = Runner(env, agent)
        runner.load(WALK_MODEL, resume=False)
        runner.set_mode(EnvMode.TEST)
        session = ort.InferenceSession(str(out))
        obs = runner._reset_all()
        with torch.no_grad():
            for _ in range(20):
                action, _ = agent.act(obs)
                onnx_action = session.run(["action"], {"obs": obs.numpy()})[0]
                assert np.abs(onnx_action - action.numpy()).max() < 1e-5
                obs = env.step(action)[0].clone()
    finally:
        env.close()


def test_skill_policy_exports_with_its_latent_as_an_input(tmp_path):
    """The ASE low-level policy: ONNX inputs ``obs`` and ``latent``; onnxruntime's action equals the agent's mean
    action for the same observation and latent."""
    ort = pytest.importorskip("onnxruntime")
    pytest.importorskip("onnxscript")
    out = tmp_path / "ase.onnx"
    # the model file alone: the checkpoint carries the configs it was trained with
    model = REPO_ROOT / "data/models/ase_humanoid_model.pt"
    assert main(["export", "--model_file", str(model), "--out", str(out)]) == 0
    sidecar = json.loads(out.with_suffix(".json").read_text())
    assert sidecar["latent"]["dim"] == 64 and sidecar["agent"] == "ASE"
    session = ort.InferenceSession(str(out))
    assert [i.name for i in session.get_inputs()] == ["obs", "latent"]
    from mimickit.learning.low_level import load_low_level_policy

    env = build_env(str(REPO_ROOT / "data/envs/ase_humanoid_env.yaml"),
                    str(REPO_ROOT / "data/engines/mujoco_engine.yaml"), 4)
    try:
        policy = load_low_level_policy(str(REPO_ROOT / "data/agents/ase_humanoid_cpu_agent.yaml"),
                                       str(REPO_ROOT / "data/models/ase_humanoid_model.pt"), env)
        obs = env.reset()[0]
        latents = torch.nn.functional.normalize(torch.randn(4, 64, generator=torch.Generator().manual_seed(1)), dim=-1)
        expected = policy.skill_action(obs, latents).numpy()
        got = session.run(["action"], {"obs": obs.numpy(), "latent": latents.numpy()})[0]
        assert np.abs(got - expected).max() < 1e-5
    finally:
        env.close()


def test_high_level_controller_exports_as_two_chained_policies(tmp_path):
    """The ASE location controller: the high-level ONNX maps the task observation to a latent, the low-level one
    (written beside it) maps the character part and that latent to PD targets; chained as the sidecar says they
    give the framework's actions."""
    ort = pytest.importorskip("onnxruntime")
    pytest.importorskip("onnxscript")
    from mimickit.learning.low_level import build_env as build_composed_env

    out = tmp_path / "hlc.onnx"
    assert main(["export", "--model_file", str(REPO_ROOT / "data/models/ase_hlc_location_humanoid_model.pt"),
                 "--out", str(out)]) == 0
    sidecar = json.loads(out.with_suffix(".json").read_text())
    chain = sidecar["high_level"]
    assert chain["llc_steps"] >= 1 and (tmp_path / chain["low_level_model"]).is_file()
    high = ort.InferenceSession(str(out))
    low = ort.InferenceSession(str(tmp_path / chain["low_level_model"]))
    part = chain["low_level_inputs"]["obs"]
    env = build_composed_env(str(REPO_ROOT / "data/envs/ase_hlc_location_humanoid_env.yaml"),
                             str(REPO_ROOT / "data/engines/mujoco_engine.yaml"), 4)
    try:
        agent = build_agent(str(REPO_ROOT / "data/agents/ase_hlc_humanoid_cpu_agent.yaml"), env)
        runner = Runner(env, agent)
        runner.load(REPO_ROOT / "data/models/ase_hlc_location_humanoid_model.pt", resume=False)
        runner.set_mode(EnvMode.TEST)
        obs = runner._reset_all()
        with torch.no_grad():
            action, _ = agent.act(obs)
        high_action = high.run(["action"], {"obs": obs.numpy()})[0]
        assert np.abs(high_action - action.numpy()).max() < 1e-5
        latent = high_action / np.linalg.norm(high_action, axis=-1, keepdims=True)
        char_obs = obs.numpy()[:, part["start"]:part["start"] + part["size"]]
        pd_target = low.run(["action"], {"obs": char_obs, "latent": latent.astype(np.float32)})[0]
        expected = env.low_level.skill_action(obs[:, part["start"]:part["start"] + part["size"]],
                                              torch.from_numpy(latent).float())
        assert np.abs(pd_target - expected.numpy()).max() < 1e-5
        assert sidecar["action"]["dim"] == pd_target.shape[1]
    finally:
        env.close()


@pytest.mark.parametrize("name", ["amp_humanoid_walk", "add_humanoid_walk", "deepmimic_g1_walk", "deepmimic_go2_walk",
                                  "deepmimic_smpl_walk"])
def test_every_method_and_character_exports_from_its_model_file_alone(tmp_path, name):
    """AMP, ADD and the other characters: the model file alone exports, and onnxruntime gives the framework's
    deterministic actions (1e-5) on its env's observations."""
    ort = pytest.importorskip("onnxruntime")
    pytest.importorskip("onnxscript")
    from mimickit.learning.low_level import build_env as build_composed_env
    from mimickit.util.arg_parser import model_run_args

    model = REPO_ROOT / f"data/models/{name}_model.pt"
    out = tmp_path / f"{name}.onnx"
    assert main(["export", "--model_file", str(model), "--out", str(out)]) == 0
    args = model_run_args(model, None, "args/deepmimic_humanoid_ppo_args.txt")
    torch.manual_seed(0)
    env = build_composed_env(args["env_config"], args["engine_config"], 3)
    try:
        agent = build_agent(args["agent_config"], env)
        runner = Runner(env, agent)
        runner.load(model, resume=False)
        runner.set_mode(EnvMode.TEST)
        session = ort.InferenceSession(str(out))
        obs = runner._reset_all()
        with torch.no_grad():
            for _ in range(5):
                action, _ = agent.act(obs)
                assert np.abs(session.run(["action"], {"obs": obs.numpy()})[0] - action.numpy()).max() < 1e-5
                obs = env.step(action)[0].clone()
    finally:
        env.close()
