#!/usr/bin/env python
"""End-to-end training throughput and where the time goes, measured in one run.

Builds the env and agent of an args file (default: the CPU DeepMimic preset), then times
``--iters`` training iterations split into physics (engine.step), the rest of the environment (reference
motion, observations, reward, termination, resets), action selection, and learning (returns + network
updates). On CPU the learner can cost more than physics, so both are reported per sample. In the same run raw
``mujoco.rollout`` steps the same compiled model with the same env count and threads (``engine_throughput.py``'s
raw loop), and the last line is ``training_vs_raw_physics``: training samples/s over raw env-steps/s, the share
of the physics floor training reaches. ``--table`` repeats both over env counts and thread counts.

    python benchmarks/training_throughput.py [--arg_file args/deepmimic_humanoid_ppo_args.txt] [--iters 8]
        [--num_envs N] [--agent_config ...] [--engine_config ...] [--device cuda:0]
    python benchmarks/training_throughput.py --table [--table_envs 64 256 1024 4096] [--table_threads 1 2]
    python benchmarks/training_throughput.py --compile   # the engine's ``compile: true`` (env code compiled)

With ``--compile`` the warm-up iterations compile the env's code (about a minute, cached on disk afterwards) and
are not timed.
"""

from __future__ import annotations

import argparse
import importlib.util
import math
import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import torch
import yaml

REPO_ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO_ROOT))

from mimickit.envs.env_builder import build_env  # noqa: E402
from mimickit.learning.agent_builder import build_agent  # noqa: E402
from mimickit.learning.runner import Runner  # noqa: E402
from mimickit.util.arg_parser import parse_args  # noqa: E402
from mimickit.util.cli import at_least, guarded  # noqa: E402
from mimickit.util.config import load_yaml  # noqa: E402
from mimickit.util.cpu_numerics import flush_subnormals  # noqa: E402
from mimickit.util.paths import resolve_path  # noqa: E402


class Stopwatch:
    """Accumulates the time spent inside a wrapped callable (waiting for a GPU's queued work at both ends, so
    each part is charged with its own kernels)."""

    def __init__(self, fn, device: torch.device):
        self.fn, self.seconds = fn, 0.0
        self._sync = torch.cuda.synchronize if device.type == "cuda" else (lambda: None)

    def __call__(self, *args, **kwargs):
        self._sync()
        start = time.perf_counter()
        try:
            return self.fn(*args, **kwargs)
        finally:
            self._sync()
            self.seconds += time.perf_counter() - start


def _engine_throughput_module():
    path = REPO_ROOT / "benchmarks" / "engine_throughput.py"
    spec = importlib.util.spec_from_file_location("engine_throughput", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def raw_physics_rate(engine, seconds: float) -> float:
    """Env-steps/s of raw ``mujoco.rollout`` on ``engine``'s own model, env count and threads, holding the
    current DoF positions as PD targets (CPU engine only; the floor training is compared with)."""
    bench = _engine_throughput_module()
    targets = engine.get_dof_pos(0).detach().cpu()
    return bench.bench_raw_rollout(engine, targets, engine.num_threads, seconds)


def engine_file_with(arg_file: str, engine_config: str | None, folder: str, **overrides: Any) -> str:
    """A copy of the run's engine yaml (``engine_config``, else the arg file's) with ``overrides``, in ``folder``."""
    base = engine_config or parse_args(["--arg_file", arg_file])["engine_config"]
    config = {**load_yaml(resolve_path(base)), **overrides}
    path = Path(folder) / ("engine_" + "_".join(f"{k}{v}" for k, v in overrides.items()) + ".yaml")
    path.write_text(yaml.safe_dump(config))
    return str(path)


def timed_test(runner: Runner, holds: bool) -> float:
    """Seconds of one periodic test (``test_episodes`` deterministic episodes from a reset of every env), with the
    envs whose episodes are all counted skipping physics (``holds``) or every env stepped to the end."""
    env = runner.env
    if not holds:
        env.hold_physics = lambda held: None  # an instance attribute hides the method until deleted
    torch.manual_seed(0)
    start = time.perf_counter()
    try:
        runner.test(runner.test_episodes)
    finally:
        if not holds:
            del env.hold_physics
    return time.perf_counter() - start


def measure(arg_file: str, iters: int, num_envs: int | None = None, agent_config: str | None = None,
            engine_config: str | None = None, device: str = "cpu", raw_seconds: float = 3.0,
            quiet: bool = False, warmup: int = 1, model_file: str | None = None) -> tuple[float, float]:
    """Time ``iters`` training iterations of ``arg_file`` (after ``warmup`` untimed ones) and print where the time
    goes, then raw physics on the same engine for ``raw_seconds`` (CPU engine; 0 skips it); returns training
    samples/s and raw env-steps/s (nan when skipped). Unless ``quiet``, also the cost of the periodic test, with
    and without envs skipping physics once their episodes are counted. ``model_file``: start from that policy
    (a trained one falls less: longer episodes, fewer resets, tests of full length)."""
    extra = (["--num_envs", str(num_envs)] if num_envs else []) + (
        ["--agent_config", agent_config] if agent_config else []) + (
        ["--engine_config", engine_config] if engine_config else [])
    args = parse_args(["--arg_file", arg_file, "--rand_seed", "0"] + extra)
    torch.manual_seed(0)
    device = torch.device(device)
    env = build_env(args["env_config"], args["engine_config"], args["num_envs"], device=device)
    agent = build_agent(args["agent_config"], env, device)
    runner = Runner(env, agent)
    if model_file:
        runner.load(resolve_path(model_file), resume=False)
    physics = Stopwatch(env.engine.step, device)
    env.engine.step = physics
    env_step = Stopwatch(env.step, device)
    env.step = env_step
    decide = Stopwatch(agent.act, device)
    agent.act = decide
    update = Stopwatch(agent.update, device)
    agent.update = update
    iteration = Stopwatch(runner.run_iteration, device)
    obs, _ = env.reset()
    obs = obs.clone()
    timings = []
    for it in range(iters + warmup):
        physics.seconds = env_step.seconds = decide.seconds = update.seconds = iteration.seconds = 0.0
        obs, _ = iteration(obs)
        if it >= warmup:
            timings.append((iteration.seconds - update.seconds, update.seconds, physics.seconds, env_step.seconds,
                            decide.seconds))
    samples = agent.steps_per_iter * env.num_envs
    rollout, learn, phys, env_total, act = (sum(t[i] for t in timings) / len(timings) for i in range(5))
    env_other = env_total - phys
    reset_and_bookkeeping = rollout - env_total - act
    total = rollout + learn
    us = lambda s: 1e6 * s / samples  # noqa: E731
    raw = math.nan
    if raw_seconds > 0 and hasattr(env.engine, "num_threads") and device.type == "cpu":
        raw = raw_physics_rate(env.engine, raw_seconds)
    if not quiet:
        print(f"{arg_file}: {env.num_envs} envs x {agent.steps_per_iter} steps = {samples} samples/iteration, "
              f"agent {args['agent_config']}, engine {args['engine_config']}, device {device}, "
              f"{os.cpu_count()} cores, torch threads {torch.get_num_threads()}")
        print(f"{'part':<34}{'s/iter':>8}{'us/sample':>11}{'share':>8}")
        for name, value in (("physics (engine.step)", phys), ("env: reference, obs, reward, done", env_other),
                            ("agent: action selection", act), ("resets, recording, schedules", reset_and_bookkeeping),
                            ("learning: returns + updates", learn)):
            print(f"{name:<34}{value:>8.3f}{us(value):>11.1f}{value / total:>8.1%}")
        print(f"{'total':<34}{total:>8.3f}{us(total):>11.1f}")
        print(f"physics-only env-steps/s: {samples / phys:,.0f}; learner-only samples/s: {samples / learn:,.0f}")
        print(f"raw mujoco.rollout env-steps/s (same model, envs and threads): {raw:,.0f}")
        print(f"training_samples_per_sec: {samples / total:,.0f}")
        period = runner.iters_per_output * total
        test_all, test_held = timed_test(runner, holds=False), timed_test(runner, holds=True)
        print(f"periodic test ({runner.test_episodes} episodes every {runner.iters_per_output} iterations): "
              f"{test_held:.2f} s with finished envs skipping physics, {test_all:.2f} s with every env stepped "
              f"(+{test_held / period:.1%} / +{test_all / period:.1%} on the iterations' time)")
        print(f"training_samples_per_sec_with_tests: {samples * runner.iters_per_output / (period + test_held):,.0f} "
              f"(every env stepped: {samples * runner.iters_per_output / (period + test_all):,.0f})")
    env.close()
    return samples / total, raw


def table(arg_file: str, iters: int, env_counts: list[int], thread_counts: list[int], agent_config: str | None,
          engine_config: str | None, raw_seconds: float, warmup: int) -> None:
    """Training samples/s and raw physics env-steps/s over env counts and engine threads, one row each."""
    print(f"{'envs':>6}{'threads':>8}{'training samples/s':>20}{'raw env-steps/s':>17}{'training/raw':>14}")
    with tempfile.TemporaryDirectory() as folder:
        for threads in thread_counts:
            engine_file = engine_file_with(arg_file, engine_config, folder, num_threads=threads)
            for num_envs in env_counts:
                rate, raw = measure(arg_file, iters, num_envs, agent_config, engine_file,
                                    raw_seconds=raw_seconds, quiet=True, warmup=warmup)
                print(f"{num_envs:>6}{threads:>8}{rate:>20,.0f}{raw:>17,.0f}{rate / raw:>14.3f}", flush=True)


def main() -> None:
    flush_subnormals()  # as mimickit/run.py's training processes do
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--arg_file", default="args/deepmimic_humanoid_ppo_args.txt")
    parser.add_argument("--iters", type=at_least(1), default=8, help="timed iterations (after one warm-up iteration)")
    parser.add_argument("--num_envs", type=at_least(1), default=None)
    parser.add_argument("--agent_config", default=None)
    parser.add_argument("--engine_config", default=None)
    parser.add_argument("--device", default="cpu", help="torch device of the env and agent (cuda:0 for a GPU)")
    parser.add_argument("--raw_seconds", type=float, default=3.0, help="seconds of raw physics timing (0: none)")
    parser.add_argument("--table", action="store_true", help="a row per env count and thread count")
    parser.add_argument("--table_envs", type=at_least(1), nargs="+", default=[64, 256, 1024, 4096])
    parser.add_argument("--table_threads", type=at_least(1), nargs="+", default=[1, 2])
    parser.add_argument("--compile", action="store_true", help="run with the engine's compile: true")
    parser.add_argument("--model_file", default=None, help="start from this policy (default: untrained)")
    parser.add_argument("--warmup", type=at_least(1), default=None,
                        help="untimed iterations first (default 1; 3 with --compile)")
    cli = parser.parse_args()
    warmup = cli.warmup or (3 if cli.compile else 1)
    with tempfile.TemporaryDirectory() as folder:
        engine_config = (engine_file_with(cli.arg_file, cli.engine_config, folder, compile=True) if cli.compile
                         else cli.engine_config)
        if cli.table:
            table(cli.arg_file, cli.iters, cli.table_envs, cli.table_threads, cli.agent_config, engine_config,
                  cli.raw_seconds, warmup)
        rate, raw = measure(cli.arg_file, cli.iters, cli.num_envs, cli.agent_config, engine_config, cli.device,
                            cli.raw_seconds, warmup=warmup, model_file=cli.model_file)
    print(f"training_vs_raw_physics: {rate / raw:.3f}")


if __name__ == "__main__":
    sys.exit(guarded(main))
