"""ASE's environment: AMP, plus episodes that sometimes start from the default pose instead of a clip frame
(so the skills learn to recover from it)."""

from __future__ import annotations

import torch

from mimickit.envs.amp_env import AMP_KEYS, AMPEnv
from mimickit.envs.char_env import CharEnv
from mimickit.util.config import ConfigError


class ASEEnv(AMPEnv):
    """AMPEnv where each reset env, with probability ``default_reset_prob``, starts at the config's
    ``init_pose`` at rest instead of the sampled clip frame; its discriminator history keeps the clip window."""

    CONFIG_KEYS = AMP_KEYS + ("default_reset_prob",)
    REQUIRED_KEYS = AMPEnv.REQUIRED_KEYS + ("default_reset_prob",)

    def _build_task(self) -> None:
        super()._build_task()
        self.default_reset_prob = float(self.config["default_reset_prob"])
        if not 0.0 <= self.default_reset_prob <= 1.0:
            raise ConfigError(f"{self.source}: default_reset_prob must be in [0, 1], found {self.default_reset_prob}")

    def _reset_envs(self, env_ids: torch.Tensor) -> None:
        super()._reset_envs(env_ids)
        default = env_ids[torch.rand(env_ids.numel(), device=self.device) < self.default_reset_prob]
        if default.numel() > 0:
            CharEnv._reset_envs(self, default)
