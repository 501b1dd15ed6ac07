"""Build a :class:`KinCharModel` from an MJCF file, using MuJoCo's own compiler to read it.

MuJoCo resolves defaults, child classes, angle units and every orientation attribute (``quat``,
``euler``, ``axisangle``, ``xyaxes``, ``zaxis``), so the kinematic model sees exactly the tree MuJoCo
simulates. The character is the first body under ``<worldbody>`` and its subtree.

Joint forms accepted for a non-root body:
- no joint -> FIXED;
- one ``hinge`` -> HINGE;
- one ``ball`` -> SPHERICAL (exp-map DoFs);
- three ``hinge`` joints with axes x, y, z (the upstream MimicKit form) -> SPHERICAL, named after the
  first joint with its ``_x`` style suffix removed.
Per-axis ranges of a ball joint are read from a ``<numeric name="dof_range:<joint>">`` custom field
(6 numbers: lo/hi for x, y, z); without one, the ball's cone limit ``[-r, r]`` is used on each axis.
"""

from __future__ import annotations

from pathlib import Path

import mujoco
import numpy as np
import torch

from mimickit.anim.kin_char_model import JOINT_DOF_DIM, Joint, JointType, KinCharModel

_AXES = np.eye(3)
_UNLIMITED = 1e8


class CharModelError(ValueError):
    """A character file that cannot be turned into a kinematic model."""


def load_mjcf_char_model(path: str | Path, device: torch.device | str = "cpu") -> KinCharModel:
    """Parse the character in MJCF file ``path`` into a kinematic model on ``device``."""
    path = Path(path)
    try:
        model = mujoco.MjModel.from_xml_path(str(path))
    except (ValueError, FileNotFoundError) as err:
        raise CharModelError(f"{path}: MuJoCo could not load the file: {' '.join(str(err).split())}") from None
    return kin_model_from_mjmodel(model, source=str(path), device=device)


def character_body_ids(model: mujoco.MjModel) -> list[int]:
    """MuJoCo body ids of the character (first world child and its subtree), in depth-first order."""
    roots = [b for b in range(1, model.nbody) if model.body_parentid[b] == 0]
    if not roots:
        raise CharModelError("the model has no body under <worldbody>")
    return [b for b in range(roots[0], model.nbody) if model.body_rootid[b] == roots[0]]


def kin_model_from_mjmodel(model: mujoco.MjModel, source: str = "<model>",
                           device: torch.device | str = "cpu") -> KinCharModel:
    """Kinematic model of the character in a compiled MuJoCo model (see module docstring)."""
    body_ids = character_body_ids(model)
    index_of = {b: i for i, b in enumerate(body_ids)}
    names, parents, joints, lows, highs = [], [], [], [], []
    dof_idx = 0
    for i, b in enumerate(body_ids):
        name = mujoco.mj_id2name(model, mujoco.mjtObj.mjOBJ_BODY, b) or f"body{b}"
        names.append(name)
        parents.append(-1 if i == 0 else index_of[int(model.body_parentid[b])])
        if i == 0:
            _check_root(model, b, name, source)
            joints.append(Joint(name, JointType.ROOT, (0.0, 0.0, 0.0), 0, 0))
            continue
        joint, low, high = _parse_body_joint(model, b, name, dof_idx, source)
        joints.append(joint)
        lows.extend(low)
        highs.extend(high)
        dof_idx += joint.dof_dim
    local_translation = torch.tensor(np.array([model.body_pos[b] for b in body_ids]), dtype=torch.float64)
    quat_wxyz = np.array([model.body_quat[b] for b in body_ids])
    local_rotation = torch.tensor(quat_wxyz[:, [1, 2, 3, 0]], dtype=torch.float64)
    return KinCharModel(names, parents, local_translation, local_rotation, joints,
                        torch.tensor(lows, dtype=torch.float64).reshape(-1),
                        torch.tensor(highs, dtype=torch.float64).reshape(-1), device)


def _check_root(model: mujoco.MjModel, body: int, name: str, source: str) -> None:
    num = int(model.body_jntnum[body])
    if num == 0:
        return  # fixed-root character
    types = [int(model.jnt_type[model.body_jntadr[body] + k]) for k in range(num)]
    if types != [mujoco.mjtJoint.mjJNT_FREE]:
        raise CharModelError(f"{source}: root body '{name}' must have one free joint or none, found joint "
                             f"types {types}")


def _joint_name(model: mujoco.MjModel, jnt: int) -> str:
    return mujoco.mj_id2name(model, mujoco.mjtObj.mjOBJ_JOINT, jnt) or f"joint{jnt}"


def _joint_range(model: mujoco.MjModel, jnt: int) -> tuple[float, float]:
    if model.jnt_limited[jnt]:
        return float(model.jnt_range[jnt, 0]), float(model.jnt_range[jnt, 1])
    return -_UNLIMITED, _UNLIMITED


def _parse_body_joint(model: mujoco.MjModel, body: int, body_name: str, dof_idx: int,
                      source: str) -> tuple[Joint, list[float], list[float]]:
    num = int(model.body_jntnum[body])
    jnts = [int(model.body_jntadr[body]) + k for k in range(num)]
    for jnt in jnts:
        if np.any(np.abs(model.jnt_pos[jnt]) > 1e-9):
            raise CharModelError(f"{source}: joint '{_joint_name(model, jnt)}' of body '{body_name}' has a "
                                 f"non-zero pos; joints must sit at their body's origin")
    types = [int(model.jnt_type[j]) for j in jnts]
    hinge, ball = mujoco.mjtJoint.mjJNT_HINGE, mujoco.mjtJoint.mjJNT_BALL
    if num == 0:
        return Joint(body_name, JointType.FIXED, (0.0, 0.0, 0.0), dof_idx, 0), [], []
    if types == [hinge]:
        ax = model.jnt_axis[jnts[0]]
        lo, hi = _joint_range(model, jnts[0])
        return (Joint(_joint_name(model, jnts[0]), JointType.HINGE, (float(ax[0]), float(ax[1]), float(ax[2])),
                      dof_idx, 1), [lo], [hi])
    if types == [ball]:
        name = _joint_name(model, jnts[0])
        low, high = _ball_ranges(model, jnts[0], name, source)
        return Joint(name, JointType.SPHERICAL, (0.0, 0.0, 0.0), dof_idx, 3), low, high
    if types == [hinge] * 3:
        for k, jnt in enumerate(jnts):
            if not np.allclose(model.jnt_axis[jnt], _AXES[k], atol=1e-6):
                raise CharModelError(f"{source}: body '{body_name}' has three hinges; they must have axes "
                                     f"x, y, z in that order to form a spherical joint")
        first = _joint_name(model, jnts[0])
        name = first.rsplit("_", 1)[0] if "_" in first else first
        ranges = [_joint_range(model, j) for j in jnts]
        return (Joint(name, JointType.SPHERICAL, (0.0, 0.0, 0.0), dof_idx, JOINT_DOF_DIM[JointType.SPHERICAL]),
                [r[0] for r in ranges], [r[1] for r in ranges])
    raise CharModelError(f"{source}: body '{body_name}' has joints of types {types}; supported are none, one "
                         f"hinge, one ball, or three hinges (x, y, z)")


def _ball_ranges(model: mujoco.MjModel, jnt: int, name: str, source: str) -> tuple[list[float], list[float]]:
    key = f"dof_range:{name}"
    numeric_id = mujoco.mj_name2id(model, mujoco.mjtObj.mjOBJ_NUMERIC, key)
    if numeric_id >= 0:
        adr, size = int(model.numeric_adr[numeric_id]), int(model.numeric_size[numeric_id])
        data = model.numeric_data[adr:adr + size]
        if size != 6:
            raise CharModelError(f"{source}: custom numeric '{key}' must hold 6 numbers (lo/hi for x, y, z), "
                                 f"found {size}")
        return [float(data[0]), float(data[2]), float(data[4])], [float(data[1]), float(data[3]), float(data[5])]
    if model.jnt_limited[jnt]:
        cone = float(model.jnt_range[jnt, 1])
        return [-cone] * 3, [cone] * 3
    return [-_UNLIMITED] * 3, [_UNLIMITED] * 3
