"""AMP (Peng et al. 2021): imitate the style of clips through a discriminator. The env keeps a short history
of the simulated character, hands its discriminator observation to the agent in ``info["disc_obs"]``, samples
the same observation from the clips (``fetch_disc_obs_demo``), and pays no reward of its own."""

from __future__ import annotations

from dataclasses import replace
from typing import Any, ClassVar

import torch

from mimickit.envs.base_env import EnvMode
from mimickit.envs.deepmimic_env import CLIP_ENV_SCHEMA, TRACKING_REWARD_SCHEMA, DeepMimicEnv
from mimickit.envs.terms.observations import compute_amp_disc_obs
from mimickit.envs.terms.rewards import TrackingTerm
from mimickit.util.rows import computed_rows, select, write_rows
from mimickit.util.schema import Field

AMP_SCHEMA: dict[str, Field] = {
    **CLIP_ENV_SCHEMA,
    # upstream's AMP-family configs repeat DeepMimic's reward block, which the discriminator's reward replaces
    **{key: replace(field, kind=object, default=None, ge=None, item=None, ignored=True)
       for key, field in TRACKING_REWARD_SCHEMA.items()},
    "num_disc_obs_steps": Field(int, help="states in the discriminator's window (T)", ge=1),
    "disc_dof_vel_obs": Field(bool, True, "DoF velocities in the discriminator observation"),
}
HISTORY_FIELDS = ("root_pos", "root_rot", "root_vel", "root_ang_vel", "joint_rot", "dof_vel", "body_pos")


class AMPEnv(DeepMimicEnv):
    """DeepMimic's reference sampling, reset-to-reference and termination (without success at a clip's
    end), no env reward, and a discriminator history of ``num_disc_obs_steps`` states per env.

    Extra config keys: :data:`AMP_SCHEMA`. The reference motion still advances every step, so TEST episodes
    report the paper's tracking errors against the clip they started from.
    """

    SCHEMA = AMP_SCHEMA
    # the discriminator pays the style reward; task envs add their task reward
    REWARD_TERMS: ClassVar[dict[str, TrackingTerm]] = {}
    SHOW_REFERENCE = False  # style imitation follows no single clip
    CLIP_END_SUCCESS = False  # style imitation does not end when a clip does
    ROBOT_OBS = False  # the discriminator and task terms assume the full-state observation

    def _build_task(self) -> None:
        super()._build_task()
        self.num_disc_obs_steps = self.config["num_disc_obs_steps"]
        self.disc_dof_vel_obs = self.config["disc_dof_vel_obs"]
        steps = self.num_disc_obs_steps
        # [N, T, ...] simulated states, oldest first; filled from the reference window at reset
        self.disc_history = {name: torch.zeros(self.num_envs, steps, *value.shape[1:], device=self.device)
                             for name, value in self._ref.items() if name in HISTORY_FIELDS}
        self.disc_obs_dim = int(self._encode_disc_obs(
            {k: v[:1] for k, v in self.disc_history.items()}).shape[-1])

    # --------------------------------------------------------------------------------- disc obs
    def _encode_disc_obs(self, window: dict[str, torch.Tensor]) -> torch.Tensor:
        """Discriminator observation ``[n, disc_obs_dim]`` of states ``[n, T, ...]`` (oldest first)."""
        return compute_amp_disc_obs(window["root_pos"], window["root_rot"], window["root_vel"],
                                    window["root_ang_vel"], window["joint_rot"],
                                    window["dof_vel"] if self.disc_dof_vel_obs else None,
                                    window["body_pos"][:, :, self.key_body_ids], self.global_obs,
                                    self.root_height_obs, self.track_root)

    def _reference_window(self, motion_ids: torch.Tensor, end_times: torch.Tensor) -> dict[str, torch.Tensor]:
        """Reference states ``[n, T, ...]`` at ``end_times - (T-1) dt, ..., end_times`` (before a clip's start:
        its first frame for clamped clips, the previous loop for looping ones)."""
        steps = self.num_disc_obs_steps
        offsets = (torch.arange(steps, device=self.device) - (steps - 1)) * self.engine.timestep
        times = end_times[:, None] + offsets
        frames = self._frames_at(motion_ids[:, None].expand(-1, steps).reshape(-1), times.reshape(-1))
        n = motion_ids.numel()
        return {k: frames[k].reshape(n, steps, *frames[k].shape[1:]) for k in HISTORY_FIELDS}

    def fetch_disc_obs_demo(self, num_samples: int) -> torch.Tensor:
        """``[num_samples, disc_obs_dim]`` discriminator observations of the clips: windows ending at clip
        times drawn by clip weight and uniformly in time (at the start without ``rand_reset``)."""
        motion_ids = self.motion_lib.sample_motions(num_samples)
        times = (self.motion_lib.sample_time(motion_ids) if self.rand_reset
                 else torch.zeros(num_samples, device=self.device))
        return self._encode_disc_obs(self._reference_window(motion_ids, times))

    # ------------------------------------------------------------------------------------ hooks
    def _reset_envs(self, env_ids: torch.Tensor) -> None:
        super()._reset_envs(env_ids)
        window = self._reference_window(select(self.motion_ids, env_ids), self.motion_time(computed_rows(env_ids)))
        for name, hist in self.disc_history.items():
            write_rows(hist, env_ids, window[name])

    def _update_misc(self) -> None:
        super()._update_misc()
        state = self.char_state(None)
        for name, hist in self.disc_history.items():
            hist[:, :-1] = hist[:, 1:].clone()
            hist[:, -1] = state[name]

    def _update_info(self) -> dict[str, Any]:
        """Adds ``disc_obs`` ``[N, disc_obs_dim]`` (TRAIN mode): the window ending at the state after the step."""
        info = super()._update_info()
        if self.mode == EnvMode.TRAIN:
            info["disc_obs"] = self._encode_disc_obs(self.disc_history)
        return info
