"""BVH (Biovision hierarchy) motion files: parsing and forward kinematics.

A BVH file is a joint tree (``ROOT`` / ``JOINT`` / ``End Site`` blocks with ``OFFSET`` and ``CHANNELS``) followed
by ``MOTION``: ``Frames: N``, ``Frame Time: dt`` and N lines of channel values. Rotation channels are Euler
angles in degrees applied in the listed order (``Zrotation Xrotation Yrotation`` means R = Rz Rx Ry); a joint
with position channels takes them as its translation instead of its offset (usually only the root has them).
End sites become bodies named ``<parent>_end`` (they carry the toe and finger tips).

:func:`bvh_source` turns a file into the retargeter's :class:`~mimickit.anim.retarget.SourceMotion`: lengths
scaled to metres and axes turned so the file's up axis becomes +z and its forward axis +x (our convention).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import torch

from mimickit.anim.motion import LoopMode, MotionFileError
from mimickit.util import rotations as rot

_AXES = {"x": (1.0, 0.0, 0.0), "y": (0.0, 1.0, 0.0), "z": (0.0, 0.0, 1.0)}


@dataclass
class BvhClip:
    """Parsed BVH: joint names ``[J]`` (end sites included), parent indices (-1 for the root), offsets ``[J, 3]``
    in file units, per-joint channel names, channel values ``[N, C]`` and the frame time (s)."""

    names: list[str]
    parents: list[int]
    offsets: torch.Tensor
    channels: list[list[str]]
    values: torch.Tensor
    frame_time: float


def parse_bvh(text: str, source: str = "bvh") -> BvhClip:
    """Parse BVH ``text``; errors name ``source`` and the line."""
    tokens = [(i + 1, tok) for i, line in enumerate(text.splitlines()) for tok in line.split()]
    pos = 0

    def take(expected: str | None = None) -> tuple[int, str]:
        nonlocal pos
        if pos >= len(tokens):
            raise MotionFileError(f"{source}: file ends early" + (f" (expected {expected!r})" if expected else ""))
        line, tok = tokens[pos]
        pos += 1
        if expected is not None and tok.upper() != expected.upper():
            raise MotionFileError(f"{source}: line {line}: expected {expected!r}, found {tok!r}")
        return line, tok

    def number() -> float:
        line, tok = take()
        try:
            return float(tok)
        except ValueError:
            raise MotionFileError(f"{source}: line {line}: expected a number, found {tok!r}") from None

    names: list[str] = []
    parents: list[int] = []
    offsets: list[list[float]] = []
    channels: list[list[str]] = []

    def joint(name: str, parent: int) -> None:
        index = len(names)
        names.append(name)
        parents.append(parent)
        take("{")
        take("OFFSET")
        offsets.append([number(), number(), number()])
        chans: list[str] = []
        if tokens[pos][1].upper() == "CHANNELS":
            take()
            count = int(number())
            chans = [take()[1].lower() for _ in range(count)]
            for c in chans:
                if c not in {f"{a}{kind}" for a in "xyz" for kind in ("position", "rotation")}:
                    raise MotionFileError(f"{source}: joint {name!r}: unknown channel {c!r}")
        channels.append(chans)
        while True:
            line, tok = take()
            keyword = tok.upper()
            if keyword == "}":
                return
            if keyword == "JOINT":
                joint(take()[1], index)
            elif keyword == "END":
                take("Site")
                names.append(f"{name}_end")
                parents.append(index)
                take("{")
                take("OFFSET")
                offsets.append([number(), number(), number()])
                channels.append([])
                take("}")
            else:
                raise MotionFileError(f"{source}: line {line}: unexpected {tok!r} in joint {name!r}")

    take("HIERARCHY")
    take("ROOT")
    joint(take()[1], -1)
    take("MOTION")
    take("Frames:")
    num_frames = int(number())
    take("Frame")
    take("Time:")
    frame_time = number()
    width = sum(len(c) for c in channels)
    flat = [number() for _ in range(num_frames * width)]
    if pos != len(tokens):
        raise MotionFileError(f"{source}: line {tokens[pos][0]}: more values than {num_frames} frames of {width}")
    if frame_time <= 0:
        raise MotionFileError(f"{source}: Frame Time must be positive, found {frame_time}")
    values = torch.tensor(flat, dtype=torch.float64).reshape(num_frames, width)
    return BvhClip(names, parents, torch.tensor(offsets, dtype=torch.float64), channels, values, frame_time)


def load_bvh(path: str | Path) -> BvhClip:
    path = Path(path)
    try:
        text = path.read_text()
    except (OSError, UnicodeDecodeError) as err:
        raise MotionFileError(f"{path}: cannot read ({err})") from None
    return parse_bvh(text, str(path))


def bvh_forward_kinematics(clip: BvhClip, values: torch.Tensor | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    """World positions ``[N, J, 3]`` (file units) and rotations ``[N, J, 4]`` (x, y, z, w) of every joint, in the
    file's axes, for channel ``values`` ``[N, C]`` (the clip's own by default)."""
    values = clip.values if values is None else values
    n, num = values.shape[0], len(clip.names)
    pos = torch.zeros(n, num, 3, dtype=torch.float64)
    quat = rot.quat_identity((n, num), torch.float64)
    col = 0
    for j in range(num):
        trans = clip.offsets[j].expand(n, 3).clone()
        local = rot.quat_identity((n,), torch.float64)
        for c in clip.channels[j]:
            axis = "xyz".index(c[0])
            if c.endswith("position"):
                trans[:, axis] = values[:, col]
            else:
                unit = torch.tensor(_AXES[c[0]], dtype=torch.float64).expand(n, 3)
                local = rot.quat_mul(local, rot.axis_angle_to_quat(unit, torch.deg2rad(values[:, col])))
            col += 1
        parent = clip.parents[j]
        if parent < 0:
            pos[:, j], quat[:, j] = trans, local
        else:
            pos[:, j] = pos[:, parent] + rot.quat_rotate(quat[:, parent], trans)
            quat[:, j] = rot.quat_mul(quat[:, parent], local)
    return pos, quat


def axis_change(up: str, forward: str) -> torch.Tensor:
    """Rotation (x, y, z, w) taking the file's ``forward`` axis to +x and its ``up`` axis to +z (each one of
    x, y, z, -x, -y, -z)."""

    def vec(a: str) -> torch.Tensor:
        sign = -1.0 if a.startswith("-") else 1.0
        if a.lstrip("+-") not in _AXES:
            raise ValueError(f"axis must be one of x, y, z (optionally signed), found {a!r}")
        return sign * torch.tensor(_AXES[a.lstrip("+-")], dtype=torch.float64)

    f, u = vec(forward), vec(up)
    if abs(float(f @ u)) > 0.5:
        raise ValueError(f"up ({up}) and forward ({forward}) must be different axes")
    left = torch.linalg.cross(u, f)
    basis = torch.stack([f, left, u])  # rows: the file's vectors that become x, y, z
    return _matrix_to_quat(basis)


def _matrix_to_quat(m: torch.Tensor) -> torch.Tensor:
    """(x, y, z, w) of a proper rotation matrix (Shepperd's method, stable for every angle)."""
    trace = float(m[0, 0] + m[1, 1] + m[2, 2])
    if trace > 0:
        s = 2.0 * math.sqrt(trace + 1.0)
        q = [float(m[2, 1] - m[1, 2]) / s, float(m[0, 2] - m[2, 0]) / s, float(m[1, 0] - m[0, 1]) / s, 0.25 * s]
    else:
        i = int(torch.argmax(torch.diagonal(m)))
        j, k = (i + 1) % 3, (i + 2) % 3
        s = 2.0 * math.sqrt(1.0 + float(m[i, i] - m[j, j] - m[k, k]))
        q = [0.0] * 4
        q[i] = 0.25 * s
        q[j] = float(m[j, i] + m[i, j]) / s
        q[k] = float(m[k, i] + m[i, k]) / s
        q[3] = float(m[k, j] - m[j, k]) / s
    return rot.quat_unit(torch.tensor(q, dtype=torch.float64))


def bvh_source(clip: BvhClip, length_unit: float = 0.01, up: str = "y", forward: str = "z",
               loop: LoopMode = LoopMode.WRAP):
    """The retargeter's source for ``clip``: positions in metres (``length_unit`` m per file unit) and axes turned
    so ``up`` is +z and ``forward`` +x; the rest pose is the file's zero-channel pose."""
    from mimickit.anim.retarget import SourceMotion

    turn = axis_change(up, forward)
    pos, quat = bvh_forward_kinematics(clip)
    rest_pos, rest_quat = bvh_forward_kinematics(clip, torch.zeros(1, clip.values.shape[1], dtype=torch.float64))
    t = turn.expand_as(quat)
    body_pos = rot.quat_rotate(turn.expand(*pos.shape[:-1], 4), pos) * length_unit
    body_rot = rot.quat_mul(t, quat)
    rest_rot = rot.quat_mul(turn.expand_as(rest_quat[0]), rest_quat[0])
    rest_world = rot.quat_rotate(turn.expand(*rest_pos.shape[:-1], 4), rest_pos)[0] * length_unit
    standing = float(rest_world[0, 2] - rest_world[:, 2].min())
    return SourceMotion(clip.names, body_pos, body_rot, rest_rot, standing, 1.0 / clip.frame_time, loop)
