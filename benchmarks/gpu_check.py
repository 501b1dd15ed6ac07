#!/usr/bin/env python
"""The MuJoCo Warp engine's GPU check, in one go (about 6 minutes with the defaults on one GPU):

1. parity: the Warp engine on ``--device`` against the CPU engine, humanoid, G1, Go2 and SMPL, 8 envs from the
   env's init pose, PD targets held for 30 control steps (as ``tests/engines/test_engine_parity.py``);
2. engine env-steps/s (set_cmd + step + the state an env reads every step) against raw MuJoCo Warp (the same
   model and worlds, the substep loop replayed as a CUDA graph, nothing read) at each of ``--envs``;
3. training samples/s at ``--train_envs`` with upstream's DeepMimic agent config, split like
   ``benchmarks/training_throughput.py``;
4. a ``--walk_minutes`` DeepMimic walk run on the device (upstream's agent, ``--train_envs`` envs, seed 1) and its
   final e_pos over ``--test_episodes`` deterministic episodes.

Each section prints its figures, or one line saying why it failed, and the script goes on to the next.

    python benchmarks/gpu_check.py [--device cuda:0] [--envs 1024 4096 8192] [--train_envs 4096] [--walk_minutes 5]
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import signal
import subprocess
import sys
import tempfile
import time
import traceback
from pathlib import Path

import torch

REPO_ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO_ROOT))

from mimickit.engines.engine import build_engine, load_engine_config  # noqa: E402
from mimickit.util.cli import guarded  # noqa: E402
from mimickit.util.config import load_yaml  # noqa: E402

CPU_ENGINE = REPO_ROOT / "data/engines/mujoco_engine.yaml"
WARP_ENGINE = REPO_ROOT / "data/engines/mujoco_warp_engine.yaml"
UPSTREAM_AGENT = "data/agents/deepmimic_humanoid_ppo_agent.yaml"
PARITY_CHARACTERS = ("humanoid", "g1", "go2", "smpl")


def backend_trajectory(engine_file: Path, char: str, device: str = "cpu", num_envs: int = 8, num_steps: int = 30,
                       seed: int = 0) -> torch.Tensor:
    """Body positions ``[num_steps, num_envs, B, 3]`` (on the CPU) of ``char`` under held PD targets, from its env's
    init pose with 0.05 rad DoF noise and random velocities; SMPL without self-collisions (its foot boxes touch,
    and box-box contacts differ in kind between C MuJoCo and MuJoCo Warp)."""
    env_config = load_yaml(REPO_ROOT / f"data/envs/deepmimic_{char}_env.yaml")
    pose = torch.tensor(env_config["init_pose"], dtype=torch.float32)
    engine = build_engine(load_engine_config(engine_file), num_envs, device)
    char_id = engine.add_character(str(REPO_ROOT / env_config["char_file"]), start_pos=pose[:3].tolist(),
                                   enable_self_collisions=char != "smpl")
    engine.initialize()
    num_dofs = engine.get_kin_char_model(char_id).dof_size
    g = torch.Generator().manual_seed(seed)
    engine.set_state(char_id, root_pos=pose[:3], root_rot=torch.tensor([0.0, 0.0, 0.0, 1.0]),
                     root_vel=0.2 * torch.randn(num_envs, 3, generator=g), root_ang_vel=torch.zeros(3),
                     dof_pos=pose[6:] + 0.05 * torch.randn(num_envs, num_dofs, generator=g),
                     dof_vel=0.5 * torch.randn(num_envs, num_dofs, generator=g))
    targets = (pose[6:] + 0.05 * torch.randn(num_envs, num_dofs, generator=g)).to(device)
    body_pos = []
    try:
        for _ in range(num_steps):
            engine.set_cmd(char_id, targets)
            if engine.step().any():
                raise RuntimeError(f"{char}: a fault on {engine_file.name}")
            body_pos.append(engine.get_body_pos(char_id).cpu())
    finally:
        engine.close()
    return torch.stack(body_pos)


def check_parity(device: str) -> None:
    for char in PARITY_CHARACTERS:
        per_env = (backend_trajectory(CPU_ENGINE, char) - backend_trajectory(WARP_ENGINE, char, device)).norm(
            dim=-1).amax(dim=(0, 2))
        print(f"parity {char:<9} envs within 1e-4 m: {int((per_env < 1e-4).sum())}/{per_env.numel()}   "
              f"median {per_env.median():.1e} m   largest {per_env.max():.1e} m", flush=True)


def _timed(step, device: torch.device, seconds: float) -> float:
    """Calls per second of ``step`` over about ``seconds`` (after two warm-up calls), waiting for the device."""
    sync = torch.cuda.synchronize if device.type == "cuda" else (lambda: None)
    step()
    step()
    sync()
    count, start = 0, time.perf_counter()
    while time.perf_counter() - start < seconds:
        step()
        count += 1
    sync()
    return count / (time.perf_counter() - start)


def check_engine_throughput(device: str, env_counts: list[int], seconds: float) -> None:
    print(f"{'envs':>6}{'raw MuJoCo Warp':>18}{'engine':>12}{'engine/raw':>12}   env-steps/s", flush=True)
    for n in env_counts:
        raw_rate, engine_rate = engine_and_raw_rates(torch.device(device), n, seconds)
        print(f"{n:>6}{raw_rate:>18,.0f}{engine_rate:>12,.0f}{engine_rate / raw_rate:>12.3f}", flush=True)


def engine_and_raw_rates(dev: torch.device, n: int, seconds: float) -> tuple[float, float]:
    """Env-steps/s of raw MuJoCo Warp and of the engine, ``n`` humanoids from perturbed poses under random PD
    targets (contacts occur)."""
    import mujoco_warp as mjw
    import warp as wp

    engine = build_engine(load_engine_config(WARP_ENGINE), n, dev)
    char = engine.add_character(str(REPO_ROOT / "data/assets/humanoid/humanoid.xml"), start_pos=(0.0, 0.0, 0.9))
    engine.initialize()
    g = torch.Generator().manual_seed(0)
    dof = 0.2 * torch.randn(n, 28, generator=g)
    engine.set_state(char, dof_pos=dof, dof_vel=torch.zeros(28), root_vel=torch.zeros(3))
    targets = (dof + 0.3 * torch.randn(n, 28, generator=g)).to(dev)
    reads = (engine.get_root_pos, engine.get_root_rot, engine.get_root_vel, engine.get_root_ang_vel,
             engine.get_dof_pos, engine.get_dof_vel, engine.get_body_pos, engine.get_ground_contact_forces)

    def engine_step() -> None:
        engine.set_cmd(char, targets)
        engine.step()
        for read in reads:
            read(char)

    engine_rate = _timed(engine_step, dev, seconds) * n
    model, substeps = engine.model, engine.substeps
    with wp.ScopedDevice("cpu" if dev.type == "cpu" else f"cuda:{dev.index or 0}"):
        raw_model = mjw.put_model(model)
        raw_data = mjw.put_data(model, default_data(model, engine), nworld=n, nconmax=engine.config["nconmax"],
                                njmax=engine.config["njmax"])
        wp.to_torch(raw_data.ctrl).copy_(targets[:, engine.scene.layout.act_dof.to(dev)])

        def substep_loop() -> None:
            for _ in range(substeps):
                mjw.step(raw_model, raw_data)

        raw_step = substep_loop
        if dev.type == "cuda":
            substep_loop()  # loads every kernel module before the capture
            with wp.ScopedCapture() as capture:
                substep_loop()
            graph = capture.graph

            def raw_step() -> None:
                wp.capture_launch(graph)

        raw_rate = _timed(raw_step, dev, seconds) * n  # torch.cuda.synchronize waits for Warp's stream too
    engine.close()
    return raw_rate, engine_rate


def default_data(model, engine):
    """A host MjData holding the engine's default state (what raw MuJoCo Warp starts from)."""
    import mujoco

    data = mujoco.MjData(model)
    data.qpos[:], data.qvel[:] = engine.scene.default_qpos, engine.scene.default_qvel
    mujoco.mj_forward(model, data)
    return data


def check_training_throughput(device: str, num_envs: int, iters: int) -> None:
    path = REPO_ROOT / "benchmarks/training_throughput.py"
    spec = importlib.util.spec_from_file_location("training_throughput", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    module.measure("args/deepmimic_humanoid_ppo_args.txt", iters, num_envs, UPSTREAM_AGENT, str(WARP_ENGINE), device)


def check_walk_run(device: str, num_envs: int, minutes: float, test_episodes: int, max_samples: int | None) -> None:
    out = Path(tempfile.mkdtemp(prefix="gpu_check_walk_"))
    common = [sys.executable, str(REPO_ROOT / "mimickit/run.py"), "--arg_file", "args/deepmimic_humanoid_ppo_args.txt",
              "--engine_config", str(WARP_ENGINE), "--agent_config", UPSTREAM_AGENT, "--devices", device,
              "--rand_seed", "1"]
    limit = ["--max_samples", str(max_samples)] if max_samples else []
    log_path = out / "train_output.txt"  # a file, not a pipe: a pipe left unread would fill and stall the run
    with open(log_path, "w") as log:
        train = subprocess.Popen(common + limit + ["--num_envs", str(num_envs), "--out_dir", str(out / "run")],
                                 cwd=REPO_ROOT, stdout=log, stderr=subprocess.STDOUT, text=True)
        start = time.perf_counter()
        try:
            train.wait(timeout=minutes * 60)
        except subprocess.TimeoutExpired:
            train.send_signal(signal.SIGINT)  # the run writes a checkpoint and stops
            train.wait(timeout=120)
    lines = log_path.read_text().splitlines()
    progress = [line for line in lines if line.startswith("iter ")]
    print(f"walk run: {time.perf_counter() - start:.0f} s, rc {train.returncode}; last progress line:", flush=True)
    print("  " + (progress[-1] if progress else "\n  ".join(lines[-5:])), flush=True)
    test = subprocess.run(common + ["--mode", "test", "--num_envs", str(min(num_envs, test_episodes)),
                                    "--test_episodes", str(test_episodes), "--model_file", str(out / "run/model.pt"),
                                    "--out_dir", str(out / "test")], cwd=REPO_ROOT, capture_output=True, text=True)
    if test.returncode != 0:
        raise RuntimeError(f"test mode failed: {(test.stderr or test.stdout).strip().splitlines()[-1:]}")
    results = json.loads((out / "test/test_results.json").read_text())
    print(f"walk run final test ({results['episodes']} episodes): e_pos {results['e_pos_mean']:.4f} m, episode "
          f"length {results['mean_episode_length']:.1f} steps", flush=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--device", default="cuda:0")
    parser.add_argument("--envs", type=int, nargs="+", default=[1024, 4096, 8192])
    parser.add_argument("--seconds", type=float, default=5.0, help="timing per engine measurement")
    parser.add_argument("--train_envs", type=int, default=4096)
    parser.add_argument("--train_iters", type=int, default=4)
    parser.add_argument("--walk_minutes", type=float, default=5.0)
    parser.add_argument("--walk_max_samples", type=int, default=None, help="also end the walk run at this many samples")
    parser.add_argument("--test_episodes", type=int, default=256)
    cli = parser.parse_args(argv)
    name = torch.cuda.get_device_name(cli.device) if cli.device.startswith("cuda") else "CPU (Warp's CPU device)"
    print(f"device: {cli.device} = {name}; torch {torch.__version__}", flush=True)
    sections = (("parity", lambda: check_parity(cli.device)),
                ("engine throughput", lambda: check_engine_throughput(cli.device, cli.envs, cli.seconds)),
                ("training throughput", lambda: check_training_throughput(cli.device, cli.train_envs, cli.train_iters)),
                ("walk run", lambda: check_walk_run(cli.device, cli.train_envs, cli.walk_minutes, cli.test_episodes,
                                                    cli.walk_max_samples)))
    failed = 0
    for title, section in sections:
        print(f"== {title}", flush=True)
        start = time.perf_counter()
        try:
            section()
        except Exception as err:  # report and go on: one GPU session has to yield every figure it can
            failed += 1
            where = traceback.extract_tb(err.__traceback__)[-1]
            print(f"FAILED: {type(err).__name__}: {err} ({Path(where.filename).name}:{where.lineno})", flush=True)
        print(f"   ({time.perf_counter() - start:.0f} s)", flush=True)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(guarded(main))
