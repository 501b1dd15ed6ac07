#!/usr/bin/env python
"""Table 1 of the MimicKit paper for a set of checkpoints: tracking errors under the paper's protocol.

Each ``--model CLIP=MODEL[,MODEL...]`` entry evaluates one or more checkpoints (e.g. one per seed) on a
clip: ``CLIP`` is a shipped clip's name (``walk`` -> ``data/motions/humanoid/humanoid_walk.pkl``, ``g1_walk``
-> ``data/motions/g1/g1_walk.pkl``) or a path to a clip or dataset. Protocol: deterministic policy (mean
actions), ``--episodes`` test episodes per model spread evenly over the envs, early termination only on
undesired ground contact (pose termination is a training device and is off in TEST mode), e_pos per Eq. 2
(m) and e_vel per Eq. 3 (rad/s), each averaged over an episode's steps and then over episodes. The table
shows mean +- std over the models of a row (over episodes when a row has one model), in the paper's layout.

    python benchmarks/table1.py --model walk=data/models/deepmimic_humanoid_walk_model.pt --episodes 256
    python benchmarks/table1.py --model walk=out/s1/model.pt,out/s2/model.pt --model run=out/run/model.pt
    python benchmarks/table1.py --arg_file args/deepmimic_g1_ppo_args.txt \
        --model g1_walk=data/models/deepmimic_g1_walk_model.pt

Rows are grouped by clip and method (DeepMimic trained with PPO, DeepMimic trained with AWR, AMP, ADD: read
from each checkpoint), so the methods of a clip sit side by side. A model is evaluated with the configs it was
trained with (its run folder's copies, or the texts its checkpoint carries) unless ``--arg_file`` names others;
a checkpoint that knows neither uses the method's humanoid args file (``args/deepmimic_humanoid_ppo_args.txt``,
``args/deepmimic_humanoid_awr_args.txt``, ``args/amp_humanoid_args.txt``, ``args/add_humanoid_args.txt``).
``--json`` also writes every number to a file.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

import torch

REPO_ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO_ROOT))

from mimickit.envs.env_builder import build_env  # noqa: E402
from mimickit.learning.agent_builder import build_agent  # noqa: E402
from mimickit.learning.runner import Runner  # noqa: E402
from mimickit.util.arg_parser import model_run_args  # noqa: E402
from mimickit.util.checkpoint import CheckpointError, load_checkpoint  # noqa: E402
from mimickit.util.cli import at_least, guarded  # noqa: E402
from mimickit.util.config import ConfigError  # noqa: E402
from mimickit.util.paths import resolve_path  # noqa: E402

# checkpoint agent name -> (method shown in the table, default args file)
METHODS = {"PPO": ("DeepMimic", "args/deepmimic_humanoid_ppo_args.txt"),
           "AWR": ("DeepMimic (AWR)", "args/deepmimic_humanoid_awr_args.txt"),
           "LCP": ("DeepMimic (LCP)", "args/lcp_g1_ppo_args.txt"),
           "AMP": ("AMP", "args/amp_humanoid_args.txt"), "ADD": ("ADD", "args/add_humanoid_args.txt")}


def checkpoint_method(model: str) -> tuple[str, str]:
    """The method label and default args file of a checkpoint, from the agent name it was saved with."""
    agent = load_checkpoint(resolve_path(model), "cpu").get("signature", {}).get("agent")
    if agent not in METHODS:
        raise ConfigError(f"{model}: agent {agent!r} has no tracking evaluation; known: {sorted(METHODS)}")
    return METHODS[agent]


def clip_path(name: str) -> str:
    """A clip name to its shipped file (``walk`` -> the humanoid's walk, ``g1_walk`` ->
    ``data/motions/g1/g1_walk.pkl``), or the path as given."""
    motions = REPO_ROOT / "data" / "motions"
    for shipped in (motions / "humanoid" / f"humanoid_{name}.pkl", *sorted(motions.glob(f"*/{name}.pkl"))):
        if shipped.exists():
            return str(shipped)
    return name


def parse_entry(text: str) -> tuple[str, list[str]]:
    if "=" not in text:
        raise ConfigError(f"--model {text!r}: expected CLIP=MODEL[,MODEL...]")
    clip, models = text.split("=", 1)
    return clip, [m for m in models.split(",") if m]


def evaluate(model: str, motion_file: str, args: dict, num_envs: int, episodes: int, seed: int) -> dict:
    """Test one checkpoint on ``motion_file``; returns per-episode lists and means."""
    model_path = resolve_path(model)
    env_config, agent_config = args["env_config"], args["agent_config"]
    torch.manual_seed(seed)
    env = build_env(env_config, args["engine_config"], num_envs, motion_file=motion_file)
    try:
        runner = Runner(env, build_agent(agent_config, env))
        runner.load(model_path, resume=False)
        start = time.perf_counter()
        info = runner.test(episodes)
        metrics = info["episode_metrics"]
        return {"model": str(model), "motion_file": motion_file, "episodes": info["num_eps"],
                "clip_length": float(env.motion_lib.get_motion_length(torch.zeros(1, dtype=torch.long))[0]),
                "episode_length_s": info["mean_ep_len"] * env.step_time,
                "max_episode_length_s": env.episode_length,
                "e_pos": statistics.fmean(metrics["e_pos"]), "e_vel": statistics.fmean(metrics["e_vel"]),
                "e_pos_episode_std": statistics.pstdev(metrics["e_pos"]),
                "e_vel_episode_std": statistics.pstdev(metrics["e_vel"]),
                "seconds": time.perf_counter() - start}
    finally:
        env.close()


def mean_pm_std(values: list[float], episode_std: float, digits: int) -> str:
    std = statistics.pstdev(values) if len(values) > 1 else episode_std
    return f"{statistics.fmean(values):.{digits}f} ± {std:.{digits}f}"


def format_table(rows: list[tuple[str, str, list[dict]]]) -> str:
    lines = ["| Motion | Method | Length (s) | Models | Episodes | e_pos (m) | e_vel (rad/s) | Test episode length |",
             "|---|---|---|---|---|---|---|---|"]
    for clip, method, results in rows:
        e_pos = mean_pm_std([r["e_pos"] for r in results], results[0]["e_pos_episode_std"], 4)
        e_vel = mean_pm_std([r["e_vel"] for r in results], results[0]["e_vel_episode_std"], 3)
        ep_len = statistics.fmean(r["episode_length_s"] / r["max_episode_length_s"] for r in results)
        lines.append(f"| {clip} | {method} | {results[0]['clip_length']:.2f} | {len(results)} | "
                     f"{sum(r['episodes'] for r in results)} | {e_pos} | {e_vel} | {100 * ep_len:.1f} % |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", action="append", required=True, help="CLIP=MODEL[,MODEL...] (repeatable)")
    parser.add_argument("--arg_file", default="", help="configs for every model [each model's own; for a "
                        "checkpoint that carries none, the method's humanoid args file]")
    parser.add_argument("--episodes", type=at_least(1), default=256, help="test episodes per model (paper: 4096)")
    parser.add_argument("--num_envs", type=at_least(1), default=256)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--json", default="", help="also write all results to this file")
    cli = parser.parse_args(argv)
    try:
        groups: dict[tuple[str, str], list[dict]] = {}
        for entry in cli.model:
            clip, models = parse_entry(entry)
            for model in models:
                method, default_args = checkpoint_method(model)
                args = model_run_args(resolve_path(model), cli.arg_file or None, default_args)
                r = evaluate(model, clip_path(clip), args, cli.num_envs, cli.episodes, cli.seed)
                print(f"{clip} ({method}): {r['model']}: e_pos {r['e_pos']:.4f} m, e_vel {r['e_vel']:.3f} rad/s, "
                      f"episode {r['episode_length_s']:.2f} of {r['max_episode_length_s']:.0f} s, "
                      f"{r['episodes']} episodes ({r['seconds']:.0f} s)", flush=True)
                groups.setdefault((clip, method), []).append(r)
        rows = [(clip, method, results) for (clip, method), results in groups.items()]
    except (ConfigError, CheckpointError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    print()
    print(format_table(rows))
    if cli.json:
        Path(cli.json).write_text(json.dumps({f"{clip}/{method}": results for clip, method, results in rows},
                                             indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(guarded(main))
