"""Where project files live: paths in configs are relative to the working directory or the repo root."""

from __future__ import annotations

import atexit
import shutil
import tempfile
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]
PACKAGE_ROOT = Path(__file__).resolve().parents[1]  # an installed package holds data/ and args/ itself


def resolve_path(path: str | Path) -> Path:
    """An existing file for ``path``: absolute as given, else relative to the working directory, else to
    the repository root, else inside the installed package (so ``data/...`` and ``args/...`` work from any
    directory, in a checkout or after ``pip install``). Returns the cwd-relative form if none exists, so
    the caller's error names the path the user wrote."""
    path = Path(path)
    if path.is_absolute() or path.exists():
        return path
    for root in (REPO_ROOT, PACKAGE_ROOT):
        candidate = root / path
        if candidate.exists():
            return candidate
    return path


def model_configs(model_file: str | Path) -> dict[str, str]:
    """Config files of the run that wrote ``model_file``: ``env_config``, ``agent_config`` and, when the run had
    one, ``engine_config``. The copies its run folder holds (written by training; for an intermediate checkpoint
    in ``<run>/int_models/``, the run folder above it), else the texts the checkpoint carries (``run_configs``,
    written to a temporary folder for this process). Empty for a checkpoint that knows neither."""
    path = resolve_path(model_file)
    run_dir = path.parent.parent if path.parent.name == "int_models" else path.parent
    found = {key: str(run_dir / f"{key}.yaml") for key in CONFIG_KEYS if (run_dir / f"{key}.yaml").exists()}
    if "env_config" in found and "agent_config" in found:
        return found
    from mimickit.util.checkpoint import CheckpointError, load_checkpoint

    try:
        texts = load_checkpoint(path).get("run_configs") or {}
    except CheckpointError:
        return {}  # the caller loading the model reports what is wrong with it
    if not ("env_config" in texts and "agent_config" in texts):
        return {}
    folder = Path(tempfile.mkdtemp(prefix="mimickit_run_configs_"))
    atexit.register(shutil.rmtree, folder, ignore_errors=True)
    out = {}
    for key in CONFIG_KEYS:
        if texts.get(key):
            (folder / f"{key}.yaml").write_text(texts[key])
            out[key] = str(folder / f"{key}.yaml")
    return out


CONFIG_KEYS = ("env_config", "agent_config", "engine_config")
