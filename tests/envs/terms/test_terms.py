import math

import pytest
import torch

from mimickit.envs.base_env import DoneFlags
from mimickit.envs.terms import metrics
from mimickit.envs.terms.observations import compute_char_obs, compute_phase_obs, compute_target_obs
from mimickit.envs.terms.rewards import (
    TRACKING_TERMS,
    TrackingState,
    compose_reward,
    configured_terms,
    reward_schema,
    tracking_frames,
)
from mimickit.envs.terms.terminations import compute_done, contact_failure, pose_failure
from mimickit.util import rotations as rot

WEIGHTS = {"pose": 0.5, "vel": 0.1, "root_pose": 0.15, "root_vel": 0.1, "key_pos": 0.15}
SCALES = {"pose": 0.25, "vel": 0.01, "root_pose": 5.0, "root_vel": 1.0, "key_pos": 10.0}
HUMANOID_CONFIG = {**{f"reward_{t}_w": w for t, w in WEIGHTS.items()},
                   **{f"reward_{t}_scale": s for t, s in SCALES.items()}}
HUMANOID_REWARD = configured_terms(HUMANOID_CONFIG, TRACKING_TERMS)


def random_state(n=4, seed=0, joints=14, dofs=28, keys=5):
    g = torch.Generator().manual_seed(seed)
    return TrackingState(root_pos=torch.randn(n, 3, generator=g),
                         root_rot=rot.quat_unit(torch.randn(n, 4, generator=g)),
                         root_vel=torch.randn(n, 3, generator=g), root_ang_vel=torch.randn(n, 3, generator=g),
                         joint_rot=rot.quat_unit(torch.randn(n, joints, 4, generator=g)),
                         dof_vel=torch.randn(n, dofs, generator=g), key_pos=torch.randn(n, keys, 3, generator=g))


def reward(sim, ref, track_root=True, terms=HUMANOID_REWARD, track_root_xy=True, root_rot_err_w=0.1):
    return compose_reward(tracking_frames(sim, ref, torch.ones(14), torch.ones(28), track_root, True,
                                          track_root_xy, root_rot_err_w), terms)


@pytest.mark.parametrize("track_root", [True, False])
def test_reward_is_exactly_one_when_character_equals_reference(track_root):
    state = random_state()
    total, terms = reward(state, state, track_root)
    assert torch.allclose(total, torch.ones(4), atol=1e-6)
    for value in terms.values():
        assert torch.allclose(value, torch.ones(4), atol=1e-6)


def test_reward_terms_on_known_errors():
    ref = random_state(1)
    sim = random_state(1)
    for f in ("root_pos", "root_rot", "root_vel", "root_ang_vel", "joint_rot", "key_pos"):
        setattr(sim, f, getattr(ref, f).clone())
    sim.dof_vel = ref.dof_vel + 2.0  # every DoF velocity off by 2 rad/s: vel_err = 28 * 4 = 112
    sim.joint_rot = ref.joint_rot.clone()
    sim.joint_rot[:, 0] = rot.quat_mul(ref.joint_rot[:, 0], rot.axis_angle_to_quat(torch.tensor([0.0, 0, 1]),
                                                                                     torch.tensor(0.5)))
    total, terms = reward(sim, ref)
    assert terms["vel"].item() == pytest.approx(math.exp(-0.01 * 112), rel=1e-5)
    assert terms["pose"].item() == pytest.approx(math.exp(-0.25 * 0.25), rel=1e-4)
    expected = 0.5 * math.exp(-0.0625) + 0.1 * math.exp(-1.12) + 0.15 + 0.1 + 0.15
    assert total.item() == pytest.approx(expected, rel=1e-4)


def test_reward_root_position_error_respects_tracking_mode():
    ref = random_state(1)
    sim = random_state(1)
    for f in ("root_rot", "root_vel", "root_ang_vel", "joint_rot", "dof_vel"):
        setattr(sim, f, getattr(ref, f).clone())
    sim.root_pos = ref.root_pos + torch.tensor([0.3, 0.0, 0.0])
    sim.key_pos = ref.key_pos + torch.tensor([0.3, 0.0, 0.0])  # whole body shifted
    _, tracked = reward(sim, ref, track_root=True)
    _, untracked = reward(sim, ref, track_root=False)
    assert tracked["root_pose"].item() == pytest.approx(math.exp(-5.0 * 0.09), rel=1e-5)
    assert untracked["root_pose"].item() == pytest.approx(1.0)  # horizontal offset ignored
    assert tracked["key_pos"].item() == pytest.approx(1.0)  # key positions are root-relative


def test_reward_without_root_xy_keeps_world_heading_and_height():
    """track_root_xy False: a horizontal drift costs nothing, but the world-frame comparison stays (a turned
    root and a lowered root still cost what they cost with global tracking)."""
    ref = random_state(1)
    sim = random_state(1)
    for f in ("root_rot", "root_vel", "root_ang_vel", "joint_rot", "dof_vel"):
        setattr(sim, f, getattr(ref, f).clone())
    sim.root_pos = ref.root_pos + torch.tensor([0.3, -0.2, 0.0])
    sim.key_pos = ref.key_pos + torch.tensor([0.3, -0.2, 0.0])
    _, drifted = reward(sim, ref, track_root_xy=False)
    assert drifted["root_pose"].item() == pytest.approx(1.0)
    sim.root_pos = sim.root_pos + torch.tensor([0.0, 0.0, -0.1])
    sim.root_rot = rot.quat_mul(rot.axis_angle_to_quat(torch.tensor([[0.0, 0.0, 1.0]]), torch.tensor([0.5])),
                                ref.root_rot)
    _, lowered = reward(sim, ref, track_root_xy=False)
    assert lowered["root_pose"].item() == pytest.approx(math.exp(-5.0 * (0.01 + 0.1 * 0.25)), rel=1e-4)


def test_reward_is_composed_from_the_configured_terms():
    """The config keys are generated from the terms an env offers; a term with weight 0 adds nothing, and a subset
    of the terms composes just those."""
    assert sorted(reward_schema(TRACKING_TERMS)) == sorted(HUMANOID_CONFIG)
    ref, sim = random_state(2, seed=1), random_state(2, seed=2)
    total, values = reward(sim, ref)
    assert torch.allclose(total, sum(WEIGHTS[t] * values[t] for t in WEIGHTS))
    no_vel = configured_terms({**HUMANOID_CONFIG, "reward_vel_w": 0.0}, TRACKING_TERMS)
    assert torch.allclose(reward(sim, ref, terms=no_vel)[0], total - 0.1 * values["vel"])
    pose_only = configured_terms(HUMANOID_CONFIG, {"pose": TRACKING_TERMS["pose"]})
    pose_total, pose_values = reward(sim, ref, terms=pose_only)
    assert list(pose_values) == ["pose"] and torch.allclose(pose_total, 0.5 * values["pose"])


def test_char_obs_layout_and_size():
    s = random_state(3)
    root_pos = s.root_pos.clone()
    root_pos[:, 2] = torch.tensor([0.5, 0.9, 1.2])
    obs = compute_char_obs(root_pos, s.root_rot, s.root_vel, s.root_ang_vel, s.joint_rot, s.dof_vel, s.key_pos,
                           global_obs=True, root_height_obs=True)
    assert obs.shape == (3, 140)
    assert torch.equal(obs[:, 0], root_pos[:, 2])
    assert torch.allclose(obs[:, 1:7], rot.quat_to_tan_norm(s.root_rot))
    assert torch.allclose(obs[:, 97:125], s.dof_vel)
    assert torch.allclose(obs[:, 125:128], s.key_pos[:, 0] - root_pos)
    local = compute_char_obs(root_pos, s.root_rot, s.root_vel, s.root_ang_vel, s.joint_rot, s.dof_vel, s.key_pos,
                             global_obs=False, root_height_obs=False)
    assert local.shape == (3, 139)


def test_local_char_obs_is_invariant_to_heading():
    s = random_state(2)
    turn = rot.heading_to_quat(torch.tensor([1.3, -2.0]))
    obs = compute_char_obs(s.root_pos, s.root_rot, s.root_vel, s.root_ang_vel, s.joint_rot, s.dof_vel, s.key_pos,
                           False, True)
    turned = compute_char_obs(rot.quat_rotate(turn, s.root_pos), rot.quat_mul(turn, s.root_rot),
                              rot.quat_rotate(turn, s.root_vel), rot.quat_rotate(turn, s.root_ang_vel), s.joint_rot,
                              s.dof_vel, rot.quat_rotate(turn[:, None], s.key_pos), False, True)
    assert torch.allclose(obs, turned, atol=1e-5)


def test_target_obs_size_and_values():
    n, steps = 2, 3
    g = torch.Generator().manual_seed(1)
    tar_root_pos = torch.randn(n, steps, 3, generator=g)
    tar_root_rot = rot.quat_unit(torch.randn(n, steps, 4, generator=g))
    tar_joint_rot = rot.quat_unit(torch.randn(n, steps, 14, 4, generator=g))
    tar_key = torch.randn(n, steps, 5, 3, generator=g)
    char_root = torch.randn(n, 3, generator=g)
    obs = compute_target_obs(char_root, tar_root_pos, tar_root_rot, tar_joint_rot, tar_key, True, True)
    assert obs.shape == (n, 324)  # 140 + 324 = 464, the humanoid DeepMimic observation
    frame = obs.reshape(n, steps, 108)
    assert torch.allclose(frame[..., :2], tar_root_pos[..., :2] - char_root[:, None, :2])
    assert torch.allclose(frame[..., 2], tar_root_pos[..., 2])
    assert torch.allclose(frame[..., 93:96], tar_key[:, :, 0] - tar_root_pos)


def test_phase_obs():
    obs = compute_phase_obs(torch.tensor([0.0, 0.25]), 2)
    assert obs.shape == (2, 5)
    assert torch.allclose(obs[1], torch.tensor([0.25, 1.0, 0.0, 0.0, -1.0]), atol=1e-6)


def test_contact_failure_ignores_allowed_bodies():
    forces = torch.zeros(3, 4, 3)
    forces[0, 1, 2] = 50.0  # an allowed body (foot) on the ground
    forces[1, 2, 0] = -0.5  # a forbidden body touches the ground
    forces[2, 2, 2] = 0.05  # below the 0.1 N threshold
    allowed = torch.tensor([False, True, False, False])
    assert contact_failure(forces, allowed).tolist() == [False, True, False]


def test_pose_failure_threshold():
    ref = torch.zeros(2, 3, 3)
    body = ref.clone()
    body[0, 2] = torch.tensor([0.0, 0.9, 0.0])
    body[1, 1] = torch.tensor([0.0, 0.0, 1.1])
    assert pose_failure(body, ref, 1.0, align_root_xy=False).tolist() == [False, True]


def test_pose_failure_aligned_on_root_xy_ignores_drift_only():
    """A character walked 2 m off its reference, otherwise in pose, fails only in world positions; a body that
    strays from the pose, or a root that drops, fails either way."""
    ref = torch.zeros(3, 3, 3)
    body = ref + torch.tensor([2.0, -1.5, 0.0])  # all three characters drifted
    body[1, 2, 0] += 1.2  # a hand 1.2 m out of pose
    body[2, :, 2] -= 1.1  # the whole character 1.1 m too low
    assert pose_failure(body, ref, 1.0, align_root_xy=False).tolist() == [True, True, True]
    assert pose_failure(body, ref, 1.0, align_root_xy=True).tolist() == [False, True, True]


def test_done_flags_priority():
    time = torch.tensor([0.0, 5.0, 10.0, 10.0, 3.0, 0.0])
    ended = torch.tensor([False, True, False, True, False, False])
    failed = torch.tensor([False, False, False, True, True, True])
    done = compute_done(time, 10.0, ended, failed)
    assert done.tolist() == [DoneFlags.NULL, DoneFlags.SUCC, DoneFlags.TIME, DoneFlags.FAIL, DoneFlags.FAIL,
                             DoneFlags.NULL]  # a fresh reset (time 0) never fails


def test_tracking_metrics_known_values(humanoid):
    ref = torch.zeros(1, 15, 3)
    ref[0, :, 2] = torch.linspace(0, 1, 15)
    shifted = ref + torch.tensor([0.15, 0.0, 0.0])  # whole body shifted: only the root term counts
    assert metrics.position_tracking_error(shifted, ref).item() == pytest.approx(0.15 / 15)
    bent = ref.clone()
    bent[0, 3] += torch.tensor([0.0, 0.3, 0.0])
    assert metrics.position_tracking_error(bent, ref).item() == pytest.approx(0.3 / 15)
    dof_vel = torch.zeros(1, 28)
    dof_vel[0, 0:3] = torch.tensor([3.0, 4.0, 0.0])  # abdomen off by 5 rad/s
    dof_vel[0, 9] = -1.0  # right elbow off by 1 rad/s
    err = metrics.dof_velocity_error(humanoid, torch.zeros(1, 3), torch.zeros(1, 3), dof_vel, torch.zeros(1, 28))
    assert err.item() == pytest.approx(6.0 / 15)


@pytest.mark.parametrize("root_rot_err_w", [0.1, 1.0])
def test_root_rotation_weight_scales_the_root_pose_error(root_rot_err_w):
    ref = random_state(1)
    sim = random_state(1)
    for f in ("root_pos", "root_vel", "root_ang_vel", "joint_rot", "dof_vel", "key_pos"):
        setattr(sim, f, getattr(ref, f).clone())
    turn = rot.axis_angle_to_quat(torch.tensor([0.0, 0, 1]), torch.tensor(0.5))  # the root turned 0.5 rad in yaw
    sim.root_rot = rot.quat_mul(turn[None], ref.root_rot)
    _, terms = reward(sim, ref, root_rot_err_w=root_rot_err_w)
    assert terms["root_pose"].item() == pytest.approx(math.exp(-5.0 * root_rot_err_w * 0.25), rel=1e-4)
