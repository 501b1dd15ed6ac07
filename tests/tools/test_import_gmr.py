"""The GMR importer: a clip exported to GMR's layout comes back unchanged, resampling interpolates, and bad
input (wrong DoF count, a pickle that runs code) gets a clear error."""

import importlib.util
import os
import pickle

import numpy as np
import torch

from mimickit.anim.motion import load_motion
from mimickit.util import rotations as rot

from ..conftest import REPO_ROOT

spec = importlib.util.spec_from_file_location("import_gmr", REPO_ROOT / "tools" / "import_gmr.py")
gmr = importlib.util.module_from_spec(spec)
spec.loader.exec_module(gmr)

G1_WALK = REPO_ROOT / "data/motions/g1/g1_walk.pkl"


def gmr_file(tmp_path, frames, fps):
    root_rot = rot.exp_map_to_quat(torch.tensor(frames[:, 3:6], dtype=torch.float64)).numpy()
    path = tmp_path / "walk_gmr.pkl"
    path.write_bytes(pickle.dumps({"fps": fps, "root_pos": frames[:, :3], "root_rot": root_rot,
                                   "dof_pos": frames[:, 6:], "link_body_list": ["pelvis"]}))
    return path


def test_round_trip_and_resampling(tmp_path):
    clip = load_motion(G1_WALK)
    src = gmr_file(tmp_path, clip.frames.astype(np.float64), clip.fps)
    out = tmp_path / "back.pkl"
    assert gmr.main(["--input_file", str(src), "--output_file", str(out), "--char_file",
                     str(REPO_ROOT / "data/assets/g1/g1.xml")]) == 0
    back = load_motion(out)
    assert back.fps == clip.fps and np.abs(back.frames - clip.frames).max() < 1e-5
    out60 = tmp_path / "back60.pkl"
    assert gmr.main(["--input_file", str(src), "--output_file", str(out60), "--output_fps", "60"]) == 0
    fine = load_motion(out60)
    assert fine.fps == 60 and fine.num_frames == 2 * clip.num_frames - 1
    assert np.allclose(fine.frames[1, 6:], 0.5 * (clip.frames[0, 6:] + clip.frames[1, 6:]), atol=1e-5)
    assert np.allclose(fine.frames[::2], clip.frames, atol=1e-5)


def test_bad_input_is_named(tmp_path, capsys):
    clip = load_motion(G1_WALK)
    src = gmr_file(tmp_path, clip.frames[:, :-2].astype(np.float64), clip.fps)  # 27 DoFs, not 29
    assert gmr.main(["--input_file", str(src), "--output_file", str(tmp_path / "x.pkl"), "--char_file",
                     str(REPO_ROOT / "data/assets/g1/g1.xml")]) == 2
    assert "27 values per frame" in capsys.readouterr().err

    class Evil:
        def __reduce__(self):
            return (os.system, ("echo pwned",))

    evil = tmp_path / "evil.pkl"
    evil.write_bytes(pickle.dumps({"fps": 30, "root_pos": Evil()}))
    assert gmr.main(["--input_file", str(evil), "--output_file", str(tmp_path / "y.pkl")]) == 2
    assert "refused" in capsys.readouterr().err
    assert not (tmp_path / "y.pkl").exists()


def test_missing_field_is_named(tmp_path, capsys):
    path = tmp_path / "partial.pkl"
    path.write_bytes(pickle.dumps({"fps": 30, "root_pos": np.zeros((2, 3))}))
    assert gmr.main(["--input_file", str(path), "--output_file", str(tmp_path / "z.pkl")]) == 2
    assert "missing field 'root_rot'" in capsys.readouterr().err


def test_a_zero_rate_or_a_nan_writes_nothing_and_keeps_the_old_output(tmp_path, capsys):
    clip = load_motion(G1_WALK)
    out = tmp_path / "out.pkl"
    out.write_bytes(b"previous clip")
    src = gmr_file(tmp_path, clip.frames.astype(np.float64), 0.0)
    assert gmr.main(["--input_file", str(src), "--output_file", str(out), "--output_fps", "60"]) == 2
    assert "field 'fps' must be a frame rate > 0, found 0.0" in capsys.readouterr().err
    frames = clip.frames.astype(np.float64)
    frames[4, 10] = np.nan
    src = gmr_file(tmp_path, frames, clip.fps)
    assert gmr.main(["--input_file", str(src), "--output_file", str(out)]) == 2
    assert "field 'dof_pos' has a non-finite value in frame 4" in capsys.readouterr().err
    assert out.read_bytes() == b"previous clip" and [p.name for p in tmp_path.iterdir() if p.name != src.name] == [
        "out.pkl"]
