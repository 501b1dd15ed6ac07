"""What the two MuJoCo backends share: the scene, the Engine API's getters and ``set_state`` over torch views
of raw ``qpos`` / ``qvel`` / ``sensordata`` rows, and pictures (offscreen frames, MuJoCo's viewer).

A backend (``mujoco_engine.py`` on the CPU, ``mujoco_warp_engine.py`` on a GPU or Warp's CPU device) builds its
simulator from :attr:`MujocoSceneEngine.scene` in :meth:`_init_backend`, exposes its state as the three torch
views, and implements :meth:`step`, :attr:`num_faults` and :meth:`_close_backend`.
"""

from __future__ import annotations

import abc
import logging
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import mujoco
import numpy as np
import torch

from mimickit.anim.kin_char_model import KinCharModel
from mimickit.engines.engine import ENGINE_SCHEMA, Engine
from mimickit.engines.mujoco_scene import INTEGRATORS, MujocoScene, StateLayout, build_scene
from mimickit.engines.mujoco_state import decode_state, write_state
from mimickit.util.compile import compiled
from mimickit.util.config import ConfigError
from mimickit.util.distributed import LONE_WORKER, WorkerPlace
from mimickit.util.paths import resolve_path
from mimickit.util.rows import is_mask
from mimickit.util.schema import Field

if TYPE_CHECKING:  # the renderers load OpenGL: imported only when a run shows or records
    from mimickit.engines.mujoco_render import MujocoRecorder, MujocoViewer

CHAR_ID = 0
SCENE_SCHEMA: dict[str, Field] = {
    **ENGINE_SCHEMA,
    "integrator": Field(str, "implicitfast", "MuJoCo's integrator", choices=tuple(sorted(INTEGRATORS))),
    "ground_friction": Field(float, 1.0, "sliding friction coefficient of the ground plane", ge=0),
    "fault_max_vel": Field(float, 1000.0, "any |qvel| above this counts as an exploded env (reset and counted)",
                           unit="m/s or rad/s", gt=0),
}

_LOG = logging.getLogger("mimickit.mujoco")


def _log_mujoco_warning(message: str) -> None:
    """MuJoCo warnings go to Python logging instead of a MUJOCO_LOG.TXT in the working directory (the engines
    count and reset faulted envs themselves)."""
    _LOG.warning("MuJoCo: %s", message)


class MujocoSceneEngine(Engine):
    """Engine API over a :class:`MujocoScene` whose state lives in torch views (see module docstring).

    Config keys beyond the base ones: :data:`SCENE_SCHEMA`.
    """

    SCHEMA = SCENE_SCHEMA

    def __init__(self, config: dict[str, Any], num_envs: int, device: torch.device | str = "cpu",
                 source: str = "engine config", visualize: bool = False, record_video: bool = False,
                 worker: WorkerPlace = LONE_WORKER) -> None:
        super().__init__(config, num_envs, device, source)
        self.worker = worker
        self._integrator = self.config["integrator"]
        self._ground_friction = self.config["ground_friction"]
        self._fault_max_vel = self.config["fault_max_vel"]
        self._visualize = visualize
        self._record_video = record_video
        self._char: tuple[Path, np.ndarray, bool] | None = None
        self._static_objects: list[tuple[Path, np.ndarray, np.ndarray]] = []
        self._scene: MujocoScene | None = None
        self._viewer: MujocoViewer | None = None
        self._recorder: MujocoRecorder | None = None
        self._record_env_ids = [0]  # the envs the recorder pictures, see start_video_recording
        # set by the backend in _init_backend: torch views [N, nq], [N, nv], [N, nsensordata] and their layout
        self._qpos: torch.Tensor
        self._qvel: torch.Tensor
        self._sensor: torch.Tensor
        self._layout: StateLayout
        self._kin_model: KinCharModel
        self._decoded_all: dict[str, torch.Tensor] | None = None  # decoded state of all envs, see _decoded
        self._stale_rows: torch.Tensor | None = None
        self._decode_state = compiled(decode_state, self.compiles)
        mujoco.set_mju_user_warning(_log_mujoco_warning)

    # ------------------------------------------------------------------------------- scene building
    @property
    def scene(self) -> MujocoScene:
        """The compiled scene with its index maps and gains (built by :meth:`initialize`)."""
        if self._scene is None:
            raise RuntimeError("the engine's scene is built by initialize()")
        return self._scene

    def add_character(self, char_file: str, start_pos: Sequence[float] = (0.0, 0.0, 1.0),
                      enable_self_collisions: bool = True) -> int:
        if self._char is not None:
            raise ConfigError("the MuJoCo engines simulate one character per environment")
        path = resolve_path(char_file)
        if not path.exists():
            raise ConfigError(f"{char_file}: character file not found")
        self._char = (path, np.asarray(start_pos, dtype=np.float64), enable_self_collisions)
        return CHAR_ID

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
        self._scene = build_scene(char_file, start_pos, self_collisions, self._static_objects,
                                  sim_timestep=self.sim_timestep, integrator=self._integrator,
                                  ground_friction=self._ground_friction, control_mode=self.control_mode)
        self._kin_model = self.scene.kin_model
        self._init_backend()
        if self._visualize or self._record_video:
            from mimickit.engines.mujoco_render import MujocoRecorder, MujocoViewer

            root = int(self.scene.body_ids[0])
            if self._visualize:
                self._viewer = MujocoViewer(self.model, self.timestep, root)
            if self._record_video:
                self._recorder = MujocoRecorder(self.model, root, [int(b) for b in self.scene.body_ids],
                                                self.scene.char_extent)

    @abc.abstractmethod
    def _init_backend(self) -> None:
        """Build the simulator of :attr:`scene` for ``num_envs`` envs in the default state; set ``_qpos``,
        ``_qvel``, ``_sensor`` (torch views) and ``_layout`` (the scene's layout on their device)."""

    # ------------------------------------------------------------------------------------- stepping
    def _before_physics(self) -> None:
        """Capture a video frame of the state about to be stepped (when recording)."""
        if self._recorder is not None and self._recorder.recording:
            self._recorder.capture(self._qpos[self._record_env_ids].detach().cpu().double().numpy())

    def _after_physics(self) -> None:
        """Forget what was decoded from the old state; show env 0 in the viewer."""
        self._decoded_all, self._stale_rows = None, None
        if self._viewer is not None:
            self._viewer.sync(self._qpos[0].detach().cpu().double().numpy())

    # ----------------------------------------------------------------------------------------- state
    def _check_obj(self, obj_id: int) -> None:
        if obj_id != CHAR_ID:
            raise ValueError(f"object {obj_id} has no articulated state; the character is object {CHAR_ID}")

    def _decode_rows(self, rows: torch.Tensor | None) -> dict[str, torch.Tensor]:
        """Decode the raw state of ``rows`` (all if None) into the API's quantities, float32, batched."""
        if rows is None:
            return self._decode_state(self._layout, self._kin_model, self._qpos, self._qvel, self._sensor)
        return self._decode_state(self._layout, self._kin_model, self._qpos[rows], self._qvel[rows], self._sensor[rows])

    def _decoded(self, key: str) -> torch.Tensor:
        """One decoded quantity for all envs: decoded in full once per step, then only the rows that
        ``set_state`` changed (resetting a few envs does not re-decode the whole batch)."""
        if self._decoded_all is None:
            self._decoded_all = self._decode_rows(None)
            self._stale_rows = None
        elif self._stale_rows is not None:
            rows = self._stale_rows
            for name, value in self._decode_rows(rows).items():
                self._decoded_all[name][rows] = value
            self._stale_rows = None
        return self._decoded_all[key]

    def _out(self, value: torch.Tensor) -> torch.Tensor:
        return value if value.device == self.device else value.to(self.device)

    def _get(self, obj_id: int, key: str) -> torch.Tensor:
        self._check_obj(obj_id)
        return self._out(self._decoded(key))

    def get_root_pos(self, obj_id: int) -> torch.Tensor:
        return self._get(obj_id, "root_pos")

    def get_root_rot(self, obj_id: int) -> torch.Tensor:
        return self._get(obj_id, "root_rot")

    def get_root_vel(self, obj_id: int) -> torch.Tensor:
        return self._get(obj_id, "root_vel")

    def get_root_ang_vel(self, obj_id: int) -> torch.Tensor:
        return self._get(obj_id, "root_ang_vel")

    def get_dof_pos(self, obj_id: int) -> torch.Tensor:
        return self._get(obj_id, "dof_pos")

    def get_joint_rot(self, obj_id: int) -> torch.Tensor:
        return self._get(obj_id, "joint_rot")

    def get_dof_vel(self, obj_id: int) -> torch.Tensor:
        return self._get(obj_id, "dof_vel")

    def get_dof_forces(self, obj_id: int) -> torch.Tensor:
        return self._get(obj_id, "dof_forces")

    def get_body_pos(self, obj_id: int) -> torch.Tensor:
        return self._get(obj_id, "body_pos")

    def get_body_rot(self, obj_id: int) -> torch.Tensor:
        return self._get(obj_id, "body_rot")

    def get_ground_contact_forces(self, obj_id: int) -> torch.Tensor:
        return self._get(obj_id, "ground_forces")

    def set_state(self, obj_id: int, env_ids: torch.Tensor | None = None, *,
                  root_pos: torch.Tensor | None = None, root_rot: torch.Tensor | None = None,
                  root_vel: torch.Tensor | None = None, root_ang_vel: torch.Tensor | None = None,
                  dof_pos: torch.Tensor | None = None, dof_vel: torch.Tensor | None = None) -> None:
        self._check_obj(obj_id)
        state_device = self._qpos.device
        if env_ids is not None and is_mask(env_ids):
            self._set_state_where(env_ids.to(state_device), root_pos=root_pos, root_rot=root_rot,
                                  root_vel=root_vel, root_ang_vel=root_ang_vel, dof_pos=dof_pos, dof_vel=dof_vel)
            return
        ids = (torch.arange(self.num_envs, device=state_device) if env_ids is None
               else torch.as_tensor(env_ids).to(state_device, torch.long))
        if ids.numel() == 0:
            return
        write_state(self._layout, self._kin_model, self._qpos, self._qvel, ids, root_pos=root_pos,
                    root_rot=root_rot, root_vel=root_vel, root_ang_vel=root_ang_vel, dof_pos=dof_pos,
                    dof_vel=dof_vel)
        self._sensor[ids] = 0.0  # contact and actuator readings describe the old state
        self._state_written(ids)
        if self._decoded_all is not None:
            self._stale_rows = ids if self._stale_rows is None else torch.cat([self._stale_rows, ids])

    def _set_state_where(self, mask: torch.Tensor, **state: torch.Tensor | None) -> None:
        """``set_state`` of the rows where ``mask [N]`` is set, from values of every env: written by
        ``torch.where``, so an accelerator is not waited for."""
        qpos, qvel = self._qpos.clone(), self._qvel.clone()
        write_state(self._layout, self._kin_model, qpos, qvel, torch.arange(self.num_envs, device=mask.device),
                    **state)
        rows = mask[:, None]
        self._qpos.copy_(torch.where(rows, qpos, self._qpos))
        self._qvel.copy_(torch.where(rows, qvel, self._qvel))
        self._sensor.masked_fill_(rows, 0.0)  # contact and actuator readings describe the old state
        self._state_written(mask)
        self._decoded_all, self._stale_rows = None, None  # decoded afresh when next read

    def _state_written(self, ids: torch.Tensor) -> None:
        """Hook: ``set_state`` wrote rows ``ids`` of the state views (e.g. clear a solver's warm start)."""

    # ------------------------------------------------------------------------------------ properties
    def get_kin_char_model(self, obj_id: int) -> KinCharModel:
        self._check_obj(obj_id)
        return self._kin_model

    def get_torque_limits(self, obj_id: int) -> torch.Tensor:
        self._check_obj(obj_id)
        return self.scene.torque_limit.clone()

    def get_pd_gains(self, obj_id: int) -> tuple[torch.Tensor, torch.Tensor]:
        self._check_obj(obj_id)
        return self.scene.kp.clone(), self.scene.kd.clone()

    @property
    def model(self) -> mujoco.MjModel:
        """The compiled MuJoCo model (for renderers, export and benchmarks; environments must not use it)."""
        return self.scene.model

    # --------------------------------------------------------------------------------- visualisation
    @property
    def renders(self) -> bool:
        return self._recorder is not None

    def show_reference(self, obj_id: int, root_pos: torch.Tensor, root_rot: torch.Tensor,
                       dof_pos: torch.Tensor) -> None:
        if self._recorder is None:
            return
        self._check_obj(obj_id)
        qpos = torch.from_numpy(self.scene.default_qpos.copy())[None]
        layout = self.scene.layout
        write_state(layout, self._kin_model, qpos, torch.zeros(1, self.model.nv, dtype=torch.float64),
                    torch.zeros(1, dtype=torch.long), root_pos=root_pos.detach().cpu(),
                    root_rot=root_rot.detach().cpu(), dof_pos=dof_pos.detach().cpu())
        self._recorder.set_ghost(qpos[0].numpy())

    def set_camera_follow(self, follow: bool) -> None:
        if self._recorder is not None:
            self._recorder.follow = follow

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
        """Release the simulator, the viewer and the renderer (call before interpreter exit: a thread pool left
        to the interpreter's teardown can abort the process). Closing twice is harmless."""
        self._close_backend()
        if self._viewer is not None:
            self._viewer.close()
            self._viewer = None
        if self._recorder is not None:
            self._recorder.close()
            self._recorder = None

    @abc.abstractmethod
    def _close_backend(self) -> None:
        """Release the simulator's resources; a closed engine refuses to step."""
