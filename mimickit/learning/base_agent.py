"""The agent loop shared by all algorithms: rollout -> training data -> update -> normalisers -> log -> save."""

from __future__ import annotations

import abc
import math
import random
import signal
import sys
import threading
import time
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from mimickit.envs.base_env import BaseEnv, DoneFlags, EnvMode
from mimickit.learning.experience_buffer import ExperienceBuffer
from mimickit.learning.normalizer import Normalizer
from mimickit.learning.return_tracker import ReturnTracker
from mimickit.util.checkpoint import CheckpointError, load_checkpoint, save_checkpoint
from mimickit.util.config import ConfigError, check_keys
from mimickit.util.logger import Logger, format_table

CHECKPOINT_FORMAT = "mimickit-checkpoint-1"
BASE_AGENT_KEYS = ("agent_name", "discount", "iters_per_output", "test_episodes", "steps_per_iter",
                   "normalizer_samples", "model")


def build_optimizer(config: dict[str, Any], params, source: str) -> torch.optim.Optimizer:
    """SGD (momentum 0.9) or Adam (AdamW) from ``{type, learning_rate, weight_decay}``."""
    check_keys(config, ["type", "learning_rate", "weight_decay", "grad_clip"], source, required=["type", "learning_rate"])
    lr, wd = float(config["learning_rate"]), float(config.get("weight_decay", 0.0))
    if config["type"] == "SGD":
        return torch.optim.SGD(params, lr=lr, momentum=0.9, weight_decay=wd)
    if config["type"] == "Adam":
        return torch.optim.AdamW(params, lr=lr, weight_decay=wd)
    raise ConfigError(f"{source}: optimizer type must be SGD or Adam, found {config['type']!r}")


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


def rng_state() -> dict[str, Any]:
    """Every random generator a run draws from, in a form torch's safe loader accepts."""
    np_state = np.random.get_state()
    py_state = random.getstate()
    return {"torch": torch.get_rng_state(), "numpy_keys": torch.from_numpy(np_state[1].astype(np.int64)),
            "numpy_pos": int(np_state[2]), "numpy_gauss": [int(np_state[3]), float(np_state[4])],
            "python": [py_state[0], list(py_state[1]), py_state[2]]}


def set_rng_state(state: dict[str, Any]) -> None:
    torch.set_rng_state(state["torch"])
    keys = state["numpy_keys"].numpy().astype(np.uint32)
    np.random.set_state(("MT19937", keys, state["numpy_pos"], state["numpy_gauss"][0], state["numpy_gauss"][1]))
    version, internal, gauss = state["python"]
    random.setstate((version, tuple(internal), gauss))


def episode_quota(num_episodes: int, num_envs: int) -> torch.Tensor:
    """``[num_envs]`` episodes each env contributes so that exactly ``num_episodes`` are counted: an even
    share, the remainder going to the first envs (envs with a zero share are ignored). Every env's first
    episodes count, so short episodes are not favoured."""
    quota = torch.full((num_envs,), num_episodes // num_envs, dtype=torch.long)
    quota[:num_episodes % num_envs] += 1
    return quota


class StopRequest:
    """Turns SIGINT / SIGTERM into a flag the training loop checks after each iteration (main thread only;
    a second signal interrupts at once)."""

    SIGNALS = (signal.SIGINT, signal.SIGTERM)

    def __init__(self) -> None:
        self.signum: int | None = None
        self._previous: dict[int, Any] = {}

    def _handle(self, signum: int, frame) -> None:
        self.signum = signum
        print(f"\n{signal.Signals(signum).name} received: stopping after this iteration and writing a "
              f"checkpoint (send it again to stop at once)", flush=True)
        for sig, handler in self._previous.items():
            signal.signal(sig, handler)

    def __enter__(self) -> StopRequest:  # noqa: PYI034
        if threading.current_thread() is threading.main_thread():
            self._previous = {sig: signal.signal(sig, self._handle) for sig in self.SIGNALS}
        return self

    def __exit__(self, *exc) -> None:
        for sig, handler in self._previous.items():
            signal.signal(sig, handler)
        self._previous = {}


class BaseAgent(nn.Module, abc.ABC):
    """Owns the normalisers, the model and its optimisers, the rollout buffer and the training loop.

    Config keys: ``discount``, ``iters_per_output`` (log / test / checkpoint period), ``test_episodes``
    (deterministic episodes at each output iteration), ``steps_per_iter`` (rollout length per env),
    ``normalizer_samples`` (observation statistics stop updating after this many samples), ``model``.
    """

    CONFIG_KEYS: tuple[str, ...] = BASE_AGENT_KEYS
    REQUIRED_KEYS: tuple[str, ...] = ("agent_name", "steps_per_iter")
    NAME = "base"

    def __init__(self, config: dict[str, Any], env: BaseEnv, device: torch.device | str = "cpu",
                 source: str = "agent config") -> None:
        super().__init__()
        check_keys(config, self.CONFIG_KEYS, source, required=self.REQUIRED_KEYS)
        self.config = config
        self.source = source
        self.env = env
        self.device = torch.device(device)
        self.discount = float(config.get("discount", 0.99))
        self.iters_per_output = int(config.get("iters_per_output", 100))
        self.test_episodes = int(config.get("test_episodes", 32))
        self.steps_per_iter = int(config.get("steps_per_iter", 32))
        self.normalizer_samples = float(config.get("normalizer_samples", math.inf))
        low, high = env.action_bounds
        self.obs_norm = Normalizer((env.obs_dim,), clip=10.0)
        self.a_norm = Normalizer((low.numel(),), init_mean=0.5 * (high + low), init_std=0.5 * (high - low))
        self._build_model(config.get("model", {}))
        self.to(self.device)
        self.optimizers: dict[str, torch.optim.Optimizer] = self._build_optimizers()
        self.iteration = 0
        self.sample_count = 0
        self.wall_time = 0.0
        self.buffer = ExperienceBuffer(self.steps_per_iter, env.num_envs, self.device)
        self.train_tracker = ReturnTracker(env.num_envs, self.device)
        self.test_tracker = ReturnTracker(env.num_envs, self.device)
        self.last_test_info: dict[str, float] = {}
        self.mode = EnvMode.TRAIN

    # ---------------------------------------------------------------------------------- algorithm
    @abc.abstractmethod
    def _build_model(self, model_config: dict[str, Any]) -> None:
        """Create the networks."""

    def _build_optimizers(self) -> dict[str, torch.optim.Optimizer]:
        return {}

    @abc.abstractmethod
    def _decide_action(self, obs: torch.Tensor) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        """Environment action ``[N, A]`` and extras to record (TRAIN: sampled; TEST: the mean)."""

    def _update_model(self) -> dict[str, float]:
        """Train on the filled buffer; returns loss diagnostics."""
        return {}

    def _build_train_data(self) -> dict[str, float]:
        return {}

    def _begin_iteration(self) -> dict[str, float]:
        """Hook at the start of each training iteration (e.g. schedules keyed on ``sample_count``); returns
        values to log."""
        return {}

    # ------------------------------------------------------------------------------------- rollout
    def _rollout(self, obs: torch.Tensor, num_steps: int) -> torch.Tensor:
        """Collect ``num_steps`` transitions into the buffer (TRAIN mode); returns the latest observation."""
        self.buffer.reset()
        for _ in range(num_steps):
            action, extras = self._decide_action(obs)
            self.buffer.record("obs", obs)
            for name, value in extras.items():
                self.buffer.record(name, value)
            if self.sample_count < self.normalizer_samples:
                self.obs_norm.record(obs)
            next_obs, reward, done, _ = self.env.step(action)
            self.train_tracker.update(reward, done)
            self.buffer.record("next_obs", next_obs)
            self.buffer.record("reward", reward)
            self.buffer.record("done", done)
            obs = self._reset_done_envs(next_obs, done)
            self.buffer.inc()
        return obs

    def _reset_done_envs(self, obs: torch.Tensor, done: torch.Tensor) -> torch.Tensor:
        done_ids = (done != int(DoneFlags.NULL)).nonzero(as_tuple=False).flatten()
        if done_ids.numel() > 0:
            obs, _ = self.env.reset(done_ids)
        return obs.clone()

    def set_mode(self, mode: EnvMode) -> None:
        self.mode = mode
        self.env.set_mode(mode)

    # ----------------------------------------------------------------------------------- training
    def train_model(self, max_samples: int, out_dir: str | Path, logger: Logger,
                    save_int_models: bool = False, checkpoint_interval: float = 300.0) -> int | None:
        """Train until ``max_samples`` environment steps; writes ``model.pt`` (atomically) and a log row at
        every output iteration, and ``model.pt`` also every ``checkpoint_interval`` seconds. A loaded
        checkpoint's iteration, sample count, RNG state and last test continue.

        SIGINT / SIGTERM stop the run after the current iteration, with a checkpoint of it; the signal
        number is returned (None when ``max_samples`` was reached). Continuing from a checkpoint written at
        an output iteration is bit-exact (every env restarts there in both cases); from one written on the
        timer or at a signal, the continuation restarts the episodes that were under way.
        """
        out_dir = Path(out_dir)
        model_path = out_dir / "model.pt"
        obs, _ = self.env.reset()
        obs = obs.clone()
        session_start, start_samples = time.perf_counter(), self.sample_count
        wall_offset = self.wall_time
        last_save = session_start
        self.train_tracker.reset()
        self.env.get_diagnostics()  # start the reward-term means at this session's first training step
        with StopRequest() as stop:
            while self.sample_count < max_samples and stop.signum is None:
                iter_start = time.perf_counter()
                schedule_info = self._begin_iteration()
                self.set_mode(EnvMode.TRAIN)
                with torch.no_grad():
                    obs = self._rollout(obs, self.steps_per_iter)
                    data_info = self._build_train_data()
                update_info = self._update_model()
                if self.sample_count < self.normalizer_samples:
                    self.obs_norm.update()
                self.sample_count += self.steps_per_iter * self.env.num_envs
                output_iter = self.iteration % self.iters_per_output == 0 or self.sample_count >= max_samples
                train_diagnostics = self.env.get_diagnostics() if output_iter else {}
                if output_iter:
                    self.last_test_info = self.test_model(self.test_episodes)
                elapsed = time.perf_counter() - session_start
                self.wall_time = wall_offset + elapsed
                row = self._log_row(self.last_test_info,
                                    {**schedule_info, **data_info, **update_info, **train_diagnostics},
                                    self.wall_time, (self.sample_count - start_samples) / max(elapsed, 1e-9))
                self._print_progress(row, max_samples, time.perf_counter() - iter_start)
                self.iteration += 1
                if output_iter:
                    print(format_table(row), flush=True)
                    logger.write(row, self.sample_count)
                if output_iter or stop.signum is not None or time.perf_counter() - last_save >= checkpoint_interval:
                    self.save(model_path)
                    last_save = time.perf_counter()
                if output_iter:
                    if save_int_models:
                        self.save(out_dir / "int_models" / f"model_{self.iteration - 1:010d}.pt")
                    self.train_tracker.reset()
                    obs, _ = self.env.reset()
                    obs = obs.clone()
        if stop.signum is not None:
            print(f"Stopped at iteration {self.iteration - 1}; checkpoint written to {model_path} "
                  f"(continue with --resume true)", flush=True)
        return stop.signum

    def _log_row(self, test_info: dict[str, float], train_info: dict[str, float], wall_time: float,
                 samples_per_sec: float) -> dict[str, Any]:
        tracker = self.train_tracker
        row: dict[str, Any] = {
            "Iteration": self.iteration, "Wall_Time": wall_time / 3600.0, "Samples": self.sample_count,
            "Samples_Per_Sec": samples_per_sec,
            "Test_Return": test_info.get("mean_return", float("nan")),
            "Test_Episode_Length": test_info.get("mean_ep_len", float("nan")),
            "Test_Episodes": test_info.get("num_eps", 0),
            "Test_E_Pos": test_info.get("e_pos", float("nan")), "Test_E_Vel": test_info.get("e_vel", float("nan")),
            "Train_Return": tracker.mean_return, "Train_Episode_Length": tracker.mean_length,
            "Train_Episodes": tracker.num_episodes,
        }
        row.update({f"Train_{k.title()}_Rate": v for k, v in tracker.done_rates().items()})
        row.update({k.title(): v for k, v in train_info.items()})
        row["Num_Faults"] = getattr(self.env, "fault_count", 0)
        row["Obs_Norm_Mean"] = float(self.obs_norm.mean.abs().mean())
        row["Obs_Norm_Std"] = float(self.obs_norm.std.mean())
        return row

    def _print_progress(self, row: dict[str, Any], max_samples: int, iter_seconds: float) -> None:
        rate = row["Samples_Per_Sec"]
        remaining = max(max_samples - self.sample_count, 0) / rate if rate > 0 and max_samples < sys.maxsize else math.nan
        eta = f"{remaining / 60:6.1f} min" if math.isfinite(remaining) else "   n/a"
        print(f"iter {self.iteration:6d} | samples {self.sample_count:>11,d} | {rate:8,.0f} samples/s | "
              f"ETA {eta} | train return {row['Train_Return']:7.3f} len {row['Train_Episode_Length']:6.1f} | "
              f"test return {row['Test_Return']:7.3f} | {iter_seconds:5.2f} s/iter", flush=True)

    # -------------------------------------------------------------------------------------- testing
    def test_model(self, num_episodes: int) -> dict[str, Any]:
        """Exactly ``num_episodes`` deterministic episodes (mean actions), shared evenly over the envs.

        Returns mean return and length, the per-episode returns and the means of the env's per-episode
        metrics (``info["episode_metrics"]``, e.g. the tracking errors ``e_pos`` and ``e_vel``), with their
        per-episode values under ``episode_metrics``.
        """
        self.set_mode(EnvMode.TEST)
        tracker = self.test_tracker
        tracker.reset()
        quota = episode_quota(max(num_episodes, 1), self.env.num_envs).to(self.device)
        episode_metrics: dict[str, list[float]] = {}
        with torch.no_grad():
            obs, _ = self.env.reset()
            obs = obs.clone()
            while bool((tracker.episodes_per_env < quota).any()):
                action, _ = self._decide_action(obs)
                next_obs, reward, done, info = self.env.step(action)
                counted = (done != int(DoneFlags.NULL)) & (tracker.episodes_per_env < quota)
                if counted.any():
                    for key, values in info.get("episode_metrics", {}).items():
                        episode_metrics.setdefault(key, []).extend(values[counted].tolist())
                tracker.update(reward, done, counted)
                obs = self._reset_done_envs(next_obs, done)
        info = {"mean_return": tracker.mean_return, "mean_ep_len": tracker.mean_length,
                "num_eps": tracker.num_episodes, "returns": list(tracker.episode_returns),
                "episode_metrics": episode_metrics}
        for key, values in episode_metrics.items():
            info[key] = sum(values) / len(values) if values else math.nan
        return info

    # -------------------------------------------------------------------------------- checkpoints
    def _signature(self) -> dict[str, Any]:
        low, _ = self.env.action_bounds
        return {"agent": self.NAME, "obs_dim": self.env.obs_dim, "action_dim": int(low.numel())}

    def save(self, path: str | Path) -> None:
        """Model, normalisers, optimisers, counters and RNG state, written atomically."""
        save_checkpoint(path, {
            "format": CHECKPOINT_FORMAT, "signature": self._signature(), "agent": self.state_dict(),
            "optimizers": {name: opt.state_dict() for name, opt in self.optimizers.items()},
            "iteration": self.iteration, "sample_count": self.sample_count, "wall_time": self.wall_time,
            "rng": rng_state(),
            "last_test": {k: float(v) for k, v in self.last_test_info.items() if isinstance(v, (int, float))},
        })

    def load(self, path: str | Path, resume: bool = True) -> None:
        """Load a checkpoint; with ``resume`` also the optimisers, counters and RNG state (exact continuation)."""
        payload = load_checkpoint(path, self.device)
        if payload.get("format") != CHECKPOINT_FORMAT:
            raise CheckpointError(f"{path}: not a MimicKit checkpoint (format {payload.get('format')!r})")
        theirs, ours = payload["signature"], self._signature()
        if theirs != ours:
            raise CheckpointError(f"{path}: written for {theirs}, but this run has {ours}; the env or agent "
                                  f"config differs from the one the checkpoint was trained with")
        try:
            self.load_state_dict(payload["agent"])
        except RuntimeError as err:
            raise CheckpointError(f"{path}: network shapes differ from this agent config: "
                                  f"{str(err).splitlines()[0]}") from None
        if resume:
            self.last_test_info = dict(payload.get("last_test", {}))
            self.iteration = int(payload["iteration"])
            self.sample_count = int(payload["sample_count"])
            self.wall_time = float(payload["wall_time"])
            set_rng_state(payload["rng"])
            for name, opt in self.optimizers.items():
                opt.load_state_dict(payload["optimizers"][name])
                self._apply_configured_learning_rate(name, opt, path)
        print(f"Loaded model parameters from {path}", flush=True)

    def _configured_learning_rate(self, name: str) -> float | None:
        """The learning rate the agent config gives optimiser ``name`` at the current sample count."""
        config = self.config.get(f"{name}_optimizer")
        return float(config["learning_rate"]) if isinstance(config, dict) and "learning_rate" in config else None

    def _apply_configured_learning_rate(self, name: str, opt: torch.optim.Optimizer, path: str | Path) -> None:
        """After loading optimiser state, the agent config's learning rate wins; say so when they differ."""
        lr = self._configured_learning_rate(name)
        if lr is None:
            return
        old = opt.param_groups[0]["lr"]
        if old != lr:
            print(f"{name}_optimizer: using learning rate {lr:g} from the agent config ({path} was trained "
                  f"with {old:g})", flush=True)
            for group in opt.param_groups:
                group["lr"] = lr
