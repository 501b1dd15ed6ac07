"""One simulated character per environment: engine set-up, action bounds, character observations,
episode clock. Subclasses add the task (reference tracking, playback, ...)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, ClassVar

import numpy as np
import torch

from mimickit.anim.kin_char_model import JointType, KinCharModel
from mimickit.engines.engine import ControlMode, Engine, build_engine
from mimickit.envs.base_env import BaseEnv, DoneFlags, EnvMode
from mimickit.envs.episode_stats import EpisodeMeans, Smoothness, StepMeans
from mimickit.envs.randomization import (
    RANDOMIZATION_SCHEMA,
    ActionDelay,
    PushSchedule,
    RandomizationConfig,
    noise_std,
)
from mimickit.envs.terms.observations import compute_char_obs
from mimickit.util import rotations as rot
from mimickit.util.compile import compiled
from mimickit.util.config import ConfigError
from mimickit.util.distributed import LONE_WORKER, WorkerPlace
from mimickit.util.rows import computed_rows, is_mask, select, write_rows
from mimickit.util.schedule import scheduled_value
from mimickit.util.schema import Field, validate

ObsTerm = Callable[[torch.Tensor | None], torch.Tensor]  # env_ids (all if None) -> [n, d]

CHAR_ENV_SCHEMA: dict[str, Field] = {
    "env_name": Field(str, help="the environment class: a key of ENV_REGISTRY"),
    "char_file": Field(str, help="the character's MJCF file"),
    "episode_length": Field(float, help="longest episode", unit="s", gt=0),
    "global_obs": Field(bool, help="observe body poses in the world frame instead of the root's heading frame"),
    "root_height_obs": Field(bool, True, "observe the root height"),
    "zero_center_action": Field(bool, False, "centre hinge action bounds on 0 instead of mid-range"),
    "init_pose": Field(list, None, "start pose: root pos 3, root exp map 3, DoFs (or 3 numbers: root position)",
                       item=float),
    "key_bodies": Field(list, [], "bodies whose positions are observed", item=str),
    "engine": Field(dict, {}, "overrides of the engine yaml's keys"),
    "camera_mode": Field(str, "track", "video / viewer camera: track (follows the character's root) or still "
                                       "(stays where the recording started)", choices=("track", "still")),
    "randomization": Field(dict, {}, "domain randomisation in TRAIN mode (off by default)",
                           schema=RANDOMIZATION_SCHEMA),
    "obs_history": Field(int, 0, "earlier control steps of the character term the policy also observes, newest "
                                 "first (a policy without root velocity can infer it from them)", ge=0),
}


def compute_action_bounds(kin_model: KinCharModel, control_mode: ControlMode, torque_limits: torch.Tensor,
                          zero_center_action: bool) -> tuple[torch.Tensor, torch.Tensor]:
    """Per-DoF action limits ``([D], [D])``.

    pos / pd_1d: spherical joints get +-1.2 max|range| of their three axes on every component; hinges get
    mid +- 1.4 max(|high - mid|, |low - mid|) with mid the range centre (0 if ``zero_center_action``).
    vel: +-2 pi; torque: +-torque limit; none: +-1.
    """
    d = kin_model.dof_size
    if control_mode == ControlMode.VEL:
        return torch.full((d,), -2 * torch.pi), torch.full((d,), 2 * torch.pi)
    if control_mode == ControlMode.TORQUE:
        return -torque_limits.clone(), torque_limits.clone()
    if control_mode == ControlMode.NONE:
        return -torch.ones(d), torch.ones(d)
    low, high = torch.zeros(d), torch.zeros(d)
    for joint in kin_model.joints[1:]:
        s = slice(joint.dof_idx, joint.dof_idx + joint.dof_dim)
        jl, jh = kin_model.dof_low[s].cpu(), kin_model.dof_high[s].cpu()
        if joint.joint_type == JointType.SPHERICAL:
            scale = 1.2 * torch.maximum(jl.abs(), jh.abs()).max()
            low[s], high[s] = -scale, scale
        elif joint.joint_type == JointType.HINGE:
            mid = torch.zeros(1) if zero_center_action else 0.5 * (jl + jh)
            scale = 1.4 * torch.maximum((jh - mid).abs(), (jl - mid).abs())
            low[s], high[s] = mid - scale, mid + scale
    if torch.any(high - low <= 0) or not torch.all(torch.isfinite(high - low)):
        raise ConfigError("every actuated joint needs a finite, non-empty range to derive action bounds")
    return low, high


class CharEnv(BaseEnv):
    """A character in ``num_envs`` environments behind the Engine API.

    Config keys: :data:`CHAR_ENV_SCHEMA` (subclasses extend ``SCHEMA``). Rendering (viewer and video) always
    follows the character's root.

    A step runs upstream's order: apply the action, physics, time, ``_update_misc`` (task state such as the
    reference motion), observations, metrics, reward, done, info. Subclasses supply pieces through hooks —
    observation terms (``_build_obs_terms``), ``_compute_metrics``, ``_compute_reward`` (reward and its named
    terms), ``_compute_done`` — while the step itself records the training means of the reward terms
    (``get_diagnostics``) and the per-episode metric means (``info["episode_metrics"]``), so overriding a hook
    never loses them.
    """

    SCHEMA: dict[str, Field] = CHAR_ENV_SCHEMA
    # _reset_envs takes a bool mask too (computes every env's reset state, writes where set: no host sync)
    MASKED_RESET: ClassVar[bool] = False

    def __init__(self, config: dict[str, Any], engine_config: dict[str, Any], num_envs: int,
                 device: torch.device | str = "cpu", visualize: bool = False, record_video: bool = False,
                 source: str = "env config", worker: WorkerPlace = LONE_WORKER) -> None:
        self.config = validate(config, self.SCHEMA, source)
        config = self.config
        self.source = source
        self.worker = worker
        self.num_envs = num_envs
        self.device = torch.device(device)
        self.episode_length = config["episode_length"]
        self.global_obs = config["global_obs"]
        self.root_height_obs = config["root_height_obs"]
        self.engine: Engine = build_engine(engine_config, num_envs, self.device, source=source,
                                           visualize=visualize, record_video=record_video, worker=worker)
        self.char_id = self._configure_engine(self.engine)
        self.engine.initialize()
        self.engine.set_camera_follow(config["camera_mode"] == "track")
        self.kin_model = self.engine.get_kin_char_model(self.char_id).to(self.device)
        compiles = self.engine.compiles
        self._compute_obs = compiled(self._compute_obs, compiles)  # type: ignore[method-assign]
        self._compute_reward = compiled(self._compute_reward, compiles)  # type: ignore[method-assign]
        self._parse_init_pose(config["init_pose"])
        self.key_body_ids = self._body_ids(config["key_bodies"], "key_bodies")
        self.step_count = torch.zeros(num_envs, dtype=torch.long, device=self.device)
        self.time = torch.zeros(num_envs, device=self.device)  # step_count x control timestep [s]
        self._build_task()
        self._obs_terms = self._with_history(self._build_obs_terms(), config["obs_history"])
        low, high = compute_action_bounds(self.kin_model, self.engine.control_mode,
                                          self.engine.get_torque_limits(self.char_id),
                                          config["zero_center_action"])
        low, high = self._adjust_action_bounds(low, high)
        self._action_low, self._action_high = low.to(self.device), high.to(self.device)
        self.reward = torch.zeros(num_envs, device=self.device)
        self.done = torch.zeros(num_envs, dtype=torch.int32, device=self.device)
        self.fault_count = torch.zeros((), dtype=torch.long, device=self.device)  # envs reset for broken physics
        self.reward_term_means = StepMeans()
        self.episode_metrics = EpisodeMeans(num_envs, self.device)
        self.smoothness = Smoothness(num_envs, self._action_low.numel(), self.kin_model.dof_size,
                                     self.engine.timestep, self.device)
        self._applied_action = torch.zeros(num_envs, self._action_low.numel(), device=self.device)
        self._step_metrics: dict[str, torch.Tensor] = {}
        self.obs_layout = self._measure_obs_layout()
        obs_dim = max(part.stop for part in self.obs_layout.values())
        self.obs = torch.zeros(num_envs, obs_dim, device=self.device)
        self._build_randomization(num_envs)

    # ------------------------------------------------------------------------------------- building
    def _configure_engine(self, engine: Engine) -> int:
        """Add the scene to the engine before it is initialised; returns the character's id. The character
        starts at ``init_pose``'s root position (1 m up without one), whatever its size."""
        init_pose = self.config["init_pose"] or [0.0, 0.0, 1.0]
        start = tuple(float(x) for x in init_pose[:3]) if len(init_pose) >= 3 else (0.0, 0.0, 1.0)
        return engine.add_character(self.config["char_file"], start_pos=start)

    def _build_task(self) -> None:
        """Task-specific set-up once the kinematic model exists (before the observation size is taken)."""

    def _parse_init_pose(self, init_pose: list[float] | None) -> None:
        dof_size = self.kin_model.dof_size
        pose = torch.zeros(6 + dof_size)
        if init_pose is not None:
            values = torch.tensor(init_pose, dtype=torch.float32)
            if values.numel() not in (3, 6 + dof_size):
                raise ConfigError(f"{self.source}: init_pose must hold 3 or {6 + dof_size} numbers "
                                  f"(root pos 3, root exp map 3, {dof_size} DoFs), found {values.numel()}")
            pose[:values.numel()] = values
        pose = pose.to(self.device)
        self.init_root_pos = pose[:3]
        self.init_root_rot = rot.exp_map_to_quat(pose[3:6])
        self.init_dof_pos = pose[6:]

    def _body_ids(self, names: list[str], key: str) -> torch.Tensor:
        unknown = [n for n in names if n not in self.kin_model.body_names]
        if unknown:
            raise ConfigError(f"{self.source}: {key} names unknown bodies {unknown}; bodies are "
                              f"{self.kin_model.body_names}")
        return torch.tensor([self.kin_model.get_body_id(n) for n in names], dtype=torch.long, device=self.device)

    def _build_randomization(self, num_envs: int) -> None:
        config = validate(self.config["randomization"], RANDOMIZATION_SCHEMA, f"{self.source}: randomization")
        self.randomization = RandomizationConfig.from_config(config, list(self.obs_layout), self.source)
        r = self.randomization
        self._obs_noise = (noise_std(self.obs_layout, r.obs_noise, self.obs.shape[1], self.device)
                           if any(v > 0 for v in r.obs_noise.values()) else None)
        self._action_delay = (ActionDelay(num_envs, self._action_low.numel(), r.action_delay, self.device)
                              if r.action_delay[1] > 0 else None)
        self._pushes = PushSchedule(num_envs, r.push_interval, r.push_vel, self.device) if r.push_vel > 0 else None
        self.push_by_mask = self.device.type != "cpu"  # as the runner resets: no host sync on an accelerator
        if r.varies_physics:  # every env starts with its own draw (an engine that cannot randomise says so here)
            ids = torch.arange(num_envs, device=self.device)
            try:
                self.engine.randomize_physics(self.char_id, ids, r.draw_physics(num_envs, self.device))
            except ConfigError:
                self.engine.close()
                raise
        if r.active:
            print(f"Randomization (TRAIN mode): {r.describe()}", flush=True)

    def begin_iteration(self, sample_count: int) -> dict[str, float]:
        """The push curriculum's largest push for ``sample_count`` (``randomization.push_vel_schedule``)."""
        info = super().begin_iteration(sample_count)
        schedule = self.randomization.push_vel_schedule
        if schedule and self._pushes is not None:
            self._pushes.push_vel = scheduled_value(schedule, sample_count, self.randomization.push_vel)
            info["push_vel"] = self._pushes.push_vel
        return info

    def _build_obs_terms(self) -> list[tuple[str, ObsTerm]]:
        """The observation's parts in order, as ``(name, fn)``; subclasses extend the list."""
        return [("char", self._char_obs)]

    def _with_history(self, terms: list[tuple[str, ObsTerm]], steps: int) -> list[tuple[str, ObsTerm]]:
        """``terms`` plus, with ``steps`` > 0, a ``char_history`` term before the critic-only ``privileged`` one:
        the character term as observed (noise included) at the ``steps`` previous control steps, newest first;
        an episode starts with its first observation repeated."""
        self._char_history: torch.Tensor | None = None
        if steps == 0:
            return terms
        char = dict(terms).get("char")
        if char is None:
            raise ConfigError(f"{self.source}: obs_history needs a 'char' observation term; this env has "
                              f"{[name for name, _ in terms]}")
        size = int(char(torch.arange(1, device=self.device)).shape[-1])
        self._char_history = torch.zeros(self.num_envs, steps, size, device=self.device)
        at = next((k for k, (name, _) in enumerate(terms) if name == "privileged"), len(terms))
        return [*terms[:at], ("char_history", self._char_history_obs), *terms[at:]]

    def _char_history_obs(self, env_ids: torch.Tensor | None) -> torch.Tensor:
        assert self._char_history is not None
        history = self._char_history if env_ids is None else self._char_history[env_ids]
        return history.flatten(1)

    def _record_history(self, env_ids: torch.Tensor | None) -> None:
        """After new observations of ``env_ids`` (all if None; a reset when given, as ids or a mask): push their
        character term into the history (a reset fills the history with it and shows it in the observation)."""
        if self._char_history is None:
            return
        char, history = self.obs_layout["char"], self._char_history
        if env_ids is None:
            history[:, 1:] = history[:, :-1].clone()
            history[:, 0] = self.obs[:, char]
            return
        first = select(self.obs[:, char], env_ids)
        write_rows(history, env_ids, first.unsqueeze(1).expand(-1, history.shape[1], -1))
        shown = self.obs[:, self.obs_layout["char_history"]]
        write_rows(shown, env_ids, select(history, env_ids).flatten(1))  # a view: writes into self.obs

    def _measure_obs_layout(self) -> dict[str, slice]:
        """Where each observation term sits in the observation vector."""
        layout, start = {}, 0
        one = torch.arange(1, device=self.device)
        for name, term in self._obs_terms:
            size = int(term(one).shape[-1])
            layout[name] = slice(start, start + size)
            start += size
        return layout

    # ------------------------------------------------------------------------------------ interface
    @property
    def obs_dim(self) -> int:
        return int(self.obs.shape[-1])

    @property
    def action_bounds(self) -> tuple[torch.Tensor, torch.Tensor]:
        return self._action_low, self._action_high

    def reset(self, env_ids: torch.Tensor | None = None) -> tuple[torch.Tensor, dict]:
        """Reset ``env_ids``: ids ``[n]``, a bool mask ``[N]`` (no host sync where the env resets by mask:
        :attr:`MASKED_RESET`; :mod:`mimickit.util.rows`), or None for every env."""
        ids = torch.arange(self.num_envs, device=self.device) if env_ids is None else env_ids
        if is_mask(ids) and (not self.MASKED_RESET or self.randomization.varies_physics):
            ids = ids.nonzero().flatten()  # one host sync: this env (or the engine's randomisation) takes ids
        if is_mask(ids) or ids.numel() > 0:
            write_rows(self.step_count, ids, 0)
            write_rows(self.time, ids, 0.0)
            write_rows(self.done, ids, int(DoneFlags.NULL))
            self.episode_metrics.reset(ids)
            self.smoothness.reset(ids)
            self._reset_envs(ids)
            if self._action_delay is not None:  # drawn after the env's own reset, whose draws stay as without
                self._action_delay.reset(ids)
            if self.randomization.varies_physics:  # TEST episodes run on the nominal physics
                scales = self.randomization.draw_physics(ids.numel(), self.device)
                if self.mode != EnvMode.TRAIN:
                    scales = {key: torch.zeros_like(value) if key == "com_offset" else torch.ones_like(value)
                              for key, value in scales.items()}
                self.engine.randomize_physics(self.char_id, ids, scales)
            if self._pushes is not None:
                self._pushes.reset(ids, self.time)
            write_rows(self.obs, ids, self._noisy(self._compute_obs(computed_rows(ids))))
            self._record_history(ids)
        return self.obs, {}

    def step(self, action: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, dict]:
        self._apply_action(action)
        faults = self.engine.step()
        self._update_time()
        self._update_misc()
        self._update_observations()
        self._update_metrics()
        self._update_reward()
        self._update_done(faults)
        return self.obs, self.reward, self.done, self._update_info()

    # ---------------------------------------------------------------------------------- step parts
    def _apply_action(self, action: torch.Tensor) -> None:
        action = torch.maximum(torch.minimum(action, self._action_high), self._action_low)
        training = self.mode == EnvMode.TRAIN
        if self._action_delay is not None and training:
            action = self._action_delay(action)
        if self._pushes is not None and training:
            self._push()
        self._applied_action = action
        self.engine.set_cmd(self.char_id, self._action_to_command(action))

    def _push(self) -> None:
        """Change the root velocity of the envs whose push is due: by mask on an accelerator (``push_by_mask``: every
        env's push drawn, written where due, no host sync), else by ids (one ``nonzero``; only the due rows' work)."""
        assert self._pushes is not None
        due = self._pushes.due(self.time)
        if self.push_by_mask:
            vel = self.engine.get_root_vel(self.char_id) + self._pushes.velocity_changes(due, self.time)
            self.engine.set_state(self.char_id, due, root_vel=vel)
            return
        ids = due.nonzero().flatten()
        if ids.numel() > 0:
            vel = self.engine.get_root_vel(self.char_id)[ids] + self._pushes.velocity_changes(ids, self.time)
            self.engine.set_state(self.char_id, ids, root_vel=vel)

    def _noisy(self, obs: torch.Tensor) -> torch.Tensor:
        """``obs`` with the configured per-term Gaussian noise added (TRAIN mode)."""
        if self._obs_noise is None or self.mode != EnvMode.TRAIN:
            return obs
        return obs + torch.randn_like(obs) * self._obs_noise

    def _update_time(self) -> None:
        self.step_count += 1
        self.time[:] = self.step_count * self.engine.timestep

    def _update_observations(self) -> None:
        self.obs[:] = self._noisy(self._compute_obs(None))
        self._record_history(None)

    def _update_metrics(self) -> None:
        self._step_metrics = self._compute_metrics()
        self.episode_metrics.add(self._step_metrics)
        if self._step_metrics:  # TEST mode of envs that report per-episode figures: how smoothly they act too
            self.smoothness.add(self._applied_action, self.engine.get_dof_pos(self.char_id))

    def _update_reward(self) -> None:
        reward, terms = self._compute_reward()
        self.reward[:] = reward
        if self.mode == EnvMode.TRAIN:
            self.reward_term_means.add(terms)

    def _update_done(self, faults: torch.Tensor) -> None:
        faults = faults.to(self.device)  # non-finite or exploded physics: end those episodes and count them
        self.done[:] = torch.where(faults, int(DoneFlags.FAIL), self._compute_done())
        self.fault_count += faults.sum()  # stays on the device: read when logged

    def _update_info(self) -> dict[str, Any]:
        """The step's ``info``: ``num_faults`` (total so far, a 0-d tensor) and, on steps that recorded metrics,
        ``episode_metrics``: each metric's mean over the episode ``[N]``, valid where ``done`` is set this
        step (NaN elsewhere)."""
        info: dict[str, Any] = {"num_faults": self.fault_count}
        if self._step_metrics:
            ended = self.done != int(DoneFlags.NULL)
            info["episode_metrics"] = {**self.episode_metrics.means(ended), **self.smoothness.means(ended),
                                       **self._episode_summary(ended)}
        return info

    # --------------------------------------------------------------------------------------- hooks
    def _reset_envs(self, env_ids: torch.Tensor) -> None:
        """Put ``env_ids`` in the init pose at rest."""
        n = env_ids.numel()
        self.engine.set_state(self.char_id, env_ids, root_pos=self.init_root_pos.expand(n, 3),
                              root_rot=self.init_root_rot.expand(n, 4), root_vel=torch.zeros(n, 3),
                              root_ang_vel=torch.zeros(n, 3), dof_pos=self.init_dof_pos.expand(n, -1),
                              dof_vel=torch.zeros(n, self.kin_model.dof_size))

    def _update_misc(self) -> None:
        """Hook: advance task state after physics (e.g. the reference motion), before the observations."""

    def _adjust_action_bounds(self, low: torch.Tensor, high: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Hook: the action bounds the agent sees, from the control mode's bounds ``([D], [D])``."""
        return low, high

    def _action_to_command(self, action: torch.Tensor) -> torch.Tensor:
        """Hook: the engine command ``[N, D]`` for a clipped action ``[N, D]`` (identity here)."""
        return action

    def _compute_obs(self, env_ids: torch.Tensor | None) -> torch.Tensor:
        """The observation terms of ``env_ids`` (all if None), concatenated ``[n, obs_dim]``."""
        return torch.cat([term(env_ids) for _, term in self._obs_terms], dim=-1)

    def _compute_metrics(self) -> dict[str, torch.Tensor]:
        """Hook: per-env metrics ``[N]`` of this step, averaged per episode (none here)."""
        return {}

    def _episode_summary(self, ended: torch.Tensor) -> dict[str, torch.Tensor]:
        """Hook: per-episode figures that are not step means (e.g. a success rate), ``[N]``, read where
        ``ended``; added to ``info["episode_metrics"]`` on steps that record metrics (none here)."""
        return {}

    def _compute_reward(self) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        """Hook: reward ``[N]`` and its named terms (each ``[N]``, logged as training means): 1 per step here."""
        return torch.ones(self.num_envs, device=self.device), {}

    def _compute_done(self) -> torch.Tensor:
        done = torch.zeros(self.num_envs, dtype=torch.int32, device=self.device)
        done[self.time >= self.episode_length] = int(DoneFlags.TIME)
        return done

    # --------------------------------------------------------------------------------------- state
    def char_state(self, env_ids: torch.Tensor | None = None) -> dict[str, torch.Tensor]:
        """The character's state for ``env_ids`` (all if None), as the observation and reward terms use it:
        ``root_pos`` [n, 3] m, ``root_rot`` [n, 4] quaternion (x, y, z, w), ``root_vel`` / ``root_ang_vel``
        [n, 3] (m/s, rad/s), ``dof_pos`` / ``dof_vel`` [n, D], ``joint_rot`` [n, J, 4], ``body_pos`` [n, B, 3]."""
        e, c = self.engine, self.char_id
        sel = (lambda x: x) if env_ids is None else (lambda x: x[env_ids])
        return {
            "root_pos": sel(e.get_root_pos(c)), "root_rot": sel(e.get_root_rot(c)),
            "root_vel": sel(e.get_root_vel(c)), "root_ang_vel": sel(e.get_root_ang_vel(c)),
            "dof_pos": sel(e.get_dof_pos(c)), "dof_vel": sel(e.get_dof_vel(c)), "joint_rot": sel(e.get_joint_rot(c)),
            "body_pos": sel(e.get_body_pos(c)),
        }

    def _char_obs(self, env_ids: torch.Tensor | None) -> torch.Tensor:
        s = self.char_state(env_ids)
        return compute_char_obs(s["root_pos"], s["root_rot"], s["root_vel"], s["root_ang_vel"], s["joint_rot"],
                                s["dof_vel"], s["body_pos"][:, self.key_body_ids], self.global_obs,
                                self.root_height_obs)

    def get_diagnostics(self) -> dict[str, float]:
        """Mean of each reward term over the TRAIN-mode steps since the last call, as ``reward_<term>``."""
        return {f"reward_{name}": mean for name, mean in self.reward_term_means.pop().items()}

    @property
    def step_time(self) -> float:
        return self.engine.timestep

    @property
    def actor_obs_dim(self) -> int:
        privileged = self.obs_layout.get("privileged")
        return self.obs_dim if privileged is None else privileged.start

    def drive_description(self) -> dict[str, Any]:
        """How actions drive the character, for an exported policy: control mode, PD gains ``kp`` / ``kd`` and
        torque limits per DoF (lists), control and physics rates [Hz]."""
        kp, kd = self.engine.get_pd_gains(self.char_id)
        return {"control_mode": self.engine.control_mode.name.lower(), "kp": kp.tolist(), "kd": kd.tolist(),
                "torque_limit": self.engine.get_torque_limits(self.char_id).tolist(),
                "control_freq": self.engine.control_freq, "sim_freq": self.engine.sim_freq}

    def exported_scene(self) -> Any:
        """The engine's compiled MuJoCo scene (``save_model``, ``mujoco_layout``) for sim2sim, or None when the
        engine has none."""
        return getattr(self.engine, "scene", None)

    def hold_physics(self, held: torch.Tensor | None) -> None:
        self.engine.hold_envs(held)

    def start_video(self, max_frames: int = 0, env_ids: Sequence[int] = (0,)) -> None:
        self.engine.start_video_recording(max_frames, env_ids)

    def stop_video(self) -> tuple[list[np.ndarray], float]:
        return self.engine.stop_video_recording(), self.engine.timestep

    def close(self) -> None:
        self.engine.close()
