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
