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
    survived, e_pos, action_change, task = sim.episode(0.3)
    assert survived == pytest.approx(2.0) and e_pos < 0.05 and 0.0 < action_change < 0.2 and task == {}
    assert sim2sim.main(["--policy", str(exported), "--episodes", "1"]) == 0
    assert "100% to the end" in capsys.readouterr().out
    sys.modules.pop("sim2sim", None)


def test_pushes_knock_the_walk_about(exported, monkeypatch):
    """Hard pushes (up to 3 m/s every 0.3-0.6 s) move the root off the clip: the tracking error grows well
    beyond the unpushed episode's from the same start, or the character falls."""
    monkeypatch.chdir(REPO_ROOT)
    sim = sim2sim.Sim2Sim(str(exported))
    sim.episode_length = 2.0
    calm = sim.episode(0.3)
    pushed = sim.episode(0.3, np.random.default_rng(1), push_vel=3.0, push_interval=(0.3, 0.6))
    assert pushed[0] < calm[0] or pushed[1] > 2.0 * calm[1], (calm, pushed)
    assert 1 <= pushed[3]["pushes"] <= 6 and "pushes" not in calm[3]


def test_pushes_are_counted_and_reported_per_push(exported, monkeypatch, capsys):
    """Pushes every 0.5 s of a 2-s episode are three (at 0.5, 1.0 and 1.5 s); 1-cm/s pushes do not fell the walk,
    so the command reports no falls among them."""
    monkeypatch.chdir(REPO_ROOT)
    sim = sim2sim.Sim2Sim(str(exported))
    sim.episode_length = 2.0
    survived, _, _, figures = sim.episode(0.3, np.random.default_rng(1), push_vel=0.01, push_interval=(0.5, 0.5))
    assert survived == pytest.approx(2.0) and figures == {"pushes": 3.0}
    assert sim2sim.main(["--policy", str(exported), "--episodes", "1", "--push_vel", "0.01",
                         "--push_interval", "0.5", "0.5"]) == 0
    assert "(19 pushes, 0 falls: 0.000 falls per push)" in capsys.readouterr().out  # 0.5, 1.0, ..., 9.5 s of 10


def test_randomized_physics_is_scaled_per_episode_from_the_nominal_model(exported, monkeypatch, tmp_path, capsys):
    monkeypatch.chdir(REPO_ROOT)
    sim = sim2sim.Sim2Sim(str(exported))
    nominal_friction, nominal_kp = sim.model.geom_friction[0, 0], sim.model.actuator_gainprm[0, 0]
    rng = np.random.default_rng(0)
    ranges = {"friction": [0.5, 1.5], "kp": [0.8, 1.2]}
    for _ in range(3):  # each draw scales the nominal values, never the previous episode's
        factors = sim.randomize(rng, ranges)
        assert sim.model.geom_friction[0, 0] == pytest.approx(nominal_friction * factors["friction"])
        assert sim.model.actuator_gainprm[0, 0] == pytest.approx(nominal_kp * factors["kp"])
        assert sim.model.actuator_biasprm[0, 1] == pytest.approx(-nominal_kp * factors["kp"])
        assert 0.5 <= factors["friction"] <= 1.5 and factors["mass"] == 1.0
    env_yaml = tmp_path / "ranges.yaml"
    env_yaml.write_text("randomization: {friction: [0.8, 1.2], mass: [0.9, 1.1]}\n")
    assert sim2sim.main(["--policy", str(exported), "--episodes", "1", "--randomize_from", str(env_yaml)]) == 0
    assert "physics randomised within {'friction': [0.8, 1.2], 'mass': [0.9, 1.1]}" in capsys.readouterr().out
    assert sim2sim.main(["--policy", str(exported), "--episodes", "1", "--randomize"]) == 2  # trained without
    assert "no physics randomization ranges" in capsys.readouterr().err


def test_ctrl_c_during_the_episodes_is_one_line_and_exit_130(exported, monkeypatch, capsys):
    monkeypatch.chdir(REPO_ROOT)

    def pressed_ctrl_c(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(sim2sim.Sim2Sim, "episode", pressed_ctrl_c)
    assert sim2sim.main(["--policy", str(exported), "--episodes", "2"]) == 130
    out, err = capsys.readouterr()
    assert err == "interrupted\n" and "episodes" not in out


def test_bad_inputs_are_one_line_errors(exported, tmp_path, capsys, monkeypatch):
    import json
    import shutil

    monkeypatch.chdir(REPO_ROOT)

    def copy(name: str):
        folder = tmp_path / name
        folder.mkdir()
        for path in exported.parent.glob(exported.stem + ".*"):
            shutil.copy(path, folder / path.name)
        return folder / exported.name

    def refused(argv, *phrases):
        capsys.readouterr()
        assert sim2sim.main(argv) == 2
        err = capsys.readouterr().err
        assert err.startswith("error: ") and err.count("\n") == 1, err
        for phrase in phrases:
            assert phrase in err, err

    empty = copy("empty")
    empty.write_bytes(b"")
    refused(["--policy", str(empty)], "not a readable ONNX policy")
    corrupt = copy("corrupt")
    corrupt.write_bytes(b"\x08\x07garbage" * 50)
    refused(["--policy", str(corrupt)], "not a readable ONNX policy")
    no_sidecar = copy("no_sidecar")
    no_sidecar.with_suffix(".json").unlink()
    refused(["--policy", str(no_sidecar)], "cannot read the sidecar")
    no_scene = copy("no_scene")
    no_scene.with_suffix(".mjb").unlink()
    refused(["--policy", str(no_scene)], "cannot load the exported MuJoCo scene")
    no_field = copy("no_field")
    sidecar = json.loads(no_field.with_suffix(".json").read_text())
    del sidecar["rates"]
    no_field.with_suffix(".json").write_text(json.dumps(sidecar))
    refused(["--policy", str(no_field)], "the sidecar has no field 'rates'")
    for field, value, phrase in (("latent", {}, "no field 'dim'"), ("high_level", {}, "no field 'low_level_model'"),
                                 ("high_level", {"low_level_model": "gone.onnx"}, "gone.onnx: not a readable ONNX")):
        chained = copy(f"with_{field}_{len(value)}")
        sidecar = json.loads(chained.with_suffix(".json").read_text())
        sidecar[field] = value
        chained.with_suffix(".json").write_text(json.dumps(sidecar))
        refused(["--policy", str(chained)], phrase)
    task = copy("unknown_task")
    sidecar = json.loads(task.with_suffix(".json").read_text())
    sidecar["observation"]["layout"].append({"name": "task", "start": 0, "size": 2})
    sidecar["env_config"]["env_name"] = "task_juggle"
    task.with_suffix(".json").write_text(json.dumps(sidecar))
    refused(["--policy", str(task)], "the task of env 'task_juggle'")
    dataset = tmp_path / "dataset.yaml"
    dataset.write_text("motions: [{weight: 1.0}]\n")
    refused(["--policy", str(exported), "--motion_file", str(dataset)], "cannot read the dataset's motions")
    refused(["--policy", str(exported), "--motion_file", "data/motions/g1/g1_walk.pkl"], "a clip of another character")
    refused(["--policy", str(exported), "--motion_file", str(tmp_path)], "cannot read the clip")
    refused(["--policy", str(exported), "--episodes", "0"], "--episodes must be >= 1")
    refused(["--policy", str(exported), "--push_vel", "-1"], "--push_vel must be >= 0")
    refused(["--policy", str(exported), "--push_interval", "2", "1"], "--push_interval 0 < MIN <= MAX")


def _copy_state(sim, env) -> None:
    """Put the framework env 0's physics state into sim2sim's MjData (the exported scene has the same layout)."""
    import mujoco

    engine = env.engine
    sim.data.qpos[:] = engine._qpos[0].numpy()
    sim.data.qvel[:] = engine._qvel[0].numpy()
    mujoco.mj_forward(sim.model, sim.data)


def test_ase_skill_policy_plays_with_drawn_latents(tmp_path, monkeypatch, capsys):
    """A skill policy's sidecar says how long training held each latent; sim2sim observes what the ASE env does for
    the same state, acts with the exported policy on a latent, draws its clips from the dataset and keeps the
    character up (the shipped skills survive a 2-s episode from a clip start)."""
    from mimickit.learning.low_level import load_low_level_policy

    monkeypatch.chdir(REPO_ROOT)
    out = tmp_path / "ase.onnx"
    model = REPO_ROOT / "data/models/ase_humanoid_model.pt"
    assert main(["export", "--model_file", str(model), "--out", str(out)]) == 0
    sim = sim2sim.Sim2Sim(str(out))
    assert sim.skill and not sim.follows_clip and sim.latent_hold == [0.0, 5.0] and len(sim.clips) == 7
    env = build_env(str(REPO_ROOT / "data/envs/ase_humanoid_env.yaml"),
                    str(REPO_ROOT / "data/engines/mujoco_engine.yaml"), 1)
    try:
        env.set_mode(EnvMode.TEST)
        policy = load_low_level_policy(str(REPO_ROOT / "data/agents/ase_humanoid_cpu_agent.yaml"),
                                       str(model), env)
        torch.manual_seed(2)
        obs = env.reset()[0].clone()
        latent = torch.nn.functional.normalize(torch.randn(1, sim.latent_dim), dim=-1)
        for _ in range(5):
            obs = env.step(policy.skill_action(obs, latent))[0].clone()
        _copy_state(sim, env)
        assert np.abs(sim.observe(0.0) - obs[0].numpy()).max() < 1e-4
        expected = policy.skill_action(obs, latent)[0].numpy()
        assert np.abs(sim.act(obs[0].numpy(), latent[0].numpy()) - expected).max() < 1e-4
    finally:
        env.close()
    sim.episode_length = 2.0
    survived, _, action_change, figures = sim.episode(sim.draw_clip(np.random.default_rng(0)), np.random.default_rng(1))
    assert survived == pytest.approx(2.0) and action_change > 0 and figures == {}
    assert sim2sim.main(["--policy", str(out), "--episodes", "1"]) == 0
    report = capsys.readouterr().out
    assert "survived" in report and "e_pos" not in report


def test_high_level_controller_chains_its_two_policies_on_its_task(tmp_path, monkeypatch, capsys):
    """The location controller: sim2sim's observation (character + target in the heading frame) equals the
    framework's for the same state and target, its chosen latent drives the exported skill policy to the
    framework's action, and an episode reports the task's figures."""
    from mimickit.learning.agent_builder import build_agent
    from mimickit.learning.low_level import build_env as build_composed_env
    from mimickit.learning.runner import Runner

    monkeypatch.chdir(REPO_ROOT)
    out = tmp_path / "hlc.onnx"
    model = REPO_ROOT / "data/models/ase_hlc_location_humanoid_model.pt"
    assert main(["export", "--model_file", str(model), "--out", str(out)]) == 0
    sim = sim2sim.Sim2Sim(str(out))
    assert sim.low_level is not None and isinstance(sim.task, sim2sim.LocationTask) and not sim.follows_clip
    env = build_composed_env(str(REPO_ROOT / "data/envs/ase_hlc_location_humanoid_env.yaml"),
                             str(REPO_ROOT / "data/engines/mujoco_engine.yaml"), 1)
    try:
        agent = build_agent(str(REPO_ROOT / "data/agents/ase_hlc_humanoid_cpu_agent.yaml"), env)
        Runner(env, agent).load(model, resume=False)
        env.set_mode(EnvMode.TEST)
        agent.set_mode(EnvMode.TEST)
        torch.manual_seed(4)
        obs = env.reset()[0].clone()
        with torch.no_grad():
            obs = env.step(agent.act(obs)[0])[0].clone()
        _copy_state(sim, env.inner)
        sim.task.reset(np.random.default_rng(0), sim.char.root(sim.data)[0])
        sim.task.tar_xy = env.inner.tar_xy[0].numpy().astype(np.float64)
        assert np.abs(sim.observe(0.0) - obs[0].numpy()).max() < 1e-4
        latent = sim.choose_latent(obs[0].numpy())
        with torch.no_grad():
            torch_latent = torch.nn.functional.normalize(agent.act(obs)[0], dim=-1)
            expected = env.low_level.skill_action(obs[:, env.char_obs], torch_latent)[0].numpy()
        assert np.abs(latent - torch_latent[0].numpy()).max() < 1e-4
        assert np.abs(sim.act(obs[0].numpy(), latent) - expected).max() < 1e-3
    finally:
        env.close()
    sim.episode_length = 3.0
    survived, _, _, figures = sim.episode(sim.draw_clip(np.random.default_rng(0)), np.random.default_rng(1))
    assert survived > 0 and set(figures) == {"location_dist", "location_success"}
    assert 0.0 < figures["location_dist"] < 10.0 and 0.0 <= figures["location_success"] <= 1.0
    assert sim2sim.main(["--policy", str(out), "--episodes", "1"]) == 0
    assert "location_dist" in capsys.readouterr().out


def test_steering_task_observes_what_the_framework_does():
    """The steering task's observation (direction and facing in the heading frame, speed) equals
    compute_steering_obs for the same root rotation and task."""
    from mimickit.envs.terms.observations import compute_steering_obs

    task = sim2sim.SteeringTask({"tar_change_time_min": 1.0, "tar_change_time_max": 2.0, "tar_speed_min": 0.5,
                                 "tar_speed_max": 2.0})
    task.reset(np.random.default_rng(3), np.zeros(3))
    root_rot = np.array([0.1, -0.2, 0.6, 0.77])
    root_rot /= np.linalg.norm(root_rot)
    expected = compute_steering_obs(torch.tensor(root_rot, dtype=torch.float32)[None],
                                    torch.tensor(task.tar_dir, dtype=torch.float32)[None],
                                    torch.tensor([task.tar_speed], dtype=torch.float32),
                                    torch.tensor(task.face_dir, dtype=torch.float32)[None])[0].numpy()
    assert np.abs(task.observe(np.zeros(3), root_rot) - expected).max() < 1e-5
    assert 0.5 <= task.tar_speed <= 2.0
