"""BVH: a hand-made file's joint positions by hand (Euler order, position channels, end sites), the axis change,
parse errors that name the line, and our humanoid walk written as a Y-up centimetre BVH coming back through
tools/import_bvh.py onto the humanoid to within 0.1 mm."""

import importlib.util
import math

import numpy as np
import pytest
import torch

from mimickit.anim.bvh import axis_change, bvh_forward_kinematics, parse_bvh
from mimickit.anim.mjcf_loader import load_mjcf_char_model
from mimickit.anim.motion import MotionFileError, load_motion
from mimickit.util import rotations as rot

from ..conftest import HUMANOID_XML, REPO_ROOT

TINY = """HIERARCHY
ROOT hips
{
  OFFSET 0 0 0
  CHANNELS 6 Xposition Yposition Zposition Zrotation Xrotation Yrotation
  JOINT knee
  {
    OFFSET 0 -10 0
    CHANNELS 3 Zrotation Xrotation Yrotation
    End Site
    {
      OFFSET 0 -10 0
    }
  }
}
MOTION
Frames: 2
Frame Time: 0.0333333
1 2 3 90 90 0 0 0 0
1 2 3 90 0 0 0 90 0
"""


def test_hand_made_file_positions():
    clip = parse_bvh(TINY)
    assert clip.names == ["hips", "knee", "knee_end"] and clip.parents == [-1, 0, 1]
    pos, _ = bvh_forward_kinematics(clip)
    # frame 0: R = Rz(90) Rx(90) sends (0, -10, 0) to (0, 0, -10) (the other order, Rx Rz, would give (10, 0, 0))
    expect = torch.tensor([[[1, 2, 3], [1, 2, -7], [1, 2, -17]], [[1, 2, 3], [11, 2, 3], [11, 2, -7]]],
                          dtype=torch.float64)
    assert torch.allclose(pos[0], expect[0], atol=1e-9)
    # frame 1: the root turns 90 degrees about z, the knee 90 degrees about x
    assert torch.allclose(pos[1], expect[1], atol=1e-9)
    assert 1.0 / clip.frame_time == pytest.approx(30.0, rel=1e-5)


def test_axis_change_sends_forward_to_x_and_up_to_z():
    turn = axis_change("y", "z")
    for src, dst in (([0, 0, 1], [1, 0, 0]), ([0, 1, 0], [0, 0, 1]), ([1, 0, 0], [0, 1, 0])):
        assert rot.quat_rotate(turn, torch.tensor(src, dtype=torch.float64)).tolist() == pytest.approx(dst, abs=1e-12)
    turned = rot.quat_rotate(axis_change("z", "-y"), torch.tensor([0.0, -1.0, 0.0], dtype=torch.float64))
    assert turned.tolist() == pytest.approx([1, 0, 0], abs=1e-12)
    with pytest.raises(ValueError, match="different axes"):
        axis_change("y", "-y")


@pytest.mark.parametrize("text, message", [
    (TINY.replace("OFFSET 0 -10 0\n    CHANNELS", "OFFSET 0 -1O 0\n    CHANNELS"), "line 8: expected a number"),
    (TINY.replace("Zrotation Xrotation Yrotation\n    End", "Zrotation Xrotation Wrotation\n    End"),
     "unknown channel 'wrotation'"),
    (TINY[:-20], "file ends early"),
    (TINY + "4\n", "more values than 2 frames"),
])
def test_parse_errors_name_the_problem(text, message):
    with pytest.raises(MotionFileError, match=message):
        parse_bvh(text, "tiny.bvh")


def _euler_zxy_deg(q: torch.Tensor) -> torch.Tensor:
    """Angles (z, x, y) in degrees with R = Rz Rx Ry, for quaternions ``[N, 4]``."""
    x, y, z, w = q.unbind(-1)
    r01, r11 = 2 * (x * y - w * z), 1 - 2 * (x * x + z * z)
    r21, r20, r22 = 2 * (y * z + w * x), 2 * (x * z - w * y), 1 - 2 * (x * x + y * y)
    return torch.rad2deg(torch.stack([torch.atan2(-r01, r11), torch.asin(r21.clamp(-1, 1)),
                                      torch.atan2(-r20, r22)], dim=-1))


def write_humanoid_bvh(frames: np.ndarray) -> str:
    """Our humanoid's clip as a BVH file: centimetres, y up, facing +z, ZXY Euler channels on every joint."""
    km = load_mjcf_char_model(HUMANOID_XML).to("cpu")
    assert torch.allclose(km.local_rotation, rot.quat_identity((km.num_bodies,)))  # offsets only, as in BVH
    to_file = rot.quat_conjugate(axis_change("y", "z"))
    f = torch.tensor(frames, dtype=torch.float64)
    local = km.dof_to_rot(f[:, 6:].float()).double()
    conj = rot.quat_conjugate
    root = rot.quat_mul(rot.quat_mul(to_file, rot.exp_map_to_quat(f[:, 3:6])), conj(to_file))
    joints = rot.quat_mul(rot.quat_mul(to_file.expand_as(local), local), conj(to_file).expand_as(local))
    children = {b: [c for c in range(km.num_bodies) if int(km.parent_indices[c]) == b] for b in range(km.num_bodies)}
    lines = ["HIERARCHY"]

    def emit(b: int, depth: int) -> None:
        pad = "  " * depth
        offset = rot.quat_rotate(to_file, km.local_translation[b].double()) * 100
        lines.append(f"{pad}{'ROOT' if b == 0 else 'JOINT'} {km.body_names[b]}")
        lines.append(pad + "{")
        lines.append(f"{pad}  OFFSET {offset[0]:.6f} {offset[1]:.6f} {offset[2]:.6f}")
        position = "Xposition Yposition Zposition " if b == 0 else ""
        lines.append(f"{pad}  CHANNELS {6 if b == 0 else 3} {position}Zrotation Xrotation Yrotation")
        for c in children[b]:
            emit(c, depth + 1)
        lines.append(pad + "}")

    emit(0, 0)
    order = []

    def visit(b: int) -> None:
        order.append(b)
        for c in children[b]:
            visit(c)

    visit(0)
    root_pos = rot.quat_rotate(to_file.expand(len(f), 4), f[:, :3]) * 100
    columns = [root_pos, _euler_zxy_deg(root)] + [_euler_zxy_deg(joints[:, b - 1]) for b in order[1:]]
    values = torch.cat(columns, dim=-1)
    lines += ["MOTION", f"Frames: {len(f)}", "Frame Time: 0.0333333"]
    lines += [" ".join(f"{v:.6f}" for v in row) for row in values.tolist()]
    return "\n".join(lines) + "\n"


def test_humanoid_walk_round_trips_through_bvh(tmp_path):
    pytest.importorskip("mink")
    spec = importlib.util.spec_from_file_location("import_bvh", REPO_ROOT / "tools" / "import_bvh.py")
    tool = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(tool)
    km = load_mjcf_char_model(HUMANOID_XML)
    walk = load_motion(REPO_ROOT / "data/motions/humanoid/humanoid_walk.pkl").frames[:15].astype(np.float64)
    (tmp_path / "walk.bvh").write_text(write_humanoid_bvh(walk))
    bodies = "\n".join(f"  {b}: [{b}, 1.0, 0.5]" for b in km.body_names if b not in ("right_hand", "left_hand"))
    (tmp_path / "corr.yaml").write_text(f"target_char: {HUMANOID_XML}\nscale: 1.0\nfeet: [right_foot, left_foot]\n"
                                        f"posture_cost: 0.0001\niterations: 30\nbodies:\n{bodies}\n")
    out = tmp_path / "walk.pkl"
    assert tool.main(["--input_file", str(tmp_path / "walk.bvh"), "--config", str(tmp_path / "corr.yaml"),
                      "--output_file", str(out)]) == 0
    back = load_motion(out)
    assert back.fps == pytest.approx(30.0, rel=1e-5) and back.num_frames == 15

    def positions(frames):
        f = torch.tensor(frames, dtype=torch.float64)
        return km.forward_kinematics(f[:, :3], rot.exp_map_to_quat(f[:, 3:6]), km.dof_to_rot(f[:, 6:]))[0]

    gap = positions(back.frames) - positions(walk)
    gap[..., 2] -= gap[..., 2].mean()  # the importer stands the clip on the ground: one vertical shift
    assert gap.norm(dim=-1).max().item() * 1000 < 0.1  # mm (measured 1e-4)
    assert math.isfinite(float(back.frames.sum()))
