"""The throughput benchmark reports its ratio to raw physics measured in the same run (numbers are not asserted:
no timing assertions in tests; only that each figure is there and sane)."""

import re
import subprocess
import sys

from .conftest import REPO_ROOT


def test_training_throughput_reports_its_share_of_raw_physics():
    out = subprocess.run([sys.executable, "benchmarks/training_throughput.py", "--iters", "1", "--num_envs", "4",
                          "--raw_seconds", "0.2", "--table", "--table_envs", "4", "--table_threads", "1"],
                         cwd=REPO_ROOT, capture_output=True, text=True, timeout=600, check=True).stdout
    assert re.search(r"^\s+4\s+1\s+[\d,]+\s+[\d,]+\s+\d+\.\d{3}$", out, re.MULTILINE), out  # the table row
    assert "raw mujoco.rollout env-steps/s (same model, envs and threads)" in out
    assert "periodic test (32 episodes every 50 iterations): " in out
    rate = float(re.search(r"^training_samples_per_sec: ([\d,]+)$", out, re.MULTILINE).group(1).replace(",", ""))
    with_tests = float(re.search(r"^training_samples_per_sec_with_tests: ([\d,]+)", out, re.MULTILINE).group(1)
                       .replace(",", ""))
    assert 0.0 < with_tests < rate  # the tests cost time
    raw = float(re.search(r"^raw mujoco.rollout env-steps/s \(same model, envs and threads\): ([\d,]+)$", out,
                          re.MULTILINE).group(1).replace(",", ""))
    ratio = float(out.strip().splitlines()[-1].removeprefix("training_vs_raw_physics: "))
    assert ratio > 0.0 and abs(ratio - rate / raw) < 2e-3  # the two printed figures agree (3-decimal rounding)


def test_physics_phases_nest_inside_mj_step():
    """MuJoCo's timers: the sub-phases fit inside their phase and the top-level phases inside mj_step; a walking
    humanoid replaying its clip touches the ground."""
    out = subprocess.run([sys.executable, "benchmarks/physics_phases.py", "--env_config",
                          "data/envs/deepmimic_humanoid_env.yaml", "--starts", "2", "--control_steps", "3"],
                         cwd=REPO_ROOT, capture_output=True, text=True, timeout=600, check=True).stdout
    contacts = float(re.search(r"([\d.]+) contacts per substep", out).group(1))
    share = {name.strip(): float(value) for name, value in re.findall(r"^ +([a-z ]+?) +([\d.]+) %$", out, re.MULTILINE)}
    assert contacts >= 1.0
    assert share["broad phase"] + share["narrow phase"] <= share["collision"] + 0.1
    assert share["kinematics"] + share["inertia"] + share["collision"] + share["make constraints"] <= \
        share["position"] + 0.1
    top = ("position", "velocity", "actuation", "constraint solver", "integration")
    assert 50.0 < sum(share[name] for name in top) <= 100.1 and share["constraint solver"] > 0.0
