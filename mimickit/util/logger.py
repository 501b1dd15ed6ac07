"""Training logs: ``log.txt`` (one row per iteration; test columns ``nan`` where no test ran), TensorBoard or W&B,
and console progress."""

from __future__ import annotations

import importlib.util
import math
from pathlib import Path
from typing import Any

import numpy as np
import torch

from mimickit.util.config import ConfigError

LOGGER_TYPES = ("txt", "tb", "wandb")
SIGNIFICANT_DIGITS = 7  # of a float in log.txt (float32 training figures carry no more)


def check_logger_available(kind: str) -> None:
    """Fail early (before any env is built) when ``kind`` is unknown or its library is not installed."""
    import importlib.util

    if kind not in LOGGER_TYPES:
        raise ConfigError(f"--logger must be one of {list(LOGGER_TYPES)}, found {kind!r}")
    module = {"tb": "tensorboard", "wandb": "wandb"}.get(kind)
    if module is not None and importlib.util.find_spec(module) is None:
        raise ConfigError(f"--logger {kind} needs the {module} package (pip install {module})")


class Logger:
    """Writes rows of named scalars. The columns are fixed by the first row written.

    Args:
        out_dir: folder for ``log.txt`` (and TensorBoard events).
        kind: ``txt`` (log.txt only), ``tb`` (plus TensorBoard) or ``wandb`` (plus Weights & Biases);
            the extra library is imported only when chosen.
        run_config: recorded with W&B runs.
        append: keep an existing log.txt (resuming) instead of starting a new one.
        resume_iteration: with ``append``, the iteration the run continues from: rows of later iterations (written
            after the checkpoint the run resumes, e.g. before a crash) are dropped so no iteration appears twice.
    """

    def __init__(self, out_dir: str | Path, kind: str = "txt", run_config: dict | None = None,
                 append: bool = False, resume_iteration: int | None = None) -> None:
        if kind not in LOGGER_TYPES:
            raise ConfigError(f"--logger must be one of {list(LOGGER_TYPES)}, found {kind!r}")
        self.path = Path(out_dir) / "log.txt"
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._columns: list[str] | None = None
        if append and self.path.exists() and self.path.stat().st_size > 0:
            self._columns = self.path.read_text().splitlines()[0].split()
            if resume_iteration is not None:
                _drop_rows_from(self.path, self._columns, resume_iteration)
        else:
            self.path.write_text("")
        self._tb = self._wandb = None
        if kind == "tb":
            try:
                from torch.utils.tensorboard import SummaryWriter
            except ImportError as err:
                raise ConfigError(f"--logger tb needs the tensorboard package (pip install tensorboard): "
                                  f"{err}") from None
            self._tb = SummaryWriter(log_dir=str(self.path.parent))
        elif kind == "wandb":
            try:
                import wandb
            except ImportError as err:
                raise ConfigError(f"--logger wandb needs the wandb package (pip install wandb): {err}") from None
            self._wandb = wandb.init(project="mimickit", name=self.path.parent.name, config=run_config or {})

    def write(self, row: dict[str, Any], step: int) -> None:
        """Append an output iteration's row (a test ran) to log.txt and send it to TensorBoard / W&B at ``step``
        (samples)."""
        missing = [c for c in self._columns or () if c not in row]
        if missing:
            raise ValueError(f"log row lacks columns {missing}")
        self._append(row)
        self._send(row, step)

    def write_training(self, row: dict[str, Any], step: int) -> None:
        """An iteration between outputs: its row goes to log.txt with the test columns (and the diagnostics only
        output iterations gather) written ``nan``, and its training scalars to TensorBoard / W&B at ``step``."""
        scalars = {k: v for k, v in row.items() if not k.startswith("Test_")}
        self._append(scalars)
        self._send(scalars, step)

    def _append(self, row: dict[str, Any]) -> None:
        if self._columns is None:
            self._columns = list(row)
            with self.path.open("a") as f:
                f.write(" ".join(self._columns) + "\n")
        with self.path.open("a") as f:
            f.write(" ".join(_cell(row.get(c, math.nan)) for c in self._columns) + "\n")

    def _send(self, scalars: dict[str, Any], step: int) -> None:
        if self._tb is not None:
            for key, value in scalars.items():
                self._tb.add_scalar(key, value, step)
            self._tb.flush()
        if self._wandb is not None:
            self._wandb.log(dict(scalars), step=step)

    def write_video(self, tag: str, frames: list[np.ndarray], step: int, fps: float) -> None:
        """Send frames ``[H, W, 3]`` uint8 to TensorBoard (a video when moviepy is installed, else four stills)
        and W&B; the text log keeps only numbers."""
        clip = np.stack(frames)
        if self._tb is not None:
            if importlib.util.find_spec("moviepy") is not None:  # TensorBoard encodes video through moviepy
                self._tb.add_video(tag, torch.from_numpy(clip).permute(0, 3, 1, 2)[None], step, fps=round(fps))
            else:
                stills = clip[np.linspace(0, len(clip) - 1, 4).round().astype(int)]
                self._tb.add_images(tag, stills, step, dataformats="NHWC")
            self._tb.flush()
        if self._wandb is not None:
            import wandb

            self._wandb.log({tag: wandb.Video(clip.transpose(0, 3, 1, 2), fps=round(fps))}, step=step)

    def close(self) -> None:
        if self._tb is not None:
            self._tb.close()
        if self._wandb is not None:
            self._wandb.finish()


def _cell(value: Any) -> str:
    """One log.txt field: floats to :data:`SIGNIFICANT_DIGITS` digits (a long run writes a row per iteration, so the
    row stays short: fields are separated by one space, readers split on whitespace), anything else as ``str``."""
    if isinstance(value, (float, np.floating)):
        return f"{float(value):.{SIGNIFICANT_DIGITS}g}"
    return str(value)


def format_table(row: dict[str, Any]) -> str:
    """The row as an aligned two-column table."""
    width = max(len(k) for k in row)
    lines = ["-" * (width + 22)]
    for key, value in row.items():
        text = f"{value:.4g}" if isinstance(value, float) and not math.isnan(value) else str(value)
        lines.append(f"| {key:>{width}} | {text:>15} |")
    lines.append(lines[0])
    return "\n".join(lines)


def _drop_rows_from(path: Path, columns: list[str], iteration: int) -> None:
    """Rewrite ``path`` (atomically) keeping the header lines and the whole rows of iterations before
    ``iteration`` (a torn last line from a killed run goes too)."""
    if "Iteration" not in columns:
        return
    col = columns.index("Iteration")
    lines = path.read_text().splitlines(keepends=True)
    kept = [line for line in lines if line.split() == columns
            or (len(line.split()) == len(columns) and line.endswith("\n") and _iteration(line, col) < iteration)]
    if len(kept) != len(lines):
        tmp = path.with_name(path.name + ".tmp")
        tmp.write_text("".join(kept))
        tmp.replace(path)


def _iteration(line: str, col: int) -> float:
    try:
        return int(line.split()[col])
    except ValueError:
        return math.inf


def thin_log(text: str, every: int) -> str:
    """A log's text keeping the header, every row where a test ran (``Test_Episodes`` not ``nan``) and every
    ``every``-th iteration's row: what ships beside a model (per-iteration rows of a long run are megabytes)."""
    lines = text.splitlines(keepends=True)
    if not lines:
        return text
    columns = lines[0].split()
    test_col = columns.index("Test_Episodes") if "Test_Episodes" in columns else None
    iter_col = columns.index("Iteration") if "Iteration" in columns else None
    kept = [lines[0]]
    for line in lines[1:]:
        fields = line.split()
        if len(fields) != len(columns) or fields == columns:
            continue
        tested = test_col is not None and fields[test_col] != "nan"
        periodic = iter_col is not None and int(fields[iter_col]) % every == 0
        if tested or periodic:
            kept.append(line)
    return "".join(kept)
