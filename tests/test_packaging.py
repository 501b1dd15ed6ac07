"""An installed (non-editable) package carries its configs, assets, clips and models, and finds them from any
directory."""

import subprocess
import sys
import zipfile

import pytest

from mimickit.util import paths

from .conftest import REPO_ROOT


def test_wheel_ships_data_and_args(tmp_path):
    pytest.importorskip("setuptools")
    subprocess.run([sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "--no-build-isolation", "-w",
                    str(tmp_path), str(REPO_ROOT)], check=True, capture_output=True, cwd=tmp_path)
    (wheel,) = tmp_path.glob("mimickit-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    for expected in ("mimickit/args/deepmimic_humanoid_ppo_args.txt", "mimickit/data/assets/humanoid/humanoid.xml",
                     "mimickit/data/motions/humanoid/humanoid_walk.pkl",
                     "mimickit/data/envs/deepmimic_humanoid_env.yaml",
                     "mimickit/data/models/deepmimic_humanoid_walk_model.pt", "mimickit/learning/runner.py"):
        assert expected in names, expected
    assert not any(n.startswith(("tests/", "output/")) for n in names)


def test_paths_fall_back_to_the_installed_package(tmp_path, monkeypatch):
    package = tmp_path / "site" / "mimickit"
    (package / "args").mkdir(parents=True)
    (package / "args" / "only_installed.txt").write_text("--mode test\n")
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(paths, "PACKAGE_ROOT", package)
    assert paths.resolve_path("args/only_installed.txt") == package / "args" / "only_installed.txt"
    in_checkout = "args/deepmimic_humanoid_ppo_args.txt"
    assert paths.resolve_path(in_checkout) == REPO_ROOT / in_checkout
    assert paths.resolve_path("args/missing.txt") == paths.Path("args/missing.txt")


def test_run_configs_are_found_for_final_and_intermediate_checkpoints(tmp_path):
    run = tmp_path / "run"
    (run / "int_models").mkdir(parents=True)
    (run / "env_config.yaml").write_text("env_name: deepmimic\n")
    (run / "agent_config.yaml").write_text("agent_name: PPO\n")
    copies = {"env_config": str(run / "env_config.yaml"), "agent_config": str(run / "agent_config.yaml")}
    assert paths.model_configs(run / "model.pt") == copies
    assert paths.model_configs(run / "int_models" / "model_0000000050.pt") == copies
    assert paths.model_configs(tmp_path / "elsewhere" / "model.pt") == {}  # no copies, no readable checkpoint


def test_a_checkpoint_carries_its_run_configs(tmp_path):
    """Away from its run folder a model still knows its configs: the texts its checkpoint carries."""
    import torch

    texts = {"env_config": "env_name: deepmimic\n", "agent_config": "agent_name: PPO\n",
             "engine_config": "engine_name: mujoco\n"}
    torch.save({"format": "mimickit-checkpoint-1", "run_configs": texts}, tmp_path / "model.pt")
    found = paths.model_configs(tmp_path / "model.pt")
    assert sorted(found) == sorted(texts)
    for key, text in texts.items():
        assert paths.Path(found[key]).read_text() == text


TRACKED_BUDGET_BYTES = 48 * 2 ** 20  # the GPU machine carries the working tree up to 64 MiB, with what a check needs
# (mujoco: 9.7 MB); unfinished run folders (a full checkpoint each, 5-10 MB, without the agent's training-only state,
# which is not tracked) stay tracked between sessions until their models ship


def test_tracked_files_stay_under_their_budget():
    listed = subprocess.run(["git", "ls-files", "-z"], cwd=REPO_ROOT, capture_output=True)
    if listed.returncode != 0:
        pytest.skip("not a git checkout")
    files = [REPO_ROOT / name for name in listed.stdout.decode().split("\0") if name]
    total = sum(f.stat().st_size for f in files if f.is_file())
    assert total < TRACKED_BUDGET_BYTES, f"tracked files take {total / 2 ** 20:.1f} MiB"
