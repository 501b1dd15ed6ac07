"""Retargeting by IK: the humanoid's walk onto the G1 stays within joint limits, stands on the ground, follows
its targets; a correspondence naming an unknown body is refused."""

import mujoco
import numpy as np
import pytest

from mimickit.anim.motion import Motion, load_motion
from mimickit.util.config import ConfigError

from ..conftest import REPO_ROOT

pytest.importorskip("mink")

from mimickit.anim.retarget import Correspondence, retarget

CONFIG = REPO_ROOT / "data/retarget/humanoid_to_g1.yaml"


def test_walk_onto_g1():
    walk = load_motion(REPO_ROOT / "data/motions/humanoid/humanoid_walk.pkl")
    short = Motion(walk.loop_mode, walk.fps, walk.frames[:12])
    clip, report = retarget(short, Correspondence.from_yaml(CONFIG))
    assert clip.frames.shape == (12, 6 + 29) and clip.fps == walk.fps
    assert report.limit_violations == 0 and report.target_error_cm < 10.0
    model = mujoco.MjModel.from_xml_path(str(REPO_ROOT / "data/assets/g1/g1.xml"))
    data = mujoco.MjData(model)
    feet = [g for g in range(model.ngeom) if model.body(int(model.geom_bodyid[g])).name.endswith("ankle_roll_link")]
    lowest = []
    for frame in clip.frames:
        data.qpos[:3] = frame[:3]
        angle = np.linalg.norm(frame[3:6])
        axis = frame[3:6] / max(angle, 1e-9)
        data.qpos[3:7] = [np.cos(angle / 2), *(axis * np.sin(angle / 2))]
        data.qpos[7:] = frame[6:]
        mujoco.mj_kinematics(model, data)
        lowest.append(min(data.geom_xpos[g, 2] - model.geom_size[g, 0]
                          - abs(data.geom_xmat[g].reshape(3, 3)[2, 2]) * model.geom_size[g, 1] for g in feet))
    assert min(lowest) == pytest.approx(0.0, abs=2e-3)  # feet on the ground, not in it
    assert 0.6 < clip.frames[:, 2].mean() < 0.85  # a G1-sized pelvis height


def test_unknown_body_is_refused(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text(CONFIG.read_text().replace("left_shin", "left_shinbone"))
    walk = load_motion(REPO_ROOT / "data/motions/humanoid/humanoid_walk.pkl")
    with pytest.raises(ConfigError, match="no body 'left_shinbone'"):
        retarget(walk, Correspondence.from_yaml(bad))
