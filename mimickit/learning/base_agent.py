"""What every algorithm offers the training loop (:class:`~mimickit.learning.runner.Runner`): acting, recording
a step, updating its networks from the recorded rollout, and its state for checkpoints."""

from __future__ import annotations

import abc
from pathlib import Path
from typing import Any

import torch
from torch import nn

from mimickit.envs.base_env import BaseEnv, EnvMode
from mimickit.learning.experience_buffer import ExperienceBuffer
from mimickit.learning.normalizer import Normalizer
from mimickit.util.config import ConfigError
from mimickit.util.schema import Field, validate

OPTIMIZER_SCHEMA: dict[str, Field] = {
    "type": Field(str, help="SGD (momentum 0.9) or Adam (AdamW)", choices=("SGD", "Adam")),
    "learning_rate": Field(float, help="step size", gt=0),
    "weight_decay": Field(float, 0.0, "decoupled weight decay", ge=0),
    "grad_clip": Field(float, 0.0, "largest gradient norm (0: no clipping)", ge=0),
}
BASE_AGENT_SCHEMA: dict[str, Field] = {
    "agent_name": Field(str, help="the algorithm: a key of AGENT_REGISTRY"),
    "discount": Field(float, 0.99, "discount factor gamma", ge=0, le=1),
    "iters_per_output": Field(int, 100, "iterations between tests, log rows and checkpoints", ge=1),
    "test_episodes": Field(int, 32, "deterministic episodes in each periodic test", ge=1),
    "steps_per_iter": Field(int, 32, "rollout steps per env per iteration", ge=1),
    "normalizer_samples": Field(float, float("inf"), "observation statistics stop updating after this many samples",
                                gt=0, finite=False),
    "model": Field(dict, {}, "network settings"),
}


def optimizer_field(help: str) -> Field:
    """A required optimiser mapping (:data:`OPTIMIZER_SCHEMA`)."""
    return Field(dict, help=help, schema=OPTIMIZER_SCHEMA)


def build_optimizer(config: dict[str, Any], params, source: str) -> torch.optim.Optimizer:
    """SGD (momentum 0.9) or Adam (AdamW) from an :data:`OPTIMIZER_SCHEMA` mapping."""
    config = validate(config, OPTIMIZER_SCHEMA, source)
    lr, wd = config["learning_rate"], config["weight_decay"]
    if config["type"] == "SGD":
        return torch.optim.SGD(params, lr=lr, momentum=0.9, weight_decay=wd)
    return torch.optim.AdamW(params, lr=lr, weight_decay=wd)


class BaseAgent(nn.Module, abc.ABC):
    """An algorithm: normalisers, the model and its optimisers, and the rollout buffer it learns from.

    Per training iteration the runner calls :meth:`begin_iteration`, then per step :meth:`act` and
    :meth:`record_step`, then :meth:`update`. Config keys: ``discount``, ``steps_per_iter`` (rollout length
    per env), ``normalizer_samples`` (observation statistics stop updating after this many samples),
    ``model``; ``iters_per_output`` and ``test_episodes`` are read by the runner.

    Subclasses build the networks (``_build_model``) and optimisers, choose actions (``_decide_action``),
    and learn (``_build_train_data``, ``_update_model``); ``INFO_KEYS`` names the fields of the env step's
    ``info`` they need recorded beside the transition (e.g. a discriminator observation).
    """

    SCHEMA: dict[str, Field] = BASE_AGENT_SCHEMA
    NAME = "base"
    INFO_KEYS: tuple[str, ...] = ()
    TRAINABLE = True

    def __init__(self, config: dict[str, Any], env: BaseEnv, device: torch.device | str = "cpu",
                 source: str = "agent config") -> None:
        super().__init__()
        config = validate(config, self.SCHEMA, source)
        self.config = config
        self.source = source
        self.env = env
        self.device = torch.device(device)
        self.discount = config["discount"]
        self.steps_per_iter = config["steps_per_iter"]
        self.normalizer_samples = config["normalizer_samples"]
        low, high = env.action_bounds
        self.obs_norm = Normalizer((env.obs_dim,), clip=10.0)
        self.a_norm = Normalizer((low.numel(),), init_mean=0.5 * (high + low), init_std=0.5 * (high - low))
        self._build_model(config["model"])
        self.to(self.device)
        self.optimizers: dict[str, torch.optim.Optimizer] = self._build_optimizers()
        self.sample_count = 0  # environment steps before the current iteration (set by begin_iteration)
        self.buffer = ExperienceBuffer(self.steps_per_iter, env.num_envs, self.device)
        self.mode = EnvMode.TRAIN

    # --------------------------------------------------------------------------- subclass hooks
    @abc.abstractmethod
    def _build_model(self, model_config: dict[str, Any]) -> None:
        """Create the networks."""

    def _build_optimizers(self) -> dict[str, torch.optim.Optimizer]:
        return {}

    @abc.abstractmethod
    def _decide_action(self, obs: torch.Tensor) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        """Environment action ``[N, A]`` and extras to record (TRAIN: sampled; TEST: the mean)."""

    def _build_train_data(self) -> dict[str, float]:
        """From the filled buffer, the targets the update needs (no gradients); returns diagnostics."""
        return {}

    def _update_model(self) -> dict[str, float]:
        """Train on the filled buffer; returns loss diagnostics."""
        return {}

    def _begin_iteration(self) -> dict[str, float]:
        """Hook at the start of each training iteration (e.g. schedules keyed on ``sample_count``); returns
        values to log."""
        return {}

    # ------------------------------------------------------------------------------ runner API
    def set_mode(self, mode: EnvMode) -> None:
        self.mode = mode

    def act(self, obs: torch.Tensor) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        """Action ``[N, A]`` for ``obs [N, obs_dim]`` in the current mode, and extras to record with it."""
        return self._decide_action(obs)

    def begin_iteration(self, sample_count: int) -> dict[str, float]:
        """Start a training iteration at ``sample_count`` environment steps: empty the rollout buffer and
        apply the schedules; returns values to log."""
        self.sample_count = sample_count
        self.buffer.reset()
        return self._begin_iteration()

    def record_step(self, obs: torch.Tensor, extras: dict[str, torch.Tensor], next_obs: torch.Tensor,
                    reward: torch.Tensor, done: torch.Tensor, info: dict[str, Any]) -> None:
        """Store one transition of every env (copies), with the ``info`` fields named in ``INFO_KEYS``."""
        buf = self.buffer
        buf.record("obs", obs)
        for name, value in extras.items():
            buf.record(name, value)
        for key in self.INFO_KEYS:
            if key not in info:
                raise ConfigError(f"the {self.NAME} agent needs info[{key!r}] from the environment, which "
                                  f"{type(self.env).__name__} does not provide")
            buf.record(key, info[key])
        if self.sample_count < self.normalizer_samples:
            self._record_obs_stats(obs)
        buf.record("next_obs", next_obs)
        buf.record("reward", reward)
        buf.record("done", done)
        buf.inc()

    def _record_obs_stats(self, obs: torch.Tensor) -> None:
        self.obs_norm.record(obs)

    def _norm_obs(self, obs: torch.Tensor) -> torch.Tensor:
        """Network input for recorded observations ``[..., obs_dim]`` (the normalised observation here)."""
        return self.obs_norm.normalize(obs)

    def on_envs_reset(self, env_ids: torch.Tensor | None) -> None:
        """Hook: the runner reset ``env_ids`` (ids, a bool mask ``[N]``, or None for all), in any mode (e.g. new
        per-episode latents)."""

    def update(self) -> dict[str, float]:
        """Learn from the recorded rollout: training targets, network updates, then the normalisers."""
        with torch.no_grad():
            info = self._build_train_data()
        info.update(self._update_model())
        if self.sample_count < self.normalizer_samples:
            self._update_normalizers()
        return info

    def _update_normalizers(self) -> None:
        self.obs_norm.update()

    def progress_figures(self, row: dict[str, Any]) -> str:
        """Extra figures for the one-line progress print, read from this iteration's log ``row`` (its columns
        are the ``train_info`` keys title-cased): e.g. `` | disc reward 0.412``. None by default."""
        return ""

    def normalizer_info(self) -> dict[str, float]:
        """Summary of the observation statistics, for the log."""
        return {"Obs_Norm_Mean": float(self.obs_norm.mean.abs().mean()),
                "Obs_Norm_Std": float(self.obs_norm.std.mean())}

    # ------------------------------------------------------------------------------ checkpoints
    def signature(self) -> dict[str, Any]:
        """What a checkpoint must match to load into this agent."""
        low, _ = self.env.action_bounds
        return {"agent": self.NAME, "obs_dim": self.env.obs_dim, "action_dim": int(low.numel())}

    def training_state(self) -> dict[str, torch.Tensor]:
        """State that only training needs and that would bloat the model checkpoint (e.g. a replay buffer);
        the runner saves it beside ``model.pt`` so a resume is exact. None here."""
        return {}

    def load_training_state(self, state: dict[str, torch.Tensor]) -> None:
        """Restore what :meth:`training_state` returned."""

    def optimizer_states(self) -> dict[str, Any]:
        return {name: opt.state_dict() for name, opt in self.optimizers.items()}

    def load_optimizer_states(self, states: dict[str, Any], sample_count: int, path: str | Path) -> None:
        """Restore the optimisers of a run at ``sample_count``; the agent config's learning rate wins, with a
        notice where it differs from the checkpoint's."""
        self.sample_count = sample_count
        for name, opt in self.optimizers.items():
            opt.load_state_dict(states[name])
            self._apply_configured_learning_rate(name, opt, path)

    def _configured_learning_rate(self, name: str) -> float | None:
        """The learning rate the agent config gives optimiser ``name`` at the current sample count."""
        config = self.config.get(f"{name}_optimizer")
        return float(config["learning_rate"]) if isinstance(config, dict) and "learning_rate" in config else None

    def _apply_configured_learning_rate(self, name: str, opt: torch.optim.Optimizer, path: str | Path) -> None:
        lr = self._configured_learning_rate(name)
        if lr is None:
            return
        old = opt.param_groups[0]["lr"]
        if old != lr:
            print(f"{name}_optimizer: using learning rate {lr:g} from the agent config ({path} was trained "
                  f"with {old:g})", flush=True)
            for group in opt.param_groups:
                group["lr"] = lr
