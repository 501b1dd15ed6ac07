"""Reading yaml configs with errors that name the file and the field."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Any

import yaml

from mimickit.util.paths import resolve_path


class ConfigError(ValueError):
    """A configuration file or value that cannot be used; the message names the file and the key."""


def load_yaml(path: str | Path) -> dict[str, Any]:
    """Parse a yaml file whose top level is a mapping."""
    resolved = resolve_path(path)
    try:
        text = resolved.read_text()
    except FileNotFoundError:
        raise ConfigError(f"{path}: config file not found") from None
    except IsADirectoryError:
        raise ConfigError(f"{path}: is a directory, expected a yaml file") from None
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as err:
        raise ConfigError(f"{path}: malformed yaml: {err}") from None
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: top level must be a mapping of keys to values, found {type(data).__name__}")
    return data


def check_keys(config: dict[str, Any], allowed: Iterable[str], source: str, required: Iterable[str] = ()) -> None:
    """Refuse unknown keys (listing the valid ones) and missing required keys."""
    allowed = set(allowed)
    unknown = sorted(set(config) - allowed)
    if unknown:
        raise ConfigError(f"{source}: unknown key(s) {unknown}; valid keys are {sorted(allowed)}")
    missing = [k for k in required if k not in config]
    if missing:
        raise ConfigError(f"{source}: missing required key(s) {missing}")
