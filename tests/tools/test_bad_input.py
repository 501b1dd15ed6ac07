"""Every command-line tool answers input it cannot use (a file that is not a checkpoint, a missing file, a count
below 1) with an error on stderr and exit code 2 — one ``error:`` line, or argparse's usage and error lines —
never a traceback, and writes nothing."""

import subprocess
import sys

import pytest

from ..conftest import REPO_ROOT

WALK = str(REPO_ROOT / "data/models/deepmimic_humanoid_walk_model.pt")
CASES = {
    "table1 junk checkpoint": (["benchmarks/table1.py", "--model", "walk={junk}"], "not a readable checkpoint"),
    "table1 unknown clip": (["benchmarks/table1.py", "--model", f"nosuchclip={WALK}"], "motion file not found"),
    "table1 no episodes": (["benchmarks/table1.py", "--model", f"walk={WALK}", "--episodes", "0"],
                           "--episodes: must be >= 1"),
    "breakdown missing model": (["benchmarks/tracking_breakdown.py", "--model_file", "{tmp}/none.pt"],
                                "checkpoint file not found"),
    "throughput missing arg file": (["benchmarks/training_throughput.py", "--arg_file", "{tmp}/none.txt"],
                                    "file not found"),
    "throughput no iterations": (["benchmarks/training_throughput.py", "--iters", "0"], "--iters: must be >= 1"),
    "engine throughput no envs": (["benchmarks/engine_throughput.py", "--envs", "0"], "--envs: must be >= 1"),
    "slim junk checkpoint": (["tools/slim_model.py", "{junk}", "{tmp}/out.pt"], "not a readable checkpoint"),
    "latent sweep junk checkpoint": (["tools/ase_latent_sweep.py", "--model_file", "{junk}"],
                                     "not a readable checkpoint"),
    "export junk checkpoint": (["mimickit/run.py", "export", "--model_file", "{junk}", "--out", "{tmp}/p.onnx"],
                               "not a readable checkpoint"),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_tool_refuses_bad_input_without_a_traceback(case, tmp_path):
    argv, phrase = CASES[case]
    junk = tmp_path / "junk.pt"
    junk.write_text("not a checkpoint\n")
    argv = [a.format(junk=junk, tmp=tmp_path) for a in argv]
    done = subprocess.run([sys.executable, *argv], cwd=REPO_ROOT, capture_output=True, text=True, timeout=300)
    assert done.returncode == 2, done.stderr
    assert "Traceback" not in done.stderr and phrase in done.stderr, done.stderr
    argparse_error = argv[0].rsplit("/", 1)[-1] + ": error:"  # argparse's own line, after its usage lines
    assert done.stderr.strip().splitlines()[-1].startswith(("error: ", argparse_error)), done.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["junk.pt"]  # nothing written
