"""The checkpoint format: what a ``model.pt`` holds, how it is written (atomically) and how an agent's weights are
read back with their signature checked. :class:`~mimickit.learning.runner.Runner` decides when; this module
decides what."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from mimickit.learning.base_agent import BaseAgent
from mimickit.util.checkpoint import CheckpointError, load_checkpoint, save_checkpoint

CHECKPOINT_FORMAT = "mimickit-checkpoint-1"


def training_state_path(path: str | Path, rank: int = 0) -> Path:
    """Where worker ``rank``'s training-only state (e.g. a replay buffer) of checkpoint ``path`` is kept."""
    path = Path(path)
    suffix = "" if rank == 0 else f"_rank{rank}"
    return path.with_name(f"{path.stem}_training_state{suffix}.pt")


def write_checkpoint(path: str | Path, agent: BaseAgent, *, iteration: int, sample_count: int, wall_time: float,
                     rng: Any, world_size: int, last_test: dict[str, Any], run_configs: dict[str, str]) -> None:
    """Agent (networks, normalisers) and its optimisers, the counters (``wall_time`` in s), RNG state (one per
    worker when ``world_size`` > 1), the last test's scalars and the texts of the run's configs
    (``run_configs``: ``env_config``, ``agent_config``, ``engine_config``; so the model file alone can be
    evaluated and exported), written atomically."""
    save_checkpoint(path, {
        "format": CHECKPOINT_FORMAT, "signature": agent.signature(), "agent": agent.state_dict(),
        "optimizers": agent.optimizer_states(), "iteration": iteration, "sample_count": sample_count,
        "wall_time": wall_time, "rng": rng, "world_size": world_size,
        "last_test": {k: float(v) for k, v in last_test.items() if isinstance(v, (int, float))},
        "run_configs": dict(run_configs),
    })


def load_agent_weights(agent: BaseAgent, path: str | Path) -> dict[str, Any]:
    """Load the networks and normalisers of checkpoint ``path`` into ``agent`` after checking that it was written
    for the same env and agent configs; returns the whole payload (counters, optimisers, RNG state)."""
    payload = load_checkpoint(path, agent.device)
    if payload.get("format") != CHECKPOINT_FORMAT:
        raise CheckpointError(f"{path}: not a MimicKit checkpoint (format {payload.get('format')!r})")
    theirs, ours = payload["signature"], agent.signature()
    if theirs != ours:
        raise CheckpointError(f"{path}: written for {theirs}, but this run has {ours}; the env or agent "
                              f"config differs from the one the checkpoint was trained with")
    try:
        agent.load_state_dict(payload["agent"])
    except RuntimeError as err:
        raise CheckpointError(f"{path}: network shapes differ from this agent config: "
                              f"{str(err).splitlines()[0]}") from None
    return payload
