
import numpy as np
import pytest
import torch

from mimickit.anim.motion import LoopMode, Motion, MotionFileError, load_motion, save_motion
from mimickit.anim.motion_lib import MotionLib
from mimickit.util import rotations as rot
from mimickit.util.config import ConfigError

from ..conftest import REPO_ROOT

ALL_CLIPS = sorted((REPO_ROOT / "data/motions/humanoid").rglob("*.pkl"))
WALK = REPO_ROOT / "data/motions/humanoid/humanoid_walk.pkl"


def test_all_shipped_clips_load(humanoid):
    assert len(ALL_CLIPS) == 20
    for clip in ALL_CLIPS:
        lib = MotionLib(clip, humanoid)
        assert lib.num_motions == 1 and lib.total_length > 0.5


def test_dataset_yaml_weights_and_sampling(humanoid):
    lib = MotionLib(REPO_ROOT / "data/datasets/dataset_humanoid_locomotion.yaml", humanoid)
    assert lib.num_motions == 7
    assert torch.allclose(lib.weights, torch.tensor([3, 3, 1, 1, 1, 1, 1.0]) / 11)
    ids = lib.sample_motions(20000, generator=torch.Generator().manual_seed(0))
    freq = torch.bincount(ids, minlength=7).float() / 20000
    assert torch.allclose(freq, lib.weights, atol=0.015)
    t = lib.sample_time(ids, generator=torch.Generator().manual_seed(1))
    assert torch.all((t >= 0) & (t < lib.get_motion_length(ids)))


def test_frames_at_frame_times_reproduce_the_clip(humanoid):
    lib = MotionLib(WALK, humanoid)
    motion = load_motion(WALK)
    n = motion.num_frames
    times = torch.arange(n - 1, dtype=torch.float32) / motion.fps
    frame = lib.calc_motion_frame(torch.zeros(n - 1, dtype=torch.long), times)
    frames = torch.tensor(motion.frames[: n - 1])
    assert torch.allclose(frame.root_pos, frames[:, :3], atol=1e-5)
    assert torch.all(rot.quat_diff_angle(frame.root_rot, rot.exp_map_to_quat(frames[:, 3:6])) < 1e-3)
    assert torch.all(rot.quat_diff_angle(frame.joint_rot, humanoid.dof_to_rot(frames[:, 6:])) < 1e-3)


def test_interpolation_between_frames(humanoid):
    lib = MotionLib(WALK, humanoid)
    ids = torch.zeros(1, dtype=torch.long)
    dt = 1.0 / 30
    a = lib.calc_motion_frame(ids, torch.tensor([3 * dt]))
    b = lib.calc_motion_frame(ids, torch.tensor([4 * dt]))
    mid = lib.calc_motion_frame(ids, torch.tensor([3.5 * dt]))
    assert torch.allclose(mid.root_pos, 0.5 * (a.root_pos + b.root_pos), atol=1e-5)
    expected = rot.slerp(a.joint_rot, b.joint_rot, torch.full((1, 14), 0.5))
    assert torch.all(rot.quat_diff_angle(mid.joint_rot, expected) < 1e-3)
    # velocities are the finite differences of the interval that holds the query
    assert torch.allclose(mid.root_vel, (b.root_pos - a.root_pos) * 30, atol=1e-3)
    assert torch.allclose(mid.dof_vel, a.dof_vel)


def test_wrap_clip_accumulates_root_displacement_per_loop(humanoid):
    lib = MotionLib(WALK, humanoid)
    ids = torch.zeros(3, dtype=torch.long)
    length = lib.get_motion_length(ids[:1]).item()
    t = torch.tensor([0.3, 0.3 + length, 0.3 - length])
    frame = lib.calc_motion_frame(ids, t)
    motion = load_motion(WALK)
    delta = torch.tensor(motion.frames[-1, :3] - motion.frames[0, :3])
    delta[2] = 0
    assert torch.allclose(frame.root_pos[1] - frame.root_pos[0], delta, atol=1e-4)
    assert torch.allclose(frame.root_pos[0] - frame.root_pos[2], delta, atol=1e-4)
    assert torch.all(rot.quat_diff_angle(frame.joint_rot[0], frame.joint_rot[1]) < 1e-3)


def test_clamp_clip_holds_its_end_frames(humanoid, tmp_path):
    motion = load_motion(REPO_ROOT / "data/motions/humanoid/humanoid_kick.pkl")
    assert motion.loop_mode == LoopMode.CLAMP
    lib = MotionLib(REPO_ROOT / "data/motions/humanoid/humanoid_kick.pkl", humanoid)
    ids = torch.zeros(2, dtype=torch.long)
    frame = lib.calc_motion_frame(ids, torch.tensor([motion.length, motion.length + 5.0]))
    assert torch.allclose(frame.root_pos[0], frame.root_pos[1])
    assert torch.allclose(frame.root_pos[0], torch.tensor(motion.frames[-1, :3]), atol=1e-5)


def test_velocities_match_known_motion(humanoid, tmp_path):
    # a synthetic clip: root moving at 1 m/s along x and spinning at 0.5 rad/s about z, knee at 2 rad/s
    fps, n = 30.0, 31
    t = np.arange(n) / fps
    frames = np.zeros((n, 34), np.float32)
    frames[:, 0] = t
    frames[:, 2] = 0.9
    frames[:, 5] = 0.5 * t
    frames[:, 6 + 17] = 0.1 + 2.0 * t
    save_motion(tmp_path / "synthetic.pkl", Motion(LoopMode.CLAMP, fps, frames))
    lib = MotionLib(tmp_path / "synthetic.pkl", humanoid)
    frame = lib.calc_motion_frame(torch.zeros(4, dtype=torch.long), torch.tensor([0.0, 0.2, 0.55, 1.0]))
    assert torch.allclose(frame.root_vel, torch.tensor([1.0, 0, 0]).expand(4, 3), atol=1e-4)
    assert torch.allclose(frame.root_ang_vel, torch.tensor([0, 0, 0.5]).expand(4, 3), atol=1e-4)
    assert torch.allclose(frame.dof_vel[:, 17], torch.full((4,), 2.0), atol=1e-3)
    assert torch.allclose(frame.dof_vel[:, :17], torch.zeros(4, 17), atol=1e-4)


def test_batched_queries_over_many_clips(humanoid):
    lib = MotionLib(REPO_ROOT / "data/datasets/dataset_humanoid_locomotion.yaml", humanoid)
    ids = lib.sample_motions(4096)
    frame = lib.calc_motion_frame(ids, lib.sample_time(ids) * 3 - 1)
    assert frame.joint_rot.shape == (4096, 14, 4) and frame.dof_vel.shape == (4096, 28)
    assert torch.all(torch.isfinite(frame.root_pos))
    assert torch.allclose(frame.root_rot.norm(dim=-1), torch.ones(4096), atol=1e-5)


def test_frame_size_mismatch_names_file_and_sizes(humanoid, tmp_path):
    save_motion(tmp_path / "g1_clip.pkl", Motion(LoopMode.WRAP, 30.0, np.zeros((4, 35), np.float32)))
    with pytest.raises(MotionFileError, match=r"g1_clip\.pkl: frame size 35 .* expected 34 .*28 DoFs"):
        MotionLib(tmp_path / "g1_clip.pkl", humanoid)


@pytest.mark.parametrize("text, message", [
    ("motions: 3", "non-empty list"),
    ("motions:\n  - {file: a.pkl, weight: -1}", r"motions\[0\]\.weight"),
    ("motions:\n  - {file: a.pkl, wieght: 1}", "unknown key"),
    ("clips: []", "unknown key"),
    ("motions: [\n", "malformed yaml"),
])
def test_bad_dataset_yaml(humanoid, tmp_path, text, message):
    path = tmp_path / "dataset.yaml"
    path.write_text(text)
    with pytest.raises(ConfigError, match=message) as err:
        MotionLib(path, humanoid)
    assert "dataset.yaml" in str(err.value)


def test_mean_dof_pos_averages_each_clip_then_the_clips_by_weight(humanoid, tmp_path):
    # knee (DoF 17) ramps 0 -> 0.6 rad over 31 frames (mean 0.3) in one clip and holds 1.0 rad over 5 frames in the
    # other; weights 3 : 1 give 0.75 * 0.3 + 0.25 * 1.0 = 0.475 (pooling the 36 frames would give 0.397)
    ramp, hold = np.zeros((31, 34), np.float32), np.zeros((5, 34), np.float32)
    ramp[:, 2] = hold[:, 2] = 0.9
    ramp[:, 6 + 17] = np.linspace(0.0, 0.6, 31)
    hold[:, 6 + 17] = 1.0
    save_motion(tmp_path / "ramp.pkl", Motion(LoopMode.CLAMP, 30.0, ramp))
    save_motion(tmp_path / "hold.pkl", Motion(LoopMode.CLAMP, 30.0, hold))
    (tmp_path / "two.yaml").write_text(f"motions:\n  - {{file: {tmp_path / 'ramp.pkl'}, weight: 3.0}}\n"
                                       f"  - {{file: {tmp_path / 'hold.pkl'}, weight: 1.0}}\n")
    mean = MotionLib(tmp_path / "two.yaml", humanoid).mean_dof_pos
    assert mean.shape == (28,)
    assert float(mean[17]) == pytest.approx(0.475, abs=1e-5)
    assert torch.allclose(torch.cat([mean[:17], mean[18:]]), torch.zeros(27), atol=1e-6)
