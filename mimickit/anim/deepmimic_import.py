"""Convert DeepMimic ``.txt`` humanoid clips into MimicKit clips for ``data/assets/humanoid/humanoid.xml``.

Source format (JSON ``{"Loop": "wrap"|"none", "Frames": [[...44 floats...], ...]}``), per frame:
``[dt, root pos (3, Y-up, m), root quat (w, x, y, z), chest quat, neck quat, right_hip quat,
right_knee angle, right_ankle quat, right_shoulder quat, right_elbow angle, left_hip quat,
left_knee angle, left_ankle quat, left_shoulder quat, left_elbow angle]``; ``dt`` is the time to the
next frame. The source character is Y-up with its arms hanging down; ours is Z-up in a T-pose.

Conversion:
1. Y-up -> Z-up: positions ``p_z = R p_y`` and every rotation conjugated ``q_z = R q R^-1``, with
   ``R`` = +90 deg about x.
2. Quaternions reordered to (x, y, z, w) and normalised (several source clips hold non-unit ones).
3. Rest-pose differences: right shoulder ``q * rot_x(+90 deg)``, left shoulder ``q * rot_x(-90 deg)``
   (T-pose rest); right elbow ``+theta`` and left elbow ``-theta`` about our +z; knees ``-theta`` about +y.
4. File joint order -> tree (DoF) order of the character.
5. Frames at uneven time steps are resampled (lerp / slerp) onto a uniform grid at the clip's median
   frame rate; uniform clips keep their frames exactly.
"""

from __future__ import annotations

import json
import math

import numpy as np
import torch

from mimickit.anim.kin_char_model import KinCharModel
from mimickit.anim.motion import LoopMode, Motion
from mimickit.util import rotations as rot

# Source column of each joint's data (quaternion w,x,y,z start, or a single angle).
SOURCE_LAYOUT = {
    "chest": (8, 4), "neck": (12, 4), "right_hip": (16, 4), "right_knee": (20, 1), "right_ankle": (21, 4),
    "right_shoulder": (25, 4), "right_elbow": (29, 1), "left_hip": (30, 4), "left_knee": (34, 1),
    "left_ankle": (35, 4), "left_shoulder": (39, 4), "left_elbow": (43, 1),
}
SOURCE_FRAME_SIZE = 44

# Our body -> source joint driving it, and how a 1-DoF source angle maps to our hinge angle.
BODY_SOURCE = {
    "torso": "chest", "head": "neck", "right_upper_arm": "right_shoulder", "right_lower_arm": "right_elbow",
    "left_upper_arm": "left_shoulder", "left_lower_arm": "left_elbow", "right_thigh": "right_hip",
    "right_shin": "right_knee", "right_foot": "right_ankle", "left_thigh": "left_hip", "left_shin": "left_knee",
    "left_foot": "left_ankle",
}
HINGE_SIGN = {"right_elbow": 1.0, "left_elbow": -1.0, "right_knee": -1.0, "left_knee": -1.0}
REST_OFFSET_X_DEG = {"right_shoulder": 90.0, "left_shoulder": -90.0}

_Y_TO_Z = torch.tensor([math.sin(math.pi / 4), 0.0, 0.0, math.cos(math.pi / 4)], dtype=torch.float64)


class DeepMimicFormatError(ValueError):
    """A source clip that does not follow the DeepMimic humanoid format."""


def parse_deepmimic_text(text: str, source: str = "<clip>") -> tuple[LoopMode, np.ndarray]:
    """Loop mode and ``float64 [N, 44]`` frames of a DeepMimic clip file's contents."""
    try:
        data = json.loads(text.replace("\x00", ""))
    except json.JSONDecodeError as err:
        raise DeepMimicFormatError(f"{source}: not valid JSON: {err}") from None
    if not isinstance(data, dict) or "Frames" not in data:
        raise DeepMimicFormatError(f"{source}: missing field 'Frames'")
    loop = data.get("Loop", "none")
    if loop not in ("wrap", "none"):
        raise DeepMimicFormatError(f"{source}: field 'Loop' must be 'wrap' or 'none', found {loop!r}")
    frames = np.asarray(data["Frames"], dtype=np.float64)
    if frames.ndim != 2 or frames.shape[1] != SOURCE_FRAME_SIZE or frames.shape[0] < 2:
        raise DeepMimicFormatError(f"{source}: field 'Frames' must be N >= 2 rows of {SOURCE_FRAME_SIZE} numbers, "
                                   f"found shape {frames.shape}")
    return (LoopMode.WRAP if loop == "wrap" else LoopMode.CLAMP), frames


def _to_z_up_quat(q_wxyz: torch.Tensor) -> torch.Tensor:
    q = rot.quat_unit(rot.wxyz_to_xyzw(q_wxyz))
    r = _Y_TO_Z.to(q.dtype).expand_as(q)
    return rot.quat_mul(rot.quat_mul(r, q), rot.quat_conjugate(r))


def source_frames_to_rotations(frames: np.ndarray, kin_model: KinCharModel
                               ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Root positions ``[N, 3]``, root rotations ``[N, 4]`` and joint rotations ``[N, B-1, 4]`` (float64)
    of our character for source frames ``[N, 44]``."""
    f = torch.tensor(frames, dtype=torch.float64)
    num = f.shape[0]
    root_pos = torch.stack([f[:, 1], -f[:, 3], f[:, 2]], dim=-1)
    root_rot = _to_z_up_quat(f[:, 4:8])
    joint_rot = rot.quat_identity((num, kin_model.num_joints), dtype=torch.float64)
    for body, src in BODY_SOURCE.items():
        j = kin_model.get_body_id(body) - 1
        col, size = SOURCE_LAYOUT[src]
        joint = kin_model.joints[j + 1]
        if size == 4:
            q = _to_z_up_quat(f[:, col:col + 4])
            if src in REST_OFFSET_X_DEG:
                offset = rot.axis_angle_to_quat(torch.tensor([1.0, 0.0, 0.0], dtype=torch.float64),
                                                torch.tensor(math.radians(REST_OFFSET_X_DEG[src]), dtype=torch.float64))
                q = rot.quat_mul(q, offset.expand_as(q))
        else:
            angle = HINGE_SIGN[src] * f[:, col]
            q = rot.axis_angle_to_quat(torch.tensor(joint.axis, dtype=torch.float64).expand(num, 3), angle)
        joint_rot[:, j] = q
    return root_pos, root_rot, joint_rot


def _uniform_fps(dts: np.ndarray) -> float:
    fps = 1.0 / float(np.median(dts))
    return float(round(fps)) if abs(fps - round(fps)) < 1e-3 * fps else fps


def _resample(times: np.ndarray, new_times: np.ndarray, root_pos: torch.Tensor, root_rot: torch.Tensor,
              joint_rot: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    idx = np.clip(np.searchsorted(times, new_times, side="right") - 1, 0, len(times) - 2)
    blend = torch.tensor((new_times - times[idx]) / (times[idx + 1] - times[idx]), dtype=torch.float64).clamp(0, 1)
    i0, i1 = torch.tensor(idx), torch.tensor(idx + 1)
    pos = torch.lerp(root_pos[i0], root_pos[i1], blend[:, None])
    rr = rot.slerp(root_rot[i0], root_rot[i1], blend)
    jr = rot.slerp(joint_rot[i0], joint_rot[i1], blend[:, None].expand(-1, joint_rot.shape[1]))
    return pos, rr, jr


def convert_deepmimic_clip(text: str, kin_model: KinCharModel, source: str = "<clip>") -> Motion:
    """A MimicKit clip for ``kin_model`` (the humanoid) from a DeepMimic clip file's contents."""
    missing = [b for b in BODY_SOURCE if b not in kin_model.body_names]
    if missing:
        raise DeepMimicFormatError(f"the character lacks the DeepMimic humanoid bodies {missing}")
    loop_mode, frames = parse_deepmimic_text(text, source)
    dts = frames[:-1, 0]
    if np.any(dts <= 0):
        raise DeepMimicFormatError(f"{source}: frame durations (column 0) must be positive")
    fps = _uniform_fps(dts)
    root_pos, root_rot, joint_rot = source_frames_to_rotations(frames, kin_model)
    if np.max(np.abs(dts * fps - 1.0)) > 1e-3:
        times = np.concatenate([[0.0], np.cumsum(dts)])
        num_new = round(times[-1] * fps) + 1
        root_pos, root_rot, joint_rot = _resample(times, np.arange(num_new) / fps, root_pos, root_rot, joint_rot)
    root_exp = rot.quat_to_exp_map(root_rot)
    dofs = kin_model.to("cpu").rot_to_dof(joint_rot)
    out = torch.cat([root_pos, root_exp, dofs], dim=-1).numpy().astype(np.float32)
    return Motion(loop_mode, fps, out)
