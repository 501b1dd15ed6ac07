#!/usr/bin/env python
"""Convert an AMASS-style SMPL motion (``.npz`` with ``poses`` [N, >=66] axis-angles, ``trans`` [N, 3] in m,
``mocap_framerate`` or ``fps``) into a clip for the SMPL-proportioned humanoid (data/assets/smpl/smpl.xml).

    python tools/import_amass.py --input_file walk_poses.npz --output_file data/motions/smpl/my_walk.pkl

The first 22 SMPL joints are used (SMPL-H / SMPL-X hand and face values beyond them are ignored, the two
SMPL hand joints are set to identity), reordered from SMPL's joint order to the model's depth-first order, and
turned from SMPL's body frame (y up, facing +z) into ours (z up, facing +x): every global rotation is
right-multiplied by the fixed frame change, so each joint's local rotation is conjugated by it. The root is
placed at ``trans``: the few-cm offset between SMPL's template pelvis and its origin, which needs the SMPL
body model, is left out (the vertical part is what ``--z_correction`` fixes). ``--z_correction calibrate``
(default) shifts the clip so the lowest point of the feet's shapes over the first 30 frames touches the
ground; ``full`` uses every frame; ``none`` keeps ``trans``. ``--start_frame`` / ``--end_frame`` cut the clip.
The ``.npz`` is read without pickle (``allow_pickle=False``).
"""

from __future__ import annotations

import argparse
import math
import sys
import zipfile
from pathlib import Path

import mujoco
import numpy as np
import torch

REPO_ROOT = Path(__file__).resolve().parents[1]
if str(REPO_ROOT) not in sys.path:
    sys.path.insert(0, str(REPO_ROOT))

from mimickit.anim.mjcf_loader import CharModelError, load_mjcf_char_model  # noqa: E402
from mimickit.anim.motion import LoopMode, Motion, MotionFileError, save_motion  # noqa: E402
from mimickit.anim.retarget import lowest_geom_point  # noqa: E402
from mimickit.util import rotations as rot  # noqa: E402
from mimickit.util.cli import guarded  # noqa: E402

SMPL_JOINT_ORDER = ["Pelvis", "L_Hip", "R_Hip", "Torso", "L_Knee", "R_Knee", "Spine", "L_Ankle", "R_Ankle", "Chest",
                    "L_Toe", "R_Toe", "Neck", "L_Thorax", "R_Thorax", "Head", "L_Shoulder", "R_Shoulder", "L_Elbow",
                    "R_Elbow", "L_Wrist", "R_Wrist", "L_Hand", "R_Hand"]
BODY_JOINTS = 22  # SMPL joints carried by AMASS's first 66 pose values (the two hands follow)
SMPL_CHAR = REPO_ROOT / "data/assets/smpl/smpl.xml"
FEET = ("L_Ankle", "L_Toe", "R_Ankle", "R_Toe")
CALIBRATION_FRAMES = 30


def frame_change(dtype: torch.dtype = torch.float64) -> torch.Tensor:
    """Quaternion (x, y, z, w) taking vectors of SMPL's body frame (y up, facing +z, left +x) to ours (z up,
    facing +x, left +y): the 120° turn about (1, 1, 1) that sends x -> y, y -> z, z -> x."""
    return torch.tensor([0.5, 0.5, 0.5, 0.5], dtype=dtype)


def smpl_to_local_rotations(poses: np.ndarray, body_names: list[str]) -> tuple[torch.Tensor, torch.Tensor]:
    """AMASS ``poses`` [N, >=66] -> root rotation [N, 4] and local joint rotations [N, 23, 4] of our model,
    in the order of ``body_names`` (root first)."""
    n = poses.shape[0]
    aa = torch.zeros(n, len(SMPL_JOINT_ORDER), 3, dtype=torch.float64)
    aa[:, :BODY_JOINTS] = torch.from_numpy(np.ascontiguousarray(poses[:, :3 * BODY_JOINTS], np.float64)).reshape(
        n, BODY_JOINTS, 3)
    local = rot.exp_map_to_quat(aa[:, [SMPL_JOINT_ORDER.index(b) for b in body_names]])
    q = frame_change().expand_as(local[:, 0])
    root = rot.quat_mul(local[:, 0], rot.quat_conjugate(q))
    qj = frame_change().expand_as(local[:, 1:])
    joints = rot.quat_mul(rot.quat_mul(qj, local[:, 1:]), rot.quat_conjugate(qj))
    return rot.quat_pos(root), rot.quat_pos(joints)


def lowest_foot_height(char_file: str | Path, frames: torch.Tensor) -> float:
    """Lowest point [m] of the feet's shapes over clip ``frames`` [N, 75] of the ball-jointed SMPL humanoid."""
    model = mujoco.MjModel.from_xml_path(str(char_file))
    data = mujoco.MjData(model)
    feet = {mujoco.mj_name2id(model, mujoco.mjtObj.mjOBJ_BODY, b) for b in FEET}
    geoms = [g for g in range(model.ngeom) if int(model.geom_bodyid[g]) in feet]
    n = frames.shape[0]
    quats = rot.xyzw_to_wxyz(rot.exp_map_to_quat(frames[:, 3:].reshape(n, -1, 3))).reshape(n, -1)
    qpos = torch.cat([frames[:, :3], quats], dim=-1).numpy()
    low = np.inf
    for q in qpos:
        data.qpos[:] = q
        mujoco.mj_kinematics(model, data)
        low = min(low, lowest_geom_point(model, data, geoms))
    return float(low)


def convert(data: dict, source: str, char_file: str | Path = SMPL_CHAR, loop: LoopMode = LoopMode.WRAP,
            start: int = 0, end: int = -1, z_correction: str = "calibrate") -> Motion:
    """A clip for the SMPL humanoid in ``char_file`` from AMASS arrays; errors name ``source`` and the field."""
    km = load_mjcf_char_model(char_file)
    for key in ("poses", "trans"):
        if key not in data:
            raise MotionFileError(f"{source}: missing field {key!r}")
    if km.body_names[0] != "Pelvis" or sorted(km.body_names) != sorted(SMPL_JOINT_ORDER):
        raise MotionFileError(f"{source}: the character must have SMPL's 24 bodies; it has {km.body_names}")
    poses, trans = np.asarray(data["poses"]), np.asarray(data["trans"])
    n = poses.shape[0] if poses.ndim == 2 else -1
    if poses.ndim != 2 or poses.shape[1] < 3 * BODY_JOINTS or trans.shape != (n, 3):
        raise MotionFileError(f"{source}: poses must be [N, >=66] and trans [N, 3]; found {poses.shape} and "
                              f"{trans.shape}")
    fps_key = "mocap_framerate" if "mocap_framerate" in data else "fps" if "fps" in data else None
    fps = float(data[fps_key]) if fps_key else 30.0
    if not (math.isfinite(fps) and fps > 0):
        raise MotionFileError(f"{source}: field {fps_key!r} must be a frame rate > 0, found {fps}")
    sl = slice(start, None if end < 0 else end)
    poses, trans = poses[sl], trans[sl]
    for name, values in (("poses", poses), ("trans", trans)):
        if not np.isfinite(values).all():
            frame = int(np.argwhere(~np.isfinite(values))[0, 0]) + start
            raise MotionFileError(f"{source}: field {name!r} has a non-finite value in frame {frame}")
    root_rot, joint_rot = smpl_to_local_rotations(poses, km.body_names)
    frames = torch.cat([torch.from_numpy(np.asarray(trans, np.float64)), rot.quat_to_exp_map(root_rot),
                                        km.rot_to_dof(joint_rot)], dim=-1)
    if z_correction != "none":
        window = frames if z_correction == "full" else frames[:CALIBRATION_FRAMES]
        frames[:, 2] -= lowest_foot_height(char_file, window)
    return Motion(loop, fps, frames.numpy().astype(np.float32))


def load_npz(path: str) -> dict:
    try:
        with np.load(path, allow_pickle=False) as npz:
            return {k: npz[k] for k in npz.files}
    except ValueError as err:  # object arrays need pickle: refused
        raise MotionFileError(f"{path}: {err}") from None
    except zipfile.BadZipFile as err:
        raise MotionFileError(f"{path}: not an .npz archive ({err})") from None


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--input_file", required=True)
    parser.add_argument("--output_file", required=True)
    parser.add_argument("--char_file", default=str(SMPL_CHAR), help="the SMPL humanoid")
    parser.add_argument("--loop", choices=["wrap", "clamp"], default="wrap")
    parser.add_argument("--start_frame", type=int, default=0)
    parser.add_argument("--end_frame", type=int, default=-1)
    parser.add_argument("--z_correction", choices=["none", "calibrate", "full"], default="calibrate")
    cli = parser.parse_args(argv)
    try:
        motion = convert(load_npz(cli.input_file), cli.input_file, cli.char_file,
                         LoopMode.WRAP if cli.loop == "wrap" else LoopMode.CLAMP, cli.start_frame, cli.end_frame,
                         cli.z_correction)
        save_motion(cli.output_file, motion)
    except (OSError, MotionFileError, CharModelError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    print(f"wrote {cli.output_file}: {motion.num_frames} frames at {motion.fps:g} fps")
    return 0


if __name__ == "__main__":
    sys.exit(guarded(main))
