"""Retargeting by IK: the humanoid's walk onto the G1 stays within joint limits, stands on the ground, follows
its targets; a correspondence naming an unknown body is refused."""

import re

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


@pytest.mark.parametrize("line, phrase", [("iterations: 0", "bad.yaml: iterations must be an integer >= 1, found 0"),
                                          ("posture_cost: cheap", "bad.yaml: posture_cost must be a number"),
                                          ("scale: -1.0", "bad.yaml: scale must be a number > 0 or auto, found -1.0"),
                                          ("iteratoins: 5", "iteratoins")])
def test_bad_config_values_are_refused_naming_the_key(tmp_path, line, phrase):
    bad = tmp_path / "bad.yaml"
    key = line.split(":")[0]
    text = CONFIG.read_text()
    replaced = re.sub(rf"(?m)^{key}:.*$", line, text)
    bad.write_text(replaced if replaced != text else text + f"\n{line}\n")
    with pytest.raises(ConfigError, match=re.escape(phrase)):
        Correspondence.from_yaml(bad)


def test_walk_onto_the_ball_jointed_smpl_humanoid():
    """Ball joints come back as exp-map DoFs: the clip's own forward kinematics puts the SMPL ankles and wrists
    where the scaled humanoid's are."""
    import torch

    from mimickit.anim.mjcf_loader import load_mjcf_char_model
    from mimickit.util import rotations as rot

    walk = load_motion(REPO_ROOT / "data/motions/humanoid/humanoid_walk.pkl")
    short = Motion(walk.loop_mode, walk.fps, walk.frames[:8])
    corr = Correspondence.from_yaml(REPO_ROOT / "data/retarget/humanoid_to_smpl.yaml")
    clip, report = retarget(short, corr)
    assert clip.frames.shape == (8, 6 + 69) and report.limit_violations == 0

    def fk(char, frames):
        km = load_mjcf_char_model(REPO_ROOT / char)
        f = torch.tensor(frames, dtype=torch.float64)
        pos, _ = km.forward_kinematics(f[:, :3], rot.exp_map_to_quat(f[:, 3:6]), km.dof_to_rot(f[:, 6:]))
        return km, pos

    smpl, smpl_pos = fk(corr.target_char, clip.frames)
    human, human_pos = fk(corr.source_char, short.frames)
    scale = smpl_pos[:, 0, 2].mean() / human_pos[:, 0, 2].mean()
    for target, source in (("L_Ankle", "left_foot"), ("R_Wrist", "right_hand")):
        gap = smpl_pos[:, smpl.get_body_id(target)] - human_pos[:, human.get_body_id(source)] * scale
        assert gap[:, :2].norm(dim=-1).max() < 0.08, target  # horizontal: the lift moves only z
    # the box feet's lowest corner touches the ground over the clip, never below it
    model = mujoco.MjModel.from_xml_path(str(REPO_ROOT / corr.target_char))
    data = mujoco.MjData(model)
    boxes = [g for g in range(model.ngeom) if model.geom_type[g] == mujoco.mjtGeom.mjGEOM_BOX]
    signs = np.array([[x, y, z] for x in (-1, 1) for y in (-1, 1) for z in (-1, 1)])
    lowest = []
    for frame in clip.frames:
        f = torch.tensor(frame, dtype=torch.float64)
        quats = rot.xyzw_to_wxyz(rot.exp_map_to_quat(f[3:].reshape(-1, 3)))
        data.qpos[:] = np.concatenate([frame[:3], quats.reshape(-1).numpy()])
        mujoco.mj_kinematics(model, data)
        lowest.append(min((data.geom_xpos[g] + (signs * model.geom_size[g]) @ data.geom_xmat[g].reshape(3, 3).T)[:, 2]
                          .min() for g in boxes))
    assert min(lowest) == pytest.approx(0.0, abs=1e-4)
