"""ASE's environment: AMP, plus episodes that sometimes start from the default pose instead of a clip frame
(so the skills learn to recover from it)."""

from __future__ import annotations

import torch

from mimickit.envs.amp_env import AMP_SCHEMA, AMPEnv
from mimickit.envs.char_env import CharEnv
from mimickit.util.schema import Field

ASE_ENV_SCHEMA: dict[str, Field] = {
    **AMP_SCHEMA, "default_reset_prob": Field(float, help="chance that a reset starts at init_pose", ge=0, le=1)}


class ASEEnv(AMPEnv):
    """AMPEnv where each reset env, with probability ``default_reset_prob``, starts at the config's
    ``init_pose`` at rest instead of the sampled clip frame; its discriminator history keeps the clip window."""

    SCHEMA = ASE_ENV_SCHEMA
    MASKED_RESET = False  # its default-pose resets pick ids

    def _build_task(self) -> None:
        super()._build_task()
        self.default_reset_prob = self.config["default_reset_prob"]

    def _reset_envs(self, env_ids: torch.Tensor) -> None:
        super()._reset_envs(env_ids)
        default = env_ids[torch.rand(env_ids.numel(), device=self.device) < self.default_reset_prob]
        if default.numel() > 0:
            CharEnv._reset_envs(self, default)
