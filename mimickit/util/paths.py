"""Where project files live: paths in configs are relative to the working directory or the repo root."""

from __future__ import annotations

from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]


def resolve_path(path: str | Path) -> Path:
    """An existing file for ``path``: absolute as given, else relative to the working directory, else to
    the repository root (so ``data/...`` works from any directory). Returns the cwd-relative form if
    neither exists, so the caller's error names the path the user wrote."""
    path = Path(path)
    if path.is_absolute() or path.exists():
        return path
    candidate = REPO_ROOT / path
    return candidate if candidate.exists() else path


def run_config_files(model_file: str | Path, env_config: str, agent_config: str) -> tuple[str, str]:
    """The env and agent configs a checkpoint was trained with: the copies its run folder holds
    (``env_config.yaml``, ``agent_config.yaml``, written by training), else the given defaults."""
    run_dir = resolve_path(model_file).parent
    env_copy, agent_copy = run_dir / "env_config.yaml", run_dir / "agent_config.yaml"
    return (str(env_copy) if env_copy.exists() else env_config,
            str(agent_copy) if agent_copy.exists() else agent_config)
