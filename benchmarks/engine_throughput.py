#!/usr/bin/env python
"""Env-steps per second of the MuJoCo engine against raw MuJoCo, measured in one run.

For each env count, the same compiled humanoid model (ground, sensors, position servos), the same
substeps (4 per 30 Hz control step) and the same number of threads are stepped:
  raw     the fastest raw-MuJoCo loop we know: one mujoco.rollout call per control step over all envs,
          preallocated outputs, no checks, the new states carried forward;
  threads a Python thread pool, each thread stepping its share of a list of MjData (mj_step releases the GIL);
  engine  MimicKit's engine: set_cmd + step + reading back what an environment reads every step
          (root and DoF state, body poses, ground contact forces) as torch tensors.
Characters start from perturbed standing poses under fixed random PD targets, so contacts occur.
The last line is `ratio_vs_raw_mujoco: <engine / raw at 256 envs>`. pybullet's DeepMimic humanoid
environment is measured too when pybullet is importable (for the record; not a dependency).

    python benchmarks/engine_throughput.py [--envs 64 256 1024] [--seconds 2] [--threads 0]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import mujoco
import numpy as np
import torch

REPO_ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO_ROOT))

from mimickit.engines.engine import build_engine, load_engine_config  # noqa: E402
from mimickit.util.cli import at_least, guarded  # noqa: E402

HUMANOID = REPO_ROOT / "data/assets/humanoid/humanoid.xml"
STATE = mujoco.mjtState.mjSTATE_FULLPHYSICS


def make_engine(num_envs: int, threads: int):
    config = load_engine_config(REPO_ROOT / "data/engines/mujoco_engine.yaml", {"num_threads": threads})
    engine = build_engine(config, num_envs)
    char = engine.add_character(str(HUMANOID), start_pos=(0.0, 0.0, 0.9))
    engine.initialize()
    g = torch.Generator().manual_seed(0)
    dof = 0.2 * torch.randn(num_envs, 28, generator=g)
    engine.set_state(char, dof_pos=dof, dof_vel=torch.zeros(28), root_vel=torch.zeros(3))
    targets = dof + 0.3 * torch.randn(num_envs, 28, generator=g)
    return engine, char, targets


def time_loop(step, seconds: float) -> float:
    """Control steps per second of ``step`` over about ``seconds`` (after one warm-up step)."""
    step()
    count, start = 0, time.perf_counter()
    while time.perf_counter() - start < seconds:
        step()
        count += 1
    return count / (time.perf_counter() - start)


def bench_raw_rollout(engine, targets, threads: int, seconds: float) -> float:
    model, n, s = engine.model, engine.num_envs, engine.substeps
    state = engine._state.copy()
    ctrl = np.ascontiguousarray(np.repeat(targets[:, engine._act_dof].double().numpy()[:, None], s, axis=1))
    out = np.zeros((n, s, state.shape[1]))
    sens = np.zeros((n, s, model.nsensordata))
    pool = mujoco.rollout.Rollout(nthread=threads)
    datas = [mujoco.MjData(model) for _ in range(threads)]
    models = [model] * n

    def step():
        pool.rollout(models, datas, state, ctrl, nstep=s, state=out, sensordata=sens, skip_checks=True)
        state[:] = out[:, -1]
    return time_loop(step, seconds) * n


def bench_raw_threads(engine, targets, threads: int, seconds: float) -> float:
    model, n, s = engine.model, engine.num_envs, engine.substeps
    datas = [mujoco.MjData(model) for _ in range(n)]
    ctrl = targets[:, engine._act_dof].double().numpy()
    for i, d in enumerate(datas):
        mujoco.mj_setState(model, d, engine._state[i], STATE)
        d.ctrl[:] = ctrl[i]
    chunks = [datas[k::threads] for k in range(threads)]

    def work(chunk):
        for d in chunk:
            for _ in range(s):
                mujoco.mj_step(model, d)

    with ThreadPoolExecutor(threads) as pool:
        return time_loop(lambda: list(pool.map(work, chunks)), seconds) * n


def bench_engine(engine, char, targets, seconds: float) -> float:
    def step():
        engine.set_cmd(char, targets)
        engine.step()
        for getter in (engine.get_root_pos, engine.get_root_rot, engine.get_root_vel, engine.get_root_ang_vel,
                       engine.get_dof_pos, engine.get_dof_vel, engine.get_body_pos, engine.get_body_rot,
                       engine.get_ground_contact_forces):
            getter(char)
    return time_loop(step, seconds) * engine.num_envs


def bench_pybullet(seconds: float) -> float | None:
    """Control steps/s of pybullet's DeepMimic humanoid env (240 Hz physics, 30 Hz control), one process."""
    import importlib.util
    import types

    spec = importlib.util.find_spec("pybullet_envs")
    if spec is None:
        return None
    # pybullet_envs/__init__ registers gym environments (and needs an old gym); the DeepMimic env does not.
    package = types.ModuleType("pybullet_envs")
    package.__path__ = list(spec.submodule_search_locations)
    sys.modules.setdefault("pybullet_envs", package)
    try:
        import pybullet_data
        from pybullet_envs.deep_mimic.env.pybullet_deep_mimic_env import InitializationStrategy, PyBulletDeepMimicEnv
        from pybullet_utils.arg_parser import ArgParser
    except ImportError:
        return None
    args = ArgParser()
    args.load_file(os.path.join(pybullet_data.getDataPath(), "args/run_humanoid3d_walk_args.txt"))
    env = PyBulletDeepMimicEnv(args, enable_draw=False, init_strategy=InitializationStrategy.RANDOM)
    action = np.zeros(env.get_action_size(0))
    control_steps = 0

    def physics_step():
        nonlocal control_steps
        if env.need_new_action(0):
            env.set_action(0, action)
            control_steps += 1
        env.update(1.0 / 240)
        if env.is_episode_end():
            env.reset()
    physics_step()
    start, control_steps = time.perf_counter(), 0
    while time.perf_counter() - start < seconds:
        physics_step()
    return control_steps / (time.perf_counter() - start)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--envs", type=at_least(1), nargs="+", default=[64, 256, 1024])
    parser.add_argument("--seconds", type=at_least(0.01, float), default=3.0,
                        help="total timing per method and env count")
    parser.add_argument("--repeats", type=at_least(1), default=8, help="interleaved repeats; the median is reported")
    parser.add_argument("--threads", type=at_least(0), default=0, help="physics threads (0 = all cores)")
    args = parser.parse_args()
    threads = args.threads or os.cpu_count() or 1
    torch.set_num_threads(1)
    print(f"mujoco {mujoco.__version__}, torch {torch.__version__}, {threads} threads, "
          f"{os.cpu_count()} cores, humanoid 28 DoF, 4 substeps (120 Hz) per 30 Hz step")
    print(f"{'envs':>6} {'raw rollout':>14} {'raw threads':>14} {'engine':>14} {'engine/raw':>11}   env-steps/s")
    ratios = {}
    for n in args.envs:
        engine, char, targets = make_engine(n, threads)
        runs = {"raw": [], "threads": [], "engine": []}
        for _ in range(args.repeats):
            runs["raw"].append(bench_raw_rollout(engine, targets, threads, args.seconds / args.repeats))
            runs["threads"].append(bench_raw_threads(engine, targets, threads, args.seconds / args.repeats))
            runs["engine"].append(bench_engine(engine, char, targets, args.seconds / args.repeats))
        med = {k: statistics.median(v) for k, v in runs.items()}
        ratios[n] = med["engine"] / med["raw"]
        print(f"{n:>6} {med['raw']:>14,.0f} {med['threads']:>14,.0f} {med['engine']:>14,.0f} {ratios[n]:>11.3f}")
    pyb = bench_pybullet(args.seconds)
    print("pybullet DeepMimic humanoid env (1 process): "
          + (f"{pyb:,.0f} env-steps/s" if pyb is not None else "not measured (pybullet not importable)"))
    key = 256 if 256 in ratios else args.envs[0]
    print(f"ratio_vs_raw_mujoco: {ratios[key]:.3f}")


if __name__ == "__main__":
    sys.exit(guarded(main))
