"""Atomic checkpoint files loaded through torch's safe (``weights_only``) unpickler."""

from __future__ import annotations

import os
import pickle
import tempfile
import zipfile
from pathlib import Path
from typing import Any

import torch


class CheckpointError(ValueError):
    """A checkpoint that cannot be used; the message names the file."""


def save_checkpoint(path: str | Path, payload: dict[str, Any]) -> None:
    """Write ``payload`` to ``path`` via a temporary file in the same folder and an atomic rename, so a
    crash never leaves a half-written checkpoint under the real name."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    os.close(fd)
    try:
        torch.save(payload, tmp)
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def load_checkpoint(path: str | Path, map_location: str | torch.device = "cpu") -> dict[str, Any]:
    """Read a checkpoint with ``weights_only=True`` (tensors and plain containers only; no code runs)."""
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"{path}: checkpoint file not found")
    try:
        payload = torch.load(path, map_location=map_location, weights_only=True)
    except (RuntimeError, EOFError, zipfile.BadZipFile, pickle.UnpicklingError, ValueError, KeyError, IndexError,
            TypeError, AttributeError) as err:  # what torch's loader raises on bytes that are not a checkpoint
        first_line = str(err).strip().splitlines()[0] if str(err).strip() else ""
        first_line = first_line if isinstance(err, (RuntimeError, ValueError)) and first_line else (
            f"{type(err).__name__} {first_line}".strip())
        raise CheckpointError(f"{path}: not a readable checkpoint (truncated, corrupt or not written by "
                              f"MimicKit): {first_line}") from None
    if not isinstance(payload, dict):
        raise CheckpointError(f"{path}: not a MimicKit checkpoint (top level is {type(payload).__name__})")
    return payload


SLIM_KEYS = ("format", "signature", "agent", "iteration", "sample_count", "wall_time", "last_test", "run_configs")


def slim_payload(payload: dict[str, Any]) -> dict[str, Any]:
    """A checkpoint reduced to what evaluating, exporting and reusing its policy needs: the agent's networks and
    normalisers with its signature and counters, without optimiser and RNG state (about a third of the size).
    Marked ``slim``: it loads for ``--mode test``, export and as a starting point, but cannot be resumed."""
    return {key: payload[key] for key in SLIM_KEYS if key in payload} | {"slim": True}
