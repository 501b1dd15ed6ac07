"""The environment's step makes no host round trips: on a GPU every ``.item()``, ``.tolist()``, ``.cpu()``, tensor
truth test or ``nonzero`` waits for the device. Counted on the CPU with a torch function mode over the calls that
would synchronise, for a DeepMimic env on the MuJoCo Warp engine (whose physics stays on the device too)."""

import collections

import pytest
import torch
from torch.overrides import TorchFunctionMode

from mimickit.envs.env_builder import build_env

from ..conftest import REPO_ROOT

pytest.importorskip("mujoco_warp")

SYNCING = {"item", "tolist", "numpy", "cpu", "__bool__", "__int__", "__float__", "nonzero"}


class HostSyncCounter(TorchFunctionMode):
    def __init__(self):
        super().__init__()
        self.calls = collections.Counter()

    def __torch_function__(self, func, types, args=(), kwargs=None):
        name = getattr(func, "__name__", "")
        if name in SYNCING:
            self.calls[name] += 1
        return func(*args, **(kwargs or {}))


def count_syncs_over_steps(env, steps: int) -> HostSyncCounter:
    """The syncing calls of ``steps`` env steps with zero actions, after one uncounted warm-up step."""
    action = torch.zeros(env.num_envs, env.action_bounds[0].numel())
    env.step(action)
    with HostSyncCounter() as counter:
        for _ in range(steps):
            env.step(action)
    return counter


def test_deepmimic_env_step_on_the_warp_engine_makes_no_host_syncs():
    env = build_env(str(REPO_ROOT / "data/envs/deepmimic_humanoid_env.yaml"),
                    str(REPO_ROOT / "data/engines/mujoco_warp_engine.yaml"), 4)
    try:
        env.reset()
        counter = count_syncs_over_steps(env, 3)
        with HostSyncCounter() as control:  # the counter sees a syncing call when there is one
            bool(env.done.any())
    finally:
        env.close()
    assert dict(counter.calls) == {}
    assert control.calls["__bool__"] == 1


@pytest.mark.parametrize("env_file, agent_file, by_mask, syncs", [
    ("deepmimic_humanoid_env.yaml", "deepmimic_humanoid_ppo_cpu_agent.yaml", True, {}),
    ("deepmimic_humanoid_env.yaml", "deepmimic_humanoid_ppo_cpu_agent.yaml", False, {"nonzero": 3}),
    ("amp_humanoid_env.yaml", "amp_humanoid_cpu_agent.yaml", True, {}),
    ("add_humanoid_env.yaml", "add_humanoid_cpu_agent.yaml", True, {})])
def test_training_rollout_with_resets_syncs_only_where_it_resets_by_ids(env_file, agent_file, by_mask, syncs):
    """A rollout whose envs all finish within it (DeepMimic, AMP, ADD): resets by mask (the accelerator's way)
    make no host sync; resets by ids (the CPU's way: only the finished rows' work) need one nonzero per step."""
    from mimickit.envs.base_env import EnvMode
    from mimickit.learning.agent_builder import build_agent
    from mimickit.learning.runner import Runner

    env = build_env(str(REPO_ROOT / "data/envs" / env_file), str(REPO_ROOT / "data/engines/mujoco_warp_engine.yaml"), 4)
    try:
        runner = Runner(env, build_agent(str(REPO_ROOT / "data/agents" / agent_file), env))
        runner.reset_by_mask = by_mask
        runner.set_mode(EnvMode.TRAIN)
        env.episode_length = 2 * env.engine.timestep  # every episode ends after 2 steps: resets in every rollout
        with torch.no_grad():
            obs = runner.rollout(runner._reset_all(), 2)
            with HostSyncCounter() as counter:
                runner.rollout(obs, 3)
        assert int(runner.train_tracker.episodes_per_env.min()) >= 2  # every env finished episodes in there
    finally:
        env.close()
    assert dict(counter.calls) == syncs


@pytest.mark.parametrize("by_mask, syncs", [(True, {}), (False, {"nonzero": 3})])
def test_pushes_by_mask_make_no_host_sync(tmp_path, by_mask, syncs):
    """Random pushes (domain randomisation) in TRAIN steps: by mask (an accelerator's way) no host sync; by ids
    (the CPU's way) one nonzero per step."""
    from mimickit.envs.base_env import EnvMode

    config = tmp_path / "pushed.yaml"
    config.write_text((REPO_ROOT / "data/envs/deepmimic_humanoid_env.yaml").read_text()
                      + "randomization: {push_interval: [0.03, 0.03], push_vel: 1.0}\n")
    env = build_env(str(config), str(REPO_ROOT / "data/engines/mujoco_warp_engine.yaml"), 4)
    try:
        env.push_by_mask = by_mask
        env.set_mode(EnvMode.TRAIN)
        env.reset()
        counter = count_syncs_over_steps(env, 3)
        assert float(env._pushes.next_push.min()) > 0.06  # pushes came during the counted steps
    finally:
        env.close()
    assert dict(counter.calls) == syncs
