#!/usr/bin/env python
"""The paper's Table 1 from a sweep file: train what is missing, evaluate what ships, write the table and curves.

    python benchmarks/table1_sweep.py                      # evaluate the shipped models: docs/table1.md, .png
    python benchmarks/table1_sweep.py --train              # first train every row without a shipped model
    python benchmarks/table1_sweep.py --rows dance_a --train --no_evaluate
    python benchmarks/table1_sweep.py --rows dance_a       # re-evaluate one row, keep the others' results

Each row of ``benchmarks/table1_sweep.yaml`` names a run (clip, method, arg file, seed, wall-clock budget). With
``--train`` a row without ``data/models/<name>_model.pt`` trains in ``data/runs/<name>_seed<seed>/`` (resuming
what an earlier session left there) until its ``Wall_Time`` reaches the budget (``mimickit/run.py --max_minutes``:
the command is printed, and resumed by hand it stops at the budget too); then its slim model and log
are shipped (``data/models``, ``data/logs``) and the run folder is removed. Ctrl-C (or SIGTERM) stops the run after
its iteration with a checkpoint, and the sweep with it (exit 130 / 143; ``--train`` again resumes). Every shipped
model is evaluated the paper's way (``benchmarks/table1.py``: deterministic policy, ``--episodes`` episodes, early
termination only on undesired ground contact, Eq. 2 / Eq. 3). The table puts the paper's e_pos (mean over 5 seeds)
beside ours with their ratio; the figure plots each row's periodic test e_pos against wall-clock and samples from
its log.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import shutil
import signal
import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np

REPO_ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO_ROOT))

from mimickit.plot import read_log  # noqa: E402
from mimickit.util.arg_parser import parse_args  # noqa: E402
from mimickit.util.checkpoint import load_checkpoint, save_checkpoint, slim_payload  # noqa: E402
from mimickit.util.cli import at_least, guarded, run_child  # noqa: E402
from mimickit.util.config import ConfigError, load_yaml  # noqa: E402
from mimickit.util.logger import thin_log  # noqa: E402

SWEEP = REPO_ROOT / "benchmarks" / "table1_sweep.yaml"
METHODS = ("DeepMimic", "AMP", "ADD")
SHIPPED_LOG_EVERY = 10  # a shipped log keeps every test row and every 10th iteration's training row


@dataclass(frozen=True)
class Row:
    """One run of the sweep (see the sweep yaml's header for the keys)."""

    name: str
    clip: str
    method: str
    args: str
    seed: int
    budget_min: float
    bound_2s: float
    motion_file: str = ""
    min_len_2s: float = 60.0

    @property
    def model(self) -> Path:
        return REPO_ROOT / "data" / "models" / f"{self.name}_model.pt"

    @property
    def log(self) -> Path:
        return REPO_ROOT / "data" / "logs" / f"{self.name}_log.txt"

    @property
    def run_dir(self) -> Path:
        return REPO_ROOT / "data" / "runs" / f"{self.name}_seed{self.seed}"

    def configs(self) -> dict:
        """The run's arguments: its arg file's, with the row's clip."""
        args = parse_args(["--arg_file", self.args])
        if self.motion_file:
            args["motion_file"] = self.motion_file
        return args


def load_sweep(path: str | Path = SWEEP) -> tuple[dict[str, dict[str, list[float]]], list[Row]]:
    """The paper's figures ``{clip: {method: [mean, std]}}`` and the rows; errors name the file and row."""
    data = load_yaml(path)
    rows = []
    for k, entry in enumerate(data.get("rows", [])):
        try:
            row = Row(**entry)
        except TypeError as err:
            raise ConfigError(f"{path}: row {k}: {err}") from None
        if row.method not in METHODS:
            raise ConfigError(f"{path}: row {k} ({row.name}): method must be one of {METHODS}, found {row.method!r}")
        rows.append(row)
    names = [r.name for r in rows]
    if len(set(names)) != len(names):
        raise ConfigError(f"{path}: a row name appears twice: {sorted(n for n in names if names.count(n) > 1)}")
    return data.get("paper", {}), rows


def wall_minutes(log: Path) -> float:
    """Minutes of training a log records (0 without one)."""
    if not log.is_file():
        return 0.0
    return float(read_log(log)["Wall_Time"][-1]) * 60.0


def train(row: Row) -> int:
    """Train ``row`` until its budget (resuming its run folder), then ship its slim model and log.

    Returns 0 once it ships, else the exit code of a run that stopped before its budget (128 + the signal for
    Ctrl-C / SIGTERM, after which the run folder holds a checkpoint to resume)."""
    spent = wall_minutes(row.run_dir / "log.txt")
    left = row.budget_min - spent
    returncode = 0
    if left > 0.05:
        command = [sys.executable, str(REPO_ROOT / "mimickit/run.py"), "--arg_file", row.args,
                   "--rand_seed", str(row.seed), "--out_dir", str(row.run_dir), "--max_minutes", f"{row.budget_min:g}"]
        command += ["--motion_file", row.motion_file] if row.motion_file else []
        command += ["--resume", "true"] if (row.run_dir / "model.pt").exists() else []
        print(f"{row.name}: training {left:.1f} of its {row.budget_min:g} minutes in {row.run_dir} "
              f"({' '.join(command[1:])})", flush=True)
        returncode = run_child(command, REPO_ROOT)  # the run stops itself at its budget
        if returncode not in (0, 128 + signal.SIGINT, 128 + signal.SIGTERM):  # signals: the run wrote its checkpoint
            raise ConfigError(f"{row.name}: training stopped with exit code {returncode}")
    if wall_minutes(row.run_dir / "log.txt") < row.budget_min - 0.5:
        print(f"{row.name}: stopped before its budget; continue with --train", flush=True)
        return returncode or 1
    save_checkpoint(row.model, slim_payload(load_checkpoint(row.run_dir / "model.pt")))
    row.log.write_text(thin_log((row.run_dir / "log.txt").read_text(), SHIPPED_LOG_EVERY))
    shutil.rmtree(row.run_dir)
    print(f"{row.name}: shipped {row.model.relative_to(REPO_ROOT)} and its log", flush=True)
    return 0


def _table1_module():
    spec = importlib.util.spec_from_file_location("table1", REPO_ROOT / "benchmarks" / "table1.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def evaluate(rows: list[Row], episodes: int, num_envs: int, seed: int) -> dict[str, dict]:
    """Protocol results of every row with a shipped model, by row name."""
    table1 = _table1_module()
    results = {}
    for row in rows:
        if not row.model.exists():
            continue
        args = row.configs()
        motion = args["motion_file"] or load_yaml(args["env_config"])["motion_file"]
        r = table1.evaluate(str(row.model), motion, args, num_envs, episodes, seed)
        r["model"] = str(row.model.relative_to(REPO_ROOT))  # the written json holds no machine's paths
        log = read_log(row.log) if row.log.exists() else {}
        r["samples"] = float(log["Samples"][-1]) if log else float("nan")
        r["minutes"] = wall_minutes(row.log)
        results[row.name] = r
        print(f"{row.name}: e_pos {r['e_pos']:.4f} m over {r['episodes']} episodes ({r['seconds']:.0f} s)", flush=True)
    return results


def kept_results(path: Path, rows: list[Row]) -> dict[str, dict]:
    """The results an earlier run wrote to ``path`` for rows that still ship a model (none without the file)."""
    if not path.is_file():
        return {}
    shipped = {row.name for row in rows if row.model.exists()}
    return {name: r for name, r in json.loads(path.read_text()).items() if name in shipped}


def table(paper: dict, rows: list[Row], results: dict[str, dict]) -> str:
    """The table in the paper's layout with the paper's e_pos beside ours."""
    lines = ["| Motion | Method | Length (s) | Ours: e_pos (m) | Paper: e_pos (m) | Ours / paper | e_vel (rad/s) | "
             "Test episode length | Samples | Minutes |",
             "|---|---|---|---|---|---|---|---|---|---|"]
    for row in rows:
        theirs = paper.get(row.clip, {}).get(row.method)
        paper_text = f"{theirs[0]:.3f} ± {theirs[1]:.3f}" if theirs else "—"
        r = results.get(row.name)
        if r is None:
            lines.append(f"| {row.clip} | {row.method} | | not trained yet ({row.budget_min:g}-minute budget) | "
                         f"{paper_text} | | | | | |")
            continue
        ratio = f"{r['e_pos'] / theirs[0]:.1f}×" if theirs else "—"
        lines.append(f"| {row.clip} | {row.method} | {r['clip_length']:.2f} | {r['e_pos']:.4f} ± "
                     f"{r['e_pos_episode_std']:.4f} | {paper_text} | {ratio} | {r['e_vel']:.3f} | "
                     f"{100 * r['episode_length_s'] / r['max_episode_length_s']:.1f} % | {r['samples'] / 1e6:.1f}M | "
                     f"{r['minutes']:.0f} |")
    return "\n".join(lines)


def figure(rows: list[Row], out: Path) -> None:
    """Each shipped row's periodic test e_pos against wall-clock (left) and samples (right)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (by_time, by_samples) = plt.subplots(1, 2, figsize=(13, 5), sharey=True)
    for k, row in enumerate(rows):
        if not row.log.exists():
            continue
        log = read_log(row.log)
        tested = np.isfinite(log["Test_E_Pos"])  # rows between tests hold no test figures
        log = {k: v[tested] for k, v in log.items()}
        look = {"label": f"{row.clip} ({row.method})", "color": plt.cm.tab20(k % 20),
                "linestyle": {"DeepMimic": "-", "ADD": "--", "AMP": ":"}[row.method]}
        by_time.plot(log["Wall_Time"] * 60.0, log["Test_E_Pos"], **look)
        by_samples.plot(log["Samples"] / 1e6, log["Test_E_Pos"], **look)
    by_time.set(xlabel="wall-clock (min, 2-core CPU)", ylabel="test e_pos (m, Eq. 2, 32 episodes)", yscale="log")
    by_samples.set(xlabel="samples (M)")
    by_samples.legend(fontsize=7, ncol=2)
    for ax in (by_time, by_samples):
        ax.grid(alpha=0.3, which="both")
    fig.tight_layout()
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out, dpi=110)
    plt.close(fig)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sweep", default=str(SWEEP))
    parser.add_argument("--rows", nargs="+", default=[], help="only these rows (names or clips) [all]")
    parser.add_argument("--train", action="store_true", help="first train the rows without a shipped model")
    parser.add_argument("--no_evaluate", action="store_true", help="train only")
    parser.add_argument("--episodes", type=at_least(1), default=256)
    parser.add_argument("--num_envs", type=at_least(1), default=256)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", default=str(REPO_ROOT / "docs" / "table1"),
                        help="writes <out>.md, <out>.png and <out>.json")
    cli = parser.parse_args(argv)
    paper, all_rows = load_sweep(cli.sweep)
    rows = all_rows
    if cli.rows:
        unknown = set(cli.rows) - {r.name for r in rows} - {r.clip for r in rows}
        if unknown:
            raise ConfigError(f"--rows {sorted(unknown)}: not in {cli.sweep}")
        rows = [r for r in rows if r.name in cli.rows or r.clip in cli.rows]
    if cli.train:
        for row in rows:
            stopped = 0 if row.model.exists() else train(row)
            if stopped:  # neither the next row nor the evaluation starts after Ctrl-C
                return stopped
    if cli.no_evaluate:
        return 0
    out = Path(cli.out)
    results = kept_results(out.with_suffix(".json"), all_rows) if cli.rows else {}
    results.update(evaluate(rows, cli.episodes, cli.num_envs, cli.seed))
    text = table(paper, all_rows, results)
    out.parent.mkdir(parents=True, exist_ok=True)
    update = (f" The last update re-evaluated only {', '.join(r.name for r in rows)} (`--rows`); the other rows are "
              f"the earlier results kept in `{out.with_suffix('.json').name}`." if cli.rows else "")
    out.with_suffix(".md").write_text(
        f"# Table 1 on a 2-core CPU\n\nWritten by `python benchmarks/table1_sweep.py` from the shipped models "
        f"({cli.episodes} protocol episodes each, seed {cli.seed}); the paper's figures are means ± std over 5 seeds "
        f"of runs of hundreds of millions of samples on a GPU.{update} Curves: `{out.with_suffix('.png').name}`."
        f"\n\n{text}\n")
    out.with_suffix(".json").write_text(json.dumps(results, indent=2) + "\n")
    figure(all_rows, out.with_suffix(".png"))
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(guarded(main))
