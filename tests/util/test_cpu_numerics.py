"""Subnormal floats are flushed to zero in training processes, in the calling thread and in torch's pool."""
from __future__ import annotations

import subprocess
import sys

# A matrix product large enough to run on torch's thread pool, with subnormal (1e-39) inputs; prints the
# largest output magnitude: 256 * 1e-39 unless subnormals are flushed.
_PRODUCT = "x = torch.full((512, 512), 1e-39); print(float((x @ torch.ones(512, 512)).abs().max()))"


def _run(setup: str) -> float:
    script = f"import torch\ntorch.set_num_threads(2)\n{setup}\n{_PRODUCT}\n"
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120, check=True)
    return float(done.stdout.split()[-1])


def test_subnormal_inputs_give_nonzero_products_by_default():
    assert _run("") > 1e-37


def test_flush_subnormals_reaches_the_thread_pool():
    assert _run("from mimickit.util.cpu_numerics import flush_subnormals\nflush_subnormals()") == 0.0


def test_a_training_process_flushes_subnormals_before_building_anything():
    setup = """
import mimickit.run as run
from mimickit.util.arg_parser import parse_args

class Built(Exception):
    pass

def stop(*args, **kwargs):
    raise Built

run.build_env = stop
try:
    run.run_process(parse_args(["--env_config", "data/envs/deepmimic_humanoid_env.yaml"]), torch.device("cpu"))
except Built:
    pass
"""
    assert _run(setup) == 0.0
