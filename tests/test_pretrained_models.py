"""The shipped pretrained policies load with the shipped configs and track their clips."""

import importlib.util
import json
import math
import re
import subprocess
import sys

import pytest
import torch

from mimickit.learning.agent_builder import build_agent
from mimickit.learning.low_level import build_env
from mimickit.learning.runner import Runner

from .conftest import REPO_ROOT

WALK_MODEL = REPO_ROOT / "data/models/deepmimic_humanoid_walk_model.pt"
# Every shipped tracking policy is a row of the Table-1 sweep (benchmarks/table1_sweep.yaml), which names its arg
# file, clip and a bound on its e_pos over 8 episodes of 2 s (min_len_2s: the mean episode length it must reach, of
# 60 steps). An untrained policy falls within 2 s and reads, over the same 8 episodes: humanoid 0.214 m, G1 0.156,
# SMPL 0.233, Go2 0.055 (a 0.27-m robot), humanoid spinkick 0.288 (shipped: 0.114), ADD humanoid walk 0.201
# (shipped: 0.027), humanoid cartwheel 0.260 (shipped: 0.070), AMP humanoid walk 0.195 (shipped: 0.041; AMP follows
# no clip, so its bound is loose), humanoid run 0.246 (shipped: 0.062), humanoid crawl 0.079 (it may rest on hands,
# shins and thighs, so it does not fall; shipped: 0.033), humanoid dance A 0.267 and 27 steps (shipped: 0.141 and
# 56.5: it falls in some episodes, the target it missed), robust G1 walk (robot observations) 0.156 and 24.5 steps
# (shipped: 0.043)
_spec = importlib.util.spec_from_file_location("table1_sweep", REPO_ROOT / "benchmarks" / "table1_sweep.py")
table1_sweep = importlib.util.module_from_spec(_spec)
sys.modules[_spec.name] = table1_sweep  # its dataclass looks its module up there
_spec.loader.exec_module(table1_sweep)
ROWS = {row.model.name: row for row in table1_sweep.load_sweep()[1]}
SHIPPED = sorted(name for name, row in ROWS.items() if row.model.exists())


ASE_MODEL = "ase_humanoid_model.pt"  # skills, no clip to track: tested by its latent sweep below
HLC_MODEL = "ase_hlc_location_humanoid_model.pt"  # a task through ASE_MODEL: tested by walking to targets below


def test_every_shipped_policy_is_listed_and_slim():
    assert sorted(p.name for p in (REPO_ROOT / "data/models").glob("*.pt")) == sorted([*SHIPPED, ASE_MODEL, HLC_MODEL])
    for path in (REPO_ROOT / "data/models").glob("*.pt"):  # weights and normalisers; full checkpoints live in runs
        payload = torch.load(path, weights_only=True)
        assert payload.get("slim") is True and "optimizers" not in payload and "rng" not in payload, path.name
        configs = payload.get("run_configs", {})  # the model file alone can be tested and exported
        assert "env_name:" in configs.get("env_config", "") and "agent_name:" in configs.get("agent_config", "")
    for name in [*SHIPPED, ASE_MODEL, HLC_MODEL]:
        assert (REPO_ROOT / "data/logs" / name.replace("_model.pt", "_log.txt")).exists(), name


@pytest.mark.parametrize("name", SHIPPED)
def test_shipped_policy_tracks_its_clip_without_falling(name):
    row = ROWS[name]
    args = row.configs()
    torch.manual_seed(0)
    env = build_env(str(REPO_ROOT / args["env_config"]), str(REPO_ROOT / "data/engines/mujoco_engine.yaml"), 8,
                    motion_file=str(REPO_ROOT / args["motion_file"]) if args["motion_file"] else "")
    try:
        agent = build_agent(str(REPO_ROOT / args["agent_config"]), env)
        runner = Runner(env, agent)
        runner.load(row.model, resume=False)
        env.episode_length = 2.0  # 60 control steps per episode keep the test short
        info = runner.test(8)
    finally:
        env.close()
    assert info["num_eps"] == 8 and info["mean_ep_len"] >= row.min_len_2s  # 60: every episode reaches the limit
    assert info["e_pos"] < row.bound_2s, info["e_pos"]


def test_tracking_breakdown_splits_the_error_of_the_shipped_policy():
    out = subprocess.run([sys.executable, "benchmarks/tracking_breakdown.py", "--model_file", str(WALK_MODEL),
                          "--num_envs", "2"], cwd=REPO_ROOT, capture_output=True, text=True, check=True).stdout
    assert "falls (episodes ended by ground contact): 0" in out
    total, root, body = (float(x) for x in re.search(
        r"e_pos ([\d.]+) m = root term ([\d.]+) \+ body term ([\d.]+)", out).groups())
    assert total == pytest.approx(root + body, abs=2e-4) and total < 0.05
    assert "left_foot" in out.splitlines()[-2] and "joint angle error (deg)" in out.splitlines()[-1]
    drift, along, sideways = (float(x) for x in re.search(r"0-1 s\s+([\d.]+)\s+([-+][\d.]+)\s+([\d.]+)", out).groups())
    assert abs(along) <= drift + 1e-3 and sideways <= drift + 1e-3  # components of the drift: neither exceeds it


def test_tracking_breakdown_splits_an_offset_along_and_across_the_heading():
    spec = importlib.util.spec_from_file_location("breakdown", REPO_ROOT / "benchmarks" / "tracking_breakdown.py")
    breakdown = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(breakdown)
    offset = torch.tensor([[1.0, 0.0], [1.0, 0.0], [0.0, 2.0], [3.0, 4.0]])
    heading = torch.tensor([0.0, math.pi / 2, math.pi / 2, math.atan2(4.0, 3.0)])
    along, left = breakdown.heading_frame_offset(offset, heading)
    # ahead; to the right of a heading along +y; ahead of it; a 5-m offset straight along its own direction
    assert along.tolist() == pytest.approx([1.0, 0.0, 2.0, 5.0], abs=1e-6)
    assert left.tolist() == pytest.approx([0.0, -1.0, 0.0, 0.0], abs=1e-6)


def test_termination_causes_of_the_robust_g1_counts_every_failure():
    """The robust G1 in its own training env: every counted failure is a contact or a pose termination, and the
    drift-excluded count cannot exceed the world-position one."""
    out = subprocess.run([sys.executable, "benchmarks/termination_causes.py", "--model_file",
                          str(REPO_ROOT / "data/models/deepmimic_g1_walk_robust_model.pt"), "--num_envs", "16",
                          "--steps", "150"], cwd=REPO_ROOT, capture_output=True, text=True, check=True).stdout
    ended, contact, world, aligned = (int(x) for x in re.search(
        r"(\d+) episodes ended; failures by ground contact (\d+), by pose termination in world positions (\d+), "
        r"of which with the root moved onto the reference's x-y (\d+)", out).groups())
    assert ended > 0 and world > aligned and contact + world >= 1 and max(contact, world) <= ended


def test_shipped_ase_latents_walk_apart_without_falling():
    import importlib.util

    spec = importlib.util.spec_from_file_location("sweep", REPO_ROOT / "tools" / "ase_latent_sweep.py")
    sweep = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(sweep)
    result = sweep.sweep(str(REPO_ROOT / "data/models" / ASE_MODEL), "args/ase_humanoid_args.txt", 6, 3.0, 0)
    # shipped (docs/benchmarks.md section 10): 8 latents over 6 s turn with a 90-deg spread, none falls; before
    # training the test episodes lasted 36 steps (1.2 s; first row of data/logs/ase_humanoid_log.txt)
    assert result["fall_rate"] == 0.0
    assert result["heading_change_spread_deg"] > 15.0, result["heading_change_spread_deg"]


def test_shipped_high_level_controller_walks_to_its_targets():
    import math

    from mimickit.envs.base_env import DoneFlags, EnvMode

    torch.manual_seed(0)
    env = build_env(str(REPO_ROOT / "data/envs/ase_hlc_location_humanoid_env.yaml"),
                    str(REPO_ROOT / "data/engines/mujoco_engine.yaml"), 8)
    try:
        agent = build_agent(str(REPO_ROOT / "data/agents/ase_hlc_humanoid_cpu_agent.yaml"), env)
        runner = Runner(env, agent)
        runner.load(REPO_ROOT / "data/models" / HLC_MODEL, resume=False)
        runner.set_mode(EnvMode.TEST)
        inner = env.inner
        env.reset()
        angle = torch.arange(8) * (2 * math.pi / 8)  # a target 3 m away in each of 8 directions, held 5 s
        inner.tar_xy[:] = inner.engine.get_root_pos(inner.char_id)[:, :2] + 3.0 * torch.stack(
            [angle.cos(), angle.sin()], -1)
        inner.task_change_time[:] = 100.0
        inner.obs[:] = inner._compute_obs(None)
        obs, fell, dist = inner.obs, torch.zeros(8, dtype=torch.bool), torch.full((8,), 3.0)
        with torch.no_grad():
            for _ in range(30):
                action, _ = agent.act(obs)
                obs, _, done, _ = env.step(action)
                fell |= done == int(DoneFlags.FAIL)
                dist = torch.where(fell, dist, (inner.tar_xy - inner.engine.get_root_pos(inner.char_id)[:, :2]).norm(
                    dim=-1))
    finally:
        env.close()
    # shipped: none falls, mean distance 3 -> 2.68 m; the untrained controller ends 5.36 m away (one falls)
    assert not fell.any() and dist.mean() < 4.0, (fell, dist)


def test_sweep_table_sets_the_paper_beside_ours_and_marks_rows_not_trained(tmp_path):
    paper, rows = table1_sweep.load_sweep()
    walk = next(r for r in rows if r.name == "deepmimic_humanoid_walk")
    pending = table1_sweep.Row("x", "backflip", "DeepMimic", walk.args, 1, 90, 0.2)
    result = {"e_pos": 0.018, "e_pos_episode_std": 0.002, "e_vel": 0.7, "clip_length": 1.27, "episode_length_s": 10.0,
              "max_episode_length_s": 10.0, "samples": 28.7e6, "minutes": 77.0}
    text = table1_sweep.table(paper, [walk, pending], {walk.name: result})
    assert "| walk | DeepMimic | 1.27 | 0.0180 ± 0.0020 | 0.009 ± 0.001 | 2.0× | 0.700 | 100.0 % | 28.7M | 77 |" in text
    assert "| backflip | DeepMimic | | not trained yet (90-minute budget) | 0.111 ± 0.054 |" in text
    bad = tmp_path / "sweep.yaml"
    bad.write_text("rows:\n  - {name: a, clip: walk, method: PPO, args: x, seed: 1, budget_min: 1, bound_2s: 1}\n")
    with pytest.raises(table1_sweep.ConfigError, match=r"sweep.yaml: row 0 \(a\): method must be one of"):
        table1_sweep.load_sweep(bad)


def test_sweep_keeps_earlier_results_only_for_rows_that_still_ship_a_model(tmp_path):
    _, rows = table1_sweep.load_sweep()
    shipped = next(r for r in rows if r.model.exists())
    gone = table1_sweep.Row("not_shipped", "backflip", "DeepMimic", shipped.args, 1, 90, 0.2)
    earlier = tmp_path / "table1.json"
    earlier.write_text(json.dumps({shipped.name: {"e_pos": 0.02}, gone.name: {"e_pos": 0.2}}))
    assert table1_sweep.kept_results(earlier, rows + [gone]) == {shipped.name: {"e_pos": 0.02}}
    assert table1_sweep.kept_results(tmp_path / "missing.json", rows) == {}
