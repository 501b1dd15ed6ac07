"""Where project files live: paths in configs are relative to the working directory or the repo root."""

from __future__ import annotations

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


def run_config_files(model_file: str | Path, env_config: str, agent_config: str) -> tuple[str, str]:
    """The env and agent configs a checkpoint was trained with: the copies its run folder holds
    (``env_config.yaml``, ``agent_config.yaml``, written by training; for an intermediate checkpoint in
    ``<run>/int_models/``, the run folder above it), else the given defaults."""
    run_dir = resolve_path(model_file).parent
    if run_dir.name == "int_models":
        run_dir = run_dir.parent
    env_copy, agent_copy = run_dir / "env_config.yaml", run_dir / "agent_config.yaml"
    return (str(env_copy) if env_copy.exists() else env_config,
            str(agent_copy) if agent_copy.exists() else agent_config)
