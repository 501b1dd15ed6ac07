"""AMP (Peng et al. 2021) on PPO: a discriminator tells clip windows from the policy's, and its logits become
the style reward, mixed with the env's task reward."""

from __future__ import annotations

import math
from typing import Any

import torch

from mimickit.envs.base_env import AdversarialEnv, BaseEnv
from mimickit.learning.amp_model import Discriminator, disc_bce_loss, input_grad_sq, style_reward
from mimickit.learning.base_agent import build_optimizer, optimizer_field
from mimickit.learning.normalizer import DiffNormalizer, Normalizer
from mimickit.learning.ppo_agent import PPO_MODEL_SCHEMA, PPO_SCHEMA, PPOAgent, net_field
from mimickit.learning.replay_buffer import ReplayBuffer
from mimickit.util.config import ConfigError
from mimickit.util.schema import Field

AMP_MODEL_SCHEMA: dict[str, Field] = {**PPO_MODEL_SCHEMA,
                                      "disc_net": net_field("the discriminator's hidden layers (default critic_net)",
                                                            None)}
AMP_SCHEMA: dict[str, Field] = {
    **PPO_SCHEMA,
    "model": Field(dict, help="network settings", schema=AMP_MODEL_SCHEMA),
    "disc_optimizer": optimizer_field("the discriminator's optimiser"),
    "disc_epochs": Field(int, 2, "discriminator passes per iteration", ge=1),
    "disc_batch_size": Field(float, 2.0, "discriminator minibatch, in multiples of num_envs policy samples", gt=0),
    "disc_buffer_size": Field(int, 200000, "replay of past policy windows", ge=1),
    "disc_replay_samples": Field(int, 1000, "policy windows added to the replay per iteration once it is full", ge=0),
    "disc_logit_reg": Field(float, 0.01, "weight of the squared logit-layer weights", ge=0),
    "disc_grad_penalty": Field(float, 5.0, "weight of the input gradient penalty", ge=0),
    "disc_reward_scale": Field(float, 2.0, "scale of the style reward", ge=0),
    "task_reward_weight": Field(float, 0.0, "weight of the env's task reward", ge=0),
    "disc_reward_weight": Field(float, 1.0, "weight of the style reward", ge=0),
}


class AMPAgent(PPOAgent):
    """PPO whose reward is ``task_reward_weight * r_task + disc_reward_weight * r_style``.

    Each iteration: as many clip windows as rollout samples are drawn from the env (``fetch_disc_obs_demo``),
    the policy's windows go into a replay buffer (all of them until it is full, then a random
    ``disc_replay_samples``), rewards come from the current discriminator, PPO updates, then the
    discriminator takes ``disc_epochs`` passes of minibatches (``disc_batch_size x num_envs`` policy samples
    with their demo samples and as many replayed ones): BCE loss, plus ``disc_grad_penalty`` x the input
    gradient penalty on demo and policy inputs, plus ``disc_logit_reg`` x the squared logit-layer weights;
    weight decay comes from ``disc_optimizer``. Logged: discriminator accuracy and mean logit on policy
    (``agent``) and demo samples, losses, and the style / task / total reward means.
    """

    SCHEMA = AMP_SCHEMA
    NAME = "AMP"
    INFO_KEYS: tuple[str, ...] = ("disc_obs",)
    REPLAY_FIELDS: tuple[str, ...] = ("disc_obs",)

    def __init__(self, config: dict[str, Any], env: BaseEnv, device: torch.device | str = "cpu",
                 source: str = "agent config") -> None:
        if not isinstance(env, AdversarialEnv):
            raise ConfigError(f"{source}: the {self.NAME} agent needs an env with a discriminator observation "
                              f"(env_name amp, add, ase or a task env), not {type(env).__name__}")
        self.disc_env: AdversarialEnv = env
        c = config
        self.disc_epochs = c["disc_epochs"]
        self.disc_batch_size = c["disc_batch_size"]
        self.disc_replay_samples = c["disc_replay_samples"]
        self.disc_logit_reg = c["disc_logit_reg"]
        self.disc_grad_penalty = c["disc_grad_penalty"]
        self.disc_reward_scale = c["disc_reward_scale"]
        self.task_reward_weight = c["task_reward_weight"]
        self.disc_reward_weight = c["disc_reward_weight"]
        super().__init__(config, env, device, source)
        self.replay = ReplayBuffer(c["disc_buffer_size"], self.device)

    # ---------------------------------------------------------------------------------- building
    def _build_model(self, model_config: dict[str, Any]) -> None:
        super()._build_model(model_config)
        dim = self.disc_env.disc_obs_dim
        self.disc = Discriminator(model_config["disc_net"] or model_config["critic_net"], dim)
        self.disc_obs_norm = self._build_disc_normalizer(dim)

    def _build_disc_normalizer(self, dim: int) -> Normalizer | DiffNormalizer:
        return Normalizer((dim,), clip=10.0)

    def _build_optimizers(self) -> dict[str, torch.optim.Optimizer]:
        optimizers = super()._build_optimizers()
        optimizers["disc"] = build_optimizer(self.config["disc_optimizer"], self.disc.parameters(),
                                             f"{self.source}: disc_optimizer")
        self._grad_clip["disc"] = self.config["disc_optimizer"]["grad_clip"]
        return optimizers

    # ---------------------------------------------------------------------- what the disc sees
    def _disc_input(self, disc_obs: torch.Tensor, disc_obs_demo: torch.Tensor | None = None) -> torch.Tensor:
        """Normalised discriminator input of policy samples (AMP: the policy's own windows)."""
        return self.disc_obs_norm.normalize(disc_obs)

    def _demo_input(self, disc_obs_demo: torch.Tensor) -> torch.Tensor:
        """Normalised discriminator input of the positive (demo) samples."""
        return self.disc_obs_norm.normalize(disc_obs_demo)

    def _record_disc_stats(self, disc_obs: torch.Tensor, disc_obs_demo: torch.Tensor) -> None:
        self.disc_obs_norm.record(disc_obs)
        self.disc_obs_norm.record(disc_obs_demo)

    def _fetch_demo(self, num_samples: int) -> torch.Tensor:
        return self.disc_env.fetch_disc_obs_demo(num_samples)

    # -------------------------------------------------------------------------------- training
    def _build_train_data(self) -> dict[str, float]:
        buf = self.buffer
        disc_obs = buf.get("disc_obs")  # [S, N, d]
        flat_obs = disc_obs.reshape(-1, disc_obs.shape[-1])
        if "disc_obs_demo" in self.INFO_KEYS:
            flat_demo = buf.get("disc_obs_demo").reshape(flat_obs.shape)
        else:
            flat_demo = self._fetch_demo(flat_obs.shape[0])
            buf.set("disc_obs_demo", flat_demo.reshape(disc_obs.shape))
        if self.sample_count < self.normalizer_samples:
            self._record_disc_stats(flat_obs, flat_demo)
        self._push_replay({"disc_obs": flat_obs, "disc_obs_demo": flat_demo})

        task_reward = buf.get("reward")
        reward, info = self._combined_reward(task_reward, flat_obs, flat_demo)
        buf.set("reward", reward)
        info["total_reward_mean"] = float(reward.mean())
        info.update(super()._build_train_data())
        return info

    def _combined_reward(self, task_reward: torch.Tensor, disc_obs: torch.Tensor,
                         disc_obs_demo: torch.Tensor) -> tuple[torch.Tensor, dict[str, float]]:
        """Training reward ``[S, N]``: task and style terms weighted (disc observations flat ``[S N, d]``)."""
        logits = self.disc(self._disc_input(disc_obs, disc_obs_demo)).reshape(task_reward.shape)
        disc_reward = style_reward(logits, self.disc_reward_scale)
        reward = self.task_reward_weight * task_reward + self.disc_reward_weight * disc_reward
        return reward, {"disc_reward_mean": float(disc_reward.mean()), "disc_reward_std": float(disc_reward.std()),
                        "task_reward_mean": float(task_reward.mean())}

    def _push_replay(self, samples: dict[str, torch.Tensor]) -> None:
        fields = {k: samples[k] for k in self.REPLAY_FIELDS}
        n = next(iter(fields.values())).shape[0]
        keep = n if not self.replay.full else min(n, self.disc_replay_samples)
        idx = torch.randperm(n, device=self.device)[:keep]
        self.replay.push({k: v[idx] for k, v in fields.items()})

    def _update_model(self) -> dict[str, float]:
        info = super()._update_model()
        info.update(self._update_discriminator())
        return info

    def _disc_minibatch(self, data: dict[str, torch.Tensor], idx: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Normalised positive (demo) and negative (policy, then replayed policy) inputs of one minibatch."""
        replay = self.replay.sample(idx.numel())
        pos = self._demo_input(data["disc_obs_demo"][idx])
        neg = torch.cat([self._disc_input(data["disc_obs"][idx]), self._disc_input(replay["disc_obs"])])
        return pos, neg

    def _update_discriminator(self) -> dict[str, float]:
        data = self.buffer.flat(["disc_obs", "disc_obs_demo"])
        sums: dict[str, float] = {}
        steps = 0
        for idx in self._minibatches(self.disc_batch_size, self.disc_epochs):
            pos, neg = self._disc_minibatch(data, idx)
            pos, neg = pos.detach().requires_grad_(True), neg.detach().requires_grad_(True)
            logit_pos, logit_neg = self.disc(pos), self.disc(neg)
            loss = disc_bce_loss(logit_pos, logit_neg)
            grad_penalty = 0.5 * (input_grad_sq(logit_pos, pos) + input_grad_sq(logit_neg, neg))
            logit_loss = self.disc.logit_weights().pow(2).sum()
            self._step("disc", loss + self.disc_grad_penalty * grad_penalty + self.disc_logit_reg * logit_loss)
            for name, value in (("disc_loss", loss), ("disc_grad_penalty", grad_penalty),
                                ("disc_logit_loss", logit_loss),
                                ("disc_agent_acc", (logit_neg < 0).float().mean()),
                                ("disc_demo_acc", (logit_pos > 0).float().mean()),
                                ("disc_agent_logit", logit_neg.mean()), ("disc_demo_logit", logit_pos.mean())):
                sums[name] = sums.get(name, 0.0) + float(value.detach())
            steps += 1
        return {name: total / max(steps, 1) for name, total in sums.items()}

    def _update_normalizers(self) -> None:
        super()._update_normalizers()
        self.disc_obs_norm.update()

    # ----------------------------------------------------------------------------- checkpoints
    def progress_figures(self, row: dict[str, Any]) -> str:
        """The env pays no reward here, the discriminator does: its mean reward and its accuracy on policy and
        demo samples."""
        agent_acc, demo_acc = row.get("Disc_Agent_Acc", math.nan), row.get("Disc_Demo_Acc", math.nan)
        return (f" | disc reward {row.get('Disc_Reward_Mean', math.nan):5.3f} acc agent {agent_acc:4.2f} "
                f"demo {demo_acc:4.2f}")

    def signature(self) -> dict[str, Any]:
        return {**super().signature(), "disc_obs_dim": int(self.disc_env.disc_obs_dim)}

    def training_state(self) -> dict[str, torch.Tensor]:
        return {f"replay.{k}": v for k, v in self.replay.state_dict().items()}

    def load_training_state(self, state: dict[str, torch.Tensor]) -> None:
        self.replay.load_state_dict({k.removeprefix("replay."): v for k, v in state.items()
                                     if k.startswith("replay.")})
