"""The Engine API: the only way environments touch a physics simulator.

An engine simulates ``num_envs`` independent copies of one articulated character (plus optional static
objects). Environments build the scene, send commands, step, and read or write batched state; they
never import the simulator. Conventions at this boundary (every backend must follow them):

- tensors are batch-first ``[num_envs, ...]`` float32 on the engine's torch device;
- quaternions are (x, y, z, w); positions and rotations are world-frame body *origins*;
- the root angular velocity is world-frame; DoF velocities of spherical joints are child-local;
- DoFs follow the character's kinematic model order (exp maps for spherical joints, angles for hinges);
- one :meth:`Engine.step` advances ``sim_freq / control_freq`` physics substeps.
"""

from __future__ import annotations

import abc
import enum
import importlib
import importlib.util
from collections.abc import Sequence
from typing import Any

import torch

from mimickit.anim.kin_char_model import KinCharModel
from mimickit.util.config import ConfigError, load_yaml
from mimickit.util.schema import Field, validate


class ControlMode(str, enum.Enum):
    """How a command ``[num_envs, D]`` drives the character's DoFs."""

    NONE = "none"  # commands ignored, no actuation (passive ragdoll / kinematic playback)
    POS = "pos"  # PD position targets, implicit PD in the simulator
    VEL = "vel"  # velocity targets (kp = 0, kd from the asset)
    TORQUE = "torque"  # joint torques, clipped to the torque limits
    PD_1D = "pd_1d"  # explicit PD torques every substep; only for characters whose joints are all 1-DoF


ENGINE_SCHEMA: dict[str, Field] = {
    "engine_name": Field(str, help="the backend: a key of ENGINE_REGISTRY (or an upstream engine name)"),
    "control_mode": Field(str, "pos", "what an action sets: PD position targets, velocities, torques, explicit "
                                      "1-DoF PD torques, nothing", choices=tuple(m.value for m in ControlMode)),
    "control_freq": Field(float, 30.0, "policy steps per second", unit="Hz", gt=0),
    "sim_freq": Field(float, 120.0, "physics steps per second (an integer multiple of control_freq)", unit="Hz", gt=0),
    "compile": Field(bool, False, "compile the env's batched torch code (state decoding, reference motion, "
                                  "observations, reward) with torch.compile: fewer, fused kernels per step; the "
                                  "first steps compile (about a minute on 2 cores, cached on disk)"),
}

# upstream MimicKit's engines (Isaac Gym, Isaac Lab, Newton) and their keys that mean nothing to ours: env_spacing
# (our envs share no world grid) and ground_contact_height (Isaac Gym's contact heuristic; ours read contact forces)
UPSTREAM_ENGINES = ("isaac_gym", "isaac_lab", "newton")
UPSTREAM_ONLY_KEYS = ("env_spacing", "ground_contact_height")

# engine_name -> "module:Class", imported only when chosen so that only the engine in use must be installed.
ENGINE_REGISTRY = {
    "mujoco": "mimickit.engines.mujoco_engine:MujocoEngine",
    "mujoco_warp": "mimickit.engines.mujoco_warp_engine:MujocoWarpEngine",
}


class Engine(abc.ABC):
    """Batched simulation of ``num_envs`` environments behind one API (see module docstring).

    Args:
        config: engine settings (``engine_name``, ``control_mode``, ``control_freq`` [Hz],
            ``sim_freq`` [Hz] plus backend keys: the backend's ``SCHEMA``).
        num_envs: number of independent environments.
        device: torch device of all returned tensors.
    """

    SCHEMA: dict[str, Field] = ENGINE_SCHEMA

    def __init__(self, config: dict[str, Any], num_envs: int, device: torch.device | str = "cpu",
                 source: str = "engine config") -> None:
        config = validate(config, self.SCHEMA, source)
        if num_envs < 1:
            raise ConfigError(f"num_envs must be >= 1, found {num_envs}")
        self.config = config
        self.num_envs = int(num_envs)
        self.device = torch.device(device)
        self.control_mode = ControlMode(config["control_mode"])
        self.control_freq = config["control_freq"]
        self.sim_freq = config["sim_freq"]
        ratio = self.sim_freq / self.control_freq
        if abs(ratio - round(ratio)) > 1e-9 or round(ratio) < 1:
            raise ConfigError(f"{source}: sim_freq ({self.sim_freq:g} Hz) must be a positive integer multiple of "
                              f"control_freq ({self.control_freq:g} Hz)")
        self.substeps = round(ratio)
        self.compiles = bool(config["compile"])  # envs compile their step code too (mimickit.util.compile)

    @property
    def timestep(self) -> float:
        """Duration of one control step [s]."""
        return 1.0 / self.control_freq

    @property
    def sim_timestep(self) -> float:
        """Duration of one physics substep [s]."""
        return 1.0 / self.sim_freq

    # ------------------------------------------------------------------------------- scene building
    @abc.abstractmethod
    def add_character(self, char_file: str, start_pos: Sequence[float] = (0.0, 0.0, 1.0),
                      enable_self_collisions: bool = True) -> int:
        """Add the articulated character to every environment; returns its object id."""

    @abc.abstractmethod
    def add_static_object(self, asset_file: str, pos: Sequence[float],
                          rot_xyzw: Sequence[float] = (0.0, 0.0, 0.0, 1.0)) -> int:
        """Add a fixed object (its geoms collide with the character) to every environment."""

    @abc.abstractmethod
    def initialize(self) -> None:
        """Build the simulation once the scene is complete."""

    # ------------------------------------------------------------------------------------- stepping
    @abc.abstractmethod
    def set_cmd(self, obj_id: int, cmd: torch.Tensor) -> None:
        """Store a command ``[num_envs, D]`` applied by the next :meth:`step` (meaning: ``control_mode``)."""

    @abc.abstractmethod
    def step(self) -> torch.Tensor:
        """Advance one control step. Returns a bool ``[num_envs]`` mask of environments whose state became
        non-finite or exploded; those were put back to a finite default state and must be reset."""

    # ----------------------------------------------------------------------------------------- state
    @abc.abstractmethod
    def get_root_pos(self, obj_id: int) -> torch.Tensor:
        """``[N, 3]`` root body origin [m]."""

    @abc.abstractmethod
    def get_root_rot(self, obj_id: int) -> torch.Tensor:
        """``[N, 4]`` root rotation (x, y, z, w)."""

    @abc.abstractmethod
    def get_root_vel(self, obj_id: int) -> torch.Tensor:
        """``[N, 3]`` world linear velocity of the root origin [m/s]."""

    @abc.abstractmethod
    def get_root_ang_vel(self, obj_id: int) -> torch.Tensor:
        """``[N, 3]`` world angular velocity of the root [rad/s]."""

    @abc.abstractmethod
    def get_dof_pos(self, obj_id: int) -> torch.Tensor:
        """``[N, D]`` DoF positions (exp maps for spherical joints, rad for hinges)."""

    @abc.abstractmethod
    def get_joint_rot(self, obj_id: int) -> torch.Tensor:
        """``[N, B-1, 4]`` local joint rotations (x, y, z, w); identity for fixed joints. The same rotations
        as ``kin_model.dof_to_rot(get_dof_pos())``, up to quaternion sign, without the round trip."""

    @abc.abstractmethod
    def get_dof_vel(self, obj_id: int) -> torch.Tensor:
        """``[N, D]`` DoF velocities [rad/s] (child-local angular velocity for spherical joints)."""

    @abc.abstractmethod
    def get_dof_forces(self, obj_id: int) -> torch.Tensor:
        """``[N, D]`` actuator torque applied to each DoF at the last substep [N m]."""

    @abc.abstractmethod
    def get_body_pos(self, obj_id: int) -> torch.Tensor:
        """``[N, B, 3]`` world body origins [m]."""

    @abc.abstractmethod
    def get_body_rot(self, obj_id: int) -> torch.Tensor:
        """``[N, B, 4]`` world body rotations (x, y, z, w)."""

    @abc.abstractmethod
    def get_ground_contact_forces(self, obj_id: int) -> torch.Tensor:
        """``[N, B, 3]`` world force the ground exerts on each body at the last substep [N]."""

    @abc.abstractmethod
    def set_state(self, obj_id: int, env_ids: torch.Tensor | None = None, *,
                  root_pos: torch.Tensor | None = None, root_rot: torch.Tensor | None = None,
                  root_vel: torch.Tensor | None = None, root_ang_vel: torch.Tensor | None = None,
                  dof_pos: torch.Tensor | None = None, dof_vel: torch.Tensor | None = None) -> None:
        """Overwrite parts of the state of ``env_ids`` (all if None); values are ``[len(env_ids), ...]`` or
        broadcastable. ``env_ids`` may be a bool mask ``[N]`` instead, with values of every env: the rows where it
        is set are written without a host sync. Getters see the new state immediately; other environments are
        untouched."""

    # ------------------------------------------------------------------------------------ properties
    @abc.abstractmethod
    def get_kin_char_model(self, obj_id: int) -> KinCharModel:
        """The kinematic model of an object, in the engine's DoF and body order."""

    @abc.abstractmethod
    def get_torque_limits(self, obj_id: int) -> torch.Tensor:
        """Per-DoF torque limits ``[D]`` [N m]."""

    @abc.abstractmethod
    def get_pd_gains(self, obj_id: int) -> tuple[torch.Tensor, torch.Tensor]:
        """Per-DoF (kp [N m/rad], kd [N m s/rad]) from the asset."""

    @property
    @abc.abstractmethod
    def num_faults(self) -> int:
        """Environments reset for non-finite or exploding state since construction."""

    @abc.abstractmethod
    def close(self) -> None:
        """Release the simulator's resources (threads, device memory, renderers); closing twice is harmless and a
        closed engine refuses to step."""

    # ------------------------------------------------------------------ optional: physics randomisation
    def randomize_physics(self, obj_id: int, env_ids: torch.Tensor, scales: dict[str, torch.Tensor]) -> None:
        """Scale physical properties of ``env_ids`` relative to the asset's (1 = nominal), each ``[len(env_ids)]``:
        ``friction`` (ground and body sliding friction), ``mass`` (every body's mass and inertia), ``kp`` / ``kd``
        (the PD servos' gains), ``strength`` (the motors' force limits); and ``com_offset`` ``[len(env_ids), 3]``
        (m) shifts the root body's centre of mass from the asset's. Other envs are untouched."""
        raise ConfigError(f"the {type(self).__name__} does not randomise physics; use the CPU MuJoCo engine")

    # ------------------------------------------------------------------ optional: envs that need no physics
    def hold_envs(self, held: torch.Tensor | None) -> None:  # noqa: B027 (optional)
        """A hint for the next steps: the envs set in ``held`` (bool ``[num_envs]``) need no physics and may keep
        their state as it is (e.g. envs whose test episodes are all counted); None steps every env again. A
        backend that steps every env anyway ignores it."""

    # ------------------------------------------------------------------ optional: pictures of the envs
    @property
    def renders(self) -> bool:
        """True when this engine records video frames."""
        return False

    def show_reference(self, obj_id: int, root_pos: torch.Tensor, root_rot: torch.Tensor,  # noqa: B027 (optional)
                       dof_pos: torch.Tensor) -> None:
        """Draw env 0's reference pose (root position [3], root rotation [4], DoFs [D]) as a ghost in later frames."""

    def set_camera_follow(self, follow: bool) -> None:  # noqa: B027 (optional)
        """Recorded video follows the character's root (True), or keeps the view each recording starts with."""

    def start_video_recording(self, max_frames: int = 0, env_ids: Sequence[int] = (0,)) -> None:
        """Start collecting frames of ``env_ids``, one per control step (at most ``max_frames``; 0: all); several
        envs are tiled in a grid, row-major, four to a row."""
        raise RuntimeError(f"{type(self).__name__} records no video")

    def stop_video_recording(self) -> list:
        """Stop recording; returns the frames (``[H, W, 3]`` uint8)."""
        return []


def load_engine_config(engine_file: str | None, overrides: dict[str, Any] | None = None) -> dict[str, Any]:
    """An engine yaml merged with an environment's ``engine:`` overrides (the env's keys win)."""
    config = load_yaml(engine_file) if engine_file else {}
    config.update(overrides or {})
    if "engine_name" not in config:
        raise ConfigError(f"{engine_file or 'engine config'}: missing required key 'engine_name'")
    return config


def upstream_engine_config(config: dict[str, Any], device: torch.device, source: str) -> dict[str, Any]:
    """The engine that runs a config naming one of upstream MimicKit's engines (:data:`UPSTREAM_ENGINES`): MuJoCo
    Warp when the run is on a CUDA device and MuJoCo Warp is installed, else the CPU MuJoCo engine, with the
    config's rates and control mode; upstream's keys with no meaning here (:data:`UPSTREAM_ONLY_KEYS`) are dropped.
    Prints a one-line notice saying which engine runs."""
    chosen = "mujoco"
    if device.type == "cuda" and importlib.util.find_spec("mujoco_warp") is not None:
        chosen = "mujoco_warp"
    why = "on the GPU" if chosen == "mujoco_warp" else (
        "on the CPU (MuJoCo Warp is not installed: pip install -e \".[warp]\")" if device.type == "cuda"
        else "on the CPU (pass --devices cuda:0 for MuJoCo Warp on a GPU)")
    print(f"note: {source}: upstream's engine_name {config['engine_name']!r} runs on MimicKit's {chosen} engine {why}")
    return {k: v for k, v in config.items() if k not in UPSTREAM_ONLY_KEYS} | {"engine_name": chosen}


def build_engine(config: dict[str, Any], num_envs: int, device: torch.device | str = "cpu",
                 source: str = "engine config", **kwargs: Any) -> Engine:
    """Instantiate the backend named by ``config['engine_name']``, importing it only now; upstream's engine names
    pick one of ours (:func:`upstream_engine_config`)."""
    if config.get("engine_name") in UPSTREAM_ENGINES:
        config = upstream_engine_config(config, torch.device(device), source)
    name = config.get("engine_name")
    if name not in ENGINE_REGISTRY:
        raise ConfigError(f"{source}: unknown engine_name {name!r}; available: {sorted(ENGINE_REGISTRY)}")
    module_name, class_name = ENGINE_REGISTRY[name].split(":")
    engine_cls = getattr(importlib.import_module(module_name), class_name)
    return engine_cls(config, num_envs, device, source=source, **kwargs)
