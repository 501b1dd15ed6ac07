"""ADD (adversarial differential discriminator): the discriminator judges the difference between the
simulated character and the reference at the same motion time. The env hands both observations to the
agent (``info["disc_obs"]``, ``info["disc_obs_demo"]``) and keeps DeepMimic's tracking termination."""

from __future__ import annotations

from typing import Any

import torch

from mimickit.envs.amp_env import AMPEnv
from mimickit.envs.base_env import EnvMode
from mimickit.envs.terms.observations import compute_add_disc_obs
from mimickit.util.rows import select, write_rows


class ADDEnv(AMPEnv):
    """AMPEnv with DeepMimic's termination (success at a clamped clip's end, pose termination) and the ADD
    per-step encoding of both the simulated and the reference window (humanoid: 172 per step)."""

    SHOW_REFERENCE = True
    CLIP_END_SUCCESS = True  # it tracks its clip, as DeepMimic does

    def _build_task(self) -> None:
        super()._build_task()
        # [N, T, ...] reference states at the same motion times as disc_history
        self.ref_history = {name: hist.clone() for name, hist in self.disc_history.items()}

    def _encode_disc_obs(self, window: dict[str, torch.Tensor]) -> torch.Tensor:
        n, steps = window["root_pos"].shape[:2]
        flat = {k: v.reshape(n * steps, *v.shape[2:]) for k, v in window.items()}
        per_step = compute_add_disc_obs(flat["root_pos"], flat["root_rot"], flat["root_vel"], flat["root_ang_vel"],
                                        flat["joint_rot"], flat["dof_vel"], flat["body_pos"], self.global_obs)
        return per_step.reshape(n, -1)

    def _reset_envs(self, env_ids: torch.Tensor) -> None:
        super()._reset_envs(env_ids)
        for name, hist in self.ref_history.items():
            write_rows(hist, env_ids, select(self.disc_history[name], env_ids))

    def _update_misc(self) -> None:
        super()._update_misc()
        for name, hist in self.ref_history.items():
            hist[:, :-1] = hist[:, 1:].clone()
            hist[:, -1] = self._ref[name]

    def _update_info(self) -> dict[str, Any]:
        """Adds ``disc_obs_demo`` ``[N, disc_obs_dim]`` (TRAIN mode): the reference window at the same times
        as ``disc_obs``."""
        info = super()._update_info()
        if self.mode == EnvMode.TRAIN:
            info["disc_obs_demo"] = self._encode_disc_obs(self.ref_history)
        return info
