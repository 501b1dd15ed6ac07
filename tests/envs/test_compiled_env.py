"""The engine's ``compile`` key: the env's step code compiled by torch.compile computes what the eager code does."""

import re

import torch

from mimickit.envs.env_builder import build_env

from ..conftest import REPO_ROOT

ENV_YAML = REPO_ROOT / "data/envs/deepmimic_humanoid_env.yaml"
ENGINE_YAML = REPO_ROOT / "data/engines/mujoco_engine.yaml"


def test_compiled_step_code_matches_the_eager_code(tmp_path):
    """Same seed, same actions, resets of changing size: observations, rewards and done flags of a compiled env
    stay within float rounding of the eager env's (the physics itself is the same C code), and the compiled env
    really runs compiled code."""
    engine = tmp_path / "engine.yaml"
    engine.write_text(re.sub(r"(?m)^fault_max_vel:.*$", r"\g<0>\ncompile: true", ENGINE_YAML.read_text()))
    runs = {}
    for name, engine_file in (("eager", ENGINE_YAML), ("compiled", engine)):
        torch.manual_seed(0)
        env = build_env(str(ENV_YAML), str(engine_file), 5)
        try:
            assert env.engine.compiles == (name == "compiled")
            assert hasattr(env._compute_obs, "_torchdynamo_orig_callable") == (name == "compiled")
            obs, _ = env.reset()
            out = [obs.clone()]
            gen = torch.Generator().manual_seed(1)
            for k in range(8):
                action = 0.05 * torch.randn(5, 28, generator=gen)
                obs, reward, done, _ = env.step(action)
                out += [obs.clone(), reward.clone(), done.clone()]
                obs, _ = env.reset(torch.tensor([k % 5, 4][: 1 + k % 2]))
                out.append(obs.clone())
            runs[name] = out
        finally:
            env.close()
    for eager, compiled in zip(runs["eager"], runs["compiled"], strict=True):
        assert eager.dtype == compiled.dtype
        if eager.is_floating_point():
            assert torch.allclose(eager, compiled, atol=1e-4, rtol=1e-4), (eager - compiled).abs().max()
        else:
            assert torch.equal(eager, compiled)
