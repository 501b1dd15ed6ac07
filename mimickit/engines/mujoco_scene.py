"""The scene both MuJoCo backends simulate: one compiled, edited ``MjModel`` and where the character lives in it.

Built once from the character file (and optional static objects) by :func:`build_scene`; the CPU engine
(``mujoco.rollout``) and the MuJoCo Warp engine step the very same model. Edits at build time:

- a ground plane ``ground`` (condim 3, friction from config) with a checker texture for pictures;
- one contact sensor per character body (net force between that body and the ground, world frame) and one
  force sensor per actuator;
- actuators rewritten for the control mode (all act through the integrator, ``implicitfast`` by default,
  which keeps stiff PD stable at 120 Hz):

  - ``pos``: position servo, force = kp (target - q) - kd qdot, clipped to the torque limit;
  - ``vel``: force = kd (target - qdot); ``torque`` / ``pd_1d``: force = command (clipped);
  - ``none``: no force.

  Gains come from the asset's position actuators (kp, kv) or, for motor-driven assets, from joint
  ``stiffness`` / ``damping``, which are then zeroed so they do not also act as passive springs.

:class:`StateLayout` holds the index maps that turn raw ``qpos`` / ``qvel`` / ``sensordata`` rows into the
Engine API's quantities (see ``mujoco_state.py``).
"""

from __future__ import annotations

import copy
from collections.abc import Sequence
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any

import mujoco
import numpy as np
import torch

from mimickit.anim.kin_char_model import JointType, KinCharModel
from mimickit.anim.mjcf_loader import character_body_ids, kin_model_from_mjmodel
from mimickit.engines.engine import ControlMode
from mimickit.util.config import ConfigError

GROUND_NAME = "ground"
INTEGRATORS = {"euler": mujoco.mjtIntegrator.mjINT_EULER, "rk4": mujoco.mjtIntegrator.mjINT_RK4,
               "implicit": mujoco.mjtIntegrator.mjINT_IMPLICIT,
               "implicitfast": mujoco.mjtIntegrator.mjINT_IMPLICITFAST}
_CONTACT_FORCE_DATA = 1 << int(mujoco.mjtConDataField.mjCONDATA_FORCE)  # contact sensor: report force only
_CONTACT_REDUCE_NETFORCE = 3  # contact sensor: net force of all matching contacts, world frame


@dataclass
class StateLayout:
    """Index maps from raw MuJoCo rows to the character's state (long tensors unless noted).

    ``root_qpos`` / ``root_qvel``: the free root joint's first qpos / qvel address (ints);
    ``root_rot_qpos [4]``: qpos columns of the root quaternion in x, y, z, w order;
    ``ball_qpos [J_b, 4]``: qpos columns of each ball joint's quaternion (x, y, z, w); ``ball_dof [J_b, 3]``: its
    DoF columns; ``ball_joint [J_b]``: its index among the non-root joints; ``hinge_qpos``, ``hinge_dof``,
    ``hinge_joint`` ``[J_h]`` likewise, ``hinge_axis [J_h, 3]`` float; ``dof_qvel [D]``: qvel column of each DoF;
    ``act_dof [nu]``: the DoF each actuator drives; ``contact_cols [3 B]``: sensordata columns of the ground
    forces; ``act_force_cols [nu]``: sensordata columns of the actuator forces.
    """

    root_qpos: int
    root_qvel: int
    root_rot_qpos: torch.Tensor
    ball_qpos: torch.Tensor
    ball_dof: torch.Tensor
    ball_joint: torch.Tensor
    hinge_qpos: torch.Tensor
    hinge_dof: torch.Tensor
    hinge_joint: torch.Tensor
    hinge_axis: torch.Tensor
    dof_qvel: torch.Tensor
    act_dof: torch.Tensor
    contact_cols: torch.Tensor
    act_force_cols: torch.Tensor

    def to(self, device: torch.device | str) -> StateLayout:
        """The same layout with every tensor on ``device``."""
        moved = copy.copy(self)
        for f in fields(self):
            value = getattr(self, f.name)
            if isinstance(value, torch.Tensor):
                setattr(moved, f.name, value.to(device))
        return moved


@dataclass
class MujocoScene:
    """A compiled scene and what the engines need to know about it (see module docstring).

    ``kp`` [N m/rad], ``kd`` [N m s/rad], ``torque_limit`` [N m]: per DoF, float32 ``[D]`` (inf where unlimited);
    ``mass`` [kg]; ``default_qpos [nq]`` / ``default_qvel [nv]``: the character standing at its start position
    (the state a faulted env returns to); ``start_height`` [m]: the root's start height.
    """

    model: mujoco.MjModel
    kin_model: KinCharModel
    body_ids: list[int]
    layout: StateLayout
    kp: torch.Tensor
    kd: torch.Tensor
    torque_limit: torch.Tensor
    mass: float
    default_qpos: np.ndarray
    default_qvel: np.ndarray
    source: str

    @property
    def start_height(self) -> float:
        return float(self.default_qpos[self.layout.root_qpos + 2])

    @property
    def char_extent(self) -> float:
        """Diagonal [m] of the box around the character's body origins in its default pose (its size on
        screen: ~1.9 for the humanoid, 0.64 for the Go2)."""
        data = mujoco.MjData(self.model)
        data.qpos[:] = self.default_qpos
        mujoco.mj_kinematics(self.model, data)
        points = data.xpos[self.body_ids]
        return float(np.linalg.norm(points.max(axis=0) - points.min(axis=0)))

    def save_model(self, path: str) -> None:
        """Write the compiled scene as MuJoCo binary (``.mjb``): the character, ground, contact sensors and the
        actuators exactly as the engines drive them (same MuJoCo version needed to load it)."""
        mujoco.mj_saveModel(self.model, str(path), None)

    def mujoco_layout(self) -> dict[str, Any]:
        """Where the character lives in the compiled model, for code that simulates it without MimicKit:
        MuJoCo body id per character body, the root joint's qpos / qvel addresses, per joint (character order)
        its type, DoF slice, hinge axis and qpos / qvel addresses, and the DoF each actuator drives."""
        m, km = self.model, self.kin_model
        joints = []
        for j, joint in enumerate(km.joints[1:], start=1):
            entry = {"name": joint.name, "type": joint.joint_type.name.lower(), "dof_idx": joint.dof_idx,
                     "dof_dim": joint.dof_dim, "axis": list(joint.axis)}
            if joint.joint_type != JointType.FIXED:
                jnt = int(m.body_jntadr[self.body_ids[j]])
                entry.update(qpos_adr=int(m.jnt_qposadr[jnt]), qvel_adr=int(m.jnt_dofadr[jnt]))
            joints.append(entry)
        return {"body_ids": [int(b) for b in self.body_ids], "root_qpos_adr": self.layout.root_qpos,
                "root_qvel_adr": self.layout.root_qvel, "joints": joints,
                "actuator_dof": self.layout.act_dof.tolist(),
                "ground_force_sensor_adr": [int(m.sensor_adr[mujoco.mj_name2id(m, mujoco.mjtObj.mjOBJ_SENSOR,
                                                                             f"ground_force:{name}")])
                                            for name in km.body_names]}


def _load_spec(path: Path) -> mujoco.MjSpec:
    """An MJCF file's spec; a file MuJoCo refuses (a negative gain, a missing file) is a one-line ConfigError."""
    try:
        return mujoco.MjSpec.from_file(str(path))
    except (ValueError, FileNotFoundError) as err:
        raise ConfigError(f"{path}: MuJoCo could not load the file: {' '.join(str(err).split())}") from None


def build_scene(char_file: Path, start_pos: Sequence[float] | np.ndarray, self_collisions: bool,
                static_objects: Sequence[tuple[Path, np.ndarray, np.ndarray]], *, sim_timestep: float,
                integrator: str, ground_friction: float, control_mode: ControlMode) -> MujocoScene:
    """Compile the scene of one environment (see module docstring). ``static_objects``: (file, position [3] m,
    rotation (x, y, z, w)) each; ``integrator``: a key of :data:`INTEGRATORS` (checked by the caller)."""
    spec = _load_spec(char_file)
    spec.option.timestep = sim_timestep
    spec.option.integrator = INTEGRATORS[integrator]
    root_name = spec.worldbody.first_body().name
    if not self_collisions:
        for geom in spec.worldbody.first_body().find_all(mujoco.mjtObj.mjOBJ_GEOM):
            # pairs collide when (contype_a & conaffinity_b) | (contype_b & conaffinity_a): 2/1 against the
            # ground's 1/1 collides, 2/1 against 2/1 does not
            geom.contype, geom.conaffinity = 2, 1
    for light in list(spec.lights):  # a character file's own lamp (the G1's tracking spotlight) over-lights the
        spec.delete(light)            # ground in video; every character is lit alike by the headlight instead
    _add_ground(spec, ground_friction)
    for k, (path, pos, quat) in enumerate(static_objects):
        frame = spec.worldbody.add_frame(pos=pos, quat=[quat[3], quat[0], quat[1], quat[2]])
        obj_spec = _load_spec(path)
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
        model = spec.compile()
    except ValueError as err:
        raise ConfigError(f"{char_file}: MuJoCo could not compile the scene: {' '.join(str(err).split())}") from None
    source = str(char_file)
    kin_model = kin_model_from_mjmodel(model, source=source)
    body_ids = character_body_ids(model)
    maps, joint_of_kin = _build_maps(model, kin_model, body_ids, source)
    act_dof, kp, kd, limit = _configure_actuators(model, kin_model, joint_of_kin, maps["dof_qvel"], control_mode,
                                                  source)
    layout = StateLayout(**maps, act_dof=torch.from_numpy(act_dof))
    data = mujoco.MjData(model)
    data.qpos[layout.root_qpos:layout.root_qpos + 3] = start_pos
    mujoco.mj_forward(model, data)
    return MujocoScene(model=model, kin_model=kin_model, body_ids=body_ids, layout=layout,
                       kp=torch.tensor(kp, dtype=torch.float32), kd=torch.tensor(kd, dtype=torch.float32),
                       torque_limit=torch.tensor(limit, dtype=torch.float32),
                       mass=float(sum(model.body_mass[b] for b in body_ids)),
                       default_qpos=data.qpos.copy(), default_qvel=data.qvel.copy(), source=source)


def _add_ground(spec: mujoco.MjSpec, friction: float) -> None:
    tex = spec.add_texture(name="ground_checker", type=mujoco.mjtTexture.mjTEXTURE_2D,
                           builtin=mujoco.mjtBuiltin.mjBUILTIN_CHECKER, rgb1=[0.82, 0.84, 0.86],
                           rgb2=[0.62, 0.66, 0.7], width=512, height=512)
    mat = spec.add_material(name="ground_material", texrepeat=[1, 1], reflectance=0.05)
    mat.textures[mujoco.mjtTextureRole.mjTEXROLE_RGB] = tex.name
    spec.visual.headlight.ambient = [0.35, 0.35, 0.35]
    spec.visual.headlight.diffuse = [0.75, 0.75, 0.75]
    spec.worldbody.add_geom(name=GROUND_NAME, type=mujoco.mjtGeom.mjGEOM_PLANE, size=[0, 0, 1], condim=3,
                            friction=[friction, 0.005, 0.0001], material=mat.name)


def _build_maps(m: mujoco.MjModel, km: KinCharModel, body_ids: list[int],
                source: str) -> tuple[dict[str, Any], dict[int, Any]]:
    """The :class:`StateLayout` fields but ``act_dof``, and the kinematic joint of each MuJoCo joint id."""
    root = body_ids[0]
    if m.body_jntnum[root] != 1:
        raise ConfigError(f"{source}: the MuJoCo engine needs a free root joint on the character")
    root_qpos = int(m.jnt_qposadr[m.body_jntadr[root]])
    root_qvel = int(m.jnt_dofadr[m.body_jntadr[root]])
    ball_qpos, ball_dof, hinge_qpos, hinge_dof, ball_joint, hinge_joint, hinge_axis = [], [], [], [], [], [], []
    dof_qvel = np.zeros(km.dof_size, dtype=np.int64)
    joint_of_kin = {}
    for j, joint in enumerate(km.joints[1:], start=1):
        body = body_ids[j]
        if joint.joint_type == JointType.FIXED:
            continue
        if m.body_jntnum[body] != 1:
            raise ConfigError(f"{source}: body '{km.body_names[j]}' uses three hinges for a spherical "
                              f"joint; the MuJoCo engine needs a ball joint there (exp-map DoFs)")
        jnt = int(m.body_jntadr[body])
        joint_of_kin[jnt] = joint
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
    names = [mujoco.mj_id2name(m, mujoco.mjtObj.mjOBJ_SENSOR, s) for s in range(m.nsensor)]
    contact = [names.index(f"ground_force:{b}") for b in km.body_names]
    maps = {
        "root_qpos": root_qpos, "root_qvel": root_qvel,
        "root_rot_qpos": as_long([root_qpos + 4, root_qpos + 5, root_qpos + 6, root_qpos + 3]),
        "ball_qpos": as_long(ball_qpos).reshape(-1, 4), "ball_dof": as_long(ball_dof).reshape(-1, 3),
        "ball_joint": as_long(ball_joint), "hinge_qpos": as_long(hinge_qpos), "hinge_dof": as_long(hinge_dof),
        "hinge_joint": as_long(hinge_joint), "hinge_axis": torch.tensor(hinge_axis, dtype=torch.float32).reshape(-1, 3),
        "dof_qvel": torch.from_numpy(dof_qvel),
        "contact_cols": torch.tensor([int(m.sensor_adr[s]) + k for s in contact for k in range(3)]),
        "act_force_cols": torch.tensor([int(m.sensor_adr[names.index(
            f"actuator_force:{mujoco.mj_id2name(m, mujoco.mjtObj.mjOBJ_ACTUATOR, a)}")]) for a in range(m.nu)],
            dtype=torch.long),
    }
    return maps, joint_of_kin


def _configure_actuators(m: mujoco.MjModel, km: KinCharModel, joint_of_kin: dict[int, Any], dof_qvel: torch.Tensor,
                         control_mode: ControlMode,
                         source: str) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Map actuators to DoFs and rewrite them for the control mode (edits ``m`` in place). Returns the DoF of
    each actuator ``[nu]`` and per DoF kp, kd and the torque limit ``[D]``."""
    num_dofs = km.dof_size
    act_dof = np.full(m.nu, -1, dtype=np.int64)
    kp, kd, limit = np.zeros(num_dofs), np.zeros(num_dofs), np.full(num_dofs, np.inf)
    for a in range(m.nu):
        jnt = int(m.actuator_trnid[a, 0])
        if m.actuator_trntype[a] != mujoco.mjtTrn.mjTRN_JOINT or jnt not in joint_of_kin:
            raise ConfigError(f"{source}: actuator {a} does not drive one of the character's joints")
        joint = joint_of_kin[jnt]
        gear = m.actuator_gear[a, :3] if joint.joint_type == JointType.SPHERICAL else m.actuator_gear[a, :1]
        axis = int(np.argmax(np.abs(gear)))
        if np.count_nonzero(gear) != 1:
            raise ConfigError(f"{source}: actuator {a} on a ball joint needs a gear along one local axis")
        dof = joint.dof_idx + axis
        act_dof[a] = dof
        scale = abs(float(gear[axis]))
        is_servo = (m.actuator_biastype[a] == mujoco.mjtBias.mjBIAS_AFFINE
                    and m.actuator_gainprm[a, 0] > 0
                    and abs(m.actuator_biasprm[a, 1] + m.actuator_gainprm[a, 0]) < 1e-9)
        if is_servo:
            kp[dof], kd[dof] = m.actuator_gainprm[a, 0], -m.actuator_biasprm[a, 2]
        else:  # motor-driven asset: stiffness/damping are the PD gains, not passive springs
            kp[dof], kd[dof] = m.jnt_stiffness[jnt], m.dof_damping[dof_qvel[dof]]
        if m.actuator_forcelimited[a]:
            limit[dof] = float(m.actuator_forcerange[a, 1]) * scale
        elif m.actuator_ctrllimited[a] and not is_servo:
            limit[dof] = float(np.abs(m.actuator_ctrlrange[a]).max()) * scale * float(m.actuator_gainprm[a, 0])
    missing = sorted(set(range(num_dofs)) - set(act_dof.tolist()))
    if missing and control_mode != ControlMode.NONE:
        raise ConfigError(f"{source}: DoFs {missing} have no actuator; control_mode "
                          f"'{control_mode.value}' needs one per DoF")
    dof_joint = {j.dof_idx + k: j.name for j in km.joints for k in range(j.dof_dim)}
    if control_mode in (ControlMode.TORQUE, ControlMode.PD_1D):
        unlimited = sorted({dof_joint[d] for d in range(num_dofs) if not np.isfinite(limit[d])})
        if unlimited:
            raise ConfigError(f"{source}: control_mode '{control_mode.value}' needs a torque limit on "
                              f"every actuator (forcerange, or ctrlrange on a motor); joints without one: "
                              f"{unlimited}")
    if control_mode in (ControlMode.POS, ControlMode.PD_1D):
        no_gain = sorted({dof_joint[d] for d in range(num_dofs) if kp[d] <= 0})
        if no_gain:
            raise ConfigError(f"{source}: control_mode '{control_mode.value}' needs PD gains, but the "
                              f"actuators of joints {no_gain} are motors and those joints have no stiffness: use "
                              f"position actuators (kp, kv) or give the joints stiffness and damping")
    if control_mode == ControlMode.PD_1D and any(j.dof_dim > 1 for j in km.joints):
        raise ConfigError(f"{source}: control_mode 'pd_1d' needs a character whose joints are all 1-DoF; "
                          f"this one has spherical joints (use 'pos')")
    m.jnt_stiffness[:] = 0.0
    m.dof_damping[dof_qvel.numpy()] = 0.0
    acts = act_dof[act_dof >= 0]
    gain, bias = np.zeros(m.nu), np.zeros((m.nu, 3))
    if control_mode == ControlMode.POS:
        gain, bias[:, 1], bias[:, 2] = kp[acts], -kp[acts], -kd[acts]
    elif control_mode == ControlMode.VEL:
        gain, bias[:, 2] = kd[acts], -kd[acts]
    elif control_mode in (ControlMode.TORQUE, ControlMode.PD_1D):
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
    return act_dof, kp, kd, limit
