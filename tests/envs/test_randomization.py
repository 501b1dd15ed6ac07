"""Domain randomisation around the physics: per-env action delays, pushes and per-term observation noise, applied
in TRAIN mode only, checked on the state they act on."""

import pytest
import torch

from mimickit.envs.base_env import EnvMode
from mimickit.envs.randomization import ActionDelay, PushSchedule
from mimickit.learning.low_level import build_env
from mimickit.util.config import ConfigError

from ..conftest import REPO_ROOT

ENGINE = str(REPO_ROOT / "data/engines/mujoco_engine.yaml")


def test_each_env_applies_the_action_chosen_its_delay_ago():
    delay = ActionDelay(3, action_dim=1, delay=(0, 2), device=torch.device("cpu"))
    delay.reset(torch.arange(3))
    delay.delay[:] = torch.tensor([0, 1, 2])  # one env per delay
    applied = [delay(torch.full((3, 1), float(t))).flatten().tolist() for t in (1, 2, 3, 4)]
    # before an env has acted `delay` times its first action stands in for the older ones
    assert applied == [[1, 1, 1], [2, 1, 1], [3, 2, 1], [4, 3, 2]]
    delay.reset(torch.tensor([2]))
    delay.delay[2] = 2
    assert delay(torch.full((3, 1), 5.0)).flatten().tolist() == [5, 4, 5]  # env 2 starts over


def test_pushes_come_when_due_and_stay_within_their_speed():
    torch.manual_seed(0)
    pushes = PushSchedule(64, interval=(1.0, 2.0), push_vel=0.5, device=torch.device("cpu"))
    time = torch.zeros(64)
    pushes.reset(torch.arange(64), time)
    assert not pushes.due(time).any() and pushes.due(time + 2.0).all()
    dv = pushes.velocity_changes(torch.arange(64), time + 2.0)
    assert torch.all(dv[:, :2].norm(dim=-1) <= 0.5) and torch.all(dv[:, 2] == 0) and dv[:, :2].norm(dim=-1).max() > 0.3
    assert torch.all((pushes.next_push >= 3.0) & (pushes.next_push <= 4.0))  # the next one drawn from now


def randomized_env(tmp_path, randomization: str):
    config = tmp_path / "env.yaml"
    config.write_text((REPO_ROOT / "data/envs/deepmimic_humanoid_env.yaml").read_text()
                      + f"randomization: {randomization}\n")
    return build_env(str(config), ENGINE, 4)


def test_observation_noise_per_term_in_train_mode_only(tmp_path):
    torch.manual_seed(0)
    env = randomized_env(tmp_path, "{obs_noise: {char: 0.05}}")
    try:
        env.set_mode(EnvMode.TRAIN)
        env.reset()
        clean = env._compute_obs(None).clone()  # the state as observed without noise
        samples = torch.stack([env._noisy(clean) for _ in range(200)])
        char, target = env.obs_layout["char"], env.obs_layout["target"]
        assert samples[..., char].std(0).mean().item() == pytest.approx(0.05, rel=0.1)
        assert torch.equal(samples[..., target], clean[..., target].expand_as(samples[..., target]))
        env.set_mode(EnvMode.TEST)
        assert torch.equal(env._noisy(clean), clean)
    finally:
        env.close()


def pushed_and_plain_root_vels(tmp_path, pushes: str, by_mask: bool, steps: int, due=None):
    """Root velocities ``[steps, 4, 3]`` after each TRAIN step of an env with ``pushes`` and of its unpushed twin
    (same seed), pushed by ids or by mask; ``due`` sets the first push times ``[4]`` [s]. Also the pushed env's
    next push times after the steps."""
    runs, next_push = [], None
    for randomization in (pushes, "{}"):
        torch.manual_seed(3)
        env = randomized_env(tmp_path, randomization)
        env.push_by_mask = by_mask
        try:
            env.set_mode(EnvMode.TRAIN)
            env.reset()
            if env._pushes is not None and due is not None:
                env._pushes.next_push[:] = due
            vels = []
            for _ in range(steps):
                env.step(torch.zeros(4, 28))
                vels.append(env.char_state()["root_vel"].clone())
            runs.append(torch.stack(vels))
            if env._pushes is not None:
                next_push = env._pushes.next_push.clone()
        finally:
            env.close()
    return runs[0], runs[1], next_push


@pytest.mark.parametrize("by_mask", [False, True])
def test_pushed_envs_leave_the_unpushed_twin(tmp_path, by_mask):
    """Two envs from the same seed, one with pushes every 0.1 s: identical until the first push (control step 3 at
    30 Hz), then their root velocities part by up to the push speed; pushed by ids (the CPU's way) or by mask
    (an accelerator's: no host sync)."""
    pushed, plain, _ = pushed_and_plain_root_vels(tmp_path, "{push_interval: [0.1, 0.1], push_vel: 1.0}", by_mask, 4)
    assert torch.allclose(pushed[:2], plain[:2])  # steps 1-2: no push yet
    gap = (pushed[3, :, :2] - plain[3, :, :2]).norm(dim=-1)
    assert torch.all(gap > 0.01) and torch.all(gap < 1.5)


@pytest.mark.parametrize("by_mask", [False, True])
def test_only_the_envs_whose_push_is_due_are_pushed(tmp_path, by_mask):
    pushed, plain, next_push = pushed_and_plain_root_vels(
        tmp_path, "{push_interval: [5.0, 5.0], push_vel: 1.0}", by_mask, 1,
        due=torch.tensor([0.0, 100.0, 0.0, 100.0]))  # envs 0 and 2 due now
    assert next_push.tolist() == [5.0, 100.0, 5.0, 100.0]  # pushed at time 0, next in 5 s; the others unchanged
    assert torch.equal(pushed[0, [1, 3]], plain[0, [1, 3]])
    assert torch.all((pushed[0, [0, 2], :2] - plain[0, [0, 2], :2]).norm(dim=-1) > 1e-3)


def test_push_curriculum_sets_the_largest_push_by_samples(tmp_path):
    """push_vel_schedule: each iteration's pushes stay within the schedule's speed for the run's sample count (push_vel
    before its first entry), and the value is logged."""
    torch.manual_seed(0)
    env = randomized_env(tmp_path, "{push_interval: [0.1, 0.1], push_vel: 1.0, "
                                   "push_vel_schedule: [[1000, 0.2], [2000, 0.6]]}")
    try:
        env.set_mode(EnvMode.TRAIN)
        largest = {}
        for samples, expected in ((0, 1.0), (1000, 0.2), (1999, 0.2), (2000, 0.6)):
            assert env.begin_iteration(samples) == {"push_vel": expected}
            env.reset()
            before = env.char_state()["root_vel"].clone()
            ids = torch.arange(4)
            dv = env._pushes.velocity_changes(ids, env.time)
            largest[samples] = dv[:, :2].norm(dim=-1).max().item()
            assert largest[samples] <= expected + 1e-6
            assert torch.equal(env.char_state()["root_vel"], before)  # drawing a push changes no state
        assert largest[2000] > 0.2  # 4 draws in a disc of radius 0.6
    finally:
        env.close()


def test_bad_randomization_is_named(tmp_path):
    for bad, phrase in (("{obs_noise: {nose: 0.1}}", "randomization.obs_noise names ['nose']"),
                        ("{action_delay: [3, 1]}", "randomization.action_delay must be [min, max]"),
                        ("{push_vel: 1.0}", "pushes need both push_interval and push_vel"),
                        ("{push_vel_schedule: [[0, 0.5]]}", "push_vel_schedule needs pushes"),
                        ("{push_interval: [1, 2], push_vel: 1.0, push_vel_schedule: [[0, -1]]}",
                         "every value must be positive")):
        with pytest.raises(ConfigError, match=phrase.replace("[", r"\[").replace("]", r"\]")):
            randomized_env(tmp_path, bad)


def test_physics_scales_reach_each_env_s_own_model(tmp_path):
    """Friction, mass, PD gains and motor strength are drawn per env at each reset within their ranges and written
    into that env's model only; TEST episodes run on the nominal model."""
    torch.manual_seed(0)
    env = randomized_env(tmp_path, "{friction: [0.5, 1.5], mass: [0.8, 1.2], kp: [0.7, 1.3], kd: [0.7, 1.3], "
                                   "strength: [0.8, 1.0], com_offset: 0.05}")
    try:
        engine, nominal = env.engine, env.engine.model
        env.set_mode(EnvMode.TRAIN)
        env.reset()
        ratios = []
        for i in range(4):
            m = engine.env_model(i)
            assert m is not nominal
            r = {"friction": m.geom_friction[:, 0] / nominal.geom_friction[:, 0],
                 "mass": m.body_mass[1:] / nominal.body_mass[1:],
                 "kp": m.actuator_gainprm[:, 0] / nominal.actuator_gainprm[:, 0],
                 "kd": m.actuator_biasprm[:, 2] / nominal.actuator_biasprm[:, 2],
                 "strength": m.actuator_forcerange[:, 1] / nominal.actuator_forcerange[:, 1]}
            for key, (low, high) in {"friction": (0.5, 1.5), "mass": (0.8, 1.2), "kp": (0.7, 1.3), "kd": (0.7, 1.3),
                                     "strength": (0.8, 1.0)}.items():
                values = torch.as_tensor(r[key])
                assert torch.allclose(values, values[0].expand_as(values)), key  # one scale per env
                assert low - 1e-9 <= float(values[0]) <= high + 1e-9, (key, float(values[0]))
            assert abs(m.actuator_biasprm[0, 1] / m.actuator_gainprm[0, 0] + 1.0) < 1e-9  # a servo: bias = -kp
            shift = m.body_ipos - nominal.body_ipos  # only the root body's centre of mass moves, within 5 cm
            assert abs(shift[1]).max() <= 0.05 + 1e-12 and abs(shift[1]).max() > 0 and not shift[2:].any()
            ratios.append(float(r["friction"][0]))
        assert len(set(ratios)) == 4  # every env drew its own
        before = engine.env_model(1).geom_friction[0, 0]
        env.reset(torch.tensor([0]))
        assert engine.env_model(1).geom_friction[0, 0] == before  # a reset of env 0 leaves env 1 alone
        env.set_mode(EnvMode.TEST)
        env.reset()
        for i in range(4):
            assert float(engine.env_model(i).geom_friction[0, 0]) == float(nominal.geom_friction[0, 0])
            assert (engine.env_model(i).body_ipos == nominal.body_ipos).all()
    finally:
        env.close()


def test_an_engine_without_physics_randomisation_says_so(tmp_path):
    pytest.importorskip("mujoco_warp")
    config = tmp_path / "env.yaml"
    config.write_text((REPO_ROOT / "data/envs/deepmimic_humanoid_env.yaml").read_text()
                      + "randomization: {friction: [0.5, 1.5]}\n")
    with pytest.raises(ConfigError, match="does not randomise physics"):
        build_env(str(config), str(REPO_ROOT / "data/engines/mujoco_warp_engine.yaml"), 2)
