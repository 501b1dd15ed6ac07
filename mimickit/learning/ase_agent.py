"""ASE (Peng et al. 2022), the low-level skill model: AMP whose policy is conditioned on a latent on the unit
sphere, with an encoder that must recover the latent from the motion (its reward) and a diversity term that
makes different latents act differently."""

from __future__ import annotations

import math
from typing import Any

import torch

from mimickit.envs.base_env import BaseEnv
from mimickit.learning.amp_agent import AMP_MODEL_SCHEMA, AMP_SCHEMA, AMPAgent
from mimickit.learning.amp_model import style_reward
from mimickit.learning.ase_model import Encoder, diversity_loss, encoder_loss, encoder_reward, sample_latents
from mimickit.learning.base_agent import build_optimizer, optimizer_field
from mimickit.learning.ppo_agent import net_field
from mimickit.util.rows import is_mask
from mimickit.util.schema import Field, validate

ASE_MODEL_SCHEMA: dict[str, Field] = {
    **AMP_MODEL_SCHEMA,
    "enc_net": net_field("the encoder's hidden layers (default critic_net)", None),
    "latent_dim": Field(int, 64, "size of the skill latent z", ge=1),
}
ASE_SCHEMA: dict[str, Field] = {
    **AMP_SCHEMA,
    "model": Field(dict, help="network settings", schema=ASE_MODEL_SCHEMA),
    "enc_optimizer": optimizer_field("the encoder's optimiser"),
    "enc_epochs": Field(int, 2, "encoder passes per iteration", ge=1),
    "enc_batch_size": Field(float, 2.0, "encoder minibatch, in multiples of num_envs samples", gt=0),
    "enc_reward_weight": Field(float, 0.5, "weight of the encoder reward", ge=0),
    "latent_time_min": Field(float, 0.0, "shortest time a latent is held", unit="s", ge=0),
    "latent_time_max": Field(float, 5.0, "longest time a latent is held", unit="s", ge=0),
    "diversity_weight": Field(float, 0.01, "weight of the diversity loss", ge=0),
    "diversity_tar": Field(float, 1.0, "target of the diversity ratio", ge=0),
}


class ASEAgent(AMPAgent):
    """AMPAgent with per-env latents ``z`` (``model.latent_dim``, 64), resampled at every reset and, during an
    episode, after ``U[latent_time_min, latent_time_max]`` s of env time; actor and critic read
    ``[normalised obs, z]``. Reward: ``task_reward_weight r_task + disc_reward_weight r_style +
    enc_reward_weight max(0, z . E(disc obs))``; the encoder ``E`` (``model.enc_net``) minimises ``-z . E`` after
    the discriminator update; ``diversity_weight`` x the diversity loss joins the actor's. Logged: encoder
    reward and loss, diversity loss, and AMP's discriminator figures.
    """

    SCHEMA = ASE_SCHEMA
    NAME = "ASE"

    def __init__(self, config: dict[str, Any], env: BaseEnv, device: torch.device | str = "cpu",
                 source: str = "agent config") -> None:
        c = config = validate(config, self.SCHEMA, source)  # read before the base class builds the networks
        self.latent_dim = c["model"]["latent_dim"]
        self.enc_epochs = c["enc_epochs"]
        self.enc_batch_size = c["enc_batch_size"]
        self.enc_reward_weight = c["enc_reward_weight"]
        self.latent_time: tuple[float, float] = (c["latent_time_min"], c["latent_time_max"])
        self.diversity_weight = c["diversity_weight"]
        self.diversity_tar = c["diversity_tar"]
        super().__init__(config, env, device, source)
        self.latents = torch.zeros(env.num_envs, self.latent_dim, device=self.device)
        self.latent_resample_time = torch.zeros(env.num_envs, device=self.device)  # env time [s]
        self._step_latents = self.latents.clone()

    # ---------------------------------------------------------------------------------- building
    def _policy_input_dim(self) -> int:
        return self.env.obs_dim + self.latent_dim

    def _build_model(self, model_config: dict[str, Any]) -> None:
        super()._build_model(model_config)
        self.encoder = Encoder(model_config["enc_net"] or model_config["critic_net"], self.disc_env.disc_obs_dim,
                               self.latent_dim)

    def _build_optimizers(self) -> dict[str, torch.optim.Optimizer]:
        optimizers = super()._build_optimizers()
        optimizers["enc"] = build_optimizer(self.config["enc_optimizer"], self.encoder.parameters(),
                                            f"{self.source}: enc_optimizer")
        self._grad_clip["enc"] = self.config["enc_optimizer"]["grad_clip"]
        return optimizers

    def skill_action(self, obs: torch.Tensor, latents: torch.Tensor) -> torch.Tensor:
        """The policy's mean action ``[n, A]`` for observations ``[n, obs_dim]`` and unit latents
        ``[n, latent_dim]``: the frozen skill a high-level controller drives (no gradients, no sampling)."""
        with torch.no_grad():
            norm_input = self._norm_obs(torch.cat([obs, latents], dim=-1))
            return self.a_norm.unnormalize(self.model.action_mean(norm_input))

    def style_reward(self, disc_obs: torch.Tensor) -> torch.Tensor:
        """The discriminator's style reward ``[n]`` for discriminator observations ``[n, d]`` (no gradients)."""
        with torch.no_grad():
            return style_reward(self.disc(self._disc_input(disc_obs)), self.disc_reward_scale)

    def progress_figures(self, row: dict[str, Any]) -> str:
        """AMP's figures and the encoder reward: how well the encoder recovers the latent from the motion, in
        [0, 1]."""
        return f"{super().progress_figures(row)} | enc reward {row.get('Enc_Reward_Mean', math.nan):5.3f}"

    # ----------------------------------------------------------------------------------- latents
    def resample_latents(self, env_ids: torch.Tensor) -> None:
        """New latents for ``env_ids`` and their next resample time: now + ``U[latent_time_min, max]`` s."""
        n = env_ids.numel()
        self.latents[env_ids] = sample_latents(n, self.latent_dim, self.device)
        low, high = self.latent_time
        self.latent_resample_time[env_ids] = (self.env.time[env_ids].to(self.device)
                                              + low + (high - low) * torch.rand(n, device=self.device))

    def on_envs_reset(self, env_ids: torch.Tensor | None) -> None:
        if env_ids is None:
            env_ids = torch.arange(self.env.num_envs, device=self.device)
        elif is_mask(env_ids):  # resampling draws per id (one host sync here)
            env_ids = env_ids.nonzero().flatten()
        self.resample_latents(env_ids)

    def act(self, obs: torch.Tensor) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        """Resamples latents whose time has come, then acts on ``[obs, z]``."""
        due = (self.env.time.to(self.device) >= self.latent_resample_time).nonzero(as_tuple=False).flatten()
        if due.numel() > 0:
            self.resample_latents(due)
        self._step_latents = self.latents.clone()
        return self._decide_action(torch.cat([obs, self._step_latents], dim=-1))

    # --------------------------------------------------------------------------------- recording
    def _norm_obs(self, obs: torch.Tensor) -> torch.Tensor:
        dim = self.env.obs_dim
        return torch.cat([self.obs_norm.normalize(obs[..., :dim]), obs[..., dim:]], dim=-1)

    def _record_obs_stats(self, obs: torch.Tensor) -> None:
        self.obs_norm.record(obs[..., :self.env.obs_dim])

    def record_step(self, obs: torch.Tensor, extras: dict[str, torch.Tensor], next_obs: torch.Tensor,
                    reward: torch.Tensor, done: torch.Tensor, info: dict[str, Any]) -> None:
        """Records ``[obs, z]`` and ``[next_obs, z]`` with the latent that chose the action."""
        z = self._step_latents
        super().record_step(torch.cat([obs, z], dim=-1), extras, torch.cat([next_obs, z], dim=-1), reward, done, info)

    # ---------------------------------------------------------------------------------- training
    def _recorded_latents(self) -> torch.Tensor:
        obs = self.buffer.get("obs")
        return obs[..., self.env.obs_dim:].reshape(-1, self.latent_dim)

    def _combined_reward(self, task_reward: torch.Tensor, disc_obs: torch.Tensor,
                         disc_obs_demo: torch.Tensor) -> tuple[torch.Tensor, dict[str, float]]:
        reward, info = super()._combined_reward(task_reward, disc_obs, disc_obs_demo)
        enc = self.encoder(self.disc_obs_norm.normalize(disc_obs))
        enc_reward = encoder_reward(self._recorded_latents(), enc).reshape(task_reward.shape)
        info.update(enc_reward_mean=float(enc_reward.mean()), enc_reward_std=float(enc_reward.std()))
        return reward + self.enc_reward_weight * enc_reward, info

    def _extra_actor_loss(self, norm_input: torch.Tensor, mean: torch.Tensor,
                          norm_action: torch.Tensor) -> tuple[torch.Tensor, dict[str, float]] | None:
        if self.diversity_weight <= 0:
            return None
        dim = self.env.obs_dim
        latents = norm_input[:, dim:]
        new_latents = sample_latents(latents.shape[0], self.latent_dim, self.device)
        new_mean = self.model.action_mean(torch.cat([norm_input[:, :dim], new_latents], dim=-1))
        loss = diversity_loss(mean, new_mean, latents, new_latents, self.diversity_tar)
        return self.diversity_weight * loss, {"diversity_loss": float(loss.detach())}

    def _update_model(self) -> dict[str, float]:
        info = super()._update_model()
        disc_obs = self.buffer.flat(["disc_obs"])["disc_obs"]
        latents = self._recorded_latents()
        losses = []
        for idx in self._minibatches(self.enc_batch_size, self.enc_epochs):
            loss = encoder_loss(latents[idx], self.encoder(self.disc_obs_norm.normalize(disc_obs[idx])))
            self._step("enc", loss)
            losses.append(loss.item())
        info["enc_loss"] = sum(losses) / max(len(losses), 1)
        return info
