"""Retarget a clip from one character to another by inverse kinematics on corresponding bodies (mink).

Each frame of the source clip is posed by forward kinematics; the source body positions, scaled by
``scale`` about the world origin, become position targets (and, where asked, world orientations become
orientation targets) for the named target bodies; mink solves for the target's root pose and joint angles
within the joint limits, starting from the previous frame's solution, with a small pull towards the
target's rest pose. Afterwards the whole clip is lifted so the feet touch but do not enter the ground,
and quality figures are reported: foot skating, ground penetration and joint-limit violations.

The source is an MJCF character's clip (:func:`retarget`) or any skeleton's body trajectories
(:class:`SourceMotion`, :func:`retarget_source`; BVH files via :mod:`mimickit.anim.bvh`).
The correspondence lives in a yaml file (``data/retarget/*.yaml``; no ``source_char`` for a BVH source)::

    source_char: data/assets/humanoid/humanoid.xml
    target_char: data/assets/g1/g1.xml
    scale: auto                 # or a number: target / source size (auto: ratio of standing root heights)
    feet: [left_ankle_roll_link, right_ankle_roll_link]   # target bodies whose geoms meet the ground
    bodies:                     # target body: [source body, position weight, orientation weight]
      pelvis: [pelvis, 1.0, 1.0]
      left_ankle_roll_link: [left_foot, 1.0, 0.3]
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import mujoco
import numpy as np
import torch

from mimickit.anim.mjcf_loader import load_mjcf_char_model
from mimickit.anim.motion import LoopMode, Motion
from mimickit.util import rotations as rot
from mimickit.util.config import ConfigError, load_yaml
from mimickit.util.paths import resolve_path
from mimickit.util.schema import Field, validate

CONFIG_SCHEMA: dict[str, Field] = {
    "source_char": Field(str, "", "the source character's MJCF (empty: a BVH source, which carries its skeleton)"),
    "target_char": Field(str, help="the target character's MJCF"),
    "scale": Field(object, "auto", "source-to-target length scale: a number > 0, or auto (leg-length ratio)"),
    "feet": Field(list, [], "target foot bodies (ground contact, skating figure)", item=str),
    "bodies": Field(dict, help="target body: [source body, position weight, orientation weight]"),
    "posture_cost": Field(float, 0.01, "weight pulling the IK towards the default pose", ge=0.0),
    "iterations": Field(int, 20, "IK iterations per frame", ge=1),
    "contact_height": Field(float, 0.0, "foot targets this close to their lowest height are pinned (0: off)",
                            "m", ge=0.0),
}
CONTACT_HEIGHT = 0.02  # m: a foot lower than this counts as on the ground for the skating figure


@dataclass
class RetargetReport:
    """Quality of a retargeted clip: foot skating [cm per contact frame], deepest ground penetration [cm]
    before the lift, joint-limit violations (DoF values outside the target's ranges), position error of the
    IK targets [cm, mean over bodies and frames]."""

    foot_skating_cm: float
    max_penetration_cm: float
    limit_violations: int
    target_error_cm: float


@dataclass
class Correspondence:
    source_char: str
    target_char: str
    scale: float | None  # None: automatic
    feet: list[str]
    bodies: dict[str, tuple[str, float, float]]
    posture_cost: float
    iterations: int
    contact_height: float = 0.0  # m; > 0: foot targets this close to their lowest height are pinned (stance)

    @classmethod
    def from_yaml(cls, path: str | Path) -> Correspondence:
        c = validate(load_yaml(path), CONFIG_SCHEMA, str(path))
        bodies = {}
        for target, entry in c["bodies"].items():
            if not (isinstance(entry, list) and len(entry) == 3):
                raise ConfigError(f"{path}: bodies.{target} must be [source body, position weight, orientation weight]")
            bodies[target] = (str(entry[0]), float(entry[1]), float(entry[2]))
        scale = c["scale"]
        if scale != "auto" and not (isinstance(scale, (int, float)) and not isinstance(scale, bool) and scale > 0):
            raise ConfigError(f"{path}: scale must be a number > 0 or auto, found {scale!r}")
        return cls(c["source_char"], c["target_char"], None if scale == "auto" else float(scale), list(c["feet"]),
                   bodies, c["posture_cost"], c["iterations"], c["contact_height"])


def _standing_height(model: mujoco.MjModel) -> float:
    """Root height above the lowest geom point in the model's rest pose (qpos0 with the root at the origin)."""
    data = mujoco.MjData(model)
    mujoco.mj_kinematics(model, data)
    return float(data.xpos[1, 2] - lowest_geom_point(model, data, range(model.ngeom)))


def lowest_geom_point(model: mujoco.MjModel, data: mujoco.MjData, geoms) -> float:
    """Lowest z of the spheres, capsules and boxes among ``geoms`` (other shapes by their centre)."""
    low = np.inf
    for g in geoms:
        kind = model.geom_type[g]
        if kind == mujoco.mjtGeom.mjGEOM_PLANE:
            continue
        z, size = data.geom_xpos[g, 2], model.geom_size[g]
        up = data.geom_xmat[g].reshape(3, 3)[2]  # world z in the geom's axes
        if kind == mujoco.mjtGeom.mjGEOM_SPHERE:
            low = min(low, z - size[0])
        elif kind == mujoco.mjtGeom.mjGEOM_CAPSULE:
            low = min(low, z - abs(up[2]) * size[1] - size[0])
        elif kind == mujoco.mjtGeom.mjGEOM_BOX:
            low = min(low, z - float(np.abs(up) @ size))
        else:
            low = min(low, z)
    return float(low)


def _qpos_to_dofs(model: mujoco.MjModel, qpos: np.ndarray) -> np.ndarray:
    """MuJoCo positions ``[N, nq]`` (free root first) to clip DoFs ``[N, D]``: a hinge's angle, a ball's
    quaternion as an exp map."""
    columns = []
    for j in range(1, model.njnt):
        adr = int(model.jnt_qposadr[j])
        if model.jnt_type[j] == mujoco.mjtJoint.mjJNT_BALL:
            quat = rot.wxyz_to_xyzw(torch.from_numpy(qpos[:, adr:adr + 4].copy()))
            columns.append(rot.quat_to_exp_map(rot.quat_unit(quat)).numpy())
        else:
            columns.append(qpos[:, adr:adr + 1])
    return np.concatenate(columns, axis=1)


@dataclass
class SourceMotion:
    """What the retargeter needs of a source: body names ``[B]``, world positions ``[N, B, 3]`` (m) and rotations
    ``[N, B, 4]`` (x, y, z, w) per frame, the bodies' world rotations in the rest (T-) pose ``[B, 4]``, the root's
    standing height above the lowest point in that pose (m, for ``scale: auto``), frame rate and loop mode."""

    body_names: list[str]
    body_pos: torch.Tensor
    body_rot: torch.Tensor
    rest_rot: torch.Tensor
    standing_height: float
    fps: float
    loop_mode: LoopMode


def pin_contacts(traj: torch.Tensor, height: float) -> torch.Tensor:
    """A foot trajectory ``[N, 3]`` (m) with its stance pinned: frames within ``height`` of the lowest point are
    stance; each run of consecutive stance frames is put at the lowest height and at the run's mean
    horizontal position (no sliding, no hovering). Other frames are unchanged."""
    out = traj.clone()
    ground = traj[:, 2].min()
    stance = (traj[:, 2] < ground + height).tolist()
    k = 0
    while k < len(stance):
        if not stance[k]:
            k += 1
            continue
        end = k
        while end + 1 < len(stance) and stance[end + 1]:
            end += 1
        out[k:end + 1, :2] = traj[k:end + 1, :2].mean(dim=0)
        out[k:end + 1, 2] = ground
        k = end + 1
    return out


def source_from_clip(motion: Motion, char_file: str | Path) -> SourceMotion:
    """Body trajectories of a clip of the MJCF character ``char_file`` (forward kinematics)."""
    src = load_mjcf_char_model(char_file)
    frames = torch.tensor(motion.frames, dtype=torch.float64)
    body_pos, body_rot = src.forward_kinematics(frames[:, :3], rot.exp_map_to_quat(frames[:, 3:6]),
                                                src.dof_to_rot(frames[:, 6:]))
    _, rest_rot = src.forward_kinematics(
        torch.zeros(3, dtype=torch.float64), rot.quat_identity((), torch.float64),
        rot.quat_identity((src.num_joints,), torch.float64))
    height = _standing_height(mujoco.MjModel.from_xml_path(str(char_file)))
    return SourceMotion(src.body_names, body_pos, body_rot, rest_rot, height, motion.fps, motion.loop_mode)


def retarget(motion: Motion, corr: Correspondence) -> tuple[Motion, RetargetReport]:
    """The clip ``motion`` of ``corr.source_char`` retargeted onto ``corr.target_char``, and its quality."""
    if not corr.source_char:
        raise ConfigError("the correspondence names no source_char to read the clip with")
    return retarget_source(source_from_clip(motion, resolve_path(corr.source_char)), corr)


def retarget_source(source: SourceMotion, corr: Correspondence) -> tuple[Motion, RetargetReport]:
    """Body trajectories ``source`` retargeted onto ``corr.target_char``, and the clip's quality."""
    import mink

    target_path = resolve_path(corr.target_char)
    model = mujoco.MjModel.from_xml_path(str(target_path))
    for target, (src_body, _, _) in corr.bodies.items():
        if mujoco.mj_name2id(model, mujoco.mjtObj.mjOBJ_BODY, target) < 0:
            raise ConfigError(f"{corr.target_char}: no body {target!r} (named in the correspondence)")
        if src_body not in source.body_names:
            raise ConfigError(f"{corr.source_char or 'source'}: no body {src_body!r} (named in the correspondence)")
    joint_ok = (model.jnt_type[1:] == mujoco.mjtJoint.mjJNT_HINGE) | (model.jnt_type[1:] == mujoco.mjtJoint.mjJNT_BALL)
    if model.jnt_type[0] != mujoco.mjtJoint.mjJNT_FREE or not np.all(joint_ok):
        raise ConfigError(f"{corr.target_char}: retargeting needs a free root and hinge or ball joints")
    tgt = load_mjcf_char_model(target_path)
    scale = corr.scale or _standing_height(model) / source.standing_height
    body_pos, body_rot, rest_rot = source.body_pos, source.body_rot, source.rest_rot
    src_id = {name: i for i, name in enumerate(source.body_names)}
    data = mujoco.MjData(model)
    mujoco.mj_kinematics(model, data)

    config = mink.Configuration(model)
    tasks: list[Any] = []  # mink tasks: a FrameTask per target body, then the posture task
    targets = []
    for target, (src_body, pos_w, rot_w) in corr.bodies.items():
        task = mink.FrameTask(target, "body", position_cost=pos_w, orientation_cost=rot_w)
        tgt_rest = rot.wxyz_to_xyzw(torch.tensor(data.xquat[model.body(target).id].copy()))
        offset = rot.quat_mul(rot.quat_conjugate(rest_rot[src_id[src_body]]), tgt_rest)
        tasks.append(task)
        targets.append((task, model.body(target).id, src_id[src_body], pos_w, offset))
    posture = mink.PostureTask(model, cost=corr.posture_cost)
    posture.set_target(model.qpos0.copy())
    tasks.append(posture)
    limits = [mink.ConfigurationLimit(model)]

    q = model.qpos0.copy()
    q[0:3] = (body_pos[0, 0] * scale).numpy()
    q[3:7] = rot.xyzw_to_wxyz(rot.quat_mul(body_rot[0, 0], rot.quat_conjugate(rest_rot[0]))).numpy()
    config.update(q)
    goal = body_pos * scale
    if corr.contact_height > 0:
        for foot in corr.feet:
            if foot in corr.bodies and corr.bodies[foot][1] > 0:
                b = src_id[corr.bodies[foot][0]]
                goal[:, b] = pin_contacts(goal[:, b], corr.contact_height)
    solutions, errors = [], []
    for k in range(body_pos.shape[0]):
        for task, _, b, _, offset in targets:
            world_rot = rot.quat_mul(body_rot[k, b], offset)
            pose = mink.SE3.from_rotation_and_translation(mink.SO3(rot.xyzw_to_wxyz(world_rot).numpy()),
                                                          goal[k, b].numpy())
            task.set_target(pose)
        for _ in range(corr.iterations * (5 if k == 0 else 1)):
            velocity = mink.solve_ik(config, tasks, 0.05, "daqp", damping=1e-3, limits=limits)
            config.integrate_inplace(velocity, 0.05)
        solutions.append(config.q.copy())
        errors.append(np.mean([np.linalg.norm(config.data.xpos[t] - goal[k, b].numpy())
                               for _, t, b, pos_w, _ in targets if pos_w > 0]))
    qs = np.stack(solutions)

    # lift: the feet's lowest point touches the ground in the frame where it is lowest, never below it
    body_of_geom = [model.body(int(model.geom_bodyid[g])).name for g in range(model.ngeom)]
    geoms_of = {f: [g for g in range(model.ngeom) if body_of_geom[g] == f] for f in corr.feet}
    foot_geoms = [g for f in corr.feet for g in geoms_of[f]]
    lowest_per_frame, foot_xy = [], []
    for q_k in qs:
        data.qpos[:] = q_k
        mujoco.mj_kinematics(model, data)
        lowest_per_frame.append(lowest_geom_point(model, data, foot_geoms) if foot_geoms else 0.0)
        foot_xy.append([(data.xpos[model.body(f).id, :2].copy(), lowest_geom_point(model, data, geoms_of[f]))
                        for f in corr.feet])
    lowest = np.array(lowest_per_frame)
    penetration = max(0.0, -float(lowest.min()))
    qs[:, 2] -= lowest.min()  # the clip's lowest foot point on the ground: no frame goes below it
    skating = []
    for f in range(len(corr.feet)):
        for k in range(1, len(qs)):
            (xy0, z0), (xy1, z1) = foot_xy[k - 1][f], foot_xy[k][f]
            if z0 - lowest.min() < CONTACT_HEIGHT and z1 - lowest.min() < CONTACT_HEIGHT:
                skating.append(np.linalg.norm(xy1 - xy0) * 100.0)
    dofs = _qpos_to_dofs(model, qs)
    low, high = tgt.dof_low.double().numpy(), tgt.dof_high.double().numpy()
    violations = int(((dofs < low - 1e-6) | (dofs > high + 1e-6)).sum())

    root_exp = rot.quat_to_exp_map(rot.wxyz_to_xyzw(torch.tensor(qs[:, 3:7]))).numpy()
    out = np.concatenate([qs[:, 0:3], root_exp, dofs], axis=1).astype(np.float32)
    report = RetargetReport(float(np.mean(skating)) if skating else 0.0, penetration * 100.0, violations,
                            float(np.mean(errors)) * 100.0)
    return Motion(source.loop_mode, source.fps, out), report
