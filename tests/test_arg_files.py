"""Every shipped arg file builds: its env, engine and agent configs load, a clip-specific file trains on its clip,
tracking envs start their characters on the reference pose, and its agent acts on its env's first observation
with actions of the env's size (the high-level ASE file needs a trained low-level model and is checked where that
model is trained)."""

import pytest
import torch

from mimickit.envs.env_builder import build_env
from mimickit.learning.agent_builder import build_agent
from mimickit.util.arg_parser import parse_args

from .conftest import REPO_ROOT

CLIPS = ("crawl", "roll", "getup_facedown", "cartwheel", "backflip", "dance_a", "spinkick", "run")
ARG_FILES = sorted(p.name for p in (REPO_ROOT / "args").glob("*_args.txt") if not p.name.startswith("ase_hlc"))


def test_every_method_and_character_has_arg_files():
    for name in ("deepmimic_humanoid_ppo", "deepmimic_humanoid_awr", "amp_humanoid", "add_humanoid", "ase_humanoid"):
        assert f"{name}_args.txt" in ARG_FILES
    for char in ("g1", "smpl", "go2"):
        for kind in ("view_motion", "deepmimic", "amp", "add"):
            assert any(f.startswith(f"{kind}_{char}_") for f in ARG_FILES), (kind, char)


@pytest.mark.parametrize("arg_file", ARG_FILES)
def test_arg_file_builds_and_acts(arg_file):
    args = parse_args(["--arg_file", f"args/{arg_file}"])
    torch.manual_seed(0)
    env = build_env(args["env_config"], args["engine_config"], 2, motion_file=args["motion_file"])
    try:
        clip = next((c for c in CLIPS if f"_{c}_" in arg_file), None)
        if clip is not None:  # e.g. deepmimic_humanoid_crawl_args.txt trains on humanoid_crawl.pkl
            assert (args["motion_file"] or env.config["motion_file"]).endswith(f"humanoid_{clip}.pkl")
        agent = build_agent(args["agent_config"], env)
        obs, _ = env.reset()
        if hasattr(env, "reference"):  # tracking envs start every character on its clip's pose at a random time
            gap = (env.char_state()["body_pos"] - env.reference["body_pos"]).norm(dim=-1).max()
            assert gap < 1e-3, float(gap)
        action, _ = agent.act(obs)
        low, _ = env.action_bounds
        assert action.shape == (2, low.shape[-1]) and torch.all(torch.isfinite(action))
        _, reward, _, _ = env.step(action)
        assert torch.all(torch.isfinite(reward))
    finally:
        env.close()
