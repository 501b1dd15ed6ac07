"""Learning curves from training logs: any x / y columns of one or more ``log.txt`` files (or run folders),
seeds of a group drawn as mean +- std bands, optional moving-average smoothing; writes a PNG.

    mimickit plot output/walk_s1 output/walk_s2 --y Test_E_Pos --out curves.png
    mimickit plot preset=out/a1,out/a2 sharp=out/b1,out/b2 --x Wall_Time --y Test_E_Pos Train_Return
"""

from __future__ import annotations

import argparse
import math
import os
import sys
from pathlib import Path

import numpy as np

from mimickit.util.cli import guarded


def read_log(path: str | Path) -> dict[str, np.ndarray]:
    """Columns of a MimicKit ``log.txt`` (header line, then whitespace-separated numbers) as float arrays."""
    path = Path(path)
    if path.is_dir():
        path = path / "log.txt"
    lines = [line.split() for line in path.read_text().splitlines() if line.strip()]
    if not lines:
        raise ValueError(f"{path}: empty log")
    header = lines[0]
    rows = [r for r in lines[1:] if r != header]  # a resumed run may repeat the header
    data = np.array([[float(v) for v in r] for r in rows], dtype=np.float64).reshape(len(rows), len(header))
    return {name: data[:, i] for i, name in enumerate(header)}


def smooth(y: np.ndarray, window: int) -> np.ndarray:
    """Trailing moving average over ``window`` points (NaNs ignored)."""
    if window <= 1:
        return y
    out = np.empty_like(y)
    for i in range(len(y)):
        chunk = y[max(0, i - window + 1):i + 1]
        out[i] = np.nanmean(chunk) if np.isfinite(chunk).any() else math.nan
    return out


def group_curve(logs: list[dict[str, np.ndarray]], x: str, y: str, window: int) -> tuple[np.ndarray, ...]:
    """Mean and std of ``y`` over the logs of a group, on the first log's ``x`` points within the shortest run.
    Rows where ``y`` is ``nan`` (test columns between tests) are skipped, so smoothing averages ``window`` values."""
    for log in logs:
        for column in (x, y):
            if column not in log:
                raise ValueError(f"no column {column!r}; columns: {sorted(log)}")
    series = []
    for log in logs:
        valid = np.isfinite(log[x]) & np.isfinite(log[y])
        if not valid.any():
            raise ValueError(f"column {y!r} holds no values")
        series.append((log[x][valid], smooth(log[y][valid], window)))
    end = min(xs[-1] for xs, _ in series)
    grid = series[0][0][series[0][0] <= end]
    curves = np.stack([np.interp(grid, xs, ys) for xs, ys in series])
    return grid, np.nanmean(curves, axis=0), np.nanstd(curves, axis=0)


def parse_groups(entries: list[str]) -> list[tuple[str, list[str]]]:
    """``label=path,path`` or a bare path (its own group, labelled by the path)."""
    groups = []
    for entry in entries:
        label, _, paths = entry.rpartition("=") if "=" in entry else (entry, "", entry)
        groups.append((label, [p for p in paths.split(",") if p]))
    return groups


def plot(groups: list[tuple[str, list[str]]], x: str, ys: list[str], window: int, out: str,
         show: bool = False) -> Path:
    """Draw the curves, write ``out`` (PNG) and, with ``show``, open a window too."""
    import matplotlib

    if not show:
        matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, len(ys), figsize=(5.5 * len(ys), 4), squeeze=False)
    for ax, y in zip(axes[0], ys, strict=True):
        for label, paths in groups:
            grid, mean, std = group_curve([read_log(p) for p in paths], x, y, window)
            scale = 60.0 if x == "Wall_Time" else 1.0  # the log keeps hours; minutes read better
            line, = ax.plot(grid * scale, mean, label=f"{label} ({len(paths)})" if len(paths) > 1 else label)
            if len(paths) > 1:
                ax.fill_between(grid * scale, mean - std, mean + std, color=line.get_color(), alpha=0.25)
        ax.set(xlabel="Wall_Time (min)" if x == "Wall_Time" else x, ylabel=y)
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8)
    fig.tight_layout()
    path = Path(out)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    if show:
        plt.show()
    plt.close(fig)
    return path


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="mimickit plot", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("runs", nargs="+", help="log.txt files or run folders; label=run1,run2 groups seeds")
    parser.add_argument("--x", default="Samples", help="x column (Wall_Time is shown in minutes) [Samples]")
    parser.add_argument("--y", nargs="+", default=["Test_E_Pos"], help="y column(s) [Test_E_Pos]")
    parser.add_argument("--smooth", type=int, default=1, help="moving-average window in log rows [1]")
    parser.add_argument("--out", default="output/plot.png")
    parser.add_argument("--show", default="auto", choices=["auto", "yes", "no"],
                        help="also open a window: auto = when a display exists [auto]")
    cli = parser.parse_args(argv)
    show = cli.show == "yes" or (cli.show == "auto" and bool(os.environ.get("DISPLAY")))
    try:
        path = plot(parse_groups(cli.runs), cli.x, cli.y, cli.smooth, cli.out, show)
    except (OSError, ValueError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    except ImportError:
        print("error: plotting needs matplotlib (pip install 'mimickit[plot]')", file=sys.stderr)
        return 2
    print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(guarded(main))
