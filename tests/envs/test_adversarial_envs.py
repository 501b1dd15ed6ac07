"""AMP and ADD environments: discriminator-observation encodings on hand-made states, their documented
sizes, history filled from the reference at reset, and no env reward."""

import math

import pytest
import torch

from mimickit.envs.base_env import DoneFlags, EnvMode
from mimickit.envs.env_builder import build_env
from mimickit.envs.terms.observations import compute_add_disc_obs, compute_amp_disc_obs
from mimickit.util import rotations as rot

from ..conftest import REPO_ROOT

ENGINE = str(REPO_ROOT / "data/engines/mujoco_engine.yaml")


def yaw(angle: float, shape=()) -> torch.Tensor:
    return rot.axis_angle_to_quat(torch.tensor([0.0, 0.0, 1.0]).expand(*shape, 3),
                                  torch.full(shape, angle))


def test_amp_disc_obs_of_a_hand_made_window():
    # one env, two steps, one joint (identity), one key body 1 m above the root, no DoF velocities
    root_pos = torch.tensor([[[1.0, 2.0, 0.9], [1.5, 2.0, 0.8]]])
    root_rot = yaw(math.pi / 2, (1, 2))
    root_vel = torch.tensor([[[0.5, 0.0, 0.0], [0.5, 0.0, 0.0]]])
    ang_vel = torch.zeros(1, 2, 3)
    joint_rot = rot.quat_identity((1, 2, 1))
    key_pos = root_pos[:, :, None, :] + torch.tensor([0.0, 0.0, 1.0])
    glob = compute_amp_disc_obs(root_pos, root_rot, root_vel, ang_vel, joint_rot, None, key_pos, True, True, False)
    per_step = 3 + 6 + 6 + 3 + 3 + 3
    assert glob.shape == (1, 2 * per_step)
    first, newest = glob[0, :per_step], glob[0, per_step:]
    # root position relative to the newest root, with the absolute height
    assert first[:3].tolist() == pytest.approx([-0.5, 0.0, 0.9]) and newest[:3].tolist() == pytest.approx([0, 0, 0.8])
    assert first[3:9].tolist() == pytest.approx(rot.quat_to_tan_norm(yaw(math.pi / 2)).tolist(), abs=1e-6)
    assert first[15:18].tolist() == pytest.approx([0.0, 0.0, 1.0])  # key body relative to its step's root
    assert first[18:21].tolist() == pytest.approx([0.5, 0.0, 0.0])  # global mode: world velocity
    local = compute_amp_disc_obs(root_pos, root_rot, root_vel, ang_vel, joint_rot, None, key_pos, False, True, False)
    # local mode: rotated by the newest heading's inverse (-90 deg about z): x becomes -y
    assert local[0, :3].tolist() == pytest.approx([0.0, 0.5, 0.9], abs=1e-6)
    assert local[0, 18:21].tolist() == pytest.approx([0.0, -0.5, 0.0], abs=1e-6)
    assert local[0, 3:9].tolist() == pytest.approx(rot.quat_to_tan_norm(rot.quat_identity(())).tolist(), abs=1e-6)


def test_add_disc_obs_of_a_hand_made_state():
    root_pos = torch.tensor([[3.0, 4.0, 0.9]])
    root_rot = yaw(math.pi / 2, (1,))
    body_pos = torch.stack([root_pos, root_pos + torch.tensor([1.0, 0.0, 0.0])], dim=1)  # root + one body
    vel, ang_vel, dof_vel = torch.tensor([[1.0, 0.0, 0.0]]), torch.zeros(1, 3), torch.tensor([[0.25]])
    joint_rot = rot.quat_identity((1, 1))
    glob = compute_add_disc_obs(root_pos, root_rot, vel, ang_vel, joint_rot, dof_vel, body_pos, True)
    assert glob.shape == (1, 3 + 6 + 6 + 6 + 3 + 3 + 1)
    assert glob[0, :3].tolist() == pytest.approx([3.0, 4.0, 0.9])
    assert glob[0, 15:21].tolist() == pytest.approx([0, 0, 0, 1.0, 0, 0])
    local = compute_add_disc_obs(root_pos, root_rot, vel, ang_vel, joint_rot, dof_vel, body_pos, False)
    assert local[0, :3].tolist() == pytest.approx([0.0, 0.0, 0.9])  # xy zeroed
    assert local[0, 15:21].tolist() == pytest.approx([0, 0, 0, 0.0, -1.0, 0], abs=1e-6)  # own heading frame
    assert local[0, 21:24].tolist() == pytest.approx([0.0, -1.0, 0.0], abs=1e-6) and local[0, -1] == 0.25


@pytest.fixture(scope="module", params=["amp", "add"])
def adversarial_env(request):
    torch.manual_seed(0)
    env = build_env(str(REPO_ROOT / f"data/envs/{request.param}_humanoid_env.yaml"), ENGINE, 3)
    yield request.param, env
    env.close()


def test_documented_sizes(adversarial_env):
    name, env = adversarial_env
    assert (env.obs_dim, env.disc_obs_dim) == {"amp": (140, 1420), "add": (464, 172)}[name]
    assert env.fetch_disc_obs_demo(5).shape == (5, env.disc_obs_dim)


def test_reset_fills_the_history_with_the_reference_window(adversarial_env):
    _, env = adversarial_env
    env.set_mode(EnvMode.TRAIN)
    env.reset()
    ids = torch.arange(env.num_envs)
    window = env._reference_window(env.motion_ids, env.motion_time(ids))
    assert torch.allclose(env._encode_disc_obs(env.disc_history), env._encode_disc_obs(window))
    _, reward, _done, info = env.step(torch.zeros(env.num_envs, 28))
    assert torch.count_nonzero(reward) == 0  # the discriminator pays, not the env
    assert info["disc_obs"].shape == (env.num_envs, env.disc_obs_dim)
    # the newest history entry is the simulated state after the step
    assert torch.allclose(env.disc_history["root_pos"][:, -1], env.engine.get_root_pos(env.char_id))


def test_add_reference_window_follows_the_clip_and_amp_never_succeeds(adversarial_env):
    name, env = adversarial_env
    env.set_mode(EnvMode.TRAIN)
    env.reset()
    _, _, _, info = env.step(torch.zeros(env.num_envs, 28))
    if name == "add":
        ref = env._encode_disc_obs({k: v[:, None] for k, v in env._ref.items() if k in env.disc_history})
        assert torch.allclose(info["disc_obs_demo"], ref)
    else:
        env.motion_time_offset[:] = 1e3  # far past the end of any clip
        _, _, done, _ = env.step(torch.zeros(env.num_envs, 28))
        assert not (done == int(DoneFlags.SUCC)).any()


def test_tracking_reward_keys_are_ignored_by_the_adversarial_envs_and_checked_by_deepmimic(capsys):
    """The tracking reward's settings (its weights and scales, root_rot_err_w, joint_err_w, track_root_xy) are read
    by DeepMimic alone: an AMP-family config may carry them (upstream's do) and is told they are unread, while a
    DeepMimic config has them checked."""
    from mimickit.envs.amp_env import AMP_SCHEMA
    from mimickit.envs.deepmimic_env import DEEPMIMIC_SCHEMA
    from mimickit.util.config import ConfigError, load_yaml
    from mimickit.util.schema import validate

    tracking = {"root_rot_err_w": -1.0, "joint_err_w": [1.0, -2.0], "track_root_xy": "banana"}
    amp_config = load_yaml(REPO_ROOT / "data/envs/amp_humanoid_env.yaml")
    amp = validate({**amp_config, **tracking}, AMP_SCHEMA, "amp.yaml")
    assert not set(tracking) & set(amp)
    assert "note: amp.yaml: joint_err_w, root_rot_err_w, track_root_xy not read by this env" in capsys.readouterr().out
    deepmimic_config = load_yaml(REPO_ROOT / "data/envs/deepmimic_humanoid_env.yaml")
    assert validate(deepmimic_config, DEEPMIMIC_SCHEMA, "deepmimic.yaml")["root_rot_err_w"] == 0.1
    for key, value in tracking.items():
        with pytest.raises(ConfigError, match=f"deepmimic.yaml: {key}"):
            validate({**deepmimic_config, key: value}, DEEPMIMIC_SCHEMA, "deepmimic.yaml")
