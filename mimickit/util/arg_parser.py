"""Command-line arguments in MimicKit's ``--key value [value ...]`` form, with an optional argument file.

Tokens starting with ``--`` are keys; the tokens after a key, up to the next key, are its values. An argument
file is split as a shell splits a line: quotes keep a value with spaces whole (``--out_dir "my runs/a"``), and
``#`` outside quotes starts a comment that runs to the end of the line. Values given on the command line
win over the same key in ``--arg_file``. Unknown keys are refused with the list of valid ones.
"""

from __future__ import annotations

import math
import shlex
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mimickit.util.config import ConfigError
from mimickit.util.paths import model_configs, resolve_path

INT64_MAX = 2 ** 63 - 1
TRUE_WORDS = ("true", "True", "1", "T", "t", "yes")
FALSE_WORDS = ("false", "False", "0", "F", "f", "no")


@dataclass(frozen=True)
class ArgSpec:
    kind: type  # str, int, float, bool, or list (of str)
    default: Any
    help: str
    minimum: float | None = None  # smallest value allowed (numbers only)
    exclusive: bool = False  # the minimum itself is not allowed


ARGS: dict[str, ArgSpec] = {
    "arg_file": ArgSpec(str, "", "file with more arguments (command-line values win)"),
    "mode": ArgSpec(str, "train", "train or test"),
    "env_config": ArgSpec(str, "", "environment yaml (data/envs/...)"),
    "agent_config": ArgSpec(str, "", "agent yaml (data/agents/...); none plays the env with zero actions"),
    "engine_config": ArgSpec(str, "data/engines/mujoco_engine.yaml", "engine yaml (data/engines/...)"),
    "num_envs": ArgSpec(int, 1, "parallel environments", minimum=1),
    "motion_file": ArgSpec(str, "", "clip (.pkl) or dataset (.yaml) replacing the env config's motion_file"),
    "out_dir": ArgSpec(str, "output/", "folder for model.pt, log.txt, config copies, test results"),
    "model_file": ArgSpec(str, "", "checkpoint to load (test: the policy; train: continue from it exactly)"),
    "resume": ArgSpec(bool, False, "train: continue <out_dir>/model.pt exactly where it stopped, appending to log.txt"),
    "random_policy": ArgSpec(bool, False, "test mode without --model_file: evaluate an untrained policy"),
    "max_samples": ArgSpec(int, INT64_MAX, "train until this many environment steps", minimum=1),
    "max_minutes": ArgSpec(float, math.inf, "train until the run's wall-clock, summed over its resumed sessions, "
                                            "reaches this many minutes (stops at the end of an iteration)",
                           minimum=0, exclusive=True),
    "test_episodes": ArgSpec(int, 32, "test mode: number of episodes to run", minimum=1),
    "rand_seed": ArgSpec(int, None, "random seed (default: from the clock, printed)"),
    "logger": ArgSpec(str, "txt", "txt, tb (TensorBoard) or wandb"),
    "visualize": ArgSpec(bool, False, "open MuJoCo's viewer on env 0 (needs a display)"),
    "video": ArgSpec(bool, False, "render env 0 offscreen (reference as a ghost) to <out_dir>/videos/*.mp4: "
                                  "test mode the test episodes, training 5 s at each output iteration"),
    "devices": ArgSpec(list, ["cpu"], "torch device per worker process (cpu cpu, cuda:0 cuda:1: one worker each)"),
    "num_workers": ArgSpec(int, 1, "train with this many processes (torch.distributed; gloo on CPU, NCCL on GPU)",
                           minimum=1),
    "checkpoint_interval": ArgSpec(float, 300.0, "train: also write model.pt every this many seconds (wall-clock)",
                                   minimum=0),
    "save_int_models": ArgSpec(bool, False, "also keep <out_dir>/int_models/model_<iter>.pt at every output"),
}


def tokenize(text: str, source: str = "arguments file") -> list[str]:
    """Split an argument file into tokens as a shell would (``"a path with spaces"`` is one token), dropping
    comment lines and ``#`` comments."""
    tokens: list[str] = []
    for number, line in enumerate(text.splitlines(), 1):
        try:
            tokens += shlex.split(line, comments=True)
        except ValueError as err:  # an unclosed quote
            raise ConfigError(f"{source}, line {number}: {err}") from None
    return tokens


def parse_tokens(tokens: list[str], source: str) -> dict[str, list[str]]:
    """``--key v1 v2 ...`` tokens to ``{key: [values]}``; the first occurrence of a key wins."""
    parsed: dict[str, list[str]] = {}
    key = None
    for token in tokens:
        if token.startswith("#"):
            continue
        if token.startswith("--") and len(token) > 2:
            key = token[2:]
            if key not in ARGS and key != "help":
                raise ConfigError(f"{source}: unknown argument --{key}; valid arguments are "
                                  f"{', '.join('--' + k for k in ARGS)}")
            if key in parsed:
                key = None  # a repeated key keeps its first values
                continue
            parsed[key] = []
        elif key is None:
            if not parsed:
                raise ConfigError(f"{source}: value '{token}' comes before any --key")
        else:
            parsed[key].append(token)
    return parsed


def _convert(key: str, values: list[str], source: str) -> Any:
    spec = ARGS[key]
    if spec.kind is list:
        return values
    if spec.kind is bool and not values:
        return True  # a bare flag
    if len(values) != 1:
        raise ConfigError(f"{source}: --{key} takes one value, found {values}")
    value = values[0]
    if spec.kind is bool:
        if value not in TRUE_WORDS + FALSE_WORDS:
            raise ConfigError(f"{source}: --{key} must be true or false, found '{value}'")
        return value in TRUE_WORDS
    try:
        converted = spec.kind(value)
    except ValueError:
        raise ConfigError(f"{source}: --{key} must be {spec.kind.__name__}, found '{value}'") from None
    if spec.minimum is not None:
        allowed = converted > spec.minimum if spec.exclusive else converted >= spec.minimum  # NaN fails both
        if not allowed:
            raise ConfigError(f"{source}: --{key} must be {'>' if spec.exclusive else '>='} {spec.minimum}, "
                              f"found {value}")
    return converted


def help_text() -> str:
    width = max(len(k) for k in ARGS) + 2
    lines = ["usage: python mimickit/run.py [--arg_file FILE] [--key value ...]", "",
             "Train or test a motion-imitation controller. Arguments (default in brackets):"]
    for key, spec in ARGS.items():
        shown = "no limit" if spec.default in (INT64_MAX, math.inf) else spec.default
        default = "" if spec.default in ("", None) else f" [{shown}]"
        lines.append(f"  --{key:<{width}}{spec.help}{default}")
    lines += ["", "example: python mimickit/run.py --arg_file args/deepmimic_humanoid_ppo_args.txt "
                  "--max_samples 200000"]
    return "\n".join(lines)


def parse_args(argv: list[str]) -> dict[str, Any]:
    """All arguments with their defaults filled in. ``--help`` prints usage and exits."""
    cli = parse_tokens(argv, "command line")
    if "help" in cli:
        print(help_text())
        sys.exit(0)
    merged = dict(cli)
    if cli.get("arg_file"):
        path = resolve_path(cli["arg_file"][0])
        try:
            text = Path(path).read_text()
        except FileNotFoundError:
            raise ConfigError(f"--arg_file {cli['arg_file'][0]}: file not found") from None
        for key, values in parse_tokens(tokenize(text, str(cli["arg_file"][0])), str(cli["arg_file"][0])).items():
            merged.setdefault(key, values)
    args = {key: spec.default for key, spec in ARGS.items()}
    for key, values in merged.items():
        args[key] = _convert(key, values, "arguments")
    if args["mode"] not in ("train", "test"):
        raise ConfigError(f"--mode must be train or test, found '{args['mode']}'")
    return args


def model_run_args(model_file: str | Path, arg_file: str | None, default_arg_file: str) -> dict[str, Any]:
    """The arguments to evaluate or export ``model_file`` with: an explicit ``arg_file``'s as they are; else
    ``default_arg_file``'s with the env, agent and engine configs the model was trained with (its run folder's
    copies, or the texts its checkpoint carries) where it knows them."""
    if arg_file:
        return parse_args(["--arg_file", arg_file])
    args = parse_args(["--arg_file", default_arg_file])
    found = model_configs(model_file)
    if "env_config" in found and "agent_config" in found:
        args.update(env_config=found["env_config"], agent_config=found["agent_config"],
                    engine_config=found.get("engine_config", args["engine_config"]), motion_file="")
    return args
