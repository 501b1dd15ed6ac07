"""Domain randomisation, per env: physical properties scaled at each reset (friction, masses, PD gains, motor
strength; the engine applies them), and around the physics in TRAIN mode observation noise per observation
term, action delay in control steps (drawn per env at each reset) and random pushes (velocity changes of the root
at random times). Configured by the env yaml's ``randomization`` mapping; everything is off by default."""

from __future__ import annotations

from dataclasses import dataclass

import torch

from mimickit.util.config import ConfigError
from mimickit.util.rows import row_count, select, write_rows
from mimickit.util.schedule import parse_schedule
from mimickit.util.schema import Field

RANDOMIZATION_SCHEMA: dict[str, Field] = {
    "obs_noise": Field(dict, {}, "Gaussian noise std per observation term (e.g. char: 0.01), in the term's own "
                                 "units; terms not named get none"),
    "action_delay": Field(list, [0, 0], "[min, max] control steps between choosing an action and applying it, "
                                        "drawn per env at each reset", item=int, ge=0),
    "push_interval": Field(list, [0.0, 0.0], "[min, max] seconds between pushes of an env ([0, 0]: no pushes)",
                           unit="s", item=float, ge=0),
    "push_vel": Field(float, 0.0, "largest horizontal root velocity change of a push", unit="m/s", ge=0),
    "push_vel_schedule": Field(list, None, "[[samples, m/s], ...]: a push curriculum, the largest push from each "
                                           "sample count of the run on (push_vel before the first entry)"),
    **{name: Field(list, [1.0, 1.0], f"[min, max] scale of the {what}, drawn per env at each reset", item=float,
                   gt=0)
       for name, what in (("friction", "sliding friction"), ("mass", "body masses and inertias"),
                          ("kp", "PD stiffness"), ("kd", "PD damping"), ("strength", "motor force limits"))},
    "com_offset": Field(float, 0.0, "largest shift of the root body's centre of mass per axis, drawn per env at "
                                    "each reset", unit="m", ge=0),
}
PHYSICS_KEYS = ("friction", "mass", "kp", "kd", "strength")


def _pair(values: list, key: str, source: str) -> tuple:
    if len(values) != 2 or values[0] > values[1]:
        raise ConfigError(f"{source}: randomization.{key} must be [min, max] with min <= max, found {values}")
    return values[0], values[1]


@dataclass(frozen=True)
class RandomizationConfig:
    """The validated ``randomization`` mapping (see :data:`RANDOMIZATION_SCHEMA`)."""

    obs_noise: dict[str, float]
    action_delay: tuple[int, int]
    push_interval: tuple[float, float]
    push_vel: float
    physics: dict[str, tuple[float, float]]  # only the scales that vary
    com_offset: float
    push_vel_schedule: list[tuple[int, float]]  # [(samples, m/s), ...], empty: push_vel throughout

    @classmethod
    def from_config(cls, config: dict, obs_terms: list[str], source: str) -> RandomizationConfig:
        unknown = sorted(set(config["obs_noise"]) - set(obs_terms))
        if unknown:
            raise ConfigError(f"{source}: randomization.obs_noise names {unknown}; this env's observation terms are "
                              f"{obs_terms}")
        noise = {}
        for term, std in config["obs_noise"].items():
            if isinstance(std, bool) or not isinstance(std, (int, float)) or std < 0:
                raise ConfigError(f"{source}: randomization.obs_noise.{term} must be a number >= 0, found {std!r}")
            noise[term] = float(std)
        push = _pair(config["push_interval"], "push_interval", source)
        if (push[1] > 0) != (config["push_vel"] > 0):
            raise ConfigError(f"{source}: randomization pushes need both push_interval and push_vel set (> 0)")
        physics = {key: _pair(config[key], key, source) for key in PHYSICS_KEYS}
        physics = {key: pair for key, pair in physics.items() if pair != (1.0, 1.0)}
        schedule = parse_schedule(config["push_vel_schedule"], f"{source}: randomization.push_vel_schedule")
        if schedule and config["push_vel"] <= 0:
            raise ConfigError(f"{source}: randomization.push_vel_schedule needs pushes (push_interval and push_vel)")
        return cls(noise, _pair(config["action_delay"], "action_delay", source), push, config["push_vel"], physics,
                   config["com_offset"], schedule)

    @property
    def active(self) -> bool:
        return (any(v > 0 for v in self.obs_noise.values()) or self.action_delay[1] > 0 or self.push_vel > 0
                or self.varies_physics)

    @property
    def varies_physics(self) -> bool:
        return bool(self.physics) or self.com_offset > 0

    def describe(self) -> str:
        parts = [f"obs noise {self.obs_noise}"] if any(v > 0 for v in self.obs_noise.values()) else []
        if self.action_delay[1] > 0:
            parts.append(f"action delay {self.action_delay[0]}-{self.action_delay[1]} control steps")
        if self.push_vel > 0:
            parts.append(f"pushes up to {self.push_vel:g} m/s every {self.push_interval[0]:g}-"
                         f"{self.push_interval[1]:g} s")
        if self.push_vel_schedule:
            parts.append("push curriculum " + ", ".join(f"{v:g} m/s from {n:,} samples"
                                                        for n, v in self.push_vel_schedule))
        parts += [f"{key} x{low:g}-{high:g}" for key, (low, high) in self.physics.items()]
        if self.com_offset > 0:
            parts.append(f"root centre of mass shifted up to {self.com_offset:g} m per axis")
        return ", ".join(parts)

    def draw_physics(self, n: int, device: torch.device) -> dict[str, torch.Tensor]:
        """Scales ``[n]`` of every varying physical property, uniform in its range, and ``com_offset`` ``[n, 3]``
        (m, uniform per axis) when the root's centre of mass moves."""
        draws = {key: low + (high - low) * torch.rand(n, device=device) for key, (low, high) in self.physics.items()}
        if self.com_offset > 0:
            draws["com_offset"] = self.com_offset * (2.0 * torch.rand(n, 3, device=device) - 1.0)
        return draws


def noise_std(layout: dict[str, slice], obs_noise: dict[str, float], obs_dim: int,
              device: torch.device) -> torch.Tensor:
    """``[obs_dim]`` noise std per observation entry from the per-term stds and the observation layout."""
    std = torch.zeros(obs_dim, device=device)
    for term, value in obs_noise.items():
        std[layout[term]] = value
    return std


class ActionDelay:
    """Per-env FIFO of the last ``max_delay + 1`` actions; each env applies the one from ``delay[i]`` steps ago.
    A reset draws the env's delay uniformly in ``[min, max]``; until it has acted that often, its first action
    stands in for the older ones."""

    def __init__(self, num_envs: int, action_dim: int, delay: tuple[int, int], device: torch.device) -> None:
        self.low, self.high = delay
        self._buffer = torch.zeros(num_envs, self.high + 1, action_dim, device=device)
        self.delay = torch.full((num_envs,), self.low, dtype=torch.long, device=device)
        self._fresh = torch.ones(num_envs, dtype=torch.bool, device=device)
        self._rows = torch.arange(num_envs, device=device)

    def reset(self, env_ids: torch.Tensor) -> None:
        """New delays for ``env_ids`` (ids or a bool mask, :mod:`mimickit.util.rows`)."""
        write_rows(self.delay, env_ids,
                   torch.randint(self.low, self.high + 1, (row_count(env_ids),), device=self.delay.device))
        write_rows(self._fresh, env_ids, True)

    def __call__(self, action: torch.Tensor) -> torch.Tensor:
        """The actions ``[N, A]`` to apply this step, given the ones chosen now."""
        shifted = torch.cat([action[:, None], self._buffer[:, :-1]], dim=1)
        filled = action[:, None].expand_as(self._buffer)
        self._buffer.copy_(torch.where(self._fresh[:, None, None], filled, shifted))
        self._fresh.zero_()
        return self._buffer[self._rows, self.delay]


class PushSchedule:
    """When each env is pushed next: a reset or a push draws the next one ``U[min, max]`` seconds ahead; a push
    adds a horizontal root velocity change drawn uniformly in the disc of radius ``push_vel`` (a curriculum
    changes ``push_vel`` between iterations)."""

    def __init__(self, num_envs: int, interval: tuple[float, float], push_vel: float, device: torch.device) -> None:
        self.low, self.high = interval
        self.push_vel = push_vel
        self.next_push = torch.zeros(num_envs, device=device)  # episode time [s]

    def reset(self, env_ids: torch.Tensor, time: torch.Tensor) -> None:
        """First push times of ``env_ids`` (ids or a bool mask, :mod:`mimickit.util.rows`)."""
        write_rows(self.next_push, env_ids, select(time, env_ids) + self._interval(row_count(env_ids)))

    def due(self, time: torch.Tensor) -> torch.Tensor:
        """``[N]`` bool: envs whose push time has come."""
        return time >= self.next_push

    def velocity_changes(self, env_ids: torch.Tensor, time: torch.Tensor) -> torch.Tensor:
        """Root velocity changes [m/s] of ``env_ids`` (ids ``[n]``: ``[n, 3]``; a bool mask: ``[N, 3]``, drawn for
        every env, meant for the masked rows), and their next push times drawn (:mod:`mimickit.util.rows`)."""
        n = row_count(env_ids)
        angle = 2.0 * torch.pi * torch.rand(n, device=time.device)
        radius = self.push_vel * torch.rand(n, device=time.device).sqrt()
        write_rows(self.next_push, env_ids, select(time, env_ids) + self._interval(n))
        return torch.stack([radius * torch.cos(angle), radius * torch.sin(angle), torch.zeros_like(angle)], dim=-1)

    def _interval(self, n: int) -> torch.Tensor:
        return self.low + (self.high - self.low) * torch.rand(n, device=self.next_push.device)
