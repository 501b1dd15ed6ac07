#!/usr/bin/env python
"""Play a policy exported by ``mimickit export`` in plain MuJoCo, without MimicKit.

Depends only on numpy, mujoco and onnxruntime (and the standard library): one ``MjData`` steps the exported
scene (``policy.mjb``), observations are computed here from the sidecar's description (``policy.json``), the
reference clip is read from its ``.pkl`` with a restricted unpickler. For tracking policies it reports how
long episodes survive and the paper's position tracking error (Eq. 2) against the clip, the way MimicKit's
test mode does (random start time in the clip, deterministic actions, episodes end when a body other than
the allowed contact bodies touches the ground). This file is the template for running a policy in another
simulator or on hardware.

    python tools/sim2sim.py --policy policy.onnx --episodes 16
    python tools/sim2sim.py --policy policy.onnx --push_vel 1.0 --push_interval 1 3   # pushed about

With ``--randomize`` every episode scales friction, masses (and inertias), PD stiffness and damping and motor
force limits by factors drawn uniformly from the ranges the policy was trained with (the sidecar's env config,
``randomization``), or by ``--randomize_from`` another env yaml's. With ``--push_vel`` the robot is pushed at
random times (every ``--push_interval`` seconds, drawn uniformly): its root's horizontal velocity changes by up
to ``--push_vel`` m/s in a random direction, as the env's training pushes, and the summary adds how many pushes
the episodes received and how many falls followed (falls per push).
The report adds the policy's action smoothness: mean |a_t - a_(t-1)| per control step.

Every exported policy plays: tracking policies (DeepMimic, ADD) and AMP report e_pos against their clip; an ASE
skill policy (sidecar ``latent``) gets a random unit latent held for ``U(hold_seconds)`` s at a time and reports
how long it stays up; a high-level controller (sidecar ``high_level``) chains its two ONNX files (the task
policy picks a latent every ``llc_steps`` control steps, the skill policy acts on it) and reports its task
figure (location: mean distance to the target and the share of targets reached; steering: mean speed error).
Clips of a dataset (``.yaml``) are drawn per episode by weight.
"""

from __future__ import annotations

import argparse
import io
import json
import math
import pickle
import sys
from pathlib import Path

import mujoco
import numpy as np


class Sim2SimError(Exception):
    """Input this tool cannot play (a missing or corrupt file, a sidecar without a field, a clip of another
    character); ``main`` prints it as one line and exits with code 2."""


# ---------------------------------------------------------------------------------- quaternions (x, y, z, w)


def quat_mul(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    ax, ay, az, aw = np.moveaxis(a, -1, 0)
    bx, by, bz, bw = np.moveaxis(b, -1, 0)
    return np.stack([aw * bx + ax * bw + ay * bz - az * by, aw * by - ax * bz + ay * bw + az * bx,
                     aw * bz + ax * by - ay * bx + az * bw, aw * bw - ax * bx - ay * by - az * bz], axis=-1)


def quat_conj(q: np.ndarray) -> np.ndarray:
    return q * np.array([-1.0, -1.0, -1.0, 1.0])


def quat_rotate(q: np.ndarray, v: np.ndarray) -> np.ndarray:
    u, w = q[..., :3], q[..., 3:]
    t = 2.0 * np.cross(u, v)
    return v + w * t + np.cross(u, t)


def quat_from_exp_map(e: np.ndarray) -> np.ndarray:
    angle = np.linalg.norm(e, axis=-1, keepdims=True)
    scale = np.where(angle > 1e-6, np.sin(0.5 * angle) / np.maximum(angle, 1e-6), 0.5 - angle ** 2 / 48.0)
    return np.concatenate([e * scale, np.cos(0.5 * angle)], axis=-1)


def quat_to_exp_map(q: np.ndarray) -> np.ndarray:
    q = np.where(q[..., 3:] < 0, -q, q)
    s = np.linalg.norm(q[..., :3], axis=-1, keepdims=True)
    angle = 2.0 * np.arctan2(s, q[..., 3:])
    scale = np.where(s > 1e-6, angle / np.maximum(s, 1e-6), 2.0 / np.maximum(q[..., 3:], 0.5))
    return q[..., :3] * scale


def quat_axis_angle(axis: np.ndarray, angle: np.ndarray) -> np.ndarray:
    return np.concatenate([axis * np.sin(0.5 * angle)[..., None], np.cos(0.5 * angle)[..., None]], axis=-1)


def slerp(q0: np.ndarray, q1: np.ndarray, t: float) -> np.ndarray:
    cos_half = np.sum(q0 * q1, axis=-1, keepdims=True)
    q1 = np.where(cos_half < 0, -q1, q1)
    half = np.arccos(np.clip(np.abs(cos_half), 0.0, 1.0))
    sin_half = np.sin(half)
    near = sin_half < 1e-4
    safe = np.where(near, 1.0, sin_half)
    w0 = np.where(near, 1.0 - t, np.sin((1.0 - t) * half) / safe)
    w1 = np.where(near, t, np.sin(t * half) / safe)
    q = w0 * q0 + w1 * q1
    return q / np.linalg.norm(q, axis=-1, keepdims=True)


def heading_inv(q: np.ndarray) -> np.ndarray:
    x, y, z, w = q
    heading = math.atan2(2 * (x * y + w * z), 1 - 2 * (y * y + z * z))
    return np.array([0.0, 0.0, math.sin(-0.5 * heading), math.cos(-0.5 * heading)])


def tan_norm(q: np.ndarray) -> np.ndarray:
    x, y, z, w = np.moveaxis(q, -1, 0)
    return np.stack([1 - 2 * (y * y + z * z), 2 * (x * y + w * z), 2 * (x * z - w * y),
                     2 * (x * z + w * y), 2 * (y * z - w * x), 1 - 2 * (x * x + y * y)], axis=-1)


def wxyz_to_xyzw(q: np.ndarray) -> np.ndarray:
    return np.concatenate([q[..., 1:], q[..., :1]], axis=-1)


# ----------------------------------------------------------------------------------------------- the clip


class _ArraysOnly(pickle.Unpickler):
    """Rebuilds numbers, strings, containers and numpy arrays; refuses anything else."""

    def find_class(self, module: str, name: str):
        allowed = {"ndarray", "dtype", "_reconstruct", "scalar", "_frombuffer"}
        if module.startswith("numpy") and name in allowed:
            renamed = (module.replace("numpy.core", "numpy._core"), module.replace("numpy._core", "numpy.core"))
            for candidate in (module, *renamed):
                try:
                    return getattr(__import__(candidate, fromlist=[name]), name)
                except (ImportError, AttributeError):
                    continue
        if (module, name) == ("_codecs", "encode"):
            import codecs

            return codecs.encode
        raise pickle.UnpicklingError(f"refused to load {module}.{name}")


class Clip:
    """A MimicKit clip (root position, root exp map, DoFs per frame) with MotionLib's interpolation."""

    def __init__(self, path: str, joints: list[dict]) -> None:
        try:
            data = _ArraysOnly(io.BytesIO(Path(path).read_bytes())).load()
            frames = np.asarray(data["frames"], dtype=np.float64)
            self.fps, self.wrap = float(data["fps"]), int(data["loop_mode"]) == 1
        except OSError as err:
            raise Sim2SimError(f"{path}: cannot read the clip ({err.strerror})") from None
        except (pickle.UnpicklingError, EOFError, ValueError, TypeError, KeyError) as err:
            raise Sim2SimError(f"{path}: not a MimicKit clip ({type(err).__name__}: {err})") from None
        expected = 6 + sum(j["dof_dim"] for j in joints)
        if frames.ndim != 2 or frames.shape[0] < 2 or frames.shape[1] != expected:
            raise Sim2SimError(f"{path}: frames of shape {list(frames.shape)}, but the exported character needs at "
                               f"least 2 frames of {expected} values (a clip of another character?)")
        if not (np.isfinite(frames).all() and math.isfinite(self.fps) and self.fps > 0):
            raise Sim2SimError(f"{path}: the clip holds a non-finite frame value or fps {self.fps} (needs > 0)")
        self.num_frames = frames.shape[0]
        self.length = (self.num_frames - 1) / self.fps
        self.joints = joints
        self.root_pos = frames[:, :3]
        self.root_rot = quat_from_exp_map(frames[:, 3:6])
        self.joint_rot = np.stack([self._joint_quat(frames[:, 6:], j) for j in joints], axis=1)
        delta = self.root_pos[-1] - self.root_pos[0]
        self.wrap_delta = np.array([delta[0], delta[1], 0.0]) if self.wrap else np.zeros(3)

    @staticmethod
    def _joint_quat(dofs: np.ndarray, joint: dict) -> np.ndarray:
        s = slice(joint["dof_idx"], joint["dof_idx"] + joint["dof_dim"])
        if joint["type"] == "spherical":
            return quat_from_exp_map(dofs[:, s])
        if joint["type"] == "hinge":
            return quat_axis_angle(np.asarray(joint["axis"]), dofs[:, s][:, 0])
        return np.tile([0.0, 0.0, 0.0, 1.0], (dofs.shape[0], 1))

    def _index(self, t: float) -> tuple[int, int, float]:
        phase = t / max(self.length, 1e-6)
        phase = phase - math.floor(phase) if self.wrap else phase
        f = min(max(phase, 0.0), 1.0) * (self.num_frames - 1)
        i0 = min(math.floor(f), self.num_frames - 1)
        return i0, min(i0 + 1, self.num_frames - 1), min(max(f - i0, 0.0), 1.0)

    def pose(self, t: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Root position, root rotation and joint rotations ``[J, 4]`` at time ``t`` [s]."""
        i0, i1, b = self._index(t)
        loops = math.floor(t / max(self.length, 1e-6))
        root_pos = (1 - b) * self.root_pos[i0] + b * self.root_pos[i1] + loops * self.wrap_delta
        return (root_pos, slerp(self.root_rot[i0], self.root_rot[i1], b),
                slerp(self.joint_rot[i0], self.joint_rot[i1], b))

    def velocities(self, t: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Forward-difference root velocity, root angular velocity (world) and joint angular velocities
        (child-local, ``[J, 3]``) of the frame interval holding ``t``."""
        i0, _, _ = self._index(t)
        i0 = min(i0, self.num_frames - 2)
        i1 = i0 + 1
        root_vel = (self.root_pos[i1] - self.root_pos[i0]) * self.fps
        root_ang = quat_to_exp_map(quat_mul(self.root_rot[i1], quat_conj(self.root_rot[i0]))) * self.fps
        joint_ang = quat_to_exp_map(quat_mul(quat_conj(self.joint_rot[i0]), self.joint_rot[i1])) * self.fps
        return root_vel, root_ang, joint_ang


# ------------------------------------------------------------------------------------------- the character


class Character:
    """Reads and writes the character's state in an ``MjData`` through the sidecar's index layout."""

    def __init__(self, layout: dict) -> None:
        self.bodies = np.asarray(layout["body_ids"])
        self.rq, self.rv = layout["root_qpos_adr"], layout["root_qvel_adr"]
        self.joints = layout["joints"]
        self.dof_size = sum(j["dof_dim"] for j in self.joints)
        self.actuator_dof = np.asarray(layout["actuator_dof"])
        self.contact_adr = np.asarray(layout["ground_force_sensor_adr"])

    def root(self, d: mujoco.MjData) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        rot = wxyz_to_xyzw(d.qpos[self.rq + 3:self.rq + 7])
        rot = rot / np.linalg.norm(rot)
        return (d.qpos[self.rq:self.rq + 3].copy(), rot, d.qvel[self.rv:self.rv + 3].copy(),
                quat_rotate(rot, d.qvel[self.rv + 3:self.rv + 6]))

    def joint_rot(self, d: mujoco.MjData) -> np.ndarray:
        out = []
        for j in self.joints:
            if j["type"] == "spherical":
                q = wxyz_to_xyzw(d.qpos[j["qpos_adr"]:j["qpos_adr"] + 4])
                out.append(q / np.linalg.norm(q))
            elif j["type"] == "hinge":
                out.append(quat_axis_angle(np.asarray(j["axis"]), np.asarray(d.qpos[j["qpos_adr"]])))
            else:
                out.append(np.array([0.0, 0.0, 0.0, 1.0]))
        return np.stack(out)

    def dof_vel(self, d: mujoco.MjData) -> np.ndarray:
        return np.concatenate([d.qvel[j["qvel_adr"]:j["qvel_adr"] + j["dof_dim"]] for j in self.joints if j["dof_dim"]])

    def dofs_of(self, joint_rot: np.ndarray) -> np.ndarray:
        """DoF positions of joint rotations ``[J, 4]`` (exp maps; hinge twist angles)."""
        out = []
        for j, q in zip(self.joints, joint_rot, strict=True):
            if j["type"] == "spherical":
                out.append(quat_to_exp_map(q))
            elif j["type"] == "hinge":
                axis = np.asarray(j["axis"])
                out.append(np.array([2.0 * math.atan2(float(q[:3] @ axis), float(q[3]))]))
                out[-1] = (out[-1] + math.pi) % (2 * math.pi) - math.pi
        return np.concatenate(out)

    def set_state(self, d: mujoco.MjData, root_pos, root_rot, joint_rot, root_vel, root_ang_vel, joint_ang) -> None:
        d.qpos[self.rq:self.rq + 3] = root_pos
        d.qpos[self.rq + 3:self.rq + 7] = np.concatenate([root_rot[3:], root_rot[:3]])
        d.qvel[self.rv:self.rv + 3] = root_vel
        d.qvel[self.rv + 3:self.rv + 6] = quat_rotate(quat_conj(root_rot), root_ang_vel)
        for j, q, w in zip(self.joints, joint_rot, joint_ang, strict=True):
            if j["type"] == "spherical":
                d.qpos[j["qpos_adr"]:j["qpos_adr"] + 4] = np.concatenate([q[3:], q[:3]])
                d.qvel[j["qvel_adr"]:j["qvel_adr"] + 3] = w
            elif j["type"] == "hinge":
                d.qpos[j["qpos_adr"]] = 2.0 * math.atan2(float(q[:3] @ np.asarray(j["axis"])), float(q[3]))
                d.qvel[j["qvel_adr"]] = float(w @ np.asarray(j["axis"]))


def body_positions(model: mujoco.MjModel, scratch: mujoco.MjData, char: Character, root_pos, root_rot,
                   joint_rot) -> np.ndarray:
    """World body-origin positions ``[B, 3]`` of a pose (MuJoCo's kinematics on a scratch ``MjData``)."""
    char.set_state(scratch, root_pos, root_rot, joint_rot, np.zeros(3), np.zeros(3), np.zeros((len(joint_rot), 3)))
    mujoco.mj_kinematics(model, scratch)
    return scratch.xpos[char.bodies].copy()


# ----------------------------------------------------------------------------------------- observations


def char_obs(root_pos, root_rot, root_vel, root_ang_vel, joint_rot, dof_vel, key_pos, global_obs, height) -> np.ndarray:
    rel_key = key_pos - root_pos
    rot_obs, vel, ang = root_rot, root_vel, root_ang_vel
    if not global_obs:
        h = heading_inv(root_rot)
        rot_obs, vel, ang, rel_key = quat_mul(h, root_rot), quat_rotate(h, root_vel), quat_rotate(h, root_ang_vel), \
            quat_rotate(h, rel_key)
    parts = ([root_pos[2:3]] if height else []) + [tan_norm(rot_obs), vel, ang, tan_norm(joint_rot).ravel(), dof_vel,
                                                   rel_key.ravel()]
    return np.concatenate(parts)


def target_obs(char_root_pos, frames, global_obs, height) -> np.ndarray:
    """Future reference frames ``[(root_pos, root_rot, joint_rot, key_pos)]`` as MimicKit encodes them."""
    out = []
    h = None if global_obs else heading_inv(frames[0][1])
    for root_pos, root_rot, joint_rot, key_pos in frames:
        rel_key = key_pos - root_pos
        if global_obs:
            rel_root, rot_obs = root_pos - char_root_pos, root_rot
        else:
            rel_root, rot_obs = quat_rotate(h, root_pos - frames[0][0]), quat_mul(h, root_rot)
            rel_key = quat_rotate(h, rel_key)
        rel_root = np.concatenate([rel_root[:2], root_pos[2:3]]) if height else rel_root[:2]
        out.append(np.concatenate([rel_root, tan_norm(rot_obs), tan_norm(joint_rot).ravel(), rel_key.ravel()]))
    return np.concatenate(out)


def robot_char_obs(root_pos, root_rot, root_ang_vel, joint_rot, dof_vel, key_pos) -> np.ndarray:
    """What a robot measures: gravity's direction and the angular velocity in the root frame, joints, key bodies
    relative to the root in the root frame (MimicKit's ``robot_obs``)."""
    inv = quat_conj(root_rot)
    return np.concatenate([quat_rotate(inv, np.array([0.0, 0.0, -1.0])), quat_rotate(inv, root_ang_vel),
                           tan_norm(joint_rot).ravel(), dof_vel, quat_rotate(inv, key_pos - root_pos).ravel()])


def robot_target_obs(root_rot, frames) -> np.ndarray:
    """Future reference frames relative to the robot: reference root rotation relative to the robot's, reference
    joints, reference key bodies in the reference root frame."""
    out = []
    for root_pos, tar_rot, joint_rot, key_pos in frames:
        rel_key = quat_rotate(quat_conj(tar_rot), key_pos - root_pos)
        out.append(np.concatenate([tan_norm(quat_mul(quat_conj(root_rot), tar_rot)), tan_norm(joint_rot).ravel(),
                                   rel_key.ravel()]))
    return np.concatenate(out)


def phase_obs(phase: float, num_encoding: int) -> np.ndarray:
    freqs = 2.0 * math.pi * 2.0 ** np.arange(num_encoding)
    return np.concatenate([[phase], np.sin(phase * freqs), np.cos(phase * freqs)])


# ------------------------------------------------------------------------------------------------ playing


class Sim2Sim:
    """An exported tracking policy in one ``MjData``."""

    def __init__(self, policy: str, motion_file: str | None = None) -> None:
        sidecar = Path(policy).with_suffix(".json")
        try:
            self.spec = json.loads(sidecar.read_text())
        except OSError as err:
            raise Sim2SimError(f"{sidecar}: cannot read the sidecar that mimickit export writes beside the .onnx "
                               f"({err.strerror})") from None
        except json.JSONDecodeError as err:
            raise Sim2SimError(f"{sidecar}: not valid JSON ({err})") from None
        try:
            self._setup(policy, motion_file)
        except KeyError as err:
            raise Sim2SimError(f"{sidecar}: the sidecar has no field {err}; re-export the policy with mimickit "
                               f"export") from None

    def _setup(self, policy: str, motion_file: str | None) -> None:
        import onnxruntime

        mj = self.spec["mujoco"]
        scene = Path(policy).parent / mj["model_file"]
        try:
            self.model = mujoco.MjModel.from_binary_path(str(scene))
        except (ValueError, OSError) as err:
            reason = " ".join(str(err).split())
            raise Sim2SimError(f"{scene}: cannot load the exported MuJoCo scene ({reason})") from None
        self.data, self.scratch = mujoco.MjData(self.model), mujoco.MjData(self.model)
        self.char = Character(mj)
        self.session = _onnx_session(onnxruntime, str(policy))
        high = self.spec.get("high_level")
        self.low_level = None  # a high-level controller's skill policy and the slice of the observation it reads
        if high is not None:
            self.low_level = _onnx_session(onnxruntime, str(Path(policy).parent / high["low_level_model"]))
            part = high["low_level_inputs"]["obs"]
            self.low_level_obs = slice(part["start"], part["start"] + part["size"])
            self.llc_steps = int(high["llc_steps"])
            self.latent_dim = int(high["action"]["dim"])
        elif "latent" in self.spec:
            self.latent_dim = int(self.spec["latent"]["dim"])
            self.latent_hold = [float(x) for x in self.spec["latent"].get("hold_seconds", [0.0, 5.0])]
        else:
            self.latent_dim = 0
        self.skill = "latent" in self.spec and high is None  # a skill policy on its own: latents drawn here
        self.follows_clip = not self.skill and high is None  # e_pos against the clip means something
        env = self.spec["env_config"]
        names = self.spec["character"]["body_names"]
        self.key_ids = [names.index(n) for n in env.get("key_bodies", [])]
        allowed = {names.index(n) for n in env.get("contact_bodies", [])}
        self.forbidden = np.array([i not in allowed for i in range(len(names))])
        self.contact_check = bool(allowed) and bool(env.get("enable_early_termination", True))
        self.global_obs, self.height = bool(env["global_obs"]), bool(env.get("root_height_obs", True))
        self.robot_obs = bool(self.spec["observation"].get("robot_obs", False))
        self.history_steps = int(self.spec["observation"].get("obs_history", 0))
        self._history: np.ndarray | None = None  # [history_steps, char size]: the earlier char terms, newest first
        self.tar_steps = env.get("tar_obs_steps", [1]) if env.get("enable_tar_obs", False) else []
        self.phase = int(env.get("num_phase_encoding", 0)) if env.get("enable_phase_obs", True) else None
        rates = self.spec["rates"]
        self.dt = 1.0 / rates["control_freq"]
        self.substeps = round(rates["sim_freq"] / rates["control_freq"])
        self.episode_length = float(env["episode_length"])
        self.clips, self.clip_weights = load_clips(str(motion_file or env["motion_file"]), self.char.joints)
        self.clip = self.clips[0]
        self.task = self._task(env)
        self.low, self.high = np.asarray(self.spec["action"]["low"]), np.asarray(self.spec["action"]["high"])
        self.residual = bool(self.spec["action"]["residual_action"])

    def _ref(self, t: float) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        root_pos, root_rot, joint_rot = self.clip.pose(t)
        bodies = body_positions(self.model, self.scratch, self.char, root_pos, root_rot, joint_rot)
        return root_pos, root_rot, joint_rot, bodies

    def observe(self, t: float) -> np.ndarray:
        """The policy's observation at clip time ``t``; call it once per control step (it keeps the history of
        the character term that ``obs_history`` asks for)."""
        d, c = self.data, self.char
        root_pos, root_rot, root_vel, root_ang = c.root(d)
        key_pos = d.xpos[c.bodies[self.key_ids]]
        if self.robot_obs:
            parts = [robot_char_obs(root_pos, root_rot, root_ang, c.joint_rot(d), c.dof_vel(d), key_pos)]
        else:
            parts = [char_obs(root_pos, root_rot, root_vel, root_ang, c.joint_rot(d), c.dof_vel(d), key_pos,
                              self.global_obs, self.height)]
        if self.phase is not None:
            phase = t / max(self.clip.length, 1e-6)
            phase = phase - math.floor(phase) if self.clip.wrap else phase
            parts.append(phase_obs(min(max(phase, 0.0), 1.0), self.phase))
        if self.tar_steps:
            frames = []
            for k in self.tar_steps:
                rp, rr, jr, bodies = self._ref(t + k * self.dt)
                frames.append((rp, rr, jr, bodies[self.key_ids]))
            parts.append(robot_target_obs(root_rot, frames) if self.robot_obs
                         else target_obs(root_pos, frames, self.global_obs, self.height))
        if self.task is not None:
            parts.append(self.task.observe(root_pos, root_rot))
        if self.history_steps:  # an episode's first observation fills the history; each call then pushes one
            char = parts[0]
            history = np.repeat(char[None], self.history_steps, 0) if self._history is None else self._history
            parts.append(history.reshape(-1))
            self._history = np.concatenate([char[None], history[:-1]])
        return np.concatenate(parts).astype(np.float32)

    def _task(self, env: dict) -> Task | None:
        """The task of a task env's policy (location or steering), None for a tracking / style policy."""
        name = env.get("env_name")
        if name == "task_location":
            return LocationTask(env)
        if name == "task_steering":
            return SteeringTask(env)
        if any(part["name"] == "task" for part in self.spec["observation"]["layout"]):
            raise Sim2SimError(f"the policy observes the task of env {name!r}; sim2sim knows task_location and "
                               f"task_steering")
        return None

    def randomize(self, rng: np.random.Generator, ranges: dict) -> dict[str, float]:
        """Scale this episode's physics from the nominal model by factors drawn in ``ranges`` ([min, max] per
        property: friction, mass, kp, kd, strength; missing ones stay nominal) and shift the root's centre of
        mass by up to ``ranges["com_offset"]`` m per axis; returns the factors."""
        m = self.model
        if not hasattr(self, "_nominal"):
            self._nominal = {name: getattr(m, name).copy() for name in
                             ("geom_friction", "body_mass", "body_inertia", "actuator_gainprm", "actuator_biasprm",
                              "actuator_forcerange", "body_ipos")}
        nominal = self._nominal
        f = {key: float(rng.uniform(*ranges.get(key, [1.0, 1.0]))) for key in ("friction", "mass", "kp", "kd",
                                                                             "strength")}
        m.geom_friction[:, 0] = nominal["geom_friction"][:, 0] * f["friction"]
        m.body_mass[:] = nominal["body_mass"] * f["mass"]
        m.body_inertia[:] = nominal["body_inertia"] * f["mass"]
        m.actuator_gainprm[:, 0] = nominal["actuator_gainprm"][:, 0] * f["kp"]
        m.actuator_biasprm[:, 1] = nominal["actuator_biasprm"][:, 1] * f["kp"]
        m.actuator_biasprm[:, 2] = nominal["actuator_biasprm"][:, 2] * f["kd"]
        m.actuator_forcerange[:] = nominal["actuator_forcerange"] * f["strength"]
        root = int(self.char.bodies[0])
        offset = rng.uniform(-1.0, 1.0, 3) * float(ranges.get("com_offset", 0.0))  # the root's centre of mass, m
        m.body_ipos[:] = nominal["body_ipos"]
        m.body_ipos[root] += offset
        return f

    def reset(self, t0: float) -> None:
        mujoco.mj_resetData(self.model, self.data)
        self._history = None
        root_pos, root_rot, joint_rot = self.clip.pose(t0)
        root_vel, root_ang, joint_ang = self.clip.velocities(t0)
        self.char.set_state(self.data, root_pos, root_rot, joint_rot, root_vel, root_ang, joint_ang)
        mujoco.mj_forward(self.model, self.data)

    def act(self, obs: np.ndarray, latent: np.ndarray | None = None) -> np.ndarray:
        """The action of the policy (a skill policy: for ``latent``; a high-level controller: its skill policy's for
        ``latent``, the latent it chose)."""
        if self.low_level is not None:
            inputs = {"obs": obs[None, self.low_level_obs], "latent": latent[None].astype(np.float32)}
            return self.low_level.run(["action"], inputs)[0][0].astype(np.float64)
        inputs = {"obs": obs[None]} if latent is None else {"obs": obs[None], "latent": latent[None].astype(np.float32)}
        return self.session.run(["action"], inputs)[0][0].astype(np.float64)

    def choose_latent(self, obs: np.ndarray) -> np.ndarray:
        """A high-level controller's latent for ``obs``: its action normalised to unit length."""
        z = self.session.run(["action"], {"obs": obs[None]})[0][0].astype(np.float64)
        return z / max(float(np.linalg.norm(z)), 1e-6)

    def step(self, t: float, obs: np.ndarray, latent: np.ndarray | None = None) -> np.ndarray:
        """Apply the policy's action for one control step; returns the (clipped) action."""
        action = self.act(obs, latent)
        action = np.clip(action, self.low, self.high)
        target = action + (self.char.dofs_of(self.clip.pose(t + self.dt)[2]) if self.residual else 0.0)
        self.data.ctrl[:] = target[self.char.actuator_dof]
        for _ in range(self.substeps):
            mujoco.mj_step(self.model, self.data)
        # body positions of the new state (sensor readings stay those of the last substep, as in MimicKit)
        mujoco.mj_kinematics(self.model, self.data)
        return action

    def push(self, rng: np.random.Generator, push_vel: float) -> None:
        """Add a horizontal root velocity change drawn uniformly in the disc of radius ``push_vel`` [m/s]."""
        angle, radius = rng.uniform(0.0, 2.0 * math.pi), push_vel * math.sqrt(rng.uniform())
        self.data.qvel[0] += radius * math.cos(angle)  # the root's free joint: world linear velocity first
        self.data.qvel[1] += radius * math.sin(angle)

    def fell(self) -> bool:
        if not self.contact_check:
            return False
        forces = np.abs(self.data.sensordata[self.char.contact_adr[:, None] + np.arange(3)]).max(axis=1)
        return bool((forces[self.forbidden] > 0.1).any())

    def episode(self, t0: float, rng: np.random.Generator | None = None, push_vel: float = 0.0,
                push_interval: tuple[float, float] = (1.0, 3.0),
                physics_ranges: dict[str, list[float]] | None = None) -> tuple[float, float, float, dict]:
        """One test episode from clip time ``t0`` (of this episode's clip, :meth:`draw_clip`): (seconds survived,
        mean Eq. 2 position error [m] against the clip, mean |a_t - a_(t-1)|, the task's figures); with
        ``push_vel`` > 0 the root is pushed every ``U(push_interval)`` seconds and the figures add ``pushes`` (how
        many it received before the episode ended), with ``physics_ranges`` the physics is scaled for the episode
        (:meth:`randomize`)."""
        rng = rng if rng is not None else np.random.default_rng(0)
        if physics_ranges is not None:
            self.randomize(rng, physics_ranges)
        self.reset(t0)
        if self.task is not None:
            self.task.reset(rng, self.char.root(self.data)[0])
        steps, errors, deltas = round(self.episode_length / self.dt), [], []
        next_push = rng.uniform(*push_interval) if push_vel > 0 else math.inf
        previous, latent, next_latent, pushes = None, None, 0.0, 0
        for k in range(steps):
            t = t0 + k * self.dt
            if k * self.dt >= next_push:
                self.push(rng, push_vel)
                pushes += 1
                next_push += rng.uniform(*push_interval)
            obs = self.observe(t)
            if self.low_level is not None and k % self.llc_steps == 0:
                latent = self.choose_latent(obs)
            elif self.skill and k * self.dt >= next_latent:
                latent = random_latent(rng, self.latent_dim)
                next_latent = k * self.dt + rng.uniform(*self.latent_hold)
            root_xy = self.char.root(self.data)[0][:2]
            action = self.step(t, obs, latent)
            if self.task is not None:
                self.task.after_step(rng, self.char.root(self.data)[0], root_xy, (k + 1) * self.dt, self.dt)
            if previous is not None:
                deltas.append(float(np.abs(action - previous).mean()))
            previous = action
            ref_bodies = self._ref(t + self.dt)[3]
            sim = self.data.xpos[self.char.bodies]
            rel = (ref_bodies[1:] - ref_bodies[:1]) - (sim[1:] - sim[:1])
            errors.append((np.linalg.norm(rel, axis=-1).sum() + np.linalg.norm(ref_bodies[0] - sim[0])) / len(sim))
            if self.fell():
                steps = k + 1
                break
        figures = self.task.figures() if self.task is not None else {}
        if push_vel > 0:
            figures["pushes"] = float(pushes)
        return steps * self.dt, float(np.mean(errors)), float(np.mean(deltas)) if deltas else 0.0, figures

    def draw_clip(self, rng: np.random.Generator) -> float:
        """Pick this episode's clip by the dataset's weights (the one clip of a ``.pkl``); returns a start time drawn
        uniformly in it."""
        self.clip = self.clips[int(rng.choice(len(self.clips), p=self.clip_weights))] if len(self.clips) > 1 \
            else self.clips[0]
        return float(rng.uniform(0.0, self.clip.length))


def random_latent(rng: np.random.Generator, dim: int) -> np.ndarray:
    """A skill latent drawn uniformly on the unit sphere (as the ASE agent draws them)."""
    z = rng.standard_normal(dim)
    return z / max(float(np.linalg.norm(z)), 1e-6)


def _onnx_session(onnxruntime, path: str):
    try:
        return onnxruntime.InferenceSession(path)
    except Exception as err:  # onnxruntime raises its own types for a missing, empty or corrupt file
        reason = " ".join(str(err).split())[:200]
        raise Sim2SimError(f"{path}: not a readable ONNX policy ({reason})") from None


def load_clips(path: str, joints: list[dict]) -> tuple[list[Clip], np.ndarray]:
    """The clip of a ``.pkl``, or every clip of a dataset ``.yaml`` (``motions: [{file, weight}]``) with its
    sampling weights normalised."""
    if not path.endswith((".yaml", ".yml")):
        return [Clip(path, joints)], np.ones(1)
    try:
        import yaml

        motions = (yaml.safe_load(Path(path).read_text()) or {})["motions"]
        files = [str(m["file"]) for m in motions]
        weights = np.array([float(m.get("weight", 1.0)) for m in motions])
    except (OSError, ImportError, ValueError, KeyError, TypeError) as err:
        raise Sim2SimError(f"{path}: cannot read the dataset's motions ({type(err).__name__}: {err})") from None
    if not files or (weights < 0).any() or weights.sum() <= 0:
        raise Sim2SimError(f"{path}: a dataset needs at least one motion and positive weights")
    return [Clip(f, joints) for f in files], weights / weights.sum()


# ---------------------------------------------------------------------------------------------------- tasks


class Task:
    """A task env's target as MimicKit's task envs draw it: redrawn at reset and every
    ``U(tar_change_time_min, tar_change_time_max)`` s; observed in the root's heading frame."""

    def __init__(self, env: dict) -> None:
        self.change_time = (float(env["tar_change_time_min"]), float(env["tar_change_time_max"]))

    def reset(self, rng: np.random.Generator, root_pos: np.ndarray) -> None:
        self.next_change = 0.0
        self._figures: dict[str, list[float]] = {}
        self._change(rng, root_pos, 0.0, fresh=True)

    def _change(self, rng: np.random.Generator, root_pos: np.ndarray, time: float, fresh: bool = False) -> None:
        self.resample(rng, root_pos, fresh)
        self.next_change = time + rng.uniform(*self.change_time)

    def after_step(self, rng: np.random.Generator, root_pos: np.ndarray, prev_root_xy: np.ndarray, time: float,
                   dt: float) -> None:
        self.record(root_pos, prev_root_xy, dt)
        if time >= self.next_change:
            self._change(rng, root_pos, time)

    def resample(self, rng: np.random.Generator, root_pos: np.ndarray, fresh: bool) -> None:
        raise NotImplementedError

    def observe(self, root_pos: np.ndarray, root_rot: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    def record(self, root_pos: np.ndarray, prev_root_xy: np.ndarray, dt: float) -> None:
        raise NotImplementedError

    def figures(self) -> dict[str, float]:
        return {name: float(np.mean(values)) for name, values in self._figures.items()}


class LocationTask(Task):
    """Walk to a ground target ``U(tar_dist_min, tar_dist_max)`` m away in a uniform direction; figures: the mean
    ground distance to the target [m] and the share of targets reached (within ``success_dist`` m)."""

    def __init__(self, env: dict) -> None:
        super().__init__(env)
        self.dist = (float(env.get("tar_dist_min", 0.0)), float(env["tar_dist_max"]))
        self.success_dist = float(env.get("success_dist", 0.5))

    def resample(self, rng: np.random.Generator, root_pos: np.ndarray, fresh: bool) -> None:
        dist, angle = rng.uniform(*self.dist), rng.uniform(0.0, 2.0 * math.pi)
        self.tar_xy = root_pos[:2] + dist * np.array([math.cos(angle), math.sin(angle)])
        self._figures.setdefault("targets", []).append(0.0)

    def observe(self, root_pos: np.ndarray, root_rot: np.ndarray) -> np.ndarray:
        delta = np.array([*(self.tar_xy - root_pos[:2]), 0.0])
        return quat_rotate(heading_inv(root_rot), delta)[:2]

    def record(self, root_pos: np.ndarray, prev_root_xy: np.ndarray, dt: float) -> None:
        dist = float(np.linalg.norm(self.tar_xy - root_pos[:2]))
        self._figures.setdefault("location_dist", []).append(dist)
        if dist < self.success_dist:
            self._figures["targets"][-1] = 1.0

    def figures(self) -> dict[str, float]:
        out = super().figures()
        out["location_success"] = out.pop("targets")
        return out


class SteeringTask(Task):
    """Move in a direction at a speed while facing a direction (both uniform angles, speed
    ``U(tar_speed_min, tar_speed_max)`` m/s); figure: the mean |target velocity - ground velocity| [m/s]."""

    def __init__(self, env: dict) -> None:
        super().__init__(env)
        self.rand_dir, self.rand_face = bool(env.get("rand_tar_dir", True)), bool(env.get("rand_face_dir", True))
        self.speed = (float(env["tar_speed_min"]), float(env["tar_speed_max"]))

    def resample(self, rng: np.random.Generator, root_pos: np.ndarray, fresh: bool) -> None:
        angle = rng.uniform(-math.pi, math.pi) if self.rand_dir else 0.0
        face = rng.uniform(-math.pi, math.pi) if self.rand_face else angle
        self.tar_dir = np.array([math.cos(angle), math.sin(angle)])
        self.face_dir = np.array([math.cos(face), math.sin(face)])
        self.tar_speed = rng.uniform(*self.speed)

    def observe(self, root_pos: np.ndarray, root_rot: np.ndarray) -> np.ndarray:
        h = heading_inv(root_rot)
        local_dir = quat_rotate(h, np.array([*self.tar_dir, 0.0]))[:2]
        local_face = quat_rotate(h, np.array([*self.face_dir, 0.0]))[:2]
        return np.concatenate([local_dir, [self.tar_speed], local_face])

    def record(self, root_pos: np.ndarray, prev_root_xy: np.ndarray, dt: float) -> None:
        vel = (root_pos[:2] - prev_root_xy) / dt
        self._figures.setdefault("steering_vel_err", []).append(float(np.linalg.norm(self.tar_speed * self.tar_dir
                                                                                     - vel)))


PHYSICS_KEYS = ("friction", "mass", "kp", "kd", "strength")


def physics_ranges(spec: dict, env_yaml: str = "") -> dict:
    """The [min, max] physics scales of the policy's training (its sidecar's env config) or of ``env_yaml``."""
    if env_yaml:
        try:
            import yaml

            config = yaml.safe_load(Path(env_yaml).read_text()) or {}
        except (OSError, ImportError, ValueError) as err:
            raise Sim2SimError(f"{env_yaml}: cannot read its randomization ({err})") from None
    else:
        config = spec.get("env_config", {})
    randomization = config.get("randomization") or {}
    found: dict = {k: [float(x) for x in v] for k, v in randomization.items()
                   if k in PHYSICS_KEYS and [float(x) for x in v] != [1.0, 1.0]}  # only the scales that vary
    if float(randomization.get("com_offset", 0.0)) > 0:
        found["com_offset"] = float(randomization["com_offset"])
    if not found:
        where = env_yaml or "the policy's sidecar"
        raise Sim2SimError(f"{where}: no physics randomization ranges (randomization.{'/'.join(PHYSICS_KEYS)})")
    return found


def _main(argv: list[str] | None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--policy", required=True, help="the .onnx written by mimickit export (.json/.mjb beside it)")
    parser.add_argument("--motion_file", default="", help="the clip (default: the one the sidecar names)")
    parser.add_argument("--episodes", type=int, default=16)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--push_vel", type=float, default=0.0, help="largest push (root velocity change), m/s")
    parser.add_argument("--push_interval", type=float, nargs=2, default=[1.0, 3.0], metavar=("MIN", "MAX"),
                        help="seconds between pushes, drawn uniformly")
    parser.add_argument("--randomize", action="store_true", help="scale the physics per episode within the ranges "
                        "the policy was trained with (or --randomize_from's)")
    parser.add_argument("--randomize_from", default="", help="an env yaml whose randomization ranges to use")
    cli = parser.parse_args(argv)
    if cli.episodes < 1:
        print(f"error: --episodes must be >= 1, found {cli.episodes}", file=sys.stderr)
        return 2
    if cli.push_vel < 0 or not 0 < cli.push_interval[0] <= cli.push_interval[1]:
        print(f"error: --push_vel must be >= 0 and --push_interval 0 < MIN <= MAX, found {cli.push_vel} and "
              f"{cli.push_interval}", file=sys.stderr)
        return 2
    try:
        sim = Sim2Sim(cli.policy, cli.motion_file or None)
    except Sim2SimError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    ranges = None
    if cli.randomize or cli.randomize_from:
        try:
            ranges = physics_ranges(sim.spec, cli.randomize_from)
        except Sim2SimError as err:
            print(f"error: {err}", file=sys.stderr)
            return 2
    rng = np.random.default_rng(cli.seed)
    results = [sim.episode(sim.draw_clip(rng), rng, cli.push_vel, tuple(cli.push_interval), ranges)
               for _ in range(cli.episodes)]
    survival = np.array([r[0] for r in results])
    to_the_end = survival >= sim.episode_length - 1e-6
    e_pos = np.array([r[1] for r in results])
    pushed = f", pushed up to {cli.push_vel:g} m/s" if cli.push_vel > 0 else ""
    if cli.push_vel > 0:  # each push a trial: the share of pushes an episode's fall followed
        falls, pushes = int(np.sum(~to_the_end)), sum(r[3].pop("pushes") for r in results)
        pushed += f" ({pushes:.0f} pushes, {falls} falls: {falls / max(pushes, 1.0):.3f} falls per push)"
    pushed += f", physics randomised within {ranges}" if ranges is not None else ""
    print(f"{cli.episodes} episodes{pushed}: survived {survival.mean():.2f} of {sim.episode_length:.1f} s "
          f"({100 * np.mean(to_the_end):.0f}% to the end), "
          + (f"e_pos {e_pos.mean():.4f} +- {e_pos.std():.4f} m, " if sim.follows_clip else "")
          + f"action change {np.mean([r[2] for r in results]):.4f} per step"
          + "".join(f", {name} {np.mean([r[3][name] for r in results]):.3f}" for name in results[0][3]))
    return 0


def main(argv: list[str] | None = None) -> int:
    """The command line: exit code 0, 2 on input it cannot play, 130 on Ctrl-C (one line, no traceback)."""
    try:
        return _main(argv)
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
