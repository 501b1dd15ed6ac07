"""MuJoCo Warp: ``num_envs`` worlds of the same scene stepped on a GPU (or on Warp's CPU device, for tests).

The scene is ``mujoco_scene.py``'s, exactly the model the CPU engine steps; MuJoCo Warp keeps one world per
environment in device arrays, and the engine reads and writes them through zero-copy torch views
(``wp.to_torch``) with the decoding of ``mujoco_common.py``. Every step stays on the device: PD targets are
written into ``ctrl`` by torch, the ``substeps`` physics steps run as Warp kernels (replayed as one captured CUDA
graph on a GPU), and faulted worlds (non-finite or exploding state) are put back to the default state by masked
torch writes — no host round trip per step. Warp's kernels compile on first use and are cached (``~/.cache/warp``
or ``WARP_CACHE_PATH``).

Needs ``pip install mujoco-warp`` (the ``warp`` extra).
"""

from __future__ import annotations

from typing import Any

import mujoco
import torch

from mimickit.engines.engine import ControlMode
from mimickit.engines.mujoco_common import SCENE_SCHEMA, MujocoSceneEngine
from mimickit.engines.mujoco_state import explicit_pd_torque
from mimickit.util.config import ConfigError
from mimickit.util.distributed import LONE_WORKER, WorkerPlace
from mimickit.util.rows import write_rows
from mimickit.util.schema import Field

WARP_SCHEMA: dict[str, Field] = {
    **SCENE_SCHEMA,
    "nconmax": Field(int, 150, "contacts allocated per world (upstream's Newton value)", ge=1),
    "njmax": Field(int, 450, "constraint rows allocated per world (upstream's Newton value)", ge=1),
    "solver_iterations": Field(int, 100, "Newton solver iterations (MuJoCo's default, as the CPU engine)", ge=1),
    "ls_iterations": Field(int, 50, "line-search iterations (MuJoCo's default)", ge=1),
    "graph_capture": Field(bool, True, "replay the substep loop as one CUDA graph on a GPU"),
}


def _import_warp() -> tuple[Any, Any]:
    try:
        import mujoco_warp
        import warp
    except ImportError:
        raise ConfigError("engine_name mujoco_warp needs MuJoCo Warp: pip install -e \".[warp]\" "
                          "(or pip install mujoco-warp)") from None
    warp.config.quiet = True  # type: ignore[attr-defined]  # a module-level setting its stubs omit
    warp.init()
    return warp, mujoco_warp


class MujocoWarpEngine(MujocoSceneEngine):
    """MuJoCo Warp backend of the Engine API (see module docstring); its device follows the torch device
    (``cpu`` -> Warp's CPU device, ``cuda:k`` -> that GPU).

    Extra config keys: :data:`WARP_SCHEMA`.
    """

    SCHEMA = WARP_SCHEMA

    def __init__(self, config: dict[str, Any], num_envs: int, device: torch.device | str = "cpu",
                 source: str = "engine config", visualize: bool = False, record_video: bool = False,
                 worker: WorkerPlace = LONE_WORKER) -> None:
        super().__init__(config, num_envs, device, source, visualize, record_video, worker)
        if self.device.type not in ("cpu", "cuda"):
            raise ConfigError(f"{source}: the MuJoCo Warp engine runs on cpu or cuda devices, not {self.device}")
        self._wp, self._mjw = _import_warp()
        self._wp_device = "cpu" if self.device.type == "cpu" else f"cuda:{self.device.index or 0}"
        self._warp_model: Any = None  # mujoco_warp Model / Data and the captured CUDA graph, set by _init_backend
        self._warp_data: Any = None
        self._graph: Any = None

    def _init_backend(self) -> None:
        wp, mjw, m = self._wp, self._mjw, self.model
        m.opt.iterations = self.config["solver_iterations"]
        m.opt.ls_iterations = self.config["ls_iterations"]
        data = mujoco.MjData(m)
        data.qpos[:], data.qvel[:] = self.scene.default_qpos, self.scene.default_qvel
        mujoco.mj_forward(m, data)
        with wp.ScopedDevice(self._wp_device):
            self._warp_model = mjw.put_model(m)
            self._warp_data = mjw.put_data(m, data, nworld=self.num_envs, nconmax=self.config["nconmax"],
                                           njmax=self.config["njmax"])
        d = self._warp_data
        self._qpos, self._qvel = wp.to_torch(d.qpos), wp.to_torch(d.qvel)
        self._sensor, self._ctrl = wp.to_torch(d.sensordata), wp.to_torch(d.ctrl)
        self._warmstart, self._act = wp.to_torch(d.qacc_warmstart), wp.to_torch(d.act)
        self._layout = self.scene.layout.to(self.device)
        self._default_qpos = torch.as_tensor(self.scene.default_qpos, dtype=self._qpos.dtype, device=self.device)
        self._default_qvel = torch.as_tensor(self.scene.default_qvel, dtype=self._qvel.dtype, device=self.device)
        self._kp, self._kd = self.scene.kp.to(self.device), self.scene.kd.to(self.device)
        self._torque_limit = self.scene.torque_limit.to(self.device)
        self._cmd = torch.zeros(self.num_envs, self._kin_model.dof_size, device=self.device)
        self._fault_total = torch.zeros((), dtype=torch.long, device=self.device)
        self._kin_model = self._kin_model.to(self.device)
        if self.device.type == "cuda":
            self._torch_stream = wp.stream_from_torch(torch.cuda.current_stream(self.device))

    # ------------------------------------------------------------------------------------- stepping
    def set_cmd(self, obj_id: int, cmd: torch.Tensor) -> None:
        self._check_obj(obj_id)
        self._cmd.copy_(cmd.detach())

    def step(self) -> torch.Tensor:
        if self._warp_data is None:
            raise RuntimeError("the engine was closed; build a new one to step again")
        self._before_physics()
        lay = self._layout
        if self.control_mode == ControlMode.PD_1D:
            for _ in range(self.substeps):
                tau = explicit_pd_torque(lay, self._qpos, self._qvel, self._cmd, self._kp, self._kd, self._torque_limit)
                self._ctrl.copy_(tau[:, lay.act_dof])
                self._physics(1)
        else:
            cmd = self._cmd
            if self.control_mode == ControlMode.TORQUE:
                cmd = torch.maximum(torch.minimum(cmd, self._torque_limit), -self._torque_limit)
            self._ctrl.copy_(cmd[:, lay.act_dof])
            self._physics(self.substeps)
        faults = self._reset_faults()
        self._after_physics()
        return faults

    def _physics(self, substeps: int) -> None:
        """Run ``substeps`` MuJoCo Warp steps for every world, ordered after the torch work queued so far."""
        wp, mjw, m, d = self._wp, self._mjw, self._warp_model, self._warp_data
        if self.device.type == "cpu":
            with wp.ScopedDevice("cpu"):
                for _ in range(substeps):
                    mjw.step(m, d)
            return
        use_graph = self.config["graph_capture"] and substeps == self.substeps
        with wp.ScopedDevice(self._wp_device):
            if use_graph and self._graph is None:
                # recorded (not run) on Warp's own stream: a graph cannot be captured on torch's legacy default
                # stream; launched on torch's stream, so it runs after the torch writes of ctrl and before the reads.
                # Every kernel module is loaded before the recording starts.
                wp.synchronize_device(self._wp_device)
                with wp.ScopedCapture(device=self._wp_device, force_module_load=True) as capture:
                    for _ in range(substeps):
                        mjw.step(m, d)
                self._graph = capture.graph
            if use_graph:
                wp.capture_launch(self._graph, stream=self._torch_stream)
            else:
                with wp.ScopedStream(self._torch_stream):
                    for _ in range(substeps):
                        mjw.step(m, d)

    def _reset_faults(self) -> torch.Tensor:
        """Worlds whose state became non-finite or exploded (bool ``[N]``), put back to the default state by
        masked writes (no host sync)."""
        qvel = self._qvel
        faults = ~torch.isfinite(self._qpos).all(dim=1) | ~torch.isfinite(qvel).all(dim=1)
        faults |= ~torch.isfinite(self._sensor).all(dim=1)
        faults |= qvel.nan_to_num(nan=0.0).abs().amax(dim=1) > self._fault_max_vel
        rows = faults[:, None]
        self._qpos.copy_(torch.where(rows, self._default_qpos, self._qpos))
        self._qvel.copy_(torch.where(rows, self._default_qvel, qvel))
        self._sensor.masked_fill_(rows, 0.0)
        self._warmstart.masked_fill_(rows, 0.0)
        if self._act.numel():
            self._act.masked_fill_(rows, 0.0)
        self._fault_total += faults.sum()
        return faults

    def _state_written(self, ids: torch.Tensor) -> None:
        write_rows(self._warmstart, ids, 0.0)  # the solver's warm start belongs to the old state (ids or a mask)

    @property
    def num_faults(self) -> int:
        return int(self._fault_total)

    def _close_backend(self) -> None:
        self._graph = None
        self._warp_data = None
        self._warp_model = None
