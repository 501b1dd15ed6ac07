"""MuJoCo on the CPU: ``num_envs`` copies of one scene stepped in C by ``mujoco.rollout``.

Design (measured in ``docs/benchmarks.md``): the physics state of every environment lives in one numpy
array ``[N, nstate]`` (MuJoCo's ``mjSTATE_FULLPHYSICS`` layout: time, qpos, qvel, ...). A control step
is one ``Rollout.rollout`` call that steps all environments ``substeps`` times on a C++ thread pool and
writes the new states and sensor readings back into preallocated arrays; torch views of the qpos, qvel and
sensor columns are decoded by the shared code of ``mujoco_common.py`` (body poses by the kinematic model,
whose FK equals MuJoCo's). There is no per-environment Python loop anywhere on the step path. The scene
(ground, sensors, actuators rewritten for the control mode) is ``mujoco_scene.py``'s.
"""

from __future__ import annotations

import copy
import os
from typing import Any

import mujoco
import mujoco.rollout
import numpy as np
import torch

from mimickit.engines.engine import ControlMode
from mimickit.engines.mujoco_common import SCENE_SCHEMA, MujocoSceneEngine
from mimickit.engines.mujoco_state import explicit_pd_torque
from mimickit.util.config import ConfigError
from mimickit.util.distributed import LONE_WORKER, WorkerPlace
from mimickit.util.schema import Field

_STATE_SPEC = mujoco.mjtState.mjSTATE_FULLPHYSICS
_STEP_START_TIME = 1.0  # every rollout starts at this time; an earlier end time means MuJoCo reset the data


MUJOCO_SCHEMA: dict[str, Field] = {
    **SCENE_SCHEMA,
    "num_threads": Field(int, 0, "rollout threads (0: this machine's cores shared by its worker processes)", ge=0)}


PHYSICS_SCALES = ("friction", "mass", "kp", "kd", "strength", "com_offset")


class MujocoEngine(MujocoSceneEngine):
    """CPU MuJoCo backend of the Engine API (see module docstring).

    Extra config key: ``num_threads`` (0 = this machine's cores shared by its worker processes).
    """

    SCHEMA = MUJOCO_SCHEMA

    def __init__(self, config: dict[str, Any], num_envs: int, device: torch.device | str = "cpu",
                 source: str = "engine config", visualize: bool = False, record_video: bool = False,
                 worker: WorkerPlace = LONE_WORKER) -> None:
        super().__init__(config, num_envs, device, source, visualize, record_video, worker)
        self._num_threads = self.config["num_threads"] or max(1, (os.cpu_count() or 1) // worker.local_world_size)
        self._num_faults = 0
        self._rollout = None
        self._stepped_rows: np.ndarray | None = None  # the envs each step advances (None: all; see hold_envs)

    @property
    def num_threads(self) -> int:
        """Threads of the rollout pool stepping the envs."""
        return min(self._num_threads, self.num_envs)

    def _init_backend(self) -> None:
        m, scene = self.model, self.scene
        data = mujoco.MjData(m)
        data.qpos[:], data.qvel[:] = scene.default_qpos, scene.default_qvel
        mujoco.mj_forward(m, data)
        nstate = mujoco.mj_stateSize(m, _STATE_SPEC)
        self._default_state = np.zeros(nstate)
        mujoco.mj_getState(m, data, self._default_state, _STATE_SPEC)
        self._default_state[0] = _STEP_START_TIME
        n = self.num_envs
        # explicit PD recomputes torques before every substep, so it steps one substep per rollout call
        s = self._steps_per_call = 1 if self.control_mode == ControlMode.PD_1D else self.substeps
        self._state = np.tile(self._default_state, (n, 1))
        self._state_out = np.zeros((n, s, nstate))
        self._sensor_out = np.zeros((n, s, m.nsensordata))
        self._sensordata = np.zeros((n, m.nsensordata))
        self._ctrl = np.zeros((n, s, m.nu))
        state_t = torch.from_numpy(self._state)
        self._qpos = state_t[:, 1:1 + m.nq]
        self._qvel = state_t[:, 1 + m.nq:1 + m.nq + m.nv]
        self._sensor = torch.from_numpy(self._sensordata)
        self._layout = scene.layout
        self._act_dof = scene.layout.act_dof
        self._cmd = torch.zeros(n, self._kin_model.dof_size, dtype=torch.float64)
        threads = self.num_threads
        self._rollout = mujoco.rollout.Rollout(nthread=threads)
        self._thread_data = [mujoco.MjData(m) for _ in range(threads)]
        self._model_batch = [m] * n  # rollout without checks wants one model per env

    # ------------------------------------------------------------------------------------- stepping
    def set_cmd(self, obj_id: int, cmd: torch.Tensor) -> None:
        self._check_obj(obj_id)
        self._cmd.copy_(cmd.detach().to("cpu", torch.float64))

    def step(self) -> torch.Tensor:
        self._before_physics()
        if self.control_mode == ControlMode.PD_1D:
            for _ in range(self.substeps):
                scene = self.scene
                tau = explicit_pd_torque(self._layout, self._qpos, self._qvel, self._cmd, scene.kp, scene.kd,
                                         scene.torque_limit)
                self._ctrl[:] = tau[:, self._act_dof].numpy()[:, None, :]
                self._rollout_call()
        else:
            cmd = self._cmd
            if self.control_mode == ControlMode.TORQUE:
                lim = self.scene.torque_limit.double()
                cmd = torch.maximum(torch.minimum(cmd, lim), -lim)
            self._ctrl[:] = cmd[:, self._act_dof].numpy()[:, None, :]
            self._rollout_call()
        faults = self._detect_faults()
        self._after_physics()
        return torch.from_numpy(faults).to(self.device)

    def randomize_physics(self, obj_id: int, env_ids: torch.Tensor, scales: dict[str, torch.Tensor]) -> None:
        self._check_obj(obj_id)
        unknown = sorted(set(scales) - set(PHYSICS_SCALES))
        if unknown:
            raise ConfigError(f"unknown physics scales {unknown}; known: {list(PHYSICS_SCALES)}")
        if {"kp", "kd"} & set(scales) and self.control_mode != ControlMode.POS:
            raise ConfigError("kp / kd randomisation needs control_mode pos (MuJoCo's position servos)")
        base = self.model
        if self._model_batch[0] is base:  # the first call: every env gets its own copy of the model
            self._model_batch = [copy.copy(base) for _ in range(self.num_envs)]
        values = {name: scale.detach().double().cpu().numpy() for name, scale in scales.items()}
        for k, env in enumerate(env_ids.tolist()):  # at resets only: a host loop over the reset envs
            m = self._model_batch[env]
            if "friction" in values:
                m.geom_friction[:, 0] = base.geom_friction[:, 0] * values["friction"][k]
            if "mass" in values:
                m.body_mass[:] = base.body_mass * values["mass"][k]
                m.body_inertia[:] = base.body_inertia * values["mass"][k]
            if "kp" in values:
                m.actuator_gainprm[:, 0] = base.actuator_gainprm[:, 0] * values["kp"][k]
                m.actuator_biasprm[:, 1] = base.actuator_biasprm[:, 1] * values["kp"][k]
            if "kd" in values:
                m.actuator_biasprm[:, 2] = base.actuator_biasprm[:, 2] * values["kd"][k]
            if "strength" in values:
                m.actuator_forcerange[:] = base.actuator_forcerange * values["strength"][k]
            if "com_offset" in values:  # the character's root body (body 0 is MuJoCo's world)
                root = int(self.scene.body_ids[0])
                m.body_ipos[root] = base.body_ipos[root] + values["com_offset"][k]

    def env_model(self, env: int) -> mujoco.MjModel:
        """The model env ``env`` is stepped with (its own copy once physics is randomised)."""
        return self._model_batch[env]

    def hold_envs(self, held: torch.Tensor | None) -> None:
        """Later steps advance only the envs not in ``held`` and the envs being filmed (one host sync here; held
        envs keep their state and sensors); None: every env."""
        if held is None:
            self._stepped_rows = None
            return
        stepped = ~held.detach().to("cpu", torch.bool).numpy()
        if self._recorder is not None and self._recorder.recording:
            stepped[self._record_env_ids] = True
        self._stepped_rows = None if stepped.all() else stepped.nonzero()[0]

    def _rollout_call(self) -> None:
        """Step the environments (every one, or those :meth:`hold_envs` left) ``steps_per_call`` substeps in C,
        then keep the last state and sensors."""
        if self._rollout is None:
            raise RuntimeError("the engine was closed; build a new one to step again")
        self._state[:, 0] = _STEP_START_TIME
        rows = self._stepped_rows
        if rows is None:
            self._rollout.rollout(self._model_batch, self._thread_data, self._state, self._ctrl,
                                  nstep=self._steps_per_call, state=self._state_out, sensordata=self._sensor_out,
                                  skip_checks=True)
            self._state[:] = self._state_out[:, -1]
            self._sensordata[:] = self._sensor_out[:, -1]
        elif rows.size:
            state_out, sensor_out = self._state_out[:rows.size], self._sensor_out[:rows.size]
            self._rollout.rollout([self._model_batch[i] for i in rows], self._thread_data, self._state[rows],
                                  self._ctrl[rows], nstep=self._steps_per_call, state=state_out,
                                  sensordata=sensor_out, skip_checks=True)
            self._state[rows] = state_out[:, -1]
            self._sensordata[rows] = sensor_out[:, -1]

    def _detect_faults(self) -> np.ndarray:
        m = self.model
        qvel = self._state[:, 1 + m.nq:1 + m.nq + m.nv]
        faults = ~np.isfinite(self._state).all(axis=1) | ~np.isfinite(self._sensordata).all(axis=1)
        faults |= np.abs(np.nan_to_num(qvel, nan=0.0)).max(axis=1) > self._fault_max_vel
        faults |= self._state[:, 0] < _STEP_START_TIME  # MuJoCo reset the data after an unstable step
        if faults.any():
            self._state[faults] = self._default_state
            self._sensordata[faults] = 0.0
            self._num_faults += int(faults.sum())
        return faults

    @property
    def num_faults(self) -> int:
        return self._num_faults

    def _close_backend(self) -> None:
        if self._rollout is not None:
            self._rollout.close()
            self._rollout = None
