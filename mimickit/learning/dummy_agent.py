"""An agent that sends zero actions: used to play environments that need no policy (motion viewing)."""

from __future__ import annotations

from typing import Any

import torch

from mimickit.learning.base_agent import BaseAgent


class DummyAgent(BaseAgent):
    """Zero actions; nothing to learn (the runner refuses to train it)."""

    NAME = "Dummy"
    TRAINABLE = False

    def _build_model(self, model_config: dict[str, Any]) -> None:
        low, _ = self.env.action_bounds
        self._zeros = torch.zeros(self.env.num_envs, low.numel())

    def _decide_action(self, obs: torch.Tensor) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        return self._zeros.to(obs.device), {}
