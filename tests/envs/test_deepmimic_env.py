import math
import re
from pathlib import Path

import numpy as np
import pytest
import torch

from mimickit.anim.motion import load_motion
from mimickit.envs.base_env import DoneFlags, EnvMode
from mimickit.envs.env_builder import build_env
from mimickit.learning.agent_builder import build_agent
from mimickit.util import rotations as rot
from mimickit.util.config import ConfigError

from ..conftest import REPO_ROOT

ENV_YAML = REPO_ROOT / "data/envs/deepmimic_humanoid_env.yaml"
ENGINE_YAML = REPO_ROOT / "data/engines/mujoco_engine.yaml"


def upstream_env_yaml(folder) -> str:
    """The shipped env config with upstream's values: absolute PD-target actions and reward scales."""
    path = folder / "upstream_env.yaml"
    text = re.sub(r"(?m)^reward_pose_scale: .*$", "reward_pose_scale: 0.25", ENV_YAML.read_text())
    text = re.sub(r"(?m)^reward_key_pos_scale: .*$", "reward_key_pos_scale: 10.0", text)
    path.write_text(text.replace("residual_action: true", "residual_action: false"))
    return str(path)


@pytest.fixture(scope="module")
def env(tmp_path_factory):
    torch.manual_seed(0)
    e = build_env(upstream_env_yaml(tmp_path_factory.mktemp("env")), str(ENGINE_YAML), 4)
    yield e
    e.close()


@pytest.fixture(scope="module")
def residual_env():
    torch.manual_seed(0)
    e = build_env(str(ENV_YAML), str(ENGINE_YAML), 4)
    yield e
    e.close()


def test_shipped_config_uses_residual_actions(residual_env, env):
    assert residual_env.residual_action and not env.residual_action
    low, high = env.action_bounds
    r_low, r_high = residual_env.action_bounds
    assert torch.allclose(r_high, 0.5 * (high - low)) and torch.allclose(r_low, -r_high)


def test_zero_residual_action_commands_the_reference_one_step_ahead(residual_env):
    residual_env.reset()
    commands = []
    original = residual_env.engine.set_cmd
    residual_env.engine.set_cmd = lambda char_id, cmd: (commands.append(cmd.clone()), original(char_id, cmd))
    try:
        next_ref = residual_env.kin_model.rot_to_dof(residual_env._tar["joint_rot"][:, 0]).clone()
        residual_env.step(torch.zeros(4, 28))
        assert torch.allclose(commands[-1], next_ref, atol=1e-6)
        # a non-zero action is added to that target
        next_ref = residual_env.kin_model.rot_to_dof(residual_env._tar["joint_rot"][:, 0]).clone()
        residual_env.step(torch.full((4, 28), 0.1))
        assert torch.allclose(commands[-1], next_ref + 0.1, atol=1e-6)
    finally:
        residual_env.engine.set_cmd = original


def test_residual_actions_track_better_than_the_same_zero_action_in_absolute_mode(residual_env, env):
    """Open loop, a zero residual action follows the clip; a zero absolute action holds the mid-range pose."""
    rewards = {}
    for name, e in (("residual", residual_env), ("absolute", env)):
        torch.manual_seed(1)
        e.reset()
        total = torch.zeros(4)
        for _ in range(10):
            _, reward, _, _ = e.step(torch.zeros(4, 28))
            total += reward
        rewards[name] = total.mean().item()
    assert rewards["residual"] > rewards["absolute"] + 1.0, rewards


@pytest.mark.parametrize("option", ["residual_action", "action_center motion_mean"])
def test_pose_centred_actions_need_position_control(tmp_path, option):
    text = ENV_YAML.read_text()
    if option != "residual_action":
        text = re.sub(r"(?m)^residual_action: .*$", "", text) + "action_center: motion_mean\n"
    path = tmp_path / "env.yaml"
    path.write_text(text + "engine: {control_mode: torque}\n")
    with pytest.raises(ConfigError, match=f"{option} needs PD position targets"):
        build_env(str(path), str(ENGINE_YAML), 1)


def test_observation_size_matches_reference(env):
    obs, _ = env.reset()
    assert env.obs_dim == 464 and obs.shape == (4, 464)
    low, high = env.action_bounds
    assert low[0].item() == pytest.approx(-1.885, abs=1e-3) and high[9].item() == pytest.approx(3.351, abs=1e-3)
    assert low[9].item() == pytest.approx(-0.5585, abs=1e-3)


def test_reset_places_the_character_on_the_reference(env):
    env.reset()
    e, c = env.engine, env.char_id
    assert torch.allclose(e.get_body_pos(c), env._ref["body_pos"], atol=1e-4)
    assert torch.all(rot.quat_diff_angle(env.kin_model.dof_to_rot(e.get_dof_pos(c)), env._ref["joint_rot"]) < 1e-3)
    assert torch.allclose(e.get_dof_vel(c), env._ref["dof_vel"], atol=1e-4)


def test_tracking_the_reference_with_pd_targets_earns_high_reward(env):
    env.reset()
    for _ in range(10):
        next_ref = env._tar["joint_rot"][:, 0]  # the reference one control step ahead
        _, reward, done, _ = env.step(env.kin_model.rot_to_dof(next_ref))
        assert torch.all(done == int(DoneFlags.NULL))
        assert torch.all(reward > 0.6), reward


def test_a_body_on_the_ground_fails_the_episode(env):
    env.reset()
    ids = torch.tensor([1])
    lying = rot.axis_angle_to_quat(torch.tensor([0.0, 1.0, 0.0]), torch.tensor(math.pi / 2))
    env.engine.set_state(env.char_id, ids, root_pos=torch.tensor([0.0, 0.0, 0.12]), root_rot=lying,
                         root_vel=torch.zeros(3), root_ang_vel=torch.zeros(3))
    _, _, done, _ = env.step(env.kin_model.rot_to_dof(env._tar["joint_rot"][:, 0]))
    assert done[1].item() == int(DoneFlags.FAIL)


def test_nan_in_one_env_ends_that_episode_and_is_counted(env):
    obs, _ = env.reset()
    env.engine.set_state(env.char_id, torch.tensor([2]), dof_vel=torch.full((28,), float("nan")))
    before = int(env.fault_count)
    obs, reward, done, info = env.step(env.kin_model.rot_to_dof(env._tar["joint_rot"][:, 0]))
    assert done[2].item() == int(DoneFlags.FAIL) and int(info["num_faults"]) == before + 1
    assert torch.all(torch.isfinite(obs)) and torch.all(torch.isfinite(reward))
    obs, _ = env.reset(torch.tensor([2]))
    assert torch.all(torch.isfinite(obs))


def test_tracking_errors_are_reported_per_finished_test_episode(env):
    env.set_mode(EnvMode.TEST)
    env.reset()
    e_pos, e_vel = [], []
    steps = 0
    while len(e_pos) < 4 and steps < 400:
        _, _, d, info = env.step(env.kin_model.rot_to_dof(env._tar["joint_rot"][:, 0]))
        finished = d != 0
        metrics = info["episode_metrics"]
        assert torch.isnan(metrics["e_pos"][~finished]).all()  # only finished episodes carry a value
        e_pos += metrics["e_pos"][finished].tolist()
        e_vel += metrics["e_vel"][finished].tolist()
        if finished.any():
            env.reset(finished.nonzero().flatten())
        steps += 1
    env.set_mode(EnvMode.TRAIN)
    _, _, _, info = env.step(torch.zeros(4, 28))
    assert "episode_metrics" not in info
    assert len(e_pos) >= 4
    assert all(0.0 < e < 0.3 for e in e_pos) and all(0.0 < e < 5.0 for e in e_vel)


@pytest.mark.parametrize("edit, message", [
    ({"reward_pose_wt": 1.0}, "unknown key"),
    ({"key_bodies": ["head", "tail"]}, r"unknown bodies \['tail'\]"),
    ({"joint_err_w": [1.0, 1.0]}, "joint_err_w needs 14 values"),
    ({"init_pose": [0.0] * 10}, "init_pose must hold 3 or 34 numbers"),
    ({"motion_file": "data/motions/humanoid/nope.pkl"}, "nope.pkl: motion file not found"),
    ({"engine": {"sim_freq": 100}}, "integer multiple"),
])
def test_bad_env_configs_name_the_problem(tmp_path, edit, message):
    import yaml

    config = yaml.safe_load(ENV_YAML.read_text())
    config.update(edit)
    path = tmp_path / "env.yaml"
    path.write_text(yaml.safe_dump(config))
    with pytest.raises(Exception, match=message):
        build_env(str(path), str(ENGINE_YAML), 1)


def test_missing_and_malformed_env_files(tmp_path):
    with pytest.raises(ConfigError, match=r"nothere\.yaml: config file not found"):
        build_env(str(tmp_path / "nothere.yaml"), str(ENGINE_YAML), 1)
    bad = tmp_path / "bad.yaml"
    bad.write_text("env_name: [deepmimic\n")
    with pytest.raises(ConfigError, match=r"bad\.yaml: malformed yaml"):
        build_env(str(bad), str(ENGINE_YAML), 1)


def _hands_down_outcome(env_yaml: Path) -> torch.Tensor:
    """Done flags after one step from the cartwheel's reference at the frame where a hand is lowest
    (test mode: only ground contact can end the episode)."""
    env = build_env(str(env_yaml), str(ENGINE_YAML), 2,
                    motion_file="data/motions/humanoid/humanoid_cartwheel.pkl")
    try:
        env.set_mode(EnvMode.TEST)
        env.reset()
        ids = torch.zeros(200, dtype=torch.long)
        times = torch.linspace(0.0, env.motion_lib.get_motion_length(ids[:1]).item(), 200)
        hands = [env.kin_model.body_names.index(b) for b in ("right_hand", "left_hand")]
        hand_z = env._frames_at(ids, times)["body_pos"][:, hands, 2].min(dim=-1).values
        env.motion_time_offset[:] = times[hand_z.argmin()] - env.time
        everyone = torch.arange(2)
        env._update_reference(everyone)
        ref = env._ref
        env.engine.set_state(env.char_id, everyone, root_pos=ref["root_pos"], root_rot=ref["root_rot"],
                             root_vel=ref["root_vel"], root_ang_vel=ref["root_ang_vel"],
                             dof_pos=env.kin_model.rot_to_dof(ref["joint_rot"]), dof_vel=ref["dof_vel"])
        _, _, done, _ = env.step(torch.zeros(2, env.kin_model.dof_size))
        return done
    finally:
        env.close()


def test_cartwheel_config_lets_the_hands_touch_the_ground():
    assert torch.all(_hands_down_outcome(ENV_YAML) == int(DoneFlags.FAIL))  # feet only: a hand down fails
    assert torch.all(_hands_down_outcome(REPO_ROOT / "data/envs/deepmimic_humanoid_cartwheel_env.yaml")
                     == int(DoneFlags.NULL))


def test_motion_mean_action_center_makes_a_zero_policy_output_hold_the_clips_mean_pose(tmp_path, env):
    path = tmp_path / "mean_centre_env.yaml"
    path.write_text(Path(upstream_env_yaml(tmp_path)).read_text() + "action_center: motion_mean\n")
    centred = build_env(str(path), str(ENGINE_YAML), 2)
    try:
        walk = np.asarray(load_motion(REPO_ROOT / "data/motions/humanoid/humanoid_walk.pkl").frames)[:, 6:]
        clip_mean = torch.tensor(walk.mean(0), dtype=torch.float32)  # walk rotations stay well inside +-pi
        low, high = centred.action_bounds
        r_low, r_high = env.action_bounds
        assert torch.allclose(0.5 * (low + high), clip_mean, atol=1e-4)
        assert torch.allclose(high - low, r_high - r_low)  # same widths as upstream's bounds
        agent = build_agent(str(REPO_ROOT / "data/agents/deepmimic_humanoid_ppo_cpu_agent.yaml"), centred)
        assert torch.allclose(agent.a_norm.unnormalize(torch.zeros(28)), clip_mean, atol=1e-4)
    finally:
        centred.close()


@pytest.mark.parametrize("extra, message", [("residual_action: true\naction_center: motion_mean\n", "residual_action"),
                                            ("action_center: clip\n", "must be one of")])
def test_bad_action_center_names_the_file_and_field(tmp_path, extra, message):
    text = re.sub(r"(?m)^residual_action: .*$", "", ENV_YAML.read_text())
    path = tmp_path / "bad_centre_env.yaml"
    path.write_text(text + extra)
    with pytest.raises(ConfigError, match=message) as err:
        build_env(str(path), str(ENGINE_YAML), 1)
    assert "bad_centre_env.yaml" in str(err.value) and "action_center" in str(err.value)


@pytest.mark.parametrize("steps", ["[1, 2, 3]", "[2, 5]"])
def test_sliding_reference_window_equals_the_clip_queried_afresh(tmp_path, steps):
    """A step computes only the newest reference frame and slides the rest: after steps and partial resets
    (a looping clip, so some envs wrap), every frame the env reads equals the motion library queried at the
    env's motion time plus each offset, bit for bit."""
    path = tmp_path / "env.yaml"
    path.write_text(re.sub(r"(?m)^tar_obs_steps: .*$", f"tar_obs_steps: {steps}", ENV_YAML.read_text()))
    torch.manual_seed(3)
    e = build_env(str(path), str(ENGINE_YAML), 6)
    try:
        e.reset()
        tar_steps = [int(s) for s in steps.strip("[]").split(",")]
        for k in range(40):
            e.step(torch.zeros(6, 28))
            if k % 7 == 3:
                e.reset(torch.tensor([1, 4]))
        ids = e.motion_ids
        for key, offsets, value in (("joint_rot", [0], e._ref["joint_rot"][:, None]),
                                    ("body_pos", tar_steps, e._tar["body_pos"]),
                                    ("root_pos", tar_steps, e._tar["root_pos"])):
            for j, offset in enumerate(offsets):
                times = (e.step_count + offset) * e.engine.timestep + e.motion_time_offset
                fresh = e._frames_at(ids, times)[key]
                assert torch.equal(value[:, j], fresh), (key, offset)
        ahead = (e.step_count + 1) * e.engine.timestep + e.motion_time_offset
        assert torch.equal(e._cmd_ref_dof, e.kin_model.rot_to_dof(e._frames_at(ids, ahead)["joint_rot"]))
        assert (e.motion_time() > e.motion_lib.get_motion_length(ids)).any()  # some envs looped the clip
    finally:
        e.close()
