"""Per-env row selections that are either env ids or a bool mask over every env.

A reset names the envs it resets by ids ``[n]`` (long) or by a mask ``[N]`` (bool). With ids, values are given for
those rows only; with a mask, values are computed for every env and written where the mask is set: more
arithmetic, but no host sync on an accelerator (ids from a mask need ``nonzero``, which waits for the device).
"""
from __future__ import annotations

import torch


def is_mask(rows: torch.Tensor) -> bool:
    """True when ``rows`` is a bool mask over every env, False for env ids."""
    return rows.dtype == torch.bool


def row_count(rows: torch.Tensor) -> int:
    """How many values a write to ``rows`` takes: ``n`` for ids, ``N`` (every env) for a mask."""
    return int(rows.shape[0])


def computed_rows(rows: torch.Tensor) -> torch.Tensor | None:
    """The rows to compute values for: the ids, or None (every env) for a mask."""
    return None if is_mask(rows) else rows


def select(values: torch.Tensor, rows: torch.Tensor) -> torch.Tensor:
    """``values [N, ...]`` of every env reduced to what a write to ``rows`` takes."""
    return values if is_mask(rows) else values[rows]


def write_rows(target: torch.Tensor, rows: torch.Tensor, values: torch.Tensor | float) -> None:
    """``target[rows] = values`` in place, with ``values`` sized as :func:`row_count` says (or a scalar); a mask
    writes by ``torch.where``, without a host sync."""
    if is_mask(rows):
        where = rows.view(-1, *([1] * (target.dim() - 1)))
        target.copy_(torch.where(where, torch.as_tensor(values, dtype=target.dtype, device=target.device), target))
    else:
        target[rows] = values
