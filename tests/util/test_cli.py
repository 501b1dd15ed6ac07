"""Command-line helpers: one line and an exit code for a user error or Ctrl-C; a parent that runs a training run as
its child outlives Ctrl-C and loses no checkpoint."""

import os
import signal
import subprocess
import sys
import textwrap
import time

import pytest

from mimickit.run import main as mimickit_main
from mimickit.util.cli import guarded
from mimickit.util.config import ConfigError

from ..conftest import REPO_ROOT

# A stand-in for a training run: on SIGINT / SIGTERM it finishes its iteration (1 s), writes its checkpoint and
# exits with 128 + the signal, as mimickit/run.py does.
CHILD = textwrap.dedent("""
    import signal, sys, time
    stop = []
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda signum, frame: stop.append(signum))
    print("ready", flush=True)
    while not stop:
        time.sleep(0.01)
    time.sleep(1.0)
    open(sys.argv[1], "w").write("checkpoint")
    sys.exit(128 + stop[0])
""")


@pytest.mark.parametrize("signum, whole_group", [(signal.SIGINT, True), (signal.SIGTERM, False)],
                         ids=["ctrl-c to the terminal's process group", "SIGTERM to the parent alone"])
def test_a_stopped_child_writes_its_checkpoint_and_the_parent_reports_its_code(tmp_path, signum, whole_group):
    checkpoint = tmp_path / "model.pt"
    child = [sys.executable, "-c", CHILD, str(checkpoint)]
    parent = f"from mimickit.util.cli import run_child; print('child exited', run_child({child!r}, {str(tmp_path)!r}))"
    proc = subprocess.Popen([sys.executable, "-c", parent], cwd=REPO_ROOT, start_new_session=True,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert proc.stdout.readline() == "ready\n"
        time.sleep(0.3)  # the parent set its handlers right after the child started; leave it time to be sure
        if whole_group:
            os.killpg(proc.pid, signum)
        else:
            os.kill(proc.pid, signum)
        out, err = proc.communicate(timeout=60)
    finally:  # the whole group: a failed test leaves no stand-in run behind
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    assert "Traceback" not in err and proc.returncode == 0, err
    assert out.strip() == f"child exited {128 + signum}"
    assert checkpoint.read_text() == "checkpoint"  # subprocess.run would have killed the child 0.25 s after Ctrl-C


def test_a_tool_reports_user_errors_and_ctrl_c_in_one_line(capsys):
    def bad_input():
        raise ConfigError("data/envs/x.yaml: key 'fps' must be > 0, found -1")

    def pressed_ctrl_c():
        raise KeyboardInterrupt

    assert guarded(lambda: None) == 0 and guarded(lambda: 3) == 3
    assert guarded(bad_input) == 2
    assert capsys.readouterr().err == "error: data/envs/x.yaml: key 'fps' must be > 0, found -1\n"
    assert guarded(pressed_ctrl_c) == 130
    assert capsys.readouterr().err == "interrupted\n"


def test_ctrl_c_in_a_subcommand_is_one_line(monkeypatch, capsys):
    import mimickit.plot

    def pressed_ctrl_c(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(mimickit.plot, "plot", pressed_ctrl_c)
    assert mimickit_main(["plot", "output/none"]) == 130
    assert capsys.readouterr().err == "interrupted\n"
