"""The AMASS importer: SMPL's standing orientation becomes ours (hand-computed), one of our SMPL clips exported
to AMASS's layout comes back to within a micrometre, the z calibration puts the feet on the ground, and bad
input (missing field, wrong shapes, a pickled object array, a non-SMPL character) gets a clear error."""

import importlib.util
import math
import sys

import numpy as np
import pytest
import torch

from mimickit.anim.mjcf_loader import load_mjcf_char_model
from mimickit.anim.motion import load_motion
from mimickit.util import rotations as rot

from ..conftest import REPO_ROOT

spec = importlib.util.spec_from_file_location("import_amass", REPO_ROOT / "tools" / "import_amass.py")
amass = importlib.util.module_from_spec(spec)
sys.modules.setdefault(spec.name, amass)
spec.loader.exec_module(amass)

SMPL = REPO_ROOT / "data/assets/smpl/smpl.xml"
SMPL_ORDER = ["Pelvis", "L_Hip", "R_Hip", "Torso", "L_Knee", "R_Knee", "Spine", "L_Ankle", "R_Ankle", "Chest",
              "L_Toe", "R_Toe", "Neck", "L_Thorax", "R_Thorax", "Head", "L_Shoulder", "R_Shoulder", "L_Elbow",
              "R_Elbow", "L_Wrist", "R_Wrist", "L_Hand", "R_Hand"]
# ours -> SMPL's body frame: x (forward) -> z, y (left) -> x, z (up) -> y
TO_SMPL = torch.tensor([[0.0, 1, 0], [0, 0, 1], [1, 0, 0]], dtype=torch.float64)


def quat_from_matrix(m: torch.Tensor) -> torch.Tensor:
    """(x, y, z, w) of a proper rotation matrix (for the test's own frame change)."""
    w = math.sqrt(max(0.0, 1 + m[0, 0] + m[1, 1] + m[2, 2])) / 2
    return torch.tensor([(m[2, 1] - m[1, 2]) / (4 * w), (m[0, 2] - m[2, 0]) / (4 * w), (m[1, 0] - m[0, 1]) / (4 * w),
                         w], dtype=torch.float64)


def to_amass(frames: np.ndarray) -> dict:
    """Our SMPL clip frames [N, 75] in AMASS's layout (72 axis-angles in SMPL's order and body frame, trans)."""
    km = load_mjcf_char_model(SMPL)
    f = torch.tensor(frames, dtype=torch.float64)
    c = quat_from_matrix(TO_SMPL)  # rotation taking our body-frame vectors to SMPL's
    root = rot.quat_mul(rot.exp_map_to_quat(f[:, 3:6]), rot.quat_conjugate(c))  # world <- ours <- SMPL
    joints = km.dof_to_rot(f[:, 6:])
    ce = c.expand_as(joints)
    joints = rot.quat_mul(rot.quat_mul(ce, joints), rot.quat_conjugate(ce))
    local = torch.cat([root[:, None], joints], dim=1)
    by_name = dict(zip(km.body_names, local.unbind(1), strict=True))
    poses = torch.stack([rot.quat_to_exp_map(by_name[b]) for b in SMPL_ORDER], dim=1).reshape(len(f), 72)
    return {"poses": poses.numpy(), "trans": f[:, :3].numpy(), "mocap_framerate": np.array(30.0)}


def walk_without_hands() -> np.ndarray:
    frames = load_motion(REPO_ROOT / "data/motions/smpl/smpl_walk.pkl").frames.astype(np.float64)
    km = load_mjcf_char_model(SMPL)
    for hand in ("L_Hand", "R_Hand"):  # AMASS's SMPL-H carries hands elsewhere: the importer sets them to rest
        j = km.joints[km.get_body_id(hand)]
        frames[:, 6 + j.dof_idx:6 + j.dof_idx + 3] = 0.0
    return frames


def body_positions(frames: np.ndarray) -> torch.Tensor:
    km = load_mjcf_char_model(SMPL)
    f = torch.tensor(frames, dtype=torch.float64)
    pos, _ = km.forward_kinematics(f[:, :3], rot.exp_map_to_quat(f[:, 3:6]), km.dof_to_rot(f[:, 6:]))
    return pos


def test_smpl_standing_orientation_becomes_ours():
    # AMASS stands SMPL's y-up body in its z-up world with a +90 degree turn about x: SMPL's forward (+z) ends
    # along -y, its up (+y) along +z. Our root must then face -y with z up.
    poses = np.zeros((1, 72))
    poses[0, 0] = math.pi / 2
    motion = amass.convert({"poses": poses, "trans": np.zeros((1, 3))}, "standing", z_correction="none")
    root = rot.exp_map_to_quat(torch.tensor(motion.frames[0, 3:6], dtype=torch.float64))
    forward = rot.quat_rotate(root, torch.tensor([1.0, 0, 0], dtype=torch.float64))
    up = rot.quat_rotate(root, torch.tensor([0.0, 0, 1], dtype=torch.float64))
    assert forward.tolist() == pytest.approx([0, -1, 0], abs=1e-6) and up.tolist() == pytest.approx([0, 0, 1], abs=1e-6)
    assert np.abs(motion.frames[0, 6:]).max() < 1e-6 and motion.fps == 30.0


def test_round_trip_of_our_walk_through_amass_layout(tmp_path):
    frames = walk_without_hands()
    path = tmp_path / "walk.npz"
    np.savez(path, **to_amass(frames))
    out = tmp_path / "walk.pkl"
    assert amass.main(["--input_file", str(path), "--output_file", str(out), "--z_correction", "none"]) == 0
    back = load_motion(out)
    error_mm = (body_positions(back.frames) - body_positions(frames)).norm(dim=-1).max().item() * 1000
    assert error_mm < 1e-3 and back.fps == 30.0 and back.num_frames == len(frames)


def test_calibration_puts_the_feet_on_the_ground(tmp_path):
    frames = walk_without_hands()
    data = to_amass(frames)
    data["trans"][:, 2] += 0.3  # a recording whose origin floats above the floor
    motion = amass.convert(data, "floating", z_correction="calibrate")
    lift = motion.frames[:, 2] - frames[:, 2]
    assert np.ptp(lift) < 1e-5  # one shift for the whole clip
    window = torch.tensor(motion.frames[:amass.CALIBRATION_FRAMES], dtype=torch.float64)
    assert amass.lowest_foot_height(SMPL, window) == pytest.approx(0.0, abs=1e-5)
    cut = amass.convert(data, "floating", start=5, end=15, z_correction="none")
    assert cut.num_frames == 10 and np.allclose(cut.frames[:, :3], data["trans"][5:15], atol=1e-6)


def test_bad_input_is_named(tmp_path, capsys):
    missing = tmp_path / "missing.npz"
    np.savez(missing, poses=np.zeros((3, 72)))
    assert amass.main(["--input_file", str(missing), "--output_file", str(tmp_path / "a.pkl")]) == 2
    assert "missing field 'trans'" in capsys.readouterr().err
    short = tmp_path / "short.npz"
    np.savez(short, poses=np.zeros((3, 60)), trans=np.zeros((3, 3)))
    assert amass.main(["--input_file", str(short), "--output_file", str(tmp_path / "b.pkl")]) == 2
    assert "poses must be [N, >=66]" in capsys.readouterr().err
    pickled = tmp_path / "pickled.npz"
    np.savez(pickled, poses=np.array([{"x": 1}], dtype=object), trans=np.zeros((1, 3)))
    assert amass.main(["--input_file", str(pickled), "--output_file", str(tmp_path / "c.pkl")]) == 2
    assert "allow_pickle" in capsys.readouterr().err
    ok = tmp_path / "ok.npz"
    np.savez(ok, poses=np.zeros((3, 72)), trans=np.zeros((3, 3)))
    assert amass.main(["--input_file", str(ok), "--output_file", str(tmp_path / "d.pkl"), "--char_file",
                       str(REPO_ROOT / "data/assets/humanoid/humanoid.xml")]) == 2
    assert "SMPL's 24 bodies" in capsys.readouterr().err
    assert not any((tmp_path / name).exists() for name in ("a.pkl", "b.pkl", "c.pkl", "d.pkl"))


def test_a_zero_rate_or_a_nan_writes_nothing_and_keeps_the_old_output(tmp_path, capsys):
    out = tmp_path / "out.pkl"
    out.write_bytes(b"previous clip")
    data = to_amass(walk_without_hands())
    np.savez(tmp_path / "zero.npz", **{**data, "mocap_framerate": 0.0})
    assert amass.main(["--input_file", str(tmp_path / "zero.npz"), "--output_file", str(out)]) == 2
    assert "field 'mocap_framerate' must be a frame rate > 0, found 0.0" in capsys.readouterr().err
    data["trans"][7, 1] = np.nan
    np.savez(tmp_path / "nan.npz", **data)
    assert amass.main(["--input_file", str(tmp_path / "nan.npz"), "--output_file", str(out)]) == 2
    assert "field 'trans' has a non-finite value in frame 7" in capsys.readouterr().err
    assert out.read_bytes() == b"previous clip"


def test_save_motion_refuses_a_clip_the_loader_would_refuse(tmp_path):
    from mimickit.anim.motion import LoopMode, Motion, MotionFileError, save_motion

    out = tmp_path / "clip.pkl"
    with pytest.raises(MotionFileError, match=r"clip.pkl not written: field 'fps' must be positive, found 0.0"):
        save_motion(out, Motion(LoopMode.WRAP, 0.0, np.zeros((3, 9), np.float32)))
    assert not out.exists() and not list(tmp_path.iterdir())
