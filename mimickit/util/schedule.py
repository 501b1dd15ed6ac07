"""Values that change with training progress: ``[[samples, value], ...]`` step schedules keyed on the run's
environment-step count (agent exploration and learning rates, env curricula)."""

from __future__ import annotations

from typing import Any

from mimickit.util.config import ConfigError


def parse_schedule(raw: Any, where: str) -> list[tuple[int, float]]:
    """``[[samples, value], ...]`` (positive values) sorted by samples; None or [] gives no schedule."""
    try:
        schedule = sorted((int(float(samples)), float(value)) for samples, value in (raw or []))
    except (TypeError, ValueError):
        raise ConfigError(f"{where} must be a list of [samples, value] pairs, found {raw!r}") from None
    if any(value <= 0 for _, value in schedule):
        raise ConfigError(f"{where}: every value must be positive, found {raw!r}")
    return schedule


def scheduled_value(schedule: list[tuple[int, float]], sample_count: int, default: float) -> float:
    """The value of the last entry whose sample count has been reached (``default`` before the first)."""
    value = default
    for samples, entry in schedule:
        if sample_count >= samples:
            value = entry
    return value
