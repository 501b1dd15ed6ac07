import importlib.util
import json
import subprocess
import sys

import numpy as np
import pytest
import torch

from mimickit.anim.deepmimic_import import DeepMimicFormatError, convert_deepmimic_clip
from mimickit.anim.motion import LoopMode, load_motion
from mimickit.util import rotations as rot

from ..conftest import REPO_ROOT
from .source_fk import source_body_positions

SOURCE_DIR = REPO_ROOT / "tests/data/deepmimic"
TOOL = REPO_ROOT / "tools/import_deepmimic_motions.py"
CLIPS = REPO_ROOT / "data/motions/humanoid"


def load_tool():
    spec = importlib.util.spec_from_file_location("import_deepmimic_motions", TOOL)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def body_positions(humanoid, frames):
    f = torch.tensor(frames, dtype=torch.float64)
    pos, rots = humanoid.forward_kinematics(f[:, :3], rot.exp_map_to_quat(f[:, 3:6]), humanoid.dof_to_rot(f[:, 6:]))
    return pos, rots


@pytest.mark.parametrize("name", ["walk", "backflip"])
def test_converted_frames_reproduce_source_joint_positions(humanoid, name):
    text = (SOURCE_DIR / f"humanoid3d_{name}.txt").read_text()
    source = np.asarray(json.loads(text)["Frames"])
    motion = convert_deepmimic_clip(text, humanoid)
    assert motion.num_frames == len(source) and motion.loop_mode == LoopMode.WRAP
    ours, _ = body_positions(humanoid, motion.frames)
    for i, frame in enumerate(source):
        expected = source_body_positions(frame)
        expected = np.stack([expected[b] for b in humanoid.body_names])
        assert np.abs(ours[i].numpy() - expected).max() < 1e-5, f"frame {i}"


def test_uneven_frame_times_are_resampled(humanoid):
    text = (SOURCE_DIR / "humanoid3d_roll.txt").read_text()
    source = np.asarray(json.loads(text)["Frames"])
    assert np.ptp(source[:-1, 0]) > 0.01  # one frame lasts twice as long as the others
    motion = convert_deepmimic_clip(text, humanoid)
    assert motion.fps == 60.0
    assert motion.length == pytest.approx(source[:-1, 0].sum(), abs=1.0 / 60)
    ours, _ = body_positions(humanoid, motion.frames[[0, -1]])
    for k, src in enumerate([source[0], source[-1]]):
        expected = source_body_positions(src)
        assert np.abs(ours[k].numpy() - np.stack([expected[b] for b in humanoid.body_names])).max() < 1e-5


def test_rerunning_the_tool_reproduces_committed_clips(tmp_path):
    load_tool().main(["--src", str(SOURCE_DIR), "--out", str(tmp_path)])
    for name in ["walk", "backflip", "roll"]:
        produced = (tmp_path / f"humanoid_{name}.pkl").read_bytes()
        assert produced == (CLIPS / f"humanoid_{name}.pkl").read_bytes(), name


def test_tool_help_documents_usage():
    out = subprocess.run([sys.executable, str(TOOL), "--help"], capture_output=True, text=True, check=True).stdout
    assert "pip download" in out and "--src" in out and "pybullet" in out


def test_bad_source_is_refused(humanoid):
    with pytest.raises(DeepMimicFormatError, match=r"clip\.txt: field 'Frames'"):
        convert_deepmimic_clip('{"Loop": "wrap", "Frames": [[1, 2, 3]]}', humanoid, source="clip.txt")


FOOT_CORNERS = torch.tensor([[0.045 + sx * 0.0885, sy * 0.045, -0.05] for sx in (-1, 1) for sy in (-1, 1)],
                            dtype=torch.float64)


@pytest.mark.parametrize("clip", ["humanoid_walk.pkl", "humanoid_run.pkl", "walker/humanoid_walker_turn_left0.pkl"])
def test_feet_stay_on_the_ground_in_stance(humanoid, clip):
    motion = load_motion(CLIPS / clip)
    pos, rots = body_positions(humanoid, motion.frames)
    for foot in ("right_foot", "left_foot"):
        b = humanoid.get_body_id(foot)
        corners = pos[:, b, None] + rot.quat_rotate(rots[:, b, None].expand(-1, 4, -1), FOOT_CORNERS)
        lowest = corners[..., 2].min(dim=-1).values
        speed = (pos[1:, b, :2] - pos[:-1, b, :2]).norm(dim=-1) * motion.fps
        stance = torch.cat([speed < 0.5, torch.tensor([False])])
        assert stance.sum() >= 3, f"{foot} never stands still in {clip}"
        assert lowest[stance].abs().max() < 0.03, f"{foot} in {clip}: {lowest[stance]}"
