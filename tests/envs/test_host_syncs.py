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


def test_deepmimic_env_step_on_the_warp_engine_makes_no_host_syncs():
    env = build_env(str(REPO_ROOT / "data/envs/deepmimic_humanoid_env.yaml"),
                    str(REPO_ROOT / "data/engines/mujoco_warp_engine.yaml"), 4)
    try:
        env.reset()
        action = torch.zeros(4, env.action_bounds[0].numel())
        env.step(action)
        with HostSyncCounter() as counter:
            for _ in range(3):
                env.step(action)
        with HostSyncCounter() as control:  # the counter sees a syncing call when there is one
            bool(env.done.any())
    finally:
        env.close()
    assert dict(counter.calls) == {}
    assert control.calls["__bool__"] == 1
