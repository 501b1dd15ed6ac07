"""An independent forward kinematics of the DeepMimic source clip format (Y-up, arms-down rest pose).

Written from the format description only (numpy, rotation matrices), to check the converter: it shares
no code with ``mimickit``. Offsets are the pybullet humanoid URDF's, scaled to metres, in Y-up.
"""

from __future__ import annotations

import numpy as np

# body (our name) -> (parent, offset in the parent's Y-up frame [m], source column, kind)
SOURCE_TREE = {
    "pelvis": (None, (0, 0, 0), None, None),
    "torso": ("pelvis", (0, 0.236151, 0), 8, "quat"),
    "head": ("torso", (0, 0.223894, 0), 12, "quat"),
    "right_thigh": ("pelvis", (0, 0, 0.084887), 16, "quat"),
    "right_shin": ("right_thigh", (0, -0.421546, 0), 20, "angle"),
    "right_foot": ("right_shin", (0, -0.409870, 0), 21, "quat"),
    "right_upper_arm": ("torso", (-0.02405, 0.2435, 0.18311), 25, "quat"),
    "right_lower_arm": ("right_upper_arm", (0, -0.274788, 0), 29, "angle"),
    "right_hand": ("right_lower_arm", (0, -0.258947, 0), None, None),
    "left_thigh": ("pelvis", (0, 0, -0.084887), 30, "quat"),
    "left_shin": ("left_thigh", (0, -0.421546, 0), 34, "angle"),
    "left_foot": ("left_shin", (0, -0.409870, 0), 35, "quat"),
    "left_upper_arm": ("torso", (-0.02405, 0.2435, -0.18311), 39, "quat"),
    "left_lower_arm": ("left_upper_arm", (0, -0.274788, 0), 43, "angle"),
    "left_hand": ("left_lower_arm", (0, -0.258947, 0), None, None),
}


def _quat_wxyz_to_matrix(q: np.ndarray) -> np.ndarray:
    w, x, y, z = q / np.linalg.norm(q)
    return np.array([
        [1 - 2 * (y * y + z * z), 2 * (x * y - w * z), 2 * (x * z + w * y)],
        [2 * (x * y + w * z), 1 - 2 * (x * x + z * z), 2 * (y * z - w * x)],
        [2 * (x * z - w * y), 2 * (y * z + w * x), 1 - 2 * (x * x + y * y)],
    ])


def _rot_z(angle: float) -> np.ndarray:
    c, s = np.cos(angle), np.sin(angle)
    return np.array([[c, -s, 0], [s, c, 0], [0, 0, 1]])


def source_body_positions(frame: np.ndarray) -> dict[str, np.ndarray]:
    """World positions (Z-up, metres) of every body origin for one 44-value source frame."""
    pos, mat = {}, {}
    for body, (parent, offset, col, kind) in SOURCE_TREE.items():
        if parent is None:
            pos[body] = frame[1:4].copy()
            mat[body] = _quat_wxyz_to_matrix(frame[4:8])
            continue
        local = np.eye(3)
        if kind == "quat":
            local = _quat_wxyz_to_matrix(frame[col:col + 4])
        elif kind == "angle":
            local = _rot_z(frame[col])  # revolute joints turn about the URDF z axis
        pos[body] = pos[parent] + mat[parent] @ np.asarray(offset, dtype=float)
        mat[body] = mat[parent] @ local
    # Y-up -> Z-up: (x, y, z) -> (x, -z, y)
    return {b: np.array([p[0], -p[2], p[1]]) for b, p in pos.items()}
