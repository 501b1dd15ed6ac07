"""A library of motion clips queried in batches on a torch device.

All frames of all clips are concatenated into flat tensors; per-clip metadata (first frame index, frame
count, fps, length, loop mode, weight) are tensors too, so every query is a handful of gathers whose
cost does not depend on the number of clips.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from mimickit.anim.kin_char_model import KinCharModel
from mimickit.anim.motion import LoopMode, Motion, MotionFileError, load_motion
from mimickit.util import rotations as rot
from mimickit.util.config import ConfigError, check_keys, load_yaml
from mimickit.util.paths import resolve_path


@dataclass
class MotionFrame:
    """Reference state of a batch of ``n`` queries (world frame; DoF velocities child-local)."""

    root_pos: torch.Tensor  # [n, 3] m
    root_rot: torch.Tensor  # [n, 4] xyzw
    root_vel: torch.Tensor  # [n, 3] m/s
    root_ang_vel: torch.Tensor  # [n, 3] rad/s
    joint_rot: torch.Tensor  # [n, B-1, 4]
    dof_vel: torch.Tensor  # [n, D] rad/s


def read_motion_list(motion_file: str | Path) -> list[tuple[Path, float]]:
    """Clips and weights named by ``motion_file``: a ``.pkl`` clip (weight 1) or a dataset yaml
    ``{motions: [{file: ..., weight: ...}, ...]}``."""
    path = Path(motion_file)
    if path.suffix not in (".yaml", ".yml"):
        return [(resolve_path(path), 1.0)]
    config = load_yaml(path)
    check_keys(config, ["motions"], str(path), required=["motions"])
    entries = config["motions"]
    if not isinstance(entries, list) or not entries:
        raise ConfigError(f"{path}: field 'motions' must be a non-empty list of {{file, weight}} entries")
    clips = []
    for i, entry in enumerate(entries):
        if not isinstance(entry, dict):
            raise ConfigError(f"{path}: motions[{i}] must be a mapping with 'file' and 'weight'")
        check_keys(entry, ["file", "weight"], f"{path}: motions[{i}]", required=["file"])
        weight = entry.get("weight", 1.0)
        if not isinstance(weight, (int, float)) or weight < 0 or not np.isfinite(weight):
            raise ConfigError(f"{path}: motions[{i}].weight must be a number >= 0, found {weight!r}")
        clips.append((resolve_path(entry["file"]), float(weight)))
    if sum(w for _, w in clips) <= 0:
        raise ConfigError(f"{path}: the clip weights sum to 0")
    return clips


class MotionLib:
    """Clips for one character, with weighted sampling and interpolated frame queries.

    Args:
        motion_file: a ``.pkl`` clip or a dataset ``.yaml``.
        kin_char_model: the character the clips animate (defines the frame size ``6 + D``).
        device: torch device for all tensors.

    ``mean_dof_pos`` ``[D]`` is the clips' mean DoF position (each clip's frames averaged, then the clips by
    their file weights; rad, exp-map components for ball joints).
    """

    def __init__(self, motion_file: str | Path, kin_char_model: KinCharModel,
                 device: torch.device | str = "cpu") -> None:
        self.device = torch.device(device)
        self.kin_char_model = kin_char_model.to(self.device)
        clips = read_motion_list(motion_file)
        self.motion_files = [str(p) for p, _ in clips]
        motions = [self._load_checked(p) for p, _ in clips]
        self._build(motions, [w for _, w in clips])

    def _load_checked(self, path: Path) -> Motion:
        motion = load_motion(path)
        expected = 6 + self.kin_char_model.dof_size
        found = motion.frames.shape[1]
        if found != expected:
            raise MotionFileError(f"{path}: frame size {found} does not match the character: expected {expected} "
                                  f"(6 root values + {self.kin_char_model.dof_size} DoFs)")
        return motion

    def _build(self, motions: list[Motion], weights: list[float]) -> None:
        dev = self.device
        km = self.kin_char_model
        frames = torch.tensor(np.concatenate([m.frames for m in motions]), dtype=torch.float32, device=dev)
        self._root_pos = frames[:, 0:3].contiguous()
        self._root_rot = rot.quat_normalize(rot.exp_map_to_quat(frames[:, 3:6]))
        self._joint_rot = rot.quat_normalize(km.dof_to_rot(frames[:, 6:]))

        num_frames = [m.num_frames for m in motions]
        self._num_frames = torch.tensor(num_frames, dtype=torch.long, device=dev)
        self._start_idx = torch.cumsum(self._num_frames, 0) - self._num_frames
        self._fps = torch.tensor([m.fps for m in motions], dtype=torch.float32, device=dev)
        self._length = torch.tensor([m.length for m in motions], dtype=torch.float32, device=dev)
        self._loop_mode = torch.tensor([int(m.loop_mode) for m in motions], dtype=torch.long, device=dev)
        w = torch.tensor(weights, dtype=torch.float32, device=dev)
        self._weights = w / w.sum()
        clip_of_frame = torch.repeat_interleave(torch.arange(len(motions), device=dev), self._num_frames)
        frame_w = (self._weights / self._num_frames)[clip_of_frame]
        self.mean_dof_pos = (frame_w[:, None] * km.rot_to_dof(self._joint_rot)).sum(0)

        # Forward-difference velocities: frame i holds the mean velocity over [t_i, t_i+1]. The last frame
        # of each clip copies the one before it (which also drops the meaningless cross-clip difference).
        frame_fps = torch.repeat_interleave(self._fps, self._num_frames)[:, None]
        nxt = torch.arange(1, frames.shape[0] + 1, device=dev).clamp(max=frames.shape[0] - 1)
        self._root_vel = (self._root_pos[nxt] - self._root_pos) * frame_fps
        self._root_ang_vel = rot.quat_to_exp_map(rot.quat_diff(self._root_rot, self._root_rot[nxt])) * frame_fps
        self._dof_vel = km.compute_dof_vel(self._joint_rot, self._joint_rot[nxt], 1.0) * frame_fps
        last = self._start_idx + self._num_frames - 1
        prev = torch.where(self._num_frames > 1, last - 1, last)
        for buf in (self._root_vel, self._root_ang_vel, self._dof_vel):
            buf[last] = buf[prev]
            buf[last[self._num_frames == 1]] = 0.0

        # Horizontal root displacement per loop of a WRAP clip, added once per completed loop.
        delta = self._root_pos[last] - self._root_pos[self._start_idx]
        delta[:, 2] = 0.0
        self._wrap_delta = torch.where((self._loop_mode == LoopMode.WRAP)[:, None], delta, torch.zeros_like(delta))

    # ---------------------------------------------------------------------------------- properties
    @property
    def num_motions(self) -> int:
        return int(self._num_frames.shape[0])

    @property
    def total_length(self) -> float:
        """Summed duration of all clips [s]."""
        return float(self._length.sum())

    @property
    def weights(self) -> torch.Tensor:
        """Normalised sampling probability per clip ``[M]``."""
        return self._weights

    def get_motion_length(self, motion_ids: torch.Tensor) -> torch.Tensor:
        return self._length[motion_ids]

    def get_motion_loop_mode(self, motion_ids: torch.Tensor) -> torch.Tensor:
        return self._loop_mode[motion_ids]

    def sample_only(self, motion_ids: torch.Tensor) -> None:
        """Sample only ``motion_ids`` from now on (their weights renormalised; e.g. one worker's share)."""
        keep = torch.zeros_like(self._weights, dtype=torch.bool)
        keep[motion_ids.to(self.device)] = True
        weights = torch.where(keep, self._weights, torch.zeros_like(self._weights))
        if float(weights.sum()) <= 0:
            raise ValueError("sample_only needs at least one clip with a positive weight")
        self._weights = weights / weights.sum()

    # ------------------------------------------------------------------------------------- sampling
    def sample_motions(self, n: int, generator: torch.Generator | None = None) -> torch.Tensor:
        """``n`` clip ids drawn with replacement by weight."""
        return torch.multinomial(self._weights, n, replacement=True, generator=generator)

    def sample_time(self, motion_ids: torch.Tensor, truncate_time: float = 0.0,
                    generator: torch.Generator | None = None) -> torch.Tensor:
        """Uniform times [s] in ``[0, length - truncate_time)`` for each clip id."""
        u = torch.rand(motion_ids.shape, device=self.device, generator=generator)
        return u * (self._length[motion_ids] - truncate_time).clamp_min(0.0)

    # -------------------------------------------------------------------------------------- queries
    def calc_motion_phase(self, motion_ids: torch.Tensor, times: torch.Tensor) -> torch.Tensor:
        """Phase in [0, 1]: wraps for WRAP clips, clamps (holding the end frames) for CLAMP clips."""
        length = self._length[motion_ids]
        phase = times / length.clamp_min(1e-6)
        wrap = self._loop_mode[motion_ids] == int(LoopMode.WRAP)
        phase = torch.where(wrap, phase - torch.floor(phase), phase)
        return phase.clamp(0.0, 1.0)

    def calc_motion_frame(self, motion_ids: torch.Tensor, times: torch.Tensor) -> MotionFrame:
        """Reference state of clips ``motion_ids [n]`` at ``times [n]`` seconds.

        Positions are linearly interpolated and rotations slerped between the two neighbouring frames;
        velocities are those of the interval containing the query. A WRAP clip's root position carries
        one horizontal loop displacement per completed loop (also for negative times).
        """
        num_frames = self._num_frames[motion_ids]
        phase = self.calc_motion_phase(motion_ids, times)
        f = phase * (num_frames - 1).to(phase.dtype)
        i0 = torch.floor(f).long().clamp(max=(num_frames - 1).clamp_min(0))
        i1 = torch.minimum(i0 + 1, num_frames - 1)
        blend = (f - i0.to(f.dtype)).clamp(0.0, 1.0)
        start = self._start_idx[motion_ids]
        g0, g1 = start + i0, start + i1

        loops = torch.floor(times / self._length[motion_ids].clamp_min(1e-6))
        root_pos = torch.lerp(self._root_pos[g0], self._root_pos[g1], blend[:, None])
        root_pos = root_pos + loops[:, None] * self._wrap_delta[motion_ids]
        root_rot = rot.slerp(self._root_rot[g0], self._root_rot[g1], blend)
        joint_rot = rot.slerp(self._joint_rot[g0], self._joint_rot[g1],
                              blend[:, None].expand(-1, self._joint_rot.shape[1]))
        return MotionFrame(root_pos, root_rot, self._root_vel[g0], self._root_ang_vel[g0], joint_rot,
                           self._dof_vel[g0])
