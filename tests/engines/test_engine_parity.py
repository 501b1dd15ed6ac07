"""The MuJoCo Warp engine (on Warp's CPU device) against the CPU engine: same scene, same initial states, same PD
targets, 30 control steps (1 s), for each shipped character.

Tolerance: with both engines stepping the same model, body positions agree to ~1e-6 m after 30 steps in most
envs (float32 against float64 arithmetic; docs/benchmarks.md). Contact events amplify the rounding difference
chaotically (a foot that lands one substep later), and one collision pair differs in kind: box-box contacts
(the SMPL body's and the humanoid's foot boxes touching each other) give 1-2 contacts in MuJoCo Warp 4.0.0
against up to 4 in C MuJoCo. So each character must agree within 1e-4 m in at least 6 of 8 envs, every env stays
within 0.25 m, and SMPL, whose feet touch each other in its standing pose, is compared without self-collisions.
"""

import importlib.util

import pytest

from ..conftest import REPO_ROOT

pytest.importorskip("mujoco_warp")

# one implementation of the scenario, shared with the GPU check (which runs it on CUDA)
_spec = importlib.util.spec_from_file_location("gpu_check", REPO_ROOT / "benchmarks" / "gpu_check.py")
gpu_check = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(gpu_check)


@pytest.mark.parametrize("char", gpu_check.PARITY_CHARACTERS)
def test_warp_engine_tracks_the_cpu_engine(char):
    cpu = gpu_check.backend_trajectory(gpu_check.CPU_ENGINE, char)
    warp = gpu_check.backend_trajectory(gpu_check.WARP_ENGINE, char)
    per_env = (cpu - warp).norm(dim=-1).amax(dim=(0, 2))
    assert (cpu[-1, :, 0, 2] - cpu[0, :, 0, 2]).abs().max() > 1e-3  # the characters moved
    assert (per_env < 1e-4).sum() >= 6, per_env
    assert per_env.max() < 0.25, per_env


def test_gpu_check_runs_every_section_on_warps_cpu_device():
    import subprocess
    import sys

    args = ["--device", "cpu", "--envs", "4", "--seconds", "0.2", "--train_envs", "4", "--train_iters", "1",
            "--walk_minutes", "5", "--walk_max_samples", "128", "--test_episodes", "2"]
    out = subprocess.run([sys.executable, str(REPO_ROOT / "benchmarks/gpu_check.py"), *args], cwd=REPO_ROOT,
                         capture_output=True, text=True, timeout=600)
    assert out.returncode == 0 and "FAILED" not in out.stdout, out.stdout[-2000:] + out.stderr[-2000:]
    for figure in ("parity smpl", "engine/raw", "training_samples_per_sec", "walk run final test"):
        assert figure in out.stdout, figure
