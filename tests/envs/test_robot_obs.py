"""Observations a robot has: the policy's part leaves out root position and linear velocity and relates the
reference to the robot itself (so it does not change when the world is shifted and turned under both), the
critic alone sees the privileged part, and the exported actor takes only what the robot measures."""

import json
import math

import numpy as np
import pytest
import torch

from mimickit.envs.base_env import DoneFlags, EnvMode
from mimickit.envs.terms.observations import (
    compute_privileged_obs,
    compute_robot_char_obs,
    compute_robot_target_obs,
)
from mimickit.learning.agent_builder import build_agent
from mimickit.learning.low_level import build_env
from mimickit.learning.runner import Runner
from mimickit.run import main
from mimickit.util import rotations as rot

from ..conftest import REPO_ROOT


def random_pose(g, n=3, joints=14, keys=5, steps=3):
    return {"root_pos": torch.randn(n, 3, generator=g), "root_rot": rot.quat_unit(torch.randn(n, 4, generator=g)),
            "root_vel": torch.randn(n, 3, generator=g), "root_ang_vel": torch.randn(n, 3, generator=g),
            "joint_rot": rot.quat_unit(torch.randn(n, joints, 4, generator=g)),
            "dof_vel": torch.randn(n, 28, generator=g), "key_pos": torch.randn(n, keys, 3, generator=g),
            "tar_root_pos": torch.randn(n, steps, 3, generator=g),
            "tar_root_rot": rot.quat_unit(torch.randn(n, steps, 4, generator=g)),
            "tar_joint_rot": rot.quat_unit(torch.randn(n, steps, joints, 4, generator=g)),
            "tar_key_pos": torch.randn(n, steps, keys, 3, generator=g)}


def actor_obs(p):
    return torch.cat([compute_robot_char_obs(p["root_rot"], p["root_ang_vel"], p["joint_rot"], p["dof_vel"],
                                             p["root_pos"], p["key_pos"]),
                      compute_robot_target_obs(p["root_rot"], p["tar_root_pos"], p["tar_root_rot"],
                                               p["tar_joint_rot"], p["tar_key_pos"])], dim=-1)


def test_the_actor_sees_the_same_when_the_world_is_shifted_and_turned():
    """Move robot and reference together by a horizontal shift and a yaw: nothing a robot measures changes; the
    root height the critic sees changes with a vertical shift, the actor's part does not."""
    p = random_pose(torch.Generator().manual_seed(0))
    yaw = rot.axis_angle_to_quat(torch.tensor([0.0, 0.0, 1.0]), torch.tensor(0.7))
    shift = torch.tensor([3.0, -2.0, 0.5])
    moved = dict(p)
    for key in ("root_pos", "key_pos", "tar_root_pos", "tar_key_pos"):
        moved[key] = rot.quat_rotate(yaw.expand(*p[key].shape[:-1], 4), p[key]) + shift
    for key in ("root_rot", "tar_root_rot"):
        moved[key] = rot.quat_mul(yaw.expand_as(p[key]), p[key])
    for key in ("root_vel", "root_ang_vel"):  # world-frame velocities turn with the world
        moved[key] = rot.quat_rotate(yaw.expand_as(p["root_rot"]), p[key])
    assert torch.allclose(actor_obs(moved), actor_obs(p), atol=1e-5)
    privileged = compute_privileged_obs(p["root_pos"], p["root_rot"], p["root_vel"], p["tar_root_pos"])
    privileged_moved = compute_privileged_obs(moved["root_pos"], moved["root_rot"], moved["root_vel"],
                                              moved["tar_root_pos"])
    assert torch.allclose(privileged_moved[:, 0], privileged[:, 0] + 0.5)  # root height: the critic's only
    assert torch.allclose(privileged_moved[:, 1:], privileged[:, 1:], atol=1e-5)
    upright = torch.tensor([[0.0, 0.0, 0.0, 1.0]])
    gravity = compute_robot_char_obs(upright, torch.zeros(1, 3), p["joint_rot"][:1], p["dof_vel"][:1],
                                     torch.zeros(1, 3), p["key_pos"][:1])[0, :3]
    assert gravity.tolist() == [0.0, 0.0, -1.0]  # an upright robot feels gravity straight down
    tilted = rot.axis_angle_to_quat(torch.tensor([1.0, 0.0, 0.0]), torch.tensor(math.pi / 2))[None]
    gravity = compute_robot_char_obs(tilted, torch.zeros(1, 3), p["joint_rot"][:1], p["dof_vel"][:1],
                                     torch.zeros(1, 3), p["key_pos"][:1])[0, :3]
    assert torch.allclose(gravity, torch.tensor([0.0, -1.0, 0.0]), atol=1e-6)  # rolled 90 deg: sideways


@pytest.fixture
def robot_env_yaml(tmp_path):
    path = tmp_path / "robot.yaml"
    path.write_text((REPO_ROOT / "data/envs/deepmimic_humanoid_env.yaml").read_text() + "robot_obs: true\n")
    return path


def test_layout_and_an_asymmetric_agent(robot_env_yaml):
    env = build_env(str(robot_env_yaml), str(REPO_ROOT / "data/engines/mujoco_engine.yaml"), 2)
    try:
        layout = {name: part.stop - part.start for name, part in env.obs_layout.items()}
        # humanoid: 3 + 3 + 6 x 14 + 28 + 3 x 5 = 133; target 3 x (6 + 84 + 15) = 315; privileged 1 + 3 + 3 x 3 = 13
        assert layout == {"char": 133, "target": 315, "privileged": 13}
        assert env.actor_obs_dim == 448 and env.obs_dim == 461
        agent = build_agent(str(REPO_ROOT / "tests/data/configs/tiny_ppo_agent.yaml"), env)
        assert agent.model.actor_body[0].in_features == 448  # the policy never sees the privileged part
        assert agent.model.critic_body[0].in_features == 461
    finally:
        env.close()


def test_history_holds_the_char_terms_of_earlier_steps_as_observed(robot_env_yaml, tmp_path):
    """obs_history: 2 with observation noise: the history part of each observation is the (noisy) char part of
    the two observations before it, newest first; a reset fills one env's history with its new char part."""
    path = tmp_path / "history.yaml"
    path.write_text(robot_env_yaml.read_text() + "obs_history: 2\nrandomization: {obs_noise: {char: 0.05}}\n")
    env = build_env(str(path), str(REPO_ROOT / "data/engines/mujoco_engine.yaml"), 3)
    try:
        layout = {name: (part.start, part.stop) for name, part in env.obs_layout.items()}
        assert layout == {"char": (0, 133), "target": (133, 448), "char_history": (448, 714),
                          "privileged": (714, 727)}
        assert env.actor_obs_dim == 714
        char, history = slice(0, 133), slice(448, 714)
        torch.manual_seed(0)
        obs = [env.reset()[0].clone()]
        assert torch.equal(obs[0][:, history], obs[0][:, char].repeat(1, 2))
        for _ in range(3):
            obs.append(env.step(torch.zeros(3, env.action_bounds[0].numel()))[0].clone())
        assert not torch.equal(obs[3][:, char], obs[2][:, char])
        for k in (2, 3):
            assert torch.equal(obs[k][:, 448:581], obs[k - 1][:, char])
            assert torch.equal(obs[k][:, 581:714], obs[k - 2][:, char])
        reset = env.reset(torch.tensor([1]))[0]
        assert torch.equal(reset[1, history], reset[1, char].repeat(2))
        assert torch.equal(reset[0], obs[3][0]) and torch.equal(reset[2], obs[3][2])
    finally:
        env.close()


@pytest.mark.parametrize("extra, actor_dim, terms", [
    ("", 448, ["char", "target"]),
    ("obs_history: 2\n", 714, ["char", "target", "char_history"])])
def test_robot_policy_trains_and_exports_only_what_the_robot_measures(robot_env_yaml, tmp_path, extra, actor_dim,
                                                                      terms):
    ort = pytest.importorskip("onnxruntime")
    pytest.importorskip("onnxscript")
    robot_env_yaml.write_text(robot_env_yaml.read_text() + extra)
    out = tmp_path / "run"
    assert main(["--env_config", str(robot_env_yaml), "--engine_config", "data/engines/mujoco_engine.yaml",
                 "--agent_config", "tests/data/configs/tiny_ppo_agent.yaml", "--num_envs", "2", "--rand_seed", "1",
                 "--max_samples", "32", "--out_dir", str(out)]) == 0
    onnx = tmp_path / "robot.onnx"
    assert main(["export", "--model_file", str(out / "model.pt"), "--out", str(onnx)]) == 0
    sidecar = json.loads(onnx.with_suffix(".json").read_text())
    assert sidecar["observation"]["dim"] == actor_dim and sidecar["observation"]["robot_obs"] is True
    assert [p["name"] for p in sidecar["observation"]["layout"]] == terms
    env = build_env(str(robot_env_yaml), str(REPO_ROOT / "data/engines/mujoco_engine.yaml"), 2)
    try:
        agent = build_agent(str(REPO_ROOT / "tests/data/configs/tiny_ppo_agent.yaml"), env)
        runner = Runner(env, agent)
        runner.load(out / "model.pt", resume=False)
        runner.set_mode(EnvMode.TEST)
        obs = runner._reset_all()
        with torch.no_grad():
            action, _ = agent.act(obs)
        got = ort.InferenceSession(str(onnx)).run(["action"], {"obs": obs[:, :actor_dim].numpy()})[0]
        assert np.abs(got - action.numpy()).max() < 1e-5
    finally:
        env.close()
    # sim2sim computes the same robot observation in plain MuJoCo, step by step
    import importlib.util

    spec = importlib.util.spec_from_file_location("sim2sim_robot", REPO_ROOT / "tools" / "sim2sim.py")
    sim2sim = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(sim2sim)
    sim = sim2sim.Sim2Sim(str(onnx), str(REPO_ROOT / "data/motions/humanoid/humanoid_walk.pkl"))
    env = build_env(str(robot_env_yaml), str(REPO_ROOT / "data/engines/mujoco_engine.yaml"), 1)
    try:
        env.set_mode(EnvMode.TEST)
        torch.manual_seed(3)
        obs = env.reset()[0].clone()
        t0 = float(env.motion_time_offset[0])
        sim.reset(t0)
        assert np.abs(sim.observe(t0) - obs[0, :actor_dim].numpy()).max() < 1e-4
        for k in range(10):
            before = obs[0, :actor_dim].numpy()
            action = sim.session.run(["action"], {"obs": before[None]})[0]
            obs = env.step(torch.tensor(action))[0].clone()
            sim.step(t0 + k * sim.dt, before)
            assert np.abs(sim.observe(t0 + (k + 1) * sim.dt) - obs[0, :actor_dim].numpy()).max() < 1e-3, k
    finally:
        env.close()


@pytest.mark.parametrize("env_file, extra, phrase", [
    ("amp_humanoid_env.yaml", "robot_obs: true\n", "robot_obs applies to tracking envs"),
    ("deepmimic_humanoid_env.yaml", "robot_obs: true\nenable_tar_obs: false\n", "robot_obs needs enable_tar_obs")])
def test_robot_obs_where_it_cannot_apply_is_refused(tmp_path, env_file, extra, phrase):
    from mimickit.util.config import ConfigError

    text = (REPO_ROOT / "data/envs" / env_file).read_text().replace("enable_tar_obs: true\n", "")
    path = tmp_path / env_file
    path.write_text(text + extra)
    with pytest.raises(ConfigError, match=phrase):
        build_env(str(path), str(REPO_ROOT / "data/engines/mujoco_engine.yaml"), 2)


@pytest.mark.parametrize("track_root_xy", [True, False])
@pytest.mark.parametrize("pose_termination_root_xy", [True, False])
def test_root_xy_keys_let_a_drifted_robot_go_on(robot_env_yaml, tmp_path, track_root_xy, pose_termination_root_xy):
    """A robot moved 2 m sideways after a step: with world x-y tracking its root term drops, and with world-position
    pose termination its episode ends; ``track_root_xy: false`` keeps its reward what it was and
    ``pose_termination_root_xy: false`` lets it go on, each independently of the other. The other env is
    untouched either way."""
    path = tmp_path / "drift.yaml"
    path.write_text(robot_env_yaml.read_text() + "pose_termination: true\n"
                    f"track_root_xy: {str(track_root_xy).lower()}\n"
                    f"pose_termination_root_xy: {str(pose_termination_root_xy).lower()}\n")
    env = build_env(str(path), str(REPO_ROOT / "data/engines/mujoco_engine.yaml"), 2)
    try:
        torch.manual_seed(0)
        env.reset()
        env.step(torch.zeros(2, env.action_bounds[0].numel()))
        before, before_terms = env._compute_reward()
        assert (env._compute_done() == 0).all()
        root_pos = env.engine.get_root_pos(env.char_id).clone()
        env.engine.set_state(env.char_id, torch.tensor([0]), root_pos=root_pos[:1] + torch.tensor([0.0, 2.0, 0.0]))
        after, after_terms = env._compute_reward()
        done = env._compute_done()
        assert after[1] == pytest.approx(before[1].item(), abs=1e-6) and done[1] == DoneFlags.NULL
        if track_root_xy:
            assert after_terms["root_pose"][0] < 0.01 * before_terms["root_pose"][0]
        else:
            assert after[0] == pytest.approx(before[0].item(), abs=1e-5)
        assert done[0] == (DoneFlags.FAIL if pose_termination_root_xy else DoneFlags.NULL)
    finally:
        env.close()


def test_root_rot_err_w_reaches_the_env_reward(robot_env_yaml, tmp_path):
    """The env key weighs the root's rotation angle^2 inside root_pose: two envs in the same state, weights 0.1
    (the default) and 1.0, differ in the term's error by exactly 0.9 angle^2 of their root turn."""
    errors = []
    for weight in (None, 1.0):
        path = tmp_path / f"w{weight}.yaml"
        path.write_text(robot_env_yaml.read_text() + ("" if weight is None else f"root_rot_err_w: {weight}\n"))
        env = build_env(str(path), str(REPO_ROOT / "data/engines/mujoco_engine.yaml"), 2)
        try:
            torch.manual_seed(0)
            env.reset()
            env.step(torch.zeros(2, env.action_bounds[0].numel()))
            turn = rot.axis_angle_to_quat(torch.tensor([0.0, 0.0, 1.0]), torch.tensor(0.4))
            root_rot = env.engine.get_root_rot(env.char_id).clone()
            env.engine.set_state(env.char_id, torch.tensor([0]), root_rot=rot.quat_mul(turn[None], root_rot[:1]))
            _, terms = env._compute_reward()
            scale = env.reward_terms[[t.name for t in env.reward_terms].index("root_pose")].scale
            angle = rot.quat_diff_angle(env.engine.get_root_rot(env.char_id), env._ref["root_rot"])
            errors.append(-torch.log(terms["root_pose"]) / scale)
        finally:
            env.close()
    assert angle[0] > 0.3  # the turn is there
    assert torch.allclose(errors[1] - errors[0], 0.9 * angle ** 2, rtol=1e-3, atol=1e-6)
