"""The run-folder contract: a run (``model.pt``, ``log.txt`` and the config copies in ``--out_dir``) is never
overwritten, and nothing is written before the arguments are known to be usable.

- Training without ``--resume`` needs an ``--out_dir`` holding no run.
- ``--resume true`` needs a checkpoint to continue (``<out_dir>/model.pt``, or ``--model_file`` when the run is
  continued into a fresh folder) that has not reached ``--max_samples`` or ``--max_minutes``.
- Test mode evaluates a ``--model_file`` (``--random_policy true`` asks for an untrained one) and writes
  ``test_results.json`` and videos into a folder that holds no run, or into the run of the model it evaluates.
- An ``--out_dir`` that cannot be created (under a file, not writable) is refused before anything is built.

Each refusal is a :class:`ConfigError` naming the folder and what to do instead.
"""

from __future__ import annotations

import math
import os
import re
from pathlib import Path

from mimickit.util.checkpoint import load_checkpoint
from mimickit.util.config import ConfigError
from mimickit.util.paths import resolve_path

RUN_FILES = ("model.pt", "log.txt")  # the files that make a folder a training run's


def held_run(out_dir: Path) -> list[str]:
    """The run files ``out_dir`` holds (empty when it holds no run)."""
    return [name for name in RUN_FILES if (out_dir / name).exists()]


def check_creatable(out_dir: Path) -> None:
    """Refuse an ``out_dir`` that is a file, lies under a file, or whose nearest existing folder is not writable."""
    existing = out_dir
    while not existing.exists() and existing != existing.parent:
        existing = existing.parent
    if not existing.is_dir():
        what = "is a file" if existing == out_dir else f"lies under {existing}, a file"
        raise ConfigError(f"--out_dir {out_dir}: {what}, not a folder; give a folder for the run")
    if not os.access(existing, os.W_OK | os.X_OK):
        raise ConfigError(f"--out_dir {out_dir}: {existing} is not writable; give a folder you can write to")


def create(out_dir: Path) -> None:
    """Make ``out_dir`` (and its parents); an OS refusal is a one-line ConfigError."""
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        raise ConfigError(f"--out_dir {out_dir}: cannot create the folder ({err.strerror})") from None


def check_train(out_dir: Path, resume: bool, model_file: str, max_samples: int,
                max_minutes: float = math.inf) -> None:
    """Refuse a training run that would overwrite another run or has nothing to do (see the module docstring)."""
    check_creatable(out_dir)
    held = held_run(out_dir)
    if not resume:
        if held:
            raise ConfigError(f"--out_dir {out_dir} holds a run ({', '.join(held)}); continue it with --resume true, "
                              f"or train into a fresh --out_dir")
        return
    own = out_dir / "model.pt"
    checkpoint = resolve_path(model_file) if model_file else own
    if held and model_file and checkpoint.resolve() != own.resolve():
        raise ConfigError(f"--out_dir {out_dir} holds a run ({', '.join(held)}) other than --model_file {model_file}; "
                          f"continue that run into a fresh --out_dir")
    if not checkpoint.is_file():
        raise ConfigError(f"--resume true: {checkpoint} does not exist, so there is no run to continue; start one "
                          f"without --resume")
    payload = load_checkpoint(checkpoint)
    samples = int(payload.get("sample_count", 0))
    if samples >= max_samples:
        raise ConfigError(f"--resume true: {checkpoint} has trained {samples:,} samples, already at --max_samples "
                          f"{max_samples:,}; raise --max_samples to train on")
    minutes = float(payload.get("wall_time", 0.0)) / 60.0
    if minutes >= max_minutes:
        raise ConfigError(f"--resume true: {checkpoint} has trained {minutes:.1f} minutes, already at --max_minutes "
                          f"{max_minutes:g}; raise --max_minutes to train on")


def check_test(out_dir: Path, model_file: str, random_policy: bool) -> None:
    """Refuse test results that would land in another run's folder, and an ambiguous policy choice."""
    if model_file and random_policy:
        raise ConfigError("--random_policy true tests an untrained policy; drop it, or drop --model_file")
    check_creatable(out_dir)
    held = held_run(out_dir)
    if held and not (model_file and resolve_path(model_file).resolve() == (out_dir / "model.pt").resolve()):
        raise ConfigError(f"--out_dir {out_dir} holds a training run ({', '.join(held)}) and the policy tested is not "
                          f"its model.pt; give a fresh --out_dir for the test results")


def check_policy_given(trainable: bool, model_file: str, random_policy: bool, agent_name: str) -> None:
    """Test mode of a trainable agent needs the policy to evaluate."""
    if trainable and not model_file and not random_policy:
        raise ConfigError(f"--mode test evaluates a trained {agent_name} policy: give --model_file (or "
                          f"--random_policy true to test an untrained one)")


def config_texts(env_config: str, agent_config: str, engine_config: str, motion_file: str = "") -> dict[str, str]:
    """The texts of a run's configs, as its folder keeps copies of them and its checkpoints carry them: keys
    ``env_config``, ``agent_config``, ``engine_config`` for the files given (empty names are left out); a
    ``motion_file`` replaces the env config's clip, marked as set by ``--motion_file``."""
    texts = {key: resolve_path(name).read_text() for key, name in
             (("env_config", env_config), ("agent_config", agent_config), ("engine_config", engine_config)) if name}
    if motion_file and "env_config" in texts:
        line = f"motion_file: {motion_file}  # set by --motion_file"
        texts["env_config"] = re.sub(r"(?m)^motion_file:.*$", line, texts["env_config"])
    return texts
