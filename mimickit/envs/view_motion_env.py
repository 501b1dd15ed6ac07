"""Kinematic playback of motion clips (no physics acting on the character): the data-checking tool."""

from __future__ import annotations

from typing import Any

import torch

from mimickit.anim.motion import LoopMode
from mimickit.anim.motion_lib import MotionLib
from mimickit.engines.engine import ENGINE_SCHEMA
from mimickit.envs.base_env import DoneFlags
from mimickit.envs.char_env import CHAR_ENV_SCHEMA, CharEnv
from mimickit.util.schema import Field

VIEW_MOTION_SCHEMA: dict[str, Field] = {
    **CHAR_ENV_SCHEMA, "global_obs": Field(bool, False, "unused: playback observes nothing"),
    "motion_file": Field(str, help="clip (.pkl) or dataset (.yaml) to play")}


class ViewMotionEnv(CharEnv):
    """Env ``i`` plays clip ``i mod M`` of ``motion_file`` from its start at real speed; actions are ignored.

    The engine runs with control mode ``none`` and one substep per frame; after every step the character is
    put back onto the clip, so what is rendered is exactly the clip. An episode lasts one clip length
    (clamped clips) or ``episode_length`` seconds (looping clips).
    """

    SCHEMA = VIEW_MOTION_SCHEMA
    VIDEO_ENVS = 16  # a dataset's clips side by side (env i plays clip i mod M)

    def __init__(self, config: dict[str, Any], engine_config: dict[str, Any], num_envs: int, *args, **kwargs) -> None:
        engine_config = {**engine_config, "control_mode": "none",
                         "sim_freq": engine_config.get("control_freq", ENGINE_SCHEMA["control_freq"].default)}
        super().__init__(config, engine_config, num_envs, *args, **kwargs)

    def _build_task(self) -> None:
        self.motion_lib = MotionLib(self.config["motion_file"], self.kin_model, self.device)
        self.motion_ids = torch.arange(self.num_envs, device=self.device) % self.motion_lib.num_motions

    def _reset_envs(self, env_ids: torch.Tensor) -> None:
        self._pose_from_clip(env_ids)

    def _pose_from_clip(self, env_ids: torch.Tensor) -> None:
        frame = self.motion_lib.calc_motion_frame(self.motion_ids[env_ids], self.time[env_ids])
        n = env_ids.numel()
        self.engine.set_state(self.char_id, env_ids, root_pos=frame.root_pos, root_rot=frame.root_rot,
                              root_vel=torch.zeros(n, 3), root_ang_vel=torch.zeros(n, 3),
                              dof_pos=self.kin_model.rot_to_dof(frame.joint_rot),
                              dof_vel=torch.zeros(n, self.kin_model.dof_size))

    def _update_misc(self) -> None:
        self._pose_from_clip(torch.arange(self.num_envs, device=self.device))

    def _compute_reward(self) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        return torch.zeros(self.num_envs, device=self.device), {}

    def _compute_done(self) -> torch.Tensor:
        length = self.motion_lib.get_motion_length(self.motion_ids)
        clamp = self.motion_lib.get_motion_loop_mode(self.motion_ids) != LoopMode.WRAP
        end = torch.where(clamp, length, torch.full_like(length, self.episode_length))
        done = torch.zeros(self.num_envs, dtype=torch.int32, device=self.device)
        done[self.time >= end] = int(DoneFlags.TIME)
        return done
