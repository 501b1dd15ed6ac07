"""Optional ``torch.compile`` of the environments' batched torch code (the engine's ``compile`` key).

At a few hundred envs on a CPU, the step's torch code (state decoding, forward kinematics, reference motion,
observation and reward terms) is thousands of small ops whose per-op overhead outweighs their arithmetic;
compiling fuses them into a few kernels. The first calls compile (about a minute on 2 cores; Inductor caches the
kernels on disk for later runs); a machine without a C++ compiler falls back to eager code with a warning.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

import torch

F = TypeVar("F", bound=Callable)


def compiled(fn: F, enabled: bool) -> F:
    """``fn`` compiled by ``torch.compile`` when ``enabled`` (falling back to eager code where compiling fails),
    else ``fn`` itself."""
    if not enabled:
        return fn
    from torch import _dynamo

    _dynamo.config.suppress_errors = True  # a failed compile runs the function eagerly instead of raising
    return torch.compile(fn)  # type: ignore[return-value]
