"""MuJoCo on the CPU: ``num_envs`` copies of one character stepped in C by ``mujoco.rollout``.

Design (measured in ``docs/benchmarks.md``): the physics state of every environment lives in one numpy
array ``[N, nstate]`` (MuJoCo's ``mjSTATE_FULLPHYSICS`` layout: time, qpos, qvel, ...). A control step
is one ``Rollout.rollout`` call that steps all environments ``substeps`` times on a C++ thread pool and
writes the new states and sensor readings back into preallocated arrays; the torch views of those
arrays are then decoded in batched torch code (body poses and velocities by the kinematic model, whose
FK equals MuJoCo's). There is no per-environment Python loop anywhere on the step path.

Model edits at build time: a ground plane ``ground`` (condim 3, friction from config), one contact
sensor per character body (net force from the ground) and one force sensor per actuator. Actuators
are rewritten for the control mode (all act through MuJoCo's implicit ``implicitfast`` integration,
which keeps stiff PD stable at 120 Hz):
- ``pos``: position servo, force = kp (target - q) - kd qdot, clipped to the torque limit;
- ``vel``: force = kd (target - qdot); ``torque`` / ``pd_1d``: force = command (clipped);
- ``none``: no force.
Gains come from the asset's position actuators (kp, kv) or, for motor-driven assets, from joint
``stiffness`` / ``damping``, which are then zeroed so they do not also act as passive springs.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import mujoco
import mujoco.rollout
import numpy as np
import torch

from mimickit.anim.kin_char_model import JointType, KinCharModel
from mimickit.anim.mjcf_loader import character_body_ids, kin_model_from_mjmodel
from mimickit.engines.engine import BASE_CONFIG_KEYS, ControlMode, Engine
from mimickit.util import distributed
from mimickit.util import rotations as rot
from mimickit.util.config import ConfigError
from mimickit.util.paths import resolve_path

GROUND_NAME = "ground"
_STATE_SPEC = mujoco.mjtState.mjSTATE_FULLPHYSICS
_STEP_START_TIME = 1.0  # every rollout starts at this time; an earlier end time means MuJoCo reset the data
_INTEGRATORS = {"euler": mujoco.mjtIntegrator.mjINT_EULER, "rk4": mujoco.mjtIntegrator.mjINT_RK4,
                "implicit": mujoco.mjtIntegrator.mjINT_IMPLICIT,
                "implicitfast": mujoco.mjtIntegrator.mjINT_IMPLICITFAST}
_CHAR_ID = 0
_CONTACT_FORCE_DATA = 1 << int(mujoco.mjtConDataField.mjCONDATA_FORCE)  # contact sensor: report force only
_CONTACT_REDUCE_NETFORCE = 3  # contact sensor: net force of all matching contacts, world frame


_LOG = logging.getLogger("mimickit.mujoco")


def _log_mujoco_warning(message: str) -> None:
    """MuJoCo warnings go to Python logging instead of a MUJOCO_LOG.TXT in the working directory (the engine
    counts and resets faulted envs itself)."""
    _LOG.warning("MuJoCo: %s", message)


mujoco.set_mju_user_warning(_log_mujoco_warning)


class MujocoEngine(Engine):
    """CPU MuJoCo backend of the Engine API (see module docstring).

    Extra config keys: ``num_threads`` (0 = all cores), ``integrator`` (default ``implicitfast``),
    ``ground_friction`` (1.0), ``fault_max_vel`` (1000; any |qvel| above it counts as an exploded env).
    """

    CONFIG_KEYS = BASE_CONFIG_KEYS + ("num_threads", "integrator", "ground_friction", "fault_max_vel")

    def __init__(self, config: dict[str, Any], num_envs: int, device: torch.device | str = "cpu",
                 source: str = "engine config", visualize: bool = False, record_video: bool = False) -> None:
        super().__init__(config, num_envs, device, source)
        # 0: this machine's cores shared by its worker processes
        self._num_threads = int(config.get("num_threads", 0)) or max(1, (os.cpu_count() or 1)
                                                                      // distributed.local_world_size())
        integrator = config.get("integrator", "implicitfast")
        if integrator not in _INTEGRATORS:
            raise ConfigError(f"{source}: integrator must be one of {sorted(_INTEGRATORS)}, found {integrator!r}")
        self._integrator = _INTEGRATORS[integrator]
        self._ground_friction = float(config.get("ground_friction", 1.0))
        self._fault_max_vel = float(config.get("fault_max_vel", 1000.0))
        self._visualize = visualize
        self._record_video = record_video
        self._char: tuple[Path, np.ndarray, bool] | None = None
        self._static_objects: list[tuple[Path, np.ndarray, np.ndarray]] = []
        self._model: mujoco.MjModel | None = None
        self._num_faults = 0
        self._viewer = None
        self._recorder = None
        self._record_env_ids = [0]  # the envs the recorder pictures, see start_video_recording

    # ------------------------------------------------------------------------------- scene building
    def add_character(self, char_file: str, start_pos: Sequence[float] = (0.0, 0.0, 1.0),
                      enable_self_collisions: bool = True) -> int:
        if self._char is not None:
            raise ConfigError("the MuJoCo engine simulates one character per environment")
        path = resolve_path(char_file)
        if not path.exists():
            raise ConfigError(f"{char_file}: character file not found")
        self._char = (path, np.asarray(start_pos, dtype=np.float64), enable_self_collisions)
        return _CHAR_ID

    def add_static_object(self, asset_file: str, pos: Sequence[float],
                          rot_xyzw: Sequence[float] = (0.0, 0.0, 0.0, 1.0)) -> int:
        path = resolve_path(asset_file)
        if not path.exists():
            raise ConfigError(f"{asset_file}: object file not found")
        self._static_objects.append((path, np.asarray(pos, np.float64), np.asarray(rot_xyzw, np.float64)))
        return len(self._static_objects)

    def initialize(self) -> None:
        if self._char is None:
            raise ConfigError("add a character before initialize()")
        char_file, start_pos, self_collisions = self._char
        spec = mujoco.MjSpec.from_file(str(char_file))
        spec.option.timestep = self.sim_timestep
        spec.option.integrator = self._integrator
        root_name = spec.worldbody.first_body().name
        if not self_collisions:
            for geom in spec.worldbody.first_body().find_all(mujoco.mjtObj.mjOBJ_GEOM):
                # pairs collide when (contype_a & conaffinity_b) | (contype_b & conaffinity_a): 2/1 against the
                # ground's 1/1 collides, 2/1 against 2/1 does not
                geom.contype, geom.conaffinity = 2, 1
        self._add_ground(spec)
        for k, (path, pos, quat) in enumerate(self._static_objects):
            frame = spec.worldbody.add_frame(pos=pos, quat=[quat[3], quat[0], quat[1], quat[2]])
            obj_spec = mujoco.MjSpec.from_file(str(path))
            frame.attach_body(obj_spec.worldbody.first_body(), f"object{k + 1}_", "")
        char_bodies = [b.name for b in spec.worldbody.first_body().find_all(mujoco.mjtObj.mjOBJ_BODY)]
        char_bodies.insert(0, root_name)
        for body in char_bodies:
            spec.add_sensor(name=f"ground_force:{body}", type=mujoco.mjtSensor.mjSENS_CONTACT,
                            objtype=mujoco.mjtObj.mjOBJ_BODY, objname=body, reftype=mujoco.mjtObj.mjOBJ_GEOM,
                            refname=GROUND_NAME, intprm=[_CONTACT_FORCE_DATA, _CONTACT_REDUCE_NETFORCE, 1])
        for a, act in enumerate(spec.actuators):
            act.name = act.name or f"actuator{a}"
            spec.add_sensor(name=f"actuator_force:{act.name}", type=mujoco.mjtSensor.mjSENS_ACTUATORFRC,
                            objtype=mujoco.mjtObj.mjOBJ_ACTUATOR, objname=act.name)
        try:
            self._model = spec.compile()
        except ValueError as err:
            raise ConfigError(f"{char_file}: MuJoCo could not compile the scene: {err}") from None
        self._source = str(char_file)
        self._build_maps()
        self._configure_actuators()
        self._build_state(start_pos)
        self._rollout = mujoco.rollout.Rollout(nthread=min(self._num_threads, self.num_envs))
        self._thread_data = [mujoco.MjData(self._model) for _ in range(min(self._num_threads, self.num_envs))]
        self._model_batch = [self._model] * self.num_envs  # rollout without checks wants one model per env
        if self._visualize or self._record_video:
            from mimickit.engines.mujoco_render import MujocoRecorder, MujocoViewer

            root = int(self._body_ids[0])
            if self._visualize:
                self._viewer = MujocoViewer(self._model, self.timestep, root)
            if self._record_video:
                size = float(self._default_state[1 + self._root_qpos + 2])  # the root's start height [m]
                self._recorder = MujocoRecorder(self._model, root, [int(b) for b in self._body_ids], size)

    def _add_ground(self, spec: mujoco.MjSpec) -> None:
        tex = spec.add_texture(name="ground_checker", type=mujoco.mjtTexture.mjTEXTURE_2D,
                               builtin=mujoco.mjtBuiltin.mjBUILTIN_CHECKER, rgb1=[0.82, 0.84, 0.86],
                               rgb2=[0.62, 0.66, 0.7], width=512, height=512)
        mat = spec.add_material(name="ground_material", texrepeat=[1, 1], reflectance=0.05)
        mat.textures[mujoco.mjtTextureRole.mjTEXROLE_RGB] = tex.name
        spec.visual.headlight.ambient = [0.35, 0.35, 0.35]
        spec.visual.headlight.diffuse = [0.75, 0.75, 0.75]
        spec.worldbody.add_geom(name=GROUND_NAME, type=mujoco.mjtGeom.mjGEOM_PLANE, size=[0, 0, 1], condim=3,
                                friction=[self._ground_friction, 0.005, 0.0001], material=mat.name)

    # --------------------------------------------------------------------------------- index maps
    def _build_maps(self) -> None:
        m = self._model
        self._kin_model = kin_model_from_mjmodel(m, source=self._source)
        self._body_ids = character_body_ids(m)
        km = self._kin_model
        root = self._body_ids[0]
        if m.body_jntnum[root] != 1:
            raise ConfigError(f"{self._source}: the MuJoCo engine needs a free root joint on the character")
        self._root_qpos = int(m.jnt_qposadr[m.body_jntadr[root]])
        self._root_qvel = int(m.jnt_dofadr[m.body_jntadr[root]])
        ball_qpos, ball_dof, hinge_qpos, hinge_dof, ball_joint, hinge_joint, hinge_axis = [], [], [], [], [], [], []
        dof_qvel = np.zeros(km.dof_size, dtype=np.int64)
        self._joint_of_kin = {}
        for j, joint in enumerate(km.joints[1:], start=1):
            body = self._body_ids[j]
            if joint.joint_type == JointType.FIXED:
                continue
            if m.body_jntnum[body] != 1:
                raise ConfigError(f"{self._source}: body '{km.body_names[j]}' uses three hinges for a spherical "
                                  f"joint; the MuJoCo engine needs a ball joint there (exp-map DoFs)")
            jnt = int(m.body_jntadr[body])
            self._joint_of_kin[jnt] = joint
            qadr, vadr = int(m.jnt_qposadr[jnt]), int(m.jnt_dofadr[jnt])
            if joint.joint_type == JointType.SPHERICAL:
                ball_qpos.append([qadr + 1, qadr + 2, qadr + 3, qadr])  # MuJoCo w,x,y,z -> x,y,z,w
                ball_dof.append(list(range(joint.dof_idx, joint.dof_idx + 3)))
                ball_joint.append(j - 1)
                dof_qvel[joint.dof_idx:joint.dof_idx + 3] = range(vadr, vadr + 3)
            else:
                hinge_qpos.append(qadr)
                hinge_dof.append(joint.dof_idx)
                hinge_joint.append(j - 1)
                hinge_axis.append(joint.axis)
                dof_qvel[joint.dof_idx] = vadr
        as_long = lambda x: torch.tensor(x, dtype=torch.long)  # noqa: E731
        self._ball_qpos, self._ball_dof = as_long(ball_qpos).reshape(-1, 4), as_long(ball_dof).reshape(-1, 3)
        self._hinge_qpos, self._hinge_dof = as_long(hinge_qpos), as_long(hinge_dof)
        self._ball_joint, self._hinge_joint = as_long(ball_joint), as_long(hinge_joint)
        self._hinge_axis = torch.tensor(hinge_axis, dtype=torch.float32).reshape(-1, 3)
        self._root_rot_qpos = as_long([self._root_qpos + 4, self._root_qpos + 5, self._root_qpos + 6,
                                       self._root_qpos + 3])
        self._dof_qvel = torch.from_numpy(dof_qvel)
        self._mass = float(sum(m.body_mass[b] for b in self._body_ids))

        names = [mujoco.mj_id2name(m, mujoco.mjtObj.mjOBJ_SENSOR, s) for s in range(m.nsensor)]
        contact = [names.index(f"ground_force:{b}") for b in km.body_names]
        self._contact_cols = torch.tensor([int(m.sensor_adr[s]) + k for s in contact for k in range(3)])
        self._act_force_cols = torch.tensor([int(m.sensor_adr[names.index(
            f"actuator_force:{mujoco.mj_id2name(m, mujoco.mjtObj.mjOBJ_ACTUATOR, a)}")]) for a in range(m.nu)],
            dtype=torch.long)

    def _configure_actuators(self) -> None:
        """Map actuators to DoFs and rewrite them for the control mode."""
        m, km = self._model, self._kin_model
        num_dofs = km.dof_size
        act_dof = np.full(m.nu, -1, dtype=np.int64)
        kp, kd, limit = np.zeros(num_dofs), np.zeros(num_dofs), np.full(num_dofs, np.inf)
        for a in range(m.nu):
            jnt = int(m.actuator_trnid[a, 0])
            if m.actuator_trntype[a] != mujoco.mjtTrn.mjTRN_JOINT or jnt not in self._joint_of_kin:
                raise ConfigError(f"{self._source}: actuator {a} does not drive one of the character's joints")
            joint = self._joint_of_kin[jnt]
            gear = m.actuator_gear[a, :3] if joint.joint_type == JointType.SPHERICAL else m.actuator_gear[a, :1]
            axis = int(np.argmax(np.abs(gear)))
            if np.count_nonzero(gear) != 1:
                raise ConfigError(f"{self._source}: actuator {a} on a ball joint needs a gear along one local axis")
            dof = joint.dof_idx + axis
            act_dof[a] = dof
            scale = abs(float(gear[axis]))
            is_servo = (m.actuator_biastype[a] == mujoco.mjtBias.mjBIAS_AFFINE
                        and m.actuator_gainprm[a, 0] > 0
                        and abs(m.actuator_biasprm[a, 1] + m.actuator_gainprm[a, 0]) < 1e-9)
            if is_servo:
                kp[dof], kd[dof] = m.actuator_gainprm[a, 0], -m.actuator_biasprm[a, 2]
            else:  # motor-driven asset: stiffness/damping are the PD gains, not passive springs
                kp[dof], kd[dof] = m.jnt_stiffness[jnt], m.dof_damping[self._dof_qvel[dof]]
            if m.actuator_forcelimited[a]:
                limit[dof] = float(m.actuator_forcerange[a, 1]) * scale
            elif m.actuator_ctrllimited[a] and not is_servo:
                limit[dof] = float(np.abs(m.actuator_ctrlrange[a]).max()) * scale * float(m.actuator_gainprm[a, 0])
        missing = sorted(set(range(num_dofs)) - set(act_dof.tolist()))
        if missing and self.control_mode != ControlMode.NONE:
            raise ConfigError(f"{self._source}: DoFs {missing} have no actuator; control_mode "
                              f"'{self.control_mode.value}' needs one per DoF")
        dof_joint = {j.dof_idx + k: j.name for j in km.joints for k in range(j.dof_dim)}
        if self.control_mode in (ControlMode.TORQUE, ControlMode.PD_1D):
            unlimited = sorted({dof_joint[d] for d in range(num_dofs) if not np.isfinite(limit[d])})
            if unlimited:
                raise ConfigError(f"{self._source}: control_mode '{self.control_mode.value}' needs a torque limit on "
                                  f"every actuator (forcerange, or ctrlrange on a motor); joints without one: "
                                  f"{unlimited}")
        if self.control_mode in (ControlMode.POS, ControlMode.PD_1D):
            no_gain = sorted({dof_joint[d] for d in range(num_dofs) if kp[d] <= 0})
            if no_gain:
                raise ConfigError(f"{self._source}: control_mode '{self.control_mode.value}' needs PD gains, but the "
                                  f"actuators of joints {no_gain} are motors and those joints have no stiffness: use "
                                  f"position actuators (kp, kv) or give the joints stiffness and damping")
        if self.control_mode == ControlMode.PD_1D and any(j.dof_dim > 1 for j in km.joints):
            raise ConfigError(f"{self._source}: control_mode 'pd_1d' needs a character whose joints are all 1-DoF; "
                              f"this one has spherical joints (use 'pos')")
        m.jnt_stiffness[:] = 0.0
        m.dof_damping[self._dof_qvel.numpy()] = 0.0
        self._act_dof = torch.from_numpy(act_dof)
        self._kp, self._kd = torch.tensor(kp, dtype=torch.float32), torch.tensor(kd, dtype=torch.float32)
        self._torque_limit = torch.tensor(limit, dtype=torch.float32)
        acts = act_dof[act_dof >= 0]
        gain, bias = np.zeros(m.nu), np.zeros((m.nu, 3))
        if self.control_mode == ControlMode.POS:
            gain, bias[:, 1], bias[:, 2] = kp[acts], -kp[acts], -kd[acts]
        elif self.control_mode == ControlMode.VEL:
            gain, bias[:, 2] = kd[acts], -kd[acts]
        elif self.control_mode in (ControlMode.TORQUE, ControlMode.PD_1D):
            gain = np.ones(m.nu)
        m.actuator_gaintype[:] = mujoco.mjtGain.mjGAIN_FIXED
        m.actuator_biastype[:] = mujoco.mjtBias.mjBIAS_AFFINE
        m.actuator_gainprm[:] = 0.0
        m.actuator_gainprm[:, 0] = gain
        m.actuator_biasprm[:] = 0.0
        m.actuator_biasprm[:, :3] = bias
        m.actuator_gear[:, :3] = np.sign(m.actuator_gear[:, :3])
        m.actuator_ctrllimited[:] = 0
        m.actuator_forcelimited[:] = np.isfinite(limit[acts]).astype(m.actuator_forcelimited.dtype)
        m.actuator_forcerange[:] = np.stack([-limit[acts], limit[acts]], axis=-1)

    def _build_state(self, start_pos: np.ndarray) -> None:
        m = self._model
        data = mujoco.MjData(m)
        data.qpos[self._root_qpos:self._root_qpos + 3] = start_pos
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
        self._state_t = torch.from_numpy(self._state)
        self._qpos_t = self._state_t[:, 1:1 + m.nq]
        self._qvel_t = self._state_t[:, 1 + m.nq:1 + m.nq + m.nv]
        self._sensor_t = torch.from_numpy(self._sensordata)
        self._cmd = torch.zeros(n, self._kin_model.dof_size, dtype=torch.float64)
        self._core: dict[str, torch.Tensor] | None = None  # decoded state of all envs, see _decoded
        self._stale_rows: torch.Tensor | None = None
        self._body_vel_cache: torch.Tensor | None = None

    # ------------------------------------------------------------------------------------- stepping
    def set_cmd(self, obj_id: int, cmd: torch.Tensor) -> None:
        self._check_obj(obj_id)
        self._cmd.copy_(cmd.detach().to("cpu", torch.float64))

    def step(self) -> torch.Tensor:
        if self._recorder is not None and self._recorder.recording:
            self._recorder.capture(self._state[self._record_env_ids])
        if self.control_mode == ControlMode.PD_1D:
            for _ in range(self.substeps):
                self._ctrl[:] = self._explicit_pd_torque()[:, self._act_dof].numpy()[:, None, :]
                self._rollout_call()
        else:
            cmd = self._cmd
            if self.control_mode == ControlMode.TORQUE:
                lim = self._torque_limit.double()
                cmd = torch.maximum(torch.minimum(cmd, lim), -lim)
            self._ctrl[:] = cmd[:, self._act_dof].numpy()[:, None, :]
            self._rollout_call()
        faults = self._detect_faults()
        self._core, self._stale_rows, self._body_vel_cache = None, None, None
        if self._viewer is not None:
            self._viewer.sync(self._state[0])
        return torch.from_numpy(faults).to(self.device)

    def _rollout_call(self) -> None:
        """Step every environment ``steps_per_call`` substeps in C, then keep the last state and sensors."""
        if self._rollout is None:
            raise RuntimeError("the engine was closed; build a new one to step again")
        self._state[:, 0] = _STEP_START_TIME
        self._rollout.rollout(self._model_batch, self._thread_data, self._state, self._ctrl, nstep=self._steps_per_call,
                              state=self._state_out, sensordata=self._sensor_out, skip_checks=True)
        self._state[:] = self._state_out[:, -1]
        self._sensordata[:] = self._sensor_out[:, -1]

    def _explicit_pd_torque(self) -> torch.Tensor:
        """tau = kp (target - q) - kd qdot clipped to the limits, ``[N, D]`` (1-DoF joints only)."""
        dofs = self._hinge_dof
        q = self._qpos_t[:, self._hinge_qpos]
        qd = self._qvel_t[:, self._dof_qvel[dofs]]
        tau = torch.zeros_like(self._cmd)
        tau[:, dofs] = self._kp.double()[dofs] * (self._cmd[:, dofs] - q) - self._kd.double()[dofs] * qd
        lim = self._torque_limit.double()
        return torch.maximum(torch.minimum(tau, lim), -lim)

    def _detect_faults(self) -> np.ndarray:
        m = self._model
        qvel = self._state[:, 1 + m.nq:1 + m.nq + m.nv]
        faults = ~np.isfinite(self._state).all(axis=1) | ~np.isfinite(self._sensordata).all(axis=1)
        faults |= np.abs(np.nan_to_num(qvel, nan=0.0)).max(axis=1) > self._fault_max_vel
        faults |= self._state[:, 0] < _STEP_START_TIME  # MuJoCo reset the data after an unstable step
        if faults.any():
            self._state[faults] = self._default_state
            self._sensordata[faults] = 0.0
            self._num_faults += int(faults.sum())
        return faults

    # ----------------------------------------------------------------------------------------- state
    def _check_obj(self, obj_id: int) -> None:
        if obj_id != _CHAR_ID:
            raise ValueError(f"object {obj_id} has no articulated state; the character is object {_CHAR_ID}")

    def _decode_rows(self, rows: torch.Tensor | None) -> dict[str, torch.Tensor]:
        """Decode the raw state of ``rows`` (all if None) into the API's quantities, float32, batched."""
        nq, nv = self._model.nq, self._model.nv
        sel = slice(None) if rows is None else rows
        s = torch.cat([self._state_t[sel, 1:1 + nq + nv], self._sensor_t[sel]], dim=1).to(torch.float32)
        qpos, qvel, sensors = s[:, :nq], s[:, nq:nq + nv], s[:, nq + nv:]
        n, km = s.shape[0], self._kin_model
        rq, rv = self._root_qpos, self._root_qvel
        root_pos, root_rot = qpos[:, rq:rq + 3], qpos[:, self._root_rot_qpos]
        ball = qpos[:, self._ball_qpos]
        joint_rot = rot.quat_identity((n, km.num_joints))
        joint_rot[:, self._ball_joint] = ball
        dof_pos = torch.zeros(n, km.dof_size)
        dof_pos[:, self._ball_dof] = rot.quat_to_exp_map(ball)
        if len(self._hinge_joint):
            hinge = qpos[:, self._hinge_qpos]
            joint_rot[:, self._hinge_joint] = rot.axis_angle_to_quat(self._hinge_axis, hinge)
            dof_pos[:, self._hinge_dof] = hinge
        body_pos, body_rot = km.forward_kinematics(root_pos, root_rot, joint_rot)
        dof_forces = torch.zeros(n, km.dof_size)
        dof_forces[:, self._act_dof] = sensors[:, self._act_force_cols]
        return {
            "root_pos": root_pos, "root_rot": root_rot, "root_vel": qvel[:, rv:rv + 3],
            "root_ang_vel": rot.quat_rotate(root_rot, qvel[:, rv + 3:rv + 6]), "dof_pos": dof_pos,
            "dof_vel": qvel[:, self._dof_qvel], "joint_rot": joint_rot, "body_pos": body_pos, "body_rot": body_rot,
            # the contact sensor reports the force the body exerts on the ground; negate for the ground's force
            "ground_forces": -sensors[:, self._contact_cols].reshape(n, -1, 3), "dof_forces": dof_forces,
        }

    def _decoded(self, key: str) -> torch.Tensor:
        """One decoded quantity for all envs: decoded in full once per step, then only the rows that
        ``set_state`` changed (resetting a few envs does not re-decode the whole batch)."""
        if self._core is None:
            self._core = self._decode_rows(None)
            self._stale_rows = None
        elif self._stale_rows is not None:
            rows = torch.unique(self._stale_rows)
            for name, value in self._decode_rows(rows).items():
                self._core[name][rows] = value
            self._stale_rows = None
        return self._core[key]

    def _body_vel(self) -> torch.Tensor:
        if self._body_vel_cache is None:
            lin, ang = self._kin_model.body_velocities(
                self._decoded("body_pos"), self._decoded("body_rot"), self._decoded("root_vel"),
                self._decoded("root_ang_vel"), self._decoded("dof_vel"))
            self._body_vel_cache = torch.cat([lin, ang], dim=-1)
        return self._body_vel_cache

    def _out(self, value: torch.Tensor) -> torch.Tensor:
        return value if self.device.type == "cpu" else value.to(self.device)

    def get_root_pos(self, obj_id: int) -> torch.Tensor:
        self._check_obj(obj_id)
        return self._out(self._decoded("root_pos"))

    def get_root_rot(self, obj_id: int) -> torch.Tensor:
        self._check_obj(obj_id)
        return self._out(self._decoded("root_rot"))

    def get_root_vel(self, obj_id: int) -> torch.Tensor:
        self._check_obj(obj_id)
        return self._out(self._decoded("root_vel"))

    def get_root_ang_vel(self, obj_id: int) -> torch.Tensor:
        self._check_obj(obj_id)
        return self._out(self._decoded("root_ang_vel"))

    def get_dof_pos(self, obj_id: int) -> torch.Tensor:
        self._check_obj(obj_id)
        return self._out(self._decoded("dof_pos"))

    def get_joint_rot(self, obj_id: int) -> torch.Tensor:
        self._check_obj(obj_id)
        return self._out(self._decoded("joint_rot"))

    def get_dof_vel(self, obj_id: int) -> torch.Tensor:
        self._check_obj(obj_id)
        return self._out(self._decoded("dof_vel"))

    def get_dof_forces(self, obj_id: int) -> torch.Tensor:
        self._check_obj(obj_id)
        return self._out(self._decoded("dof_forces"))

    def get_body_pos(self, obj_id: int) -> torch.Tensor:
        self._check_obj(obj_id)
        return self._out(self._decoded("body_pos"))

    def get_body_rot(self, obj_id: int) -> torch.Tensor:
        self._check_obj(obj_id)
        return self._out(self._decoded("body_rot"))

    def get_body_vel(self, obj_id: int) -> torch.Tensor:
        self._check_obj(obj_id)
        return self._out(self._body_vel()[..., :3])

    def get_body_ang_vel(self, obj_id: int) -> torch.Tensor:
        self._check_obj(obj_id)
        return self._out(self._body_vel()[..., 3:])

    def get_ground_contact_forces(self, obj_id: int) -> torch.Tensor:
        self._check_obj(obj_id)
        return self._out(self._decoded("ground_forces"))

    def set_state(self, obj_id: int, env_ids: torch.Tensor | None = None, *,
                  root_pos: torch.Tensor | None = None, root_rot: torch.Tensor | None = None,
                  root_vel: torch.Tensor | None = None, root_ang_vel: torch.Tensor | None = None,
                  dof_pos: torch.Tensor | None = None, dof_vel: torch.Tensor | None = None) -> None:
        self._check_obj(obj_id)
        ids = (torch.arange(self.num_envs) if env_ids is None else torch.as_tensor(env_ids).to("cpu", torch.long))
        if ids.numel() == 0:
            return
        num = ids.numel()
        rows = ids[:, None]
        f64 = lambda x, *shape: torch.as_tensor(x).to("cpu", torch.float64).expand(num, *shape)  # noqa: E731
        rq, rv = self._root_qpos, self._root_qvel
        if root_pos is not None:
            self._qpos_t[rows, torch.arange(rq, rq + 3)] = f64(root_pos, 3)
        if root_rot is not None:
            self._qpos_t[rows, torch.arange(rq + 3, rq + 7)] = rot.xyzw_to_wxyz(rot.quat_unit(f64(root_rot, 4)))
        if root_vel is not None:
            self._qvel_t[rows, torch.arange(rv, rv + 3)] = f64(root_vel, 3)
        if root_ang_vel is not None:
            root_rot64 = rot.quat_unit(rot.wxyz_to_xyzw(self._qpos_t[ids, rq + 3:rq + 7]))
            local = rot.quat_rotate_inverse(root_rot64, f64(root_ang_vel, 3))
            self._qvel_t[rows, torch.arange(rv + 3, rv + 6)] = local
        if dof_pos is not None:
            dof = f64(dof_pos, self._kin_model.dof_size)
            if len(self._ball_dof):
                quats = rot.exp_map_to_quat(dof[:, self._ball_dof])
                self._qpos_t[ids[:, None, None], self._ball_qpos[None]] = quats
            if len(self._hinge_dof):
                self._qpos_t[rows, self._hinge_qpos[None]] = dof[:, self._hinge_dof]
        if dof_vel is not None:
            self._qvel_t[rows, self._dof_qvel[None]] = f64(dof_vel, self._kin_model.dof_size)
        self._sensordata[ids.numpy()] = 0.0  # contact and actuator readings describe the old state
        if self._core is not None:
            self._stale_rows = ids if self._stale_rows is None else torch.cat([self._stale_rows, ids])
        self._body_vel_cache = None

    # ------------------------------------------------------------------------------------ properties
    def get_kin_char_model(self, obj_id: int) -> KinCharModel:
        self._check_obj(obj_id)
        return self._kin_model

    def get_dof_limits(self, obj_id: int) -> tuple[torch.Tensor, torch.Tensor]:
        self._check_obj(obj_id)
        return self._kin_model.dof_low.clone(), self._kin_model.dof_high.clone()

    def get_torque_limits(self, obj_id: int) -> torch.Tensor:
        self._check_obj(obj_id)
        return self._torque_limit.clone()

    def get_pd_gains(self, obj_id: int) -> tuple[torch.Tensor, torch.Tensor]:
        self._check_obj(obj_id)
        return self._kp.clone(), self._kd.clone()

    def get_mass(self, obj_id: int) -> float:
        self._check_obj(obj_id)
        return self._mass

    @property
    def num_faults(self) -> int:
        return self._num_faults

    @property
    def model(self) -> mujoco.MjModel:
        """The compiled MuJoCo model (for renderers and benchmarks; environments must not use it)."""
        return self._model

    def save_model(self, path: str) -> None:
        """Write the compiled scene as MuJoCo binary (``.mjb``): the character, ground, contact sensors and the
        actuators exactly as this engine drives them (same MuJoCo version needed to load it)."""
        mujoco.mj_saveModel(self._model, str(path), None)

    def mujoco_layout(self) -> dict[str, Any]:
        """Where the character lives in the compiled model, for code that simulates it without MimicKit:
        MuJoCo body id per character body, the root joint's qpos / qvel addresses, per joint (character order)
        its type, DoF slice, hinge axis and qpos / qvel addresses, and the DoF each actuator drives."""
        m, km = self._model, self._kin_model
        joints = []
        for j, joint in enumerate(km.joints[1:], start=1):
            entry = {"name": joint.name, "type": joint.joint_type.name.lower(), "dof_idx": joint.dof_idx,
                     "dof_dim": joint.dof_dim, "axis": list(joint.axis)}
            if joint.joint_type != JointType.FIXED:
                jnt = int(m.body_jntadr[self._body_ids[j]])
                entry.update(qpos_adr=int(m.jnt_qposadr[jnt]), qvel_adr=int(m.jnt_dofadr[jnt]))
            joints.append(entry)
        return {"body_ids": [int(b) for b in self._body_ids], "root_qpos_adr": self._root_qpos,
                "root_qvel_adr": self._root_qvel, "joints": joints, "actuator_dof": self._act_dof.tolist(),
                "ground_force_sensor_adr": [int(m.sensor_adr[mujoco.mj_name2id(m, mujoco.mjtObj.mjOBJ_SENSOR,
                                                                             f"ground_force:{name}")])
                                            for name in km.body_names]}

    # --------------------------------------------------------------------------------- visualisation
    @property
    def renders(self) -> bool:
        return self._recorder is not None

    def show_reference(self, obj_id: int, root_pos: torch.Tensor, root_rot: torch.Tensor,
                       dof_pos: torch.Tensor) -> None:
        if self._recorder is None:
            return
        self._check_obj(obj_id)
        qpos = self._default_state[1:1 + self._model.nq].copy()
        rq = self._root_qpos
        qpos[rq:rq + 3] = root_pos.detach().cpu().double().numpy()
        qpos[rq + 3:rq + 7] = rot.xyzw_to_wxyz(rot.quat_unit(root_rot.detach().cpu().double())).numpy()
        dof = dof_pos.detach().cpu().double()
        if len(self._ball_dof):
            qpos[self._ball_qpos.numpy()] = rot.exp_map_to_quat(dof[self._ball_dof]).numpy()
        if len(self._hinge_dof):
            qpos[self._hinge_qpos.numpy()] = dof[self._hinge_dof].numpy()
        self._recorder.set_ghost(qpos)

    def start_video_recording(self, max_frames: int = 0, env_ids: Sequence[int] = (0,)) -> None:
        if self._recorder is None:
            raise RuntimeError("build the engine with record_video=True to record")
        bad = [i for i in env_ids if not 0 <= i < self.num_envs]
        if not env_ids or bad:
            raise ValueError(f"env_ids must be non-empty ids below num_envs {self.num_envs}, got {list(env_ids)}")
        self._record_env_ids = list(env_ids)
        self._recorder.max_frames = max_frames
        self._recorder.start()

    def stop_video_recording(self) -> list[np.ndarray]:
        """Stop recording; returns the frames (``[H, W, 3]`` uint8, one per control step)."""
        return self._recorder.stop() if self._recorder is not None else []

    def close(self) -> None:
        """Release the viewer, the renderer and the physics thread pool (call before interpreter exit: a pool
        left to the interpreter's teardown can abort the process)."""
        if self._rollout is not None:
            self._rollout.close()
            self._rollout = None
        if self._viewer is not None:
            self._viewer.close()
            self._viewer = None
        if self._recorder is not None:
            self._recorder.close()
            self._recorder = None
