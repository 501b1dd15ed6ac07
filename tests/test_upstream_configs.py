"""Upstream MimicKit's own arg files and yamls (written here from the facts file, in upstream's layout:
``args/`` and ``data/envs|agents|engines`` in one folder, clips and assets not beside them) run unchanged
with our entry point: upstream's display keys are accepted, its engine names map to ours with a notice, the
clips and the character are found in the package, and upstream's 4096 envs on a CPU get a hint."""

import json
import shutil

import pytest

from mimickit.run import main

from .conftest import REPO_ROOT

UPSTREAM = REPO_ROOT / "tests/data/upstream"


@pytest.fixture
def upstream_folder(tmp_path, monkeypatch):
    folder = tmp_path / "upstream"
    shutil.copytree(UPSTREAM, folder)
    monkeypatch.chdir(folder)
    return folder


@pytest.mark.parametrize("name", ["deepmimic_humanoid_ppo", "deepmimic_humanoid_awr", "amp_humanoid", "add_humanoid",
                                  "amp_location_humanoid", "amp_steering_humanoid", "ase_humanoid",
                                  "deepmimic_g1_ppo", "deepmimic_smpl_ppo", "lcp_g1_ppo"])
def test_upstream_training_arg_files_train_unchanged(upstream_folder, capsys, name):
    # the arg file as upstream ships it; only the budget and env count are added on the command line
    assert main(["--arg_file", f"args/{name}_args.txt", "--num_envs", "2", "--max_samples", "64"]) == 0
    out = capsys.readouterr().out
    assert "upstream's engine_name" in out and "runs on MimicKit's mujoco engine" in out
    assert (upstream_folder / "output/model.pt").is_file() and (upstream_folder / "output/log.txt").is_file()
    # upstream's AMP-family envs repeat DeepMimic's reward block: accepted, and said to be unused
    unused_rewards = "reward_key_pos_scale, reward_key_pos_w" in out and "not read by this env" in out
    assert unused_rewards == name.startswith(("amp_", "add_", "ase_"))


def test_upstream_view_motion_plays_unchanged(upstream_folder):
    assert main(["--arg_file", "args/view_motion_humanoid_args.txt", "--test_episodes", "4"]) == 0
    assert json.loads((upstream_folder / "output/test_results.json").read_text())["episodes"] == 4


def test_upstream_env_count_on_a_cpu_gets_a_hint(upstream_folder, capsys):
    # stopped right after the hint by a refused out_dir, so no 4096-env scene is built
    (upstream_folder / "blocker").write_text("")
    assert main(["--arg_file", "args/deepmimic_humanoid_ppo_args.txt", "--out_dir", "blocker/run"]) == 2
    out = capsys.readouterr().out
    assert "note: --num_envs 4096 on the CPU" in out and "args/deepmimic_humanoid_ppo_args.txt" in out


def test_upstream_go2_runs_with_its_engine_override_and_names_its_missing_clip(upstream_folder, capsys):
    # upstream's Go2 env names go2_pace.pkl, which is not available offline: one line naming it, nothing written
    assert main(["--arg_file", "args/deepmimic_go2_ppo_args.txt", "--num_envs", "2", "--max_samples", "64"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "go2_pace.pkl: motion file not found" in err
    assert not (upstream_folder / "output").exists()
    # with a clip we have it trains; its env's engine: override (upstream-only ground_contact_height) is accepted
    assert main(["--arg_file", "args/deepmimic_go2_ppo_args.txt", "--num_envs", "2", "--max_samples", "64",
                 "--motion_file", "data/motions/go2/go2_walk.pkl"]) == 0
