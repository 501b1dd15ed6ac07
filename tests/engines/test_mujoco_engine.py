import math

import mujoco
import numpy as np
import pytest
import torch

from mimickit.engines.engine import ControlMode, build_engine, load_engine_config
from mimickit.util import rotations as rot
from mimickit.util.config import ConfigError

from ..conftest import HUMANOID_XML, REPO_ROOT

ENGINE_YAML = REPO_ROOT / "data/engines/mujoco_engine.yaml"
WARP_ENGINE_YAML = REPO_ROOT / "data/engines/mujoco_warp_engine.yaml"


def _warp_available():
    try:
        import mujoco_warp  # noqa: F401
    except ImportError:
        return False
    return True


# every test taking `engine_yaml` runs against both backends (MuJoCo Warp on Warp's CPU device)
BACKENDS = [pytest.param(ENGINE_YAML, id="mujoco"),
            pytest.param(WARP_ENGINE_YAML, id="mujoco_warp",
                         marks=pytest.mark.skipif(not _warp_available(), reason="pip install mujoco-warp"))]


@pytest.fixture(params=BACKENDS)
def engine_yaml(request):
    return request.param
INIT_ROOT_POS = torch.tensor([0.0, 0.0, 0.882416])


def init_dofs(n):
    dof = torch.zeros(n, 28)
    dof[:, 6], dof[:, 10] = 1.5708, -1.5708  # arms down from the T-pose
    return dof


def make_engine(engine_yaml, num_envs=4, **overrides):
    config = load_engine_config(engine_yaml, overrides)
    engine = build_engine(config, num_envs)
    char = engine.add_character(str(HUMANOID_XML), start_pos=INIT_ROOT_POS.tolist())
    engine.initialize()
    engine.set_state(char, root_pos=INIT_ROOT_POS, root_rot=torch.tensor([0.0, 0, 0, 1]),
                     root_vel=torch.zeros(3), root_ang_vel=torch.zeros(3), dof_pos=init_dofs(num_envs),
                     dof_vel=torch.zeros(28))
    return engine, char


def full_state(engine, char):
    return torch.cat([engine.get_root_pos(char), engine.get_root_rot(char), engine.get_root_vel(char),
                      engine.get_root_ang_vel(char), engine.get_dof_pos(char), engine.get_dof_vel(char)], dim=-1)


def random_actions(num_steps, num_envs, seed):
    g = torch.Generator().manual_seed(seed)
    return [init_dofs(num_envs) + 0.3 * torch.randn(num_envs, 28, generator=g) for _ in range(num_steps)]


def test_holds_initial_pose_standing_for_two_seconds(engine_yaml):
    engine, char = make_engine(engine_yaml, 2)
    for _ in range(60):  # 2 s at 30 Hz
        engine.set_cmd(char, init_dofs(2))
        faults = engine.step()
        assert not faults.any()
        assert torch.all(engine.get_root_pos(char)[:, 2] > 0.8)
    assert (engine.get_dof_pos(char) - init_dofs(2)).abs().max() < 0.05


def test_identical_actions_give_bit_identical_states_across_runs_and_thread_counts():
    results = []
    for threads in (1, 2, 2):
        engine, char = make_engine(ENGINE_YAML, 6, num_threads=threads)
        for action in random_actions(20, 6, seed=3):
            engine.set_cmd(char, action)
            engine.step()
        results.append(full_state(engine, char))
    assert torch.equal(results[0], results[1]) and torch.equal(results[1], results[2])


def test_close_shuts_the_thread_pool_and_a_closed_engine_refuses_to_step(engine_yaml):
    engine, _ = make_engine(engine_yaml, 4)
    engine.step()
    engine.close()
    engine.close()  # closing twice is harmless
    with pytest.raises(RuntimeError, match="engine was closed"):
        engine.step()


def test_resetting_a_subset_leaves_other_envs_untouched(engine_yaml):
    actions = random_actions(16, 5, seed=4)
    engine_a, char = make_engine(engine_yaml, 5)
    engine_b, _ = make_engine(engine_yaml, 5)
    reset_ids = torch.tensor([1, 3])
    for k, action in enumerate(actions):
        if k == 8:
            engine_b.set_state(char, reset_ids, root_pos=torch.tensor([1.0, 2.0, 1.0]), root_vel=torch.zeros(3),
                               dof_pos=torch.zeros(28), dof_vel=torch.zeros(28))
            assert torch.allclose(engine_b.get_root_pos(char)[reset_ids], torch.tensor([1.0, 2.0, 1.0]))
        for engine in (engine_a, engine_b):
            engine.set_cmd(char, action)
            engine.step()
    keep = torch.tensor([0, 2, 4])
    assert torch.equal(full_state(engine_a, char)[keep], full_state(engine_b, char)[keep])
    assert not torch.equal(full_state(engine_a, char)[reset_ids], full_state(engine_b, char)[reset_ids])


def test_held_envs_keep_their_state_and_the_others_step_as_if_none_were_held():
    actions = random_actions(12, 5, seed=5)
    engine_a, char = make_engine(ENGINE_YAML, 5, num_threads=2)
    engine_b, _ = make_engine(ENGINE_YAML, 5, num_threads=2)
    for engine in (engine_a, engine_b):  # the envs differ before the hold
        for action in actions[:4]:
            engine.set_cmd(char, action)
            engine.step()
    held = torch.tensor([False, True, False, True, True])
    frozen = full_state(engine_b, char)[held]
    engine_b.hold_envs(held)
    for action in actions[4:8]:
        for engine in (engine_a, engine_b):
            engine.set_cmd(char, action)
            engine.step()
    assert torch.equal(full_state(engine_b, char)[held], frozen)
    assert torch.equal(full_state(engine_b, char)[~held], full_state(engine_a, char)[~held])
    engine_b.hold_envs(torch.ones(5, dtype=torch.bool))  # all held: nothing moves
    engine_b.set_cmd(char, actions[8])
    before = full_state(engine_b, char)
    engine_b.step()
    assert torch.equal(full_state(engine_b, char), before)
    engine_b.hold_envs(None)  # every env steps again
    engine_b.step()
    assert not torch.equal(full_state(engine_b, char)[held], frozen)


def test_torque_mode_applies_clipped_torques(engine_yaml):
    engine, char = make_engine(engine_yaml, 2, control_mode="torque")
    limits = engine.get_torque_limits(char)
    cmd = torch.zeros(2, 28)
    cmd[0, 17] = 1000.0  # right knee, limit 150
    cmd[0, 9] = -20.0  # right elbow, within its 70 N m limit
    cmd[1, 0:3] = torch.tensor([500.0, -500.0, 50.0])  # abdomen, limit 200
    engine.set_cmd(char, cmd)
    engine.step()
    applied = engine.get_dof_forces(char)
    expected = torch.maximum(torch.minimum(cmd, limits), -limits)
    assert torch.allclose(applied, expected, atol=1e-4)
    assert applied[0, 17].item() == pytest.approx(150.0)


def test_pos_mode_reports_pd_gains_and_limits_from_the_asset(engine_yaml):
    engine, char = make_engine(engine_yaml, 1)
    kp, kd = engine.get_pd_gains(char)
    assert kp[0].item() == 1000 and kd[0].item() == 100 and kp[17].item() == 500 and kd[9].item() == 30
    assert engine.get_torque_limits(char)[3].item() == 50
    km = engine.get_kin_char_model(char)
    assert km.dof_low[9].item() == 0.0 and km.dof_high[9].item() == pytest.approx(2.7925)
    assert engine.scene.mass == pytest.approx(50.05, abs=0.01)


def test_ground_contact_forces_on_a_hand_pushed_into_the_floor_only(engine_yaml):
    engine, char = make_engine(engine_yaml, 1, control_mode="none")
    km = engine.get_kin_char_model(char)
    upside_down = torch.tensor([1.0, 0.0, 0.0, 0.0])  # 180 deg about x: head down, legs up
    dof = torch.zeros(1, 28)
    dof[0, 6] = -math.pi / 2  # right arm along the body, so in the handstand it reaches below the head
    # right hand centre 1.013 m from the root along the body; sphere radius 4 cm; 5 mm into the floor
    engine.set_state(char, root_pos=torch.tensor([0.0, 0.0, 1.048]), root_rot=upside_down, dof_pos=dof,
                     root_vel=torch.zeros(3), dof_vel=torch.zeros(28))
    hands = [km.get_body_id("right_hand"), km.get_body_id("left_hand")]
    body_pos = engine.get_body_pos(char)[0]
    assert body_pos[hands[0], 2] < 0.04 < 0.5 < body_pos[hands[1], 2]  # right hand sphere below the floor
    engine.step()
    forces = engine.get_ground_contact_forces(char)[0]
    assert forces[hands[0], 2] > 1.0  # the floor pushes the right hand up
    assert torch.all(forces[hands[1]] == 0.0)


def test_state_after_set_matches_mujoco_kinematics(engine_yaml):
    engine, char = make_engine(engine_yaml, 3, control_mode="none")
    km = engine.get_kin_char_model(char)
    g = torch.Generator().manual_seed(5)
    root_pos = torch.randn(3, 3, generator=g)
    root_rot = rot.quat_unit(torch.randn(3, 4, generator=g))
    dof_pos = 0.8 * torch.randn(3, 28, generator=g)
    root_vel, root_ang_vel = torch.randn(3, 3, generator=g), torch.randn(3, 3, generator=g)
    dof_vel = torch.randn(3, 28, generator=g)
    engine.set_state(char, root_pos=root_pos, root_rot=root_rot, root_vel=root_vel, root_ang_vel=root_ang_vel,
                     dof_pos=dof_pos, dof_vel=dof_vel)
    # read back what was written
    assert torch.allclose(engine.get_root_pos(char), root_pos, atol=1e-6)
    assert torch.all(rot.quat_diff_angle(engine.get_root_rot(char), root_rot) < 1e-5)
    assert torch.allclose(engine.get_root_ang_vel(char), root_ang_vel, atol=1e-5)
    assert torch.all(rot.quat_diff_angle(km.dof_to_rot(engine.get_dof_pos(char)), km.dof_to_rot(dof_pos)) < 1e-5)
    assert torch.all(rot.quat_diff_angle(engine.get_joint_rot(char), km.dof_to_rot(dof_pos)) < 1e-5)
    assert torch.allclose(engine.get_dof_vel(char), dof_vel, atol=1e-6)
    # body poses agree with MuJoCo's own kinematics of the stored state
    model, data = engine.model, mujoco.MjData(engine.model)
    bodies = list(range(1, 16))
    for i in range(3):
        data.qpos[:], data.qvel[:] = engine._qpos[i].numpy(), engine._qvel[i].numpy()
        mujoco.mj_forward(model, data)
        assert np.abs(data.xpos[bodies] - engine.get_body_pos(char)[i].numpy()).max() < 1e-5
        mj_rot = torch.tensor(data.xquat[bodies][:, [1, 2, 3, 0]], dtype=torch.float32)
        assert torch.all(rot.quat_diff_angle(mj_rot, engine.get_body_rot(char)[i]) < 1e-4)


def test_forced_nan_in_one_env_is_reported_and_only_that_env_reset(engine_yaml):
    actions = random_actions(6, 4, seed=6)
    clean, char = make_engine(engine_yaml, 4)
    faulty, _ = make_engine(engine_yaml, 4)
    for k, action in enumerate(actions):
        if k == 3:
            faulty.set_state(char, torch.tensor([2]), dof_vel=torch.full((28,), float("nan")))
        for engine in (clean, faulty):
            engine.set_cmd(char, action)
            faults = engine.step()
        if k == 3:
            assert faults.tolist() == [False, False, True, False]
    assert faulty.num_faults == 1 and clean.num_faults == 0
    state = full_state(faulty, char)
    assert torch.all(torch.isfinite(state)) and torch.all(torch.isfinite(faulty.get_ground_contact_forces(char)))
    keep = torch.tensor([0, 1, 3])
    assert torch.equal(state[keep], full_state(clean, char)[keep])


def test_exploding_velocity_counts_as_a_fault(engine_yaml):
    engine, char = make_engine(engine_yaml, 2, fault_max_vel=50.0)
    engine.set_state(char, torch.tensor([0]), root_vel=torch.tensor([500.0, 0.0, 0.0]))
    engine.set_cmd(char, init_dofs(2))
    assert engine.step().tolist() == [True, False]


def test_none_mode_is_a_passive_ragdoll(engine_yaml):
    engine, char = make_engine(engine_yaml, 1, control_mode="none")
    for _ in range(45):
        engine.set_cmd(char, init_dofs(1))
        engine.step()
    assert engine.get_root_pos(char)[0, 2] < 0.5
    assert torch.all(engine.get_dof_forces(char) == 0)


def test_vel_mode_drives_joint_velocity(engine_yaml):
    engine, char = make_engine(engine_yaml, 1, control_mode="vel")
    cmd = torch.zeros(1, 28)
    cmd[0, 9] = 1.0  # right elbow at 1 rad/s
    for _ in range(3):
        engine.set_cmd(char, cmd)
        engine.step()
    assert engine.get_dof_vel(char)[0, 9].item() == pytest.approx(1.0, abs=0.2)


@pytest.mark.parametrize("overrides, message", [
    ({"sim_freq": 100}, "integer multiple"),
    ({"control_mode": "position"}, "control_mode must be one of"),
    ({"substeps": 4}, "unknown key"),
    ({"control_mode": "pd_1d"}, "all 1-DoF"),
    ({"integrator": "verlet"}, "integrator must be one of"),
])
def test_bad_engine_configs_are_refused(engine_yaml, overrides, message):
    with pytest.raises(ConfigError, match=message):
        make_engine(engine_yaml, 1, **overrides)


def test_unknown_engine_name_is_refused():
    with pytest.raises(ConfigError, match="unknown engine_name 'bullet'"):
        build_engine({"engine_name": "bullet"}, 1)


UPSTREAM_ISAAC_GYM = {"engine_name": "isaac_gym", "control_mode": "pos", "control_freq": 30, "sim_freq": 120,
                      "env_spacing": 5, "ground_contact_height": 0.3}  # upstream's isaac_gym_engine.yaml


def test_upstream_engine_names_run_on_the_cpu_engine_with_a_notice(capsys):
    engine = build_engine(dict(UPSTREAM_ISAAC_GYM), 2, "cpu", source="isaac_gym_engine.yaml")
    assert type(engine).__name__ == "MujocoEngine" and engine.substeps == 4
    assert capsys.readouterr().out.strip() == (
        "note: isaac_gym_engine.yaml: upstream's engine_name 'isaac_gym' runs on MimicKit's mujoco engine on the "
        "CPU (pass --devices cuda:0 for MuJoCo Warp on a GPU)")


def test_upstream_engine_names_pick_mujoco_warp_for_a_cuda_run():
    from mimickit.engines.engine import upstream_engine_config

    newton = {"engine_name": "newton", "control_mode": "pos", "control_freq": 30, "sim_freq": 240, "env_spacing": 5}
    config = upstream_engine_config(newton, torch.device("cuda:0"), "newton_engine.yaml")
    expected = "mujoco_warp" if _warp_available() else "mujoco"
    assert config == {"engine_name": expected, "control_mode": "pos", "control_freq": 30, "sim_freq": 240}


def test_timesteps(engine_yaml):
    engine, _ = make_engine(engine_yaml, 1)
    assert engine.control_mode == ControlMode.POS
    assert engine.substeps == 4 and engine.timestep == pytest.approx(1 / 30)
    assert engine.sim_timestep == pytest.approx(1 / 120)


def test_static_object_collides_with_the_character(engine_yaml):
    config = load_engine_config(engine_yaml, {"control_mode": "none"})
    engine = build_engine(config, 1)
    char = engine.add_character(str(HUMANOID_XML), start_pos=(0.0, 0.0, 1.2))
    engine.add_static_object(str(REPO_ROOT / "tests/data/box.xml"), pos=(0.0, 0.0, 0.25))
    engine.initialize()
    lying = rot.axis_angle_to_quat(torch.tensor([0.0, 1.0, 0.0]), torch.tensor(math.pi / 2))
    engine.set_state(char, root_pos=torch.tensor([0.0, 0.0, 0.75]), root_rot=lying, root_vel=torch.zeros(3),
                     dof_vel=torch.zeros(28))
    for _ in range(30):
        engine.step()
    assert engine.get_root_pos(char)[0, 2] > 0.55  # resting on the 0.5 m box, not on the floor
    assert torch.all(engine.get_ground_contact_forces(char)[0, 0] == 0)  # the box is not the ground


def make_arm_engine(engine_yaml, mode):
    engine = build_engine(load_engine_config(engine_yaml, {"control_mode": mode}), 2)
    char = engine.add_character(str(REPO_ROOT / "tests/data/hinge_arm.xml"), start_pos=(0.0, 0.0, 0.2))
    engine.initialize()
    return engine, char


@pytest.mark.parametrize("mode", ["pd_1d", "pos"])
def test_one_dof_character_tracks_targets_with_explicit_and_implicit_pd(engine_yaml, mode):
    engine, char = make_arm_engine(engine_yaml, mode)
    kp, kd = engine.get_pd_gains(char)
    assert kp.tolist() == [1000.0] and kd.tolist() == [30.0]  # read from joint stiffness / damping
    assert engine.get_torque_limits(char).tolist() == [50.0]  # motor gear x ctrl range
    target = torch.tensor([[0.5], [-0.3]])
    for _ in range(45):
        engine.set_cmd(char, target)
        engine.step()
    # gravity on the arm (~11 N m at these angles) costs a steady-state error of ~0.011 rad at kp = 1000
    assert torch.allclose(engine.get_dof_pos(char), target, atol=0.02)
    assert torch.all(engine.get_dof_forces(char).abs() <= 50.0 + 1e-4)


def test_self_collisions_can_be_disabled(engine_yaml):
    def crossed_legs(self_collisions):
        engine = build_engine(load_engine_config(engine_yaml, {"control_mode": "none"}), 1)
        char = engine.add_character(str(HUMANOID_XML), enable_self_collisions=self_collisions)
        engine.initialize()
        dof = torch.zeros(1, 28)
        dof[0, 14] = 0.5  # right hip adducted: the right leg swung through the left one (siblings collide)
        engine.set_state(char, root_pos=torch.tensor([0.0, 0.0, 1.5]), dof_pos=dof, root_vel=torch.zeros(3),
                         dof_vel=torch.zeros(28))
        engine.step()
        return engine.get_dof_pos(char)[0, 14].item()
    # in free fall with no actuation only contacts change joint angles: with self collisions the legs are
    # pushed apart, without them the right leg stays where it was put
    assert abs(crossed_legs(False) - 0.5) < 0.01 < abs(crossed_legs(True) - 0.5)


@pytest.mark.parametrize("mode, edit, message", [
    ("torque", ('ctrlrange="-1 1" ctrllimited="true"', 'ctrllimited="false"'),
     r"needs a torque limit on every actuator .*\['shoulder'\]"),
    ("pos", ('stiffness="1000" damping="30" ', ''), r"needs PD gains, but the actuators of joints \['shoulder'\]"),
])
def test_assets_the_engine_cannot_drive_are_named(engine_yaml, tmp_path, mode, edit, message):
    xml = tmp_path / "arm.xml"
    xml.write_text((REPO_ROOT / "tests/data/hinge_arm.xml").read_text().replace(*edit))
    engine = build_engine(load_engine_config(engine_yaml, {"control_mode": mode}), 1)
    engine.add_character(str(xml))
    with pytest.raises(ConfigError, match=message) as err:
        engine.initialize()
    assert "arm.xml" in str(err.value)
