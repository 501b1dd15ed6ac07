"""Two worker processes (gloo on CPU): identical networks after training, normaliser statistics pooled exactly,
the samples of an iteration add up over workers, and the command line trains and resumes with workers."""

import os
from pathlib import Path

import pytest
import torch
import torch.multiprocessing as mp

from mimickit.envs.env_builder import build_env
from mimickit.learning.normalizer import Normalizer
from mimickit.learning.ppo_agent import PPOAgent
from mimickit.learning.runner import Runner
from mimickit.run import main
from mimickit.util import distributed
from mimickit.util.config import load_yaml
from mimickit.util.logger import Logger

from ..conftest import REPO_ROOT
from .point_mass_env import PointMassEnv

TINY = REPO_ROOT / "tests/data/configs/tiny_ppo_agent.yaml"


def _worker(rank: int, port: int, out: str) -> None:
    torch.set_num_threads(1)
    distributed.init(rank, 2, torch.device("cpu"), master_port=port)
    try:
        # pooled normaliser: worker r records its own half of the data
        data = torch.arange(40, dtype=torch.float32).reshape(20, 2) ** 1.5
        norm = Normalizer((2,))
        norm.record(data[rank * 10:(rank + 1) * 10])
        norm.update()
        # training: different seeds per worker, networks synchronised at the start
        torch.manual_seed(100 + rank)
        env = PointMassEnv(num_envs=4)
        agent = PPOAgent(load_yaml(TINY), env)
        distributed.broadcast_module(agent)
        runner = Runner(env, agent)
        obs = runner._reset_all()
        _, _ = runner.run_iteration(obs)
        samples_after_one = runner.sample_count
        runner.train(5 * 2 * 4 * 8, out, Logger(out) if rank == 0 else None)
        torch.save({"norm": (norm.mean, norm.std), "agent": agent.state_dict(), "samples": samples_after_one},
                   f"{out}/rank{rank}.pt")
    finally:
        distributed.shutdown()


def _teardown_worker(rank: int, port: int, out: str) -> None:
    distributed.init(rank, 2, torch.device("cpu"), master_port=port)
    torch.optim.Adam(torch.nn.Linear(2, 2).parameters())  # the first optimizer imports torch._dynamo
    distributed.all_gather_objects(rank)
    distributed.shutdown()
    tasks = Path("/proc/self/task")
    names = sorted((tasks / t / "comm").read_text().strip() for t in os.listdir(tasks))
    (Path(out) / f"threads{rank}.txt").write_text("\n".join(names))


@pytest.mark.skipif(not Path("/proc/self/task").is_dir(), reason="reads thread names from /proc (Linux)")
def test_shutdown_stops_the_communication_threads(tmp_path):
    """Threads left running past shutdown can abort a finished worker during interpreter exit (SIGABRT)."""
    mp.start_processes(_teardown_worker, args=(distributed.free_port(), str(tmp_path)), nprocs=2, join=True,
                       start_method="spawn")
    for rank in (0, 1):
        names = (tmp_path / f"threads{rank}.txt").read_text().split()
        assert not [n for n in names if "gloo" in n or n.startswith("pt_")], names


def test_workers_share_the_clips_of_a_dataset():
    """The env learns its place among the workers from run.py (not from the process group): worker r of 2 samples
    every second clip from r."""
    weights = []
    for rank in (0, 1):
        env = build_env(str(REPO_ROOT / "data/envs/deepmimic_humanoid_env.yaml"),
                        str(REPO_ROOT / "data/engines/mujoco_engine.yaml"), 2,
                        motion_file="data/datasets/dataset_humanoid_locomotion.yaml",
                        worker=distributed.WorkerPlace(rank=rank, world_size=2, local_world_size=2))
        weights.append(env.motion_lib.weights.clone())
        env.close()
    w0, w1 = weights
    assert w0.numel() == 7 and torch.count_nonzero(w0[1::2]) == 0 and torch.count_nonzero(w1[0::2]) == 0
    assert w0.sum().item() == pytest.approx(1.0) and w1.sum().item() == pytest.approx(1.0)


def test_two_workers_stay_identical_and_pool_statistics(tmp_path):
    mp.start_processes(_worker, args=(distributed.free_port(), str(tmp_path)), nprocs=2, join=True,
                       start_method="spawn")
    r0, r1 = (torch.load(tmp_path / f"rank{r}.pt", weights_only=True) for r in (0, 1))
    for key in r0["agent"]:
        assert torch.equal(r0["agent"][key], r1["agent"][key]), key
    single = Normalizer((2,))
    single.record(torch.arange(40, dtype=torch.float32).reshape(20, 2) ** 1.5)
    single.update()
    for pooled in (r0["norm"], r1["norm"]):
        assert torch.allclose(pooled[0], single.mean) and torch.allclose(pooled[1], single.std)
    # 2 workers x 4 envs x 8 steps: the samples of one iteration of 1 worker x 8 envs
    assert r0["samples"] == r1["samples"] == 8 * 8
    assert torch.load(tmp_path / "model.pt", weights_only=True)["world_size"] == 2


def test_command_line_trains_with_two_workers_and_resumes_only_with_two(tmp_path, capsys):
    args = ["--env_config", "data/envs/deepmimic_humanoid_env.yaml", "--agent_config", str(TINY),
            "--num_envs", "2", "--rand_seed", "4", "--out_dir", str(tmp_path)]
    assert main(args + ["--num_workers", "2", "--max_samples", "64"]) == 0
    saved = torch.load(tmp_path / "model.pt", weights_only=True)
    assert saved["sample_count"] == 64 and len(saved["rng"]) == 2
    assert main(args + ["--resume", "true", "--max_samples", "96"]) == 2  # one worker
    assert "written by a run with 2 worker(s)" in capsys.readouterr().err
    assert main(args + ["--num_workers", "2", "--resume", "true", "--max_samples", "96"]) == 0
    assert torch.load(tmp_path / "model.pt", weights_only=True)["sample_count"] == 96


def test_resume_with_the_same_workers_is_exact(tmp_path):
    args = ["--env_config", "data/envs/deepmimic_humanoid_env.yaml", "--agent_config", str(TINY),
            "--num_envs", "2", "--rand_seed", "6", "--num_workers", "2"]
    straight, split = tmp_path / "straight", tmp_path / "split"
    assert main(args + ["--out_dir", str(straight), "--max_samples", "160"]) == 0  # 5 iterations of 32
    assert main(args + ["--out_dir", str(split), "--max_samples", "96"]) == 0
    assert main(args + ["--out_dir", str(split), "--max_samples", "160", "--resume", "true"]) == 0
    a = torch.load(straight / "model.pt", weights_only=True)["agent"]
    b = torch.load(split / "model.pt", weights_only=True)["agent"]
    for key in a:
        assert torch.equal(a[key], b[key]), key


def test_torchrun_launches_the_same_code_path(tmp_path):
    import subprocess
    import sys

    cmd = [sys.executable, "-m", "torch.distributed.run", "--nproc_per_node", "2", "--master_port",
           str(distributed.free_port()), "mimickit/run.py", "--env_config", "data/envs/deepmimic_humanoid_env.yaml",
           "--agent_config", str(TINY), "--num_envs", "2", "--rand_seed", "2", "--max_samples", "64",
           "--out_dir", str(tmp_path)]
    done = subprocess.run(cmd, cwd=REPO_ROOT, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    saved = torch.load(tmp_path / "model.pt", weights_only=True)
    assert saved["world_size"] == 2 and saved["sample_count"] == 64
