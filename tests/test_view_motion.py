"""The motion viewer renders clips headless into a GIF (needs OSMesa or EGL: apt-get install libosmesa6)."""

import ctypes.util
import os

import numpy as np
import pytest

from mimickit.run import main

HEADLESS_GL = os.environ.get("MUJOCO_GL") in ("osmesa", "egl") or bool(os.environ.get("DISPLAY"))


@pytest.mark.skipif(not HEADLESS_GL and not ctypes.util.find_library("OSMesa"),
                    reason="no OpenGL backend: apt-get install libosmesa6 (CI installs it)")
def test_view_motion_writes_a_video_of_the_clip(tmp_path):
    from PIL import Image

    code = main(["--arg_file", "args/view_motion_humanoid_args.txt", "--num_envs", "1", "--test_episodes", "1",
                 "--video", "true", "--out_dir", str(tmp_path)])
    assert code == 0
    gif = Image.open(tmp_path / "video.gif")
    assert gif.n_frames >= 30  # one looping walk episode at 30 frames/s
    gif.seek(gif.n_frames // 2)
    frame = np.asarray(gif.convert("RGB")).astype(float)
    assert frame.std() > 10.0  # a rendered scene, not a blank image
