import os
import pickle

import numpy as np
import pytest

from mimickit.anim.motion import LoopMode, Motion, MotionFileError, load_motion, save_motion


def write_pickle(path, obj, protocol=4):
    path.write_bytes(pickle.dumps(obj, protocol=protocol))
    return path


class _TouchFile:
    """Unpickling this would create a file (a stand-in for arbitrary code)."""

    def __init__(self, target):
        self.target = target

    def __reduce__(self):
        return (os.system, (f"touch {self.target}",))


def test_round_trip(tmp_path):
    frames = np.random.default_rng(0).normal(size=(5, 34)).astype(np.float32)
    save_motion(tmp_path / "clip.pkl", Motion(LoopMode.WRAP, 30.0, frames))
    motion = load_motion(tmp_path / "clip.pkl")
    assert motion.loop_mode == LoopMode.WRAP and motion.fps == 30.0
    assert np.array_equal(motion.frames, frames)
    assert motion.length == pytest.approx(4 / 30)


@pytest.mark.parametrize("protocol", [2, 4, 5])
def test_original_format_with_numpy_arrays_and_scalars_loads(tmp_path, protocol):
    # clips written by other tools may hold numpy arrays and numpy scalars instead of lists
    clip = {"loop_mode": np.int64(0), "fps": np.float64(60.0), "frames": np.zeros((3, 34), np.float64)}
    motion = load_motion(write_pickle(tmp_path / "np.pkl", clip, protocol))
    assert motion.loop_mode == LoopMode.CLAMP and motion.frames.dtype == np.float32


def test_malicious_pickle_is_refused_and_not_executed(tmp_path):
    marker = tmp_path / "pwned"
    path = write_pickle(tmp_path / "evil.pkl", {"loop_mode": 1, "fps": 30, "frames": _TouchFile(marker)})
    with pytest.raises(MotionFileError, match=r"evil\.pkl.*refused to load 'posix\.system'"):
        load_motion(path)
    assert not marker.exists()


def test_pickled_class_instance_is_refused(tmp_path):
    path = write_pickle(tmp_path / "obj.pkl", {"loop_mode": 1, "fps": 30, "frames": LoopMode.WRAP})
    with pytest.raises(MotionFileError, match="refused to load"):
        load_motion(path)


@pytest.mark.parametrize("clip, field", [
    ({"fps": 30, "frames": [[0.0] * 34]}, "missing field 'loop_mode'"),
    ({"loop_mode": 3, "fps": 30, "frames": [[0.0] * 34]}, "'loop_mode' must be 0"),
    ({"loop_mode": 1, "fps": -1, "frames": [[0.0] * 34]}, "'fps' must be positive"),
    ({"loop_mode": 1, "fps": 30, "frames": [[0.0] * 3]}, "'frames' must have shape"),
    ({"loop_mode": 1, "fps": 30, "frames": [["a"] * 34]}, "'frames' must be a numeric"),
    ({"loop_mode": 1, "fps": 30, "frames": [[float("nan")] * 34]}, "non-finite value in frame 0"),
    ([1, 2, 3], "expected a dict"),
])
def test_bad_fields_are_named(tmp_path, clip, field):
    with pytest.raises(MotionFileError, match=field) as err:
        load_motion(write_pickle(tmp_path / "bad.pkl", clip))
    assert "bad.pkl" in str(err.value)


def test_truncated_and_missing_files(tmp_path):
    good = pickle.dumps({"loop_mode": 1, "fps": 30, "frames": [[0.0] * 34] * 3})
    (tmp_path / "cut.pkl").write_bytes(good[: len(good) // 2])
    with pytest.raises(MotionFileError, match=r"cut\.pkl"):
        load_motion(tmp_path / "cut.pkl")
    with pytest.raises(MotionFileError, match="not found"):
        load_motion(tmp_path / "absent.pkl")
