"""Every key an env, agent or engine yaml accepts, with its type, range, unit, default and meaning (from the
schemas the loaders validate against).

    mimickit keys                  # the env, agent and engine names
    mimickit keys env deepmimic    # the keys of one of them
    mimickit keys agent PPO
    mimickit keys engine mujoco
"""

from __future__ import annotations

import importlib
import sys

from mimickit.util.cli import guarded
from mimickit.util.schema import Field, describe


def schemas() -> dict[str, dict[str, dict[str, Field]]]:
    """``{"env" | "agent" | "engine": {name: schema}}`` for every registered class."""
    from mimickit.engines.engine import ENGINE_REGISTRY
    from mimickit.envs.env_builder import ENV_REGISTRY
    from mimickit.learning.agent_builder import AGENT_REGISTRY
    from mimickit.learning.low_level import HLC_SCHEMA

    def load(path: str) -> dict[str, Field]:
        module, name = path.split(":")
        try:
            return getattr(importlib.import_module(module), name).SCHEMA
        except ImportError:  # an optional backend that is not installed
            return {}

    return {"env": {**{name: cls.SCHEMA for name, cls in ENV_REGISTRY.items()}, "ase_hlc": HLC_SCHEMA},
            "agent": {name: load(path) for name, path in AGENT_REGISTRY.items()},
            "engine": {name: load(path) for name, path in ENGINE_REGISTRY.items()}}


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] in (["-h"], ["--help"]):
        print(__doc__.strip())
        return 0
    table = schemas()
    if not argv:
        for kind, named in table.items():
            print(f"{kind}: {', '.join(named)}")
        return 0
    if len(argv) != 2 or argv[0] not in table or argv[1] not in table[argv[0]]:
        names = "; ".join(f"{kind}: {', '.join(named)}" for kind, named in table.items())
        print(f"error: usage: mimickit keys <env|agent|engine> <name>; names are {names}", file=sys.stderr)
        return 2
    schema = table[argv[0]][argv[1]]
    if not schema:
        print(f"error: engine {argv[1]} is not installed here", file=sys.stderr)
        return 2
    print(describe(schema))
    return 0


if __name__ == "__main__":
    sys.exit(guarded(main))
