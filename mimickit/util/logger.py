"""Training logs: ``log.txt`` (one row per output iteration), TensorBoard or W&B, and console progress."""

from __future__ import annotations

import importlib.util
import math
from pathlib import Path
from typing import Any

import numpy as np
import torch

from mimickit.util.config import ConfigError

LOGGER_TYPES = ("txt", "tb", "wandb")
COLUMN_WIDTH = 25


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
    """

    def __init__(self, out_dir: str | Path, kind: str = "txt", run_config: dict | None = None,
                 append: bool = False) -> None:
        if kind not in LOGGER_TYPES:
            raise ConfigError(f"--logger must be one of {list(LOGGER_TYPES)}, found {kind!r}")
        self.path = Path(out_dir) / "log.txt"
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._columns: list[str] | None = None
        if append and self.path.exists() and self.path.stat().st_size > 0:
            self._columns = self.path.read_text().splitlines()[0].split()
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
        """Append one row to log.txt and send it to TensorBoard / W&B at ``step`` (samples)."""
        if self._columns is None:
            self._columns = list(row)
            with self.path.open("a") as f:
                f.write("".join(f"{c:<{COLUMN_WIDTH}}" for c in self._columns).rstrip() + "\n")
        missing = [c for c in self._columns if c not in row]
        if missing:
            raise ValueError(f"log row lacks columns {missing}")
        with self.path.open("a") as f:
            f.write("".join(f"{row[c]!s:<{COLUMN_WIDTH}}" for c in self._columns).rstrip() + "\n")
        if self._tb is not None:
            for key, value in row.items():
                self._tb.add_scalar(key, value, step)
            self._tb.flush()
        if self._wandb is not None:
            self._wandb.log(dict(row), step=step)

    def write_training(self, row: dict[str, Any], step: int) -> None:
        """An iteration between outputs: its training scalars (no ``Test_*``: no test ran) go to TensorBoard /
        W&B at ``step`` (samples); log.txt keeps one row per output iteration, as upstream's does."""
        scalars = {k: v for k, v in row.items() if not k.startswith("Test_")}
        if self._tb is not None:
            for key, value in scalars.items():
                self._tb.add_scalar(key, value, step)
        if self._wandb is not None:
            self._wandb.log(scalars, step=step)

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


def format_table(row: dict[str, Any]) -> str:
    """The row as an aligned two-column table."""
    width = max(len(k) for k in row)
    lines = ["-" * (width + 22)]
    for key, value in row.items():
        text = f"{value:.4g}" if isinstance(value, float) and not math.isnan(value) else str(value)
        lines.append(f"| {key:>{width}} | {text:>15} |")
    lines.append(lines[0])
    return "\n".join(lines)
