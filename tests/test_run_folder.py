"""The run-folder contract end to end: a run is never overwritten or truncated, a run that has nothing to do says
so, test mode needs a policy and keeps its results out of other runs, and each refusal is one line on stderr
with exit code 2 that leaves every file as it was (a failed start writes nothing at all)."""

import hashlib
import json

import pytest
import torch

from mimickit.run import main

from .conftest import REPO_ROOT
from .test_run import TINY


def snapshot(folder):
    """Every file under ``folder`` with its contents' hash."""
    return {str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file()}


def refused(capsys, argv, *phrases):
    capsys.readouterr()
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and err.count("\n") == 1, err  # one line, no traceback
    for phrase in phrases:
        assert phrase in err, err


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """A finished 64-sample run (model.pt, log.txt, config copies)."""
    out = tmp_path_factory.mktemp("runs") / "run"
    assert main(TINY + ["--max_samples", "64", "--out_dir", str(out)]) == 0
    return out


def test_training_into_a_run_folder_without_resume_is_refused_and_changes_nothing(trained, capsys):
    before = snapshot(trained)
    refused(capsys, TINY + ["--max_samples", "64", "--out_dir", str(trained)], "holds a run (model.pt, log.txt)",
            "--resume true", "fresh --out_dir")
    refused(capsys, TINY + ["--max_samples", "0", "--out_dir", str(trained)], "--max_samples must be >= 1, found 0")
    refused(capsys, TINY + ["--max_minutes", "0", "--out_dir", str(trained)], "--max_minutes must be > 0, found 0")
    assert snapshot(trained) == before


def test_resume_with_nothing_left_to_do_says_so_and_keeps_the_log(trained, capsys):
    before = snapshot(trained)
    for budget in ("0", "32", "64"):  # the run has 64 samples
        phrase = "must be >= 1" if budget == "0" else "has trained 64 samples, already at --max_samples"
        refused(capsys, TINY + ["--max_samples", budget, "--out_dir", str(trained), "--resume", "true"], phrase)
    assert snapshot(trained) == before


def test_resume_without_a_run_is_refused_and_creates_nothing(tmp_path, capsys):
    out = tmp_path / "empty"
    refused(capsys, TINY + ["--max_samples", "64", "--out_dir", str(out), "--resume", "true"],
            "there is no run to continue")
    assert not out.exists()


def test_continuing_another_run_into_a_run_folder_is_refused(trained, tmp_path, capsys):
    other = tmp_path / "other"
    assert main(TINY + ["--max_samples", "32", "--out_dir", str(other)]) == 0
    before = snapshot(trained)
    refused(capsys, TINY + ["--max_samples", "96", "--out_dir", str(trained), "--resume", "true", "--model_file",
                            str(other / "model.pt")], "other than --model_file")
    assert snapshot(trained) == before


def test_an_out_dir_that_cannot_be_a_folder_is_refused(tmp_path, capsys):
    blocker = tmp_path / "a_file"
    blocker.write_text("not a folder")
    refused(capsys, TINY + ["--max_samples", "32", "--out_dir", str(blocker)], "is a file, not a folder")
    refused(capsys, TINY + ["--max_samples", "32", "--out_dir", str(blocker / "run")], "lies under", "a file")
    assert blocker.read_text() == "not a folder"


def test_a_failed_start_writes_nothing(tmp_path, capsys):
    out = tmp_path / "never"
    refused(capsys, TINY + ["--max_samples", "32", "--out_dir", str(out), "--motion_file", str(tmp_path)],
            "a folder, not a motion file")
    bad_agent = tmp_path / "agent.yaml"
    bad_agent.write_text((REPO_ROOT / TINY[5]).read_text().replace("discount: 0.99", "discount: banana"))
    refused(capsys, TINY[:4] + ["--agent_config", str(bad_agent)] + TINY[6:] + ["--out_dir", str(out)],
            "discount must be a number")
    assert not out.exists()


def test_test_mode_needs_a_policy_and_keeps_its_results_out_of_other_runs(trained, tmp_path, capsys):
    test = TINY + ["--mode", "test", "--test_episodes", "2"]
    results = tmp_path / "results"
    refused(capsys, test + ["--out_dir", str(results)], "give --model_file", "--random_policy true")
    assert not results.exists()
    assert main(test + ["--out_dir", str(results), "--random_policy", "true"]) == 0
    assert json.loads((results / "test_results.json").read_text())["model_file"] is None

    other = tmp_path / "other"
    assert main(TINY + ["--max_samples", "32", "--out_dir", str(other)]) == 0
    before = snapshot(trained)
    refused(capsys, test + ["--out_dir", str(trained), "--model_file", str(other / "model.pt")],
            "holds a training run", "not its model.pt")
    refused(capsys, test + ["--out_dir", str(trained), "--random_policy", "true"], "holds a training run")
    assert snapshot(trained) == before
    assert main(test + ["--out_dir", str(trained), "--model_file", str(trained / "model.pt")]) == 0  # its own run
    assert json.loads((trained / "test_results.json").read_text())["model_file"] == str(trained / "model.pt")


def test_a_model_file_alone_is_tested_with_the_configs_it_was_trained_with(tmp_path, capsys):
    """Moved away from its run folder, a checkpoint still carries its configs: --mode test needs only the file,
    and an explicit config still wins."""
    import shutil

    run = tmp_path / "run"
    assert main(TINY + ["--max_samples", "64", "--out_dir", str(run)]) == 0
    payload = torch.load(run / "model.pt", weights_only=True)
    assert payload["run_configs"]["env_config"] == (run / "env_config.yaml").read_text()
    assert payload["run_configs"]["agent_config"] == (run / "agent_config.yaml").read_text()
    alone = tmp_path / "elsewhere" / "model.pt"
    alone.parent.mkdir()
    shutil.copyfile(run / "model.pt", alone)
    capsys.readouterr()
    assert main(["--mode", "test", "--model_file", str(alone), "--num_envs", "2", "--test_episodes", "2",
                 "--out_dir", str(tmp_path / "results")]) == 0
    assert "Using the configs" in capsys.readouterr().out
    assert json.loads((tmp_path / "results" / "test_results.json").read_text())["episodes"] == 2
    other_agent = tmp_path / "wide.yaml"  # an explicit agent config is used, so its shape mismatch is reported
    other_agent.write_text((REPO_ROOT / "tests/data/configs/tiny_ppo_agent.yaml").read_text()
                           .replace("fc_2layers_128units", "fc_2layers_256units"))
    assert main(["--mode", "test", "--model_file", str(alone), "--agent_config", str(other_agent),
                 "--num_envs", "2", "--test_episodes", "2", "--out_dir", str(tmp_path / "results2")]) == 2
    assert "network shapes differ" in capsys.readouterr().err
