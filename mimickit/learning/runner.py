"""The training loop, shared by every algorithm: rollout -> update -> (test, log, checkpoint) per iteration.

The :class:`Runner` owns the iteration and sample counters, the periodic deterministic tests, logging,
checkpoints and interrupt handling; the agent (an algorithm, :class:`~mimickit.learning.base_agent.BaseAgent`)
owns acting, recording a step, computing returns and updating its networks.
"""

from __future__ import annotations

import math
import signal
import sys
import threading
import time
from pathlib import Path
from typing import Any

import torch

from mimickit.envs.base_env import BaseEnv, DoneFlags, EnvMode
from mimickit.learning.base_agent import BaseAgent
from mimickit.learning.checkpoints import load_agent_weights, training_state_path, write_checkpoint
from mimickit.learning.return_tracker import EpisodeTotals, ReturnTracker
from mimickit.util import distributed
from mimickit.util.checkpoint import CheckpointError, load_checkpoint, save_checkpoint
from mimickit.util.config import ConfigError
from mimickit.util.logger import Logger, format_table
from mimickit.util.rng import rng_state, set_rng_state
from mimickit.util.video import write_video

# test results with fixed log columns; any other per-episode metric (e.g. a task success rate) is logged as
# Test_<Name>
STANDARD_TEST_KEYS = ("mean_return", "mean_ep_len", "num_eps", "e_pos", "e_vel", "iteration")
STANDARD_TEST_COLUMNS = {"Test_Return", "Test_Episode_Length", "Test_Episodes", "Test_E_Pos", "Test_E_Vel"}


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

    def __enter__(self) -> StopRequest:
        if threading.current_thread() is threading.main_thread():
            self._previous = {sig: signal.signal(sig, self._handle) for sig in self.SIGNALS}
        return self

    def __exit__(self, *exc) -> None:
        for sig, handler in self._previous.items():
            signal.signal(sig, handler)
        self._previous = {}


class Runner:
    """Drives ``agent`` on ``env``: training iterations, deterministic tests, logs and checkpoints.

    Reads ``iters_per_output`` (log / test / checkpoint period, 100) and ``test_episodes`` (deterministic
    episodes at each output iteration, 32) from the agent config, as upstream keeps them there.

    With several workers (``mimickit.util.distributed``) every worker runs this loop on its own envs: sample
    counts add up over workers, tests share the episodes, logged values are pooled, the workers agree each
    iteration on stopping and on timed checkpoints, and only rank 0 logs and writes files (with every
    worker's RNG state, so a resume with the same number of workers is exact).
    """

    def __init__(self, env: BaseEnv, agent: BaseAgent) -> None:
        self.env = env
        self.agent = agent
        self.iters_per_output = agent.config["iters_per_output"]
        self.test_episodes = agent.config["test_episodes"]
        self.iteration = 0
        self.sample_count = 0
        self.wall_time = 0.0  # s, over every session of the run
        self.train_tracker = ReturnTracker(env.num_envs, agent.device)
        self.test_tracker = ReturnTracker(env.num_envs, agent.device, keep_returns=True)
        self.last_test_info: dict[str, Any] = {}
        self.video_frames = 0  # > 0: record that many frames of env 0 in each periodic test (training)
        self.run_configs: dict[str, str] = {}  # config texts saved with every checkpoint (set by run.py)
        # finished envs reset by a mask on an accelerator (no host sync), by ids on the CPU (only their rows' work)
        self.reset_by_mask = agent.device.type != "cpu"

    def set_mode(self, mode: EnvMode) -> None:
        self.agent.set_mode(mode)
        self.env.set_mode(mode)

    # ------------------------------------------------------------------------------------- iteration
    def rollout(self, obs: torch.Tensor, num_steps: int) -> torch.Tensor:
        """``num_steps`` TRAIN-mode steps of every env, each handed to the agent to record; resets finished
        envs after recording. Returns the latest observation."""
        for _ in range(num_steps):
            action, extras = self.agent.act(obs)
            next_obs, reward, done, info = self.env.step(action)
            self.agent.record_step(obs, extras, next_obs, reward, done, info)
            self.train_tracker.update(reward, done)
            obs = self._reset_done_envs(next_obs, done)
        return obs

    def run_iteration(self, obs: torch.Tensor) -> tuple[torch.Tensor, dict[str, float]]:
        """One training iteration from ``obs``: the agent's schedules and the env's curricula, a rollout of
        ``steps_per_iter`` steps, the agent's update. Advances the sample count; returns the latest observation
        and the agent's and env's values to log."""
        info = self.agent.begin_iteration(self.sample_count)
        info.update(self.env.begin_iteration(self.sample_count))
        self.set_mode(EnvMode.TRAIN)
        with torch.no_grad():
            obs = self.rollout(obs, self.agent.steps_per_iter)
        info.update(self.agent.update())
        self.sample_count += self.agent.steps_per_iter * self.env.num_envs * distributed.world_size()
        return obs, info

    def _reset_done_envs(self, obs: torch.Tensor, done: torch.Tensor) -> torch.Tensor:
        ended = done != int(DoneFlags.NULL)
        if self.reset_by_mask:  # every env's reset state computed, written where ended: no host sync
            obs, _ = self.env.reset(ended)
            self.agent.on_envs_reset(ended)
            return obs.clone()
        done_ids = ended.nonzero(as_tuple=False).flatten()
        if done_ids.numel() > 0:
            obs, _ = self.env.reset(done_ids)
            self.agent.on_envs_reset(done_ids)
        return obs.clone()

    def _reset_all(self) -> torch.Tensor:
        obs, _ = self.env.reset()
        self.agent.on_envs_reset(None)
        return obs.clone()

    # -------------------------------------------------------------------------------------- training
    def train(self, max_samples: int, out_dir: str | Path, logger: Logger | None, save_int_models: bool = False,
              checkpoint_interval: float = 300.0, max_minutes: float = math.inf) -> int | None:
        """Train until ``max_samples`` environment steps, or until the run's wall-clock (``wall_time``, summed
        over resumed sessions) reaches ``max_minutes`` at the end of an iteration. Writes a log row every iteration
        (with the test's figures at output iterations), ``model.pt`` (atomically) at every output iteration, every
        ``checkpoint_interval`` seconds and at the stop. A loaded checkpoint's iteration, sample count, wall time,
        RNG state and last test continue.

        SIGINT / SIGTERM stop the run after the current iteration, with a checkpoint of it; the signal number is
        returned (None when ``max_samples`` or ``max_minutes`` was reached). Continuing from a checkpoint written
        at an output iteration is bit-exact (every env restarts there in both cases); from one written on the
        timer, at a signal or at ``max_minutes``, the continuation restarts the episodes that were under way.
        """
        if not self.agent.TRAINABLE:
            raise ConfigError(f"the {self.agent.NAME} agent cannot train; give an --agent_config or use --mode test")
        out_dir = Path(out_dir)
        model_path = out_dir / "model.pt"
        obs = self._reset_all()
        session_start, start_samples = time.perf_counter(), self.sample_count
        wall_offset = self.wall_time
        last_save = session_start
        self.train_tracker.reset()
        self.env.get_diagnostics()  # start the reward-term means at this session's first training step
        main = distributed.is_main()
        signum, out_of_time = None, False
        with StopRequest() as stop:
            while self.sample_count < max_samples and signum is None and not out_of_time:
                iter_start = time.perf_counter()
                obs, train_info = self.run_iteration(obs)
                output_iter = self.iteration % self.iters_per_output == 0 or self.sample_count >= max_samples
                if output_iter:
                    train_info.update(self.env.get_diagnostics())
                    if self.video_frames:
                        self.env.start_video(self.video_frames)
                    self.last_test_info = {**self.test(self.test_episodes), "iteration": self.iteration}
                    if self.video_frames:
                        self._write_training_video(out_dir, logger)
                elapsed = time.perf_counter() - session_start
                self.wall_time = wall_offset + elapsed
                row = self._log_row(self.last_test_info, train_info, self.wall_time,
                                    (self.sample_count - start_samples) / max(elapsed, 1e-9), pooled=output_iter)
                if main:
                    self._print_progress(row, max_samples, max_minutes, time.perf_counter() - iter_start)
                self.iteration += 1
                if output_iter and main:
                    print(format_table(row), flush=True)
                    if logger is not None:
                        logger.write(row, self.sample_count)
                elif main and logger is not None:
                    logger.write_training(row, self.sample_count)
                # every worker takes the same decisions: stop (any worker signalled or out of time) and timed
                agreed = distributed.all_reduce_max(torch.tensor(  # checkpoints
                    [float(stop.signum or 0), float(time.perf_counter() - last_save >= checkpoint_interval),
                     float(self.wall_time >= max_minutes * 60.0)]))
                signum, out_of_time = int(agreed[0]) or None, bool(agreed[2] > 0)
                if output_iter or signum is not None or out_of_time or agreed[1] > 0:
                    self.save(model_path)
                    last_save = time.perf_counter()
                if output_iter:
                    if save_int_models:
                        self.save(out_dir / "int_models" / f"model_{self.iteration - 1:010d}.pt",
                                  with_training_state=False)
                    self.train_tracker.reset()
                    obs = self._reset_all()
        if signum is not None and main:
            print(f"Stopped at iteration {self.iteration - 1}; checkpoint written to {model_path} "
                  f"(continue with --resume true)", flush=True)
        elif out_of_time and main:
            print(f"Reached --max_minutes {max_minutes:g} at iteration {self.iteration - 1}; checkpoint written to "
                  f"{model_path} (continue with --resume true and a larger --max_minutes)", flush=True)
        return signum

    def _write_training_video(self, out_dir: Path, logger: Logger | None) -> None:
        frames, frame_time = self.env.stop_video()
        if not frames:
            return
        path = write_video(out_dir / "videos" / f"iteration_{self.iteration:06d}", frames, frame_time)
        if logger is not None:
            logger.write_video("Test_Video", frames, self.sample_count, fps=1.0 / frame_time)
        print(f"Video of the test: {path}", flush=True)

    def _log_row(self, test_info: dict[str, Any], train_info: dict[str, float], wall_time: float,
                 samples_per_sec: float, pooled: bool = False) -> dict[str, Any]:
        """One log row; ``pooled``: training statistics and diagnostics over every worker (a collective)."""
        tracker = self.train_tracker.totals()
        if pooled and distributed.is_distributed():
            tracker = self._pooled_totals(tracker)
            gathered = distributed.all_gather_objects(train_info)
            train_info = {k: sum(g[k] for g in gathered) / len(gathered) for k in train_info}
            rates = distributed.all_gather_objects(samples_per_sec)  # each counts every worker's samples
            samples_per_sec = sum(rates) / len(rates)
        row: dict[str, Any] = {
            "Iteration": self.iteration, "Wall_Time": wall_time / 3600.0, "Samples": self.sample_count,
            "Samples_Per_Sec": samples_per_sec,
            "Test_Return": test_info.get("mean_return", math.nan),
            "Test_Episode_Length": test_info.get("mean_ep_len", math.nan),
            "Test_Episodes": test_info.get("num_eps", 0),
            "Test_E_Pos": test_info.get("e_pos", math.nan), "Test_E_Vel": test_info.get("e_vel", math.nan),
            **{f"Test_{k.title()}": v for k, v in test_info.items()
               if k not in STANDARD_TEST_KEYS and isinstance(v, (int, float))},
            "Train_Return": tracker.mean_return, "Train_Episode_Length": tracker.mean_length,
            "Train_Episodes": tracker.num_episodes,
        }
        row.update({f"Train_{k.title()}_Rate": v for k, v in tracker.done_rates().items()})
        row.update({k.title(): v for k, v in train_info.items()})
        row["Num_Faults"] = int(self.env.fault_count)
        row.update(self.agent.normalizer_info())
        return row

    @staticmethod
    def _pooled_totals(mine: EpisodeTotals) -> EpisodeTotals:
        """The training episode totals of every worker added up (for logging only; a collective)."""
        return sum(distributed.all_gather_objects(mine), EpisodeTotals())

    def _print_progress(self, row: dict[str, Any], max_samples: int, max_minutes: float, iter_seconds: float) -> None:
        rate = row["Samples_Per_Sec"]
        limited = rate > 0 and max_samples < sys.maxsize
        remaining = max(max_samples - self.sample_count, 0) / rate if limited else math.inf
        remaining = min(remaining, max(max_minutes * 60.0 - self.wall_time, 0.0))
        eta = f"{remaining / 60:6.1f} min" if math.isfinite(remaining) else "   n/a"
        extras = ""
        if math.isfinite(row["Test_E_Pos"]):  # the last test's Eq. 2 tracking error, for envs with a reference clip
            extras += f" | test e_pos {row['Test_E_Pos']:6.3f} m"
        for key in sorted(set(row) - STANDARD_TEST_COLUMNS):  # task figures, e.g. Test_Location_Success
            if key.startswith("Test_"):
                extras += f" | test {key[5:].lower()} {row[key]:6.3f}"
        extras += self.agent.progress_figures(row)
        tested = self.last_test_info.get("iteration")  # the figures after it come from the test at that iteration
        test = f"test@{int(tested)}" if tested is not None else "test"
        print(f"iter {self.iteration:6d} | samples {self.sample_count:>11,d} | {rate:8,.0f} samples/s | "
              f"ETA {eta} | train return {row['Train_Return']:7.3f} len {row['Train_Episode_Length']:6.1f} | "
              f"{test} return {row['Test_Return']:7.3f}{extras} | {iter_seconds:5.2f} s/iter", flush=True)

    # --------------------------------------------------------------------------------------- testing
    def test(self, num_episodes: int) -> dict[str, Any]:
        """Exactly ``num_episodes`` deterministic episodes (mean actions), shared evenly over the envs.

        Returns mean return and length, the per-episode returns and the means of the env's per-episode
        metrics (``info["episode_metrics"]``, e.g. the tracking errors ``e_pos`` and ``e_vel``), with their
        per-episode values under ``episode_metrics``.
        """
        self.set_mode(EnvMode.TEST)
        tracker = self.test_tracker
        tracker.reset()
        world, rank, n = distributed.world_size(), distributed.rank(), self.env.num_envs
        quota = episode_quota(max(num_episodes, 1), n * world)[rank * n:(rank + 1) * n].to(self.agent.device)
        episode_metrics: dict[str, list[float]] = {}
        with torch.no_grad():
            obs = self._reset_all()
            try:
                while bool((tracker.episodes_per_env < quota).any()):
                    self.env.hold_physics(tracker.episodes_per_env >= quota)  # all their episodes counted
                    action, _ = self.agent.act(obs)
                    next_obs, reward, done, info = self.env.step(action)
                    counted = (done != int(DoneFlags.NULL)) & (tracker.episodes_per_env < quota)
                    if counted.any():
                        for key, values in info.get("episode_metrics", {}).items():
                            episode_metrics.setdefault(key, []).extend(values[counted].tolist())
                    tracker.update(reward, done, counted)
                    obs = self._reset_done_envs(next_obs, done)
            finally:
                self.env.hold_physics(None)
        returns, length_sum = list(tracker.episode_returns), tracker.totals().length_sum
        if distributed.is_distributed():  # every worker's episodes, in rank order
            parts = distributed.all_gather_objects((returns, length_sum, episode_metrics))
            returns = [r for part in parts for r in part[0]]
            length_sum = sum(part[1] for part in parts)
            episode_metrics = {k: [v for part in parts for v in part[2].get(k, [])] for k in parts[0][2]}
        count = len(returns)
        result = {"mean_return": sum(returns) / max(count, 1), "mean_ep_len": length_sum / max(count, 1),
                  "num_eps": count, "returns": returns, "episode_metrics": episode_metrics}
        for key, values in episode_metrics.items():
            result[key] = sum(values) / len(values) if values else math.nan
        return result

    # ----------------------------------------------------------------------------------- checkpoints
    def save(self, path: str | Path, with_training_state: bool = True) -> None:
        """Agent (networks, normalisers), optimisers, counters, RNG state and the last test, atomically; with
        ``with_training_state`` the agent's training-only state goes to its ``training_state_path`` first.
        With several workers every worker must call it: rank 0 writes the checkpoint with every worker's RNG
        state, each worker its own training-only state."""
        training_state = self.agent.training_state() if with_training_state else {}
        if training_state:
            save_checkpoint(training_state_path(path, distributed.rank()), training_state)
        world = distributed.world_size()
        rng = distributed.all_gather_objects(rng_state()) if world > 1 else rng_state()
        if distributed.is_main():
            write_checkpoint(path, self.agent, iteration=self.iteration, sample_count=self.sample_count,
                             wall_time=self.wall_time, rng=rng, world_size=world, last_test=self.last_test_info,
                             run_configs=self.run_configs)

    def load(self, path: str | Path, resume: bool = True) -> None:
        """Load a checkpoint's agent; with ``resume`` also the optimisers, counters and RNG state (exact
        continuation; the agent config's learning rates win, with a notice where they differ)."""
        payload = load_agent_weights(self.agent, path)
        if resume:
            if payload.get("slim"):
                raise CheckpointError(f"{path}: a slim model (weights and normalisers, no optimiser or RNG state) "
                                      f"cannot be resumed; resume from the run folder's model.pt")
            saved_world, world = int(payload.get("world_size", 1)), distributed.world_size()
            if saved_world != world:
                raise CheckpointError(f"{path}: written by a run with {saved_world} worker(s); resume it with the "
                                      f"same number (--num_workers {saved_world}), not {world}")
            self.last_test_info = dict(payload.get("last_test", {}))
            self.iteration = int(payload["iteration"])
            self.sample_count = int(payload["sample_count"])
            self.wall_time = float(payload["wall_time"])
            set_rng_state(payload["rng"][distributed.rank()] if world > 1 else payload["rng"])
            self.agent.load_optimizer_states(payload["optimizers"], self.sample_count, path)
            state_path = training_state_path(path, distributed.rank())
            if state_path.exists():
                self.agent.load_training_state(load_checkpoint(state_path, self.agent.device))
            elif self.agent.training_state():
                print(f"{state_path} not found: the agent's training-only state (replay buffer) starts empty, so "
                      f"this continuation is not bit-exact", flush=True)
        if distributed.is_main():
            print(f"Loaded model parameters from {path}", flush=True)
