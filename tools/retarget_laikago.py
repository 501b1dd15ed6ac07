#!/usr/bin/env python
"""Retarget pybullet's ``laikago_walk`` quadruped clip onto the Unitree Go2 (``data/motions/go2/go2_walk.pkl``).

Source: pybullet 3.2.7's ``pybullet_data/data/motions/laikago_walk.txt`` (a motion_imitation clip, zlib) and the
``pybullet_data/laikago/laikago_toes.urdf`` it was made for. Fetch the wheel once (never a MimicKit dependency):

    pip download --no-deps pybullet==3.2.7 -d /tmp/wheels
    python tools/retarget_laikago.py --wheel /tmp/wheels/pybullet-3.2.7-*.whl

The clip's frames are ``[dt, root position (z up), root quaternion (x, y, z, w), 12 motor angles]`` with legs
FR, FL, RR, RL x (hip, thigh, calf) in Unitree's convention; the URDF's joint angle is ``direction * motor +
offset`` (thigh -0.6, calf +0.66; right hips -1), its body frame has x left, y up, z forward. Forward kinematics
of the URDF (joint origins and axes, parsed here) gives the source's body trajectories; the retargeter
(``data/retarget/laikago_to_go2.yaml``) fits the Go2's base pose, knees and feet to them.
"""

from __future__ import annotations

import argparse
import json
import sys
import xml.etree.ElementTree as ET
import zipfile
from pathlib import Path

import torch

REPO_ROOT = Path(__file__).resolve().parents[1]
if str(REPO_ROOT) not in sys.path:
    sys.path.insert(0, str(REPO_ROOT))

from mimickit.anim.motion import LoopMode, MotionFileError, save_motion  # noqa: E402
from mimickit.anim.retarget import Correspondence, SourceMotion, retarget_source  # noqa: E402
from mimickit.util import rotations as rot  # noqa: E402
from mimickit.util.cli import guarded  # noqa: E402
from mimickit.util.config import ConfigError  # noqa: E402

CLIP = "pybullet_data/data/motions/laikago_walk.txt"
URDF = "pybullet_data/laikago/laikago_toes.urdf"
LEGS = ("FR", "FL", "RR", "RL")
MOTOR_OFFSET = (0.0, -0.6, 0.66)  # hip, thigh, calf: URDF angle at motor zero
HIP_DIRECTION = {"FR": -1.0, "FL": 1.0, "RR": -1.0, "RL": 1.0}
TOE_RADIUS = 0.03  # m, the URDF's toe collision spheres
# turns the URDF's body axes (x left, y up, z forward) into ours (x forward, y left, z up): x->y, y->z, z->x
BODY_TO_OURS = torch.tensor([0.5, 0.5, 0.5, 0.5], dtype=torch.float64)


def _rpy_quat(rpy: list[float]) -> torch.Tensor:
    """URDF ``rpy`` (fixed axes x, then y, then z) as (x, y, z, w)."""
    axes = torch.eye(3, dtype=torch.float64)
    q = rot.quat_identity((), torch.float64)
    for axis, angle in zip(axes, rpy, strict=True):
        q = rot.quat_mul(rot.axis_angle_to_quat(axis, torch.tensor(angle, dtype=torch.float64)), q)
    return q


def parse_urdf_chain(text: str) -> dict[str, tuple[str, torch.Tensor, torch.Tensor, torch.Tensor | None]]:
    """Child link -> (parent link, origin xyz, origin rotation, axis or None for fixed joints)."""
    joints = {}
    for j in ET.fromstring(text).findall("joint"):
        origin = j.find("origin")
        xyz = [float(v) for v in origin.get("xyz", "0 0 0").split()] if origin is not None else [0.0] * 3
        rpy = [float(v) for v in origin.get("rpy", "0 0 0").split()] if origin is not None else [0.0] * 3
        axis = None
        if j.get("type") != "fixed":
            axis_el = j.find("axis")
            axis = torch.tensor([float(v) for v in (axis_el.get("xyz") if axis_el is not None else "1 0 0").split()],
                                dtype=torch.float64)
        joints[j.find("child").get("link")] = (j.find("parent").get("link"), torch.tensor(xyz, dtype=torch.float64),
                                               _rpy_quat(rpy), axis)
    return joints


def laikago_source(clip: dict, urdf_text: str) -> SourceMotion:
    """Body trajectories of the laikago clip (links chassis, <leg>_hip_motor, <leg>_upper_leg, <leg>_lower_leg,
    toe<leg>), in metres, z up."""
    frames = torch.tensor(clip["Frames"], dtype=torch.float64)
    if frames.ndim != 2 or frames.shape[1] != 20:
        raise MotionFileError(f"{CLIP}: expected frames of 20 numbers, found shape {tuple(frames.shape)}")
    chain = parse_urdf_chain(urdf_text)

    def pose(motors: torch.Tensor, root_pos: torch.Tensor, root_rot: torch.Tensor):
        names, pos, quat = ["chassis"], [root_pos], [root_rot]
        for li, leg in enumerate(LEGS):
            p, q = root_pos, root_rot
            links = [f"{leg}_hip_motor", f"{leg}_upper_leg", f"{leg}_lower_leg", f"toe{leg}"]
            for k, link in enumerate(links):
                _, xyz, origin_rot, axis = chain[link]
                p = p + rot.quat_rotate(q, xyz.expand_as(p))
                q = rot.quat_mul(q, origin_rot.expand_as(q))
                if axis is not None:
                    direction = HIP_DIRECTION[leg] if k == 0 else 1.0
                    angle = direction * motors[:, 3 * li + k] + MOTOR_OFFSET[k]
                    q = rot.quat_mul(q, rot.axis_angle_to_quat(axis.expand_as(p), angle))
                names.append(link)
                pos.append(p)
                quat.append(q)
        return names, torch.stack(pos, dim=1), torch.stack(quat, dim=1)

    names, body_pos, body_rot = pose(frames[:, 8:20], frames[:, 1:4], rot.quat_unit(frames[:, 4:8]))
    # rest: motors at zero (legs straight), upright in our convention
    upright = BODY_TO_OURS[None]
    _, rest_pos, rest_rot = pose(torch.zeros(1, 12, dtype=torch.float64), torch.zeros(1, 3, dtype=torch.float64),
                                 upright)
    standing = float(-rest_pos[0, :, 2].min()) + TOE_RADIUS
    dt = float(frames[0, 0])
    if dt <= 0 or not torch.allclose(frames[:, 0], frames[:1, 0]):
        raise MotionFileError(f"{CLIP}: frame durations must be positive and equal")
    loop = LoopMode.WRAP if str(clip.get("Loop", "wrap")).lower() == "wrap" else LoopMode.CLAMP
    return SourceMotion(names, body_pos, body_rot, rest_rot[0], standing, 1.0 / dt, loop)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--wheel", required=True, help="pybullet 3.2.7 wheel")
    parser.add_argument("--config", default=str(REPO_ROOT / "data/retarget/laikago_to_go2.yaml"))
    parser.add_argument("--output_file", default=str(REPO_ROOT / "data/motions/go2/go2_walk.pkl"))
    cli = parser.parse_args(argv)
    try:
        with zipfile.ZipFile(cli.wheel) as wheel:
            clip = json.loads(wheel.read(CLIP))
            urdf = wheel.read(URDF).decode()
        source = laikago_source(clip, urdf)
        motion, report = retarget_source(source, Correspondence.from_yaml(cli.config))
        save_motion(cli.output_file, motion)
    except (OSError, KeyError, zipfile.BadZipFile, ConfigError, MotionFileError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    print(f"{cli.output_file}: {motion.num_frames} frames at {motion.fps:g} fps; foot skating "
          f"{report.foot_skating_cm:.2f} cm/frame, penetration {report.max_penetration_cm:.2f} cm, limit violations "
          f"{report.limit_violations}, IK target error {report.target_error_cm:.1f} cm")
    return 0


if __name__ == "__main__":
    sys.exit(guarded(main))
