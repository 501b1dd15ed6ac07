"""The Table-1 tool evaluates checkpoints under the paper's protocol and prints the paper's layout."""

import importlib.util
import json

import pytest

from mimickit.run import main

from .conftest import REPO_ROOT

spec = importlib.util.spec_from_file_location("table1", REPO_ROOT / "benchmarks" / "table1.py")
table1 = importlib.util.module_from_spec(spec)
spec.loader.exec_module(table1)

TINY = ["--env_config", "data/envs/deepmimic_humanoid_env.yaml", "--agent_config",
        "tests/data/configs/tiny_ppo_agent.yaml", "--num_envs", "2", "--max_samples", "16"]


@pytest.fixture(scope="module")
def two_models(tmp_path_factory):
    root = tmp_path_factory.mktemp("models")
    paths = []
    for seed in (1, 2):
        out = root / f"seed{seed}"
        assert main(TINY + ["--rand_seed", str(seed), "--out_dir", str(out)]) == 0
        paths.append(out / "model.pt")
    return paths


def test_table_rows_hold_exact_episode_counts_and_mean_over_models(two_models, tmp_path, capsys):
    out_json = tmp_path / "table.json"
    models = ",".join(str(p) for p in two_models)
    assert table1.main(["--model", f"walk={models}", "--model", f"run={two_models[0]}", "--episodes", "3",
                        "--num_envs", "2", "--json", str(out_json)]) == 0
    printed = capsys.readouterr().out
    assert ("| Motion | Method | Length (s) | Models | Episodes | e_pos (m) | e_vel (rad/s) | Test episode length |"
            in printed)
    rows = {line.split("|")[1].strip(): line for line in printed.splitlines()
            if line.startswith(("| walk", "| run"))}
    assert rows["walk"].split("|")[2].strip() == "DeepMimic"
    assert rows["walk"].split("|")[4].strip() == "2" and rows["walk"].split("|")[5].strip() == "6"
    results = json.loads(out_json.read_text())
    walk = results["walk/DeepMimic"]
    assert [r["episodes"] for r in walk] == [3, 3]
    assert walk[0]["clip_length"] == pytest.approx(1.2667, abs=1e-3)  # humanoid_walk.pkl
    assert results["run/DeepMimic"][0]["motion_file"].endswith("humanoid_run.pkl")
    mean = (walk[0]["e_pos"] + walk[1]["e_pos"]) / 2
    assert f"{mean:.4f} ±" in rows["walk"]


def test_clip_names_find_every_characters_shipped_clips():
    assert table1.clip_path("walk").endswith("data/motions/humanoid/humanoid_walk.pkl")
    assert table1.clip_path("g1_walk").endswith("data/motions/g1/g1_walk.pkl")
    assert table1.clip_path("go2_walk").endswith("data/motions/go2/go2_walk.pkl")
    assert table1.clip_path("my/own.pkl") == "my/own.pkl"  # not shipped: a path, as given


def test_bad_entry_is_refused(capsys):
    assert table1.main(["--model", "walk"]) == 2
    assert "expected CLIP=MODEL" in capsys.readouterr().err


def test_methods_of_a_clip_sit_side_by_side(two_models, tmp_path, capsys):
    out = tmp_path / "add"
    assert main(["--env_config", "data/envs/add_humanoid_env.yaml",
                 "--agent_config", "tests/data/configs/tiny_add_agent.yaml",
                 "--num_envs", "2", "--max_samples", "16", "--rand_seed", "1", "--out_dir", str(out)]) == 0
    awr = tmp_path / "awr"
    assert main(TINY[:2] + ["--agent_config", "tests/data/configs/tiny_awr_agent.yaml"] + TINY[4:]
                + ["--out_dir", str(awr)]) == 0
    assert table1.main(["--model", f"walk={two_models[0]}", "--model", f"walk={out / 'model.pt'}",
                        "--model", f"walk={awr / 'model.pt'}", "--episodes", "2", "--num_envs", "2"]) == 0
    methods = [line.split("|")[2].strip() for line in capsys.readouterr().out.splitlines() if line.startswith("| walk")]
    assert methods == ["DeepMimic", "ADD", "DeepMimic (AWR)"]
