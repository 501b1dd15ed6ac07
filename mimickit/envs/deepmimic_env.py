"""DeepMimic: track a reference motion clip (or a weighted set of clips) with a simulated character."""

from __future__ import annotations

from typing import ClassVar

import torch

from mimickit.anim.motion import LoopMode
from mimickit.anim.motion_lib import MotionLib
from mimickit.engines.engine import ControlMode
from mimickit.envs.base_env import EnvMode
from mimickit.envs.char_env import CHAR_ENV_SCHEMA, CharEnv, ObsTerm
from mimickit.envs.terms import metrics
from mimickit.envs.terms.observations import (
    compute_phase_obs,
    compute_privileged_obs,
    compute_robot_char_obs,
    compute_robot_target_obs,
    compute_target_obs,
)
from mimickit.envs.terms.rewards import (
    TRACKING_TERMS,
    TrackingState,
    TrackingTerm,
    compose_reward,
    configured_terms,
    reward_schema,
    tracking_frames,
)
from mimickit.envs.terms.terminations import compute_done, contact_failure, pose_failure
from mimickit.util.compile import compiled
from mimickit.util.config import ConfigError
from mimickit.util.rows import computed_rows, row_count, select, write_rows
from mimickit.util.schema import Field

ACTION_CENTERS = ("range", "motion_mean")
CLIP_ENV_SCHEMA: dict[str, Field] = {  # every env that follows reference clips (DeepMimic, AMP, ADD, ASE, tasks)
    **CHAR_ENV_SCHEMA,
    "motion_file": Field(str, help="reference clip (.pkl) or dataset (.yaml)"),
    "enable_early_termination": Field(bool, help="end episodes on undesired ground contact (and pose error)"),
    "pose_termination": Field(bool, False, "training episodes also end when a body strays from the reference"),
    "pose_termination_dist": Field(float, 1.0, "body distance that ends an episode under pose_termination",
                                   unit="m", gt=0),
    "pose_termination_root_xy": Field(bool, True, "pose termination compares world positions; false compares "
                                                  "them with the root's x-y moved onto the reference's, so drift "
                                                  "alone does not end an episode"),
    "test_pose_termination": Field(bool, False, "TEST episodes end on pose error too (upstream's rule; the paper "
                                                "ends them only on ground contact)"),
    "enable_phase_obs": Field(bool, True, "observe the clip's phase"),
    "num_phase_encoding": Field(int, 0, "sin/cos frequencies of the phase observation", ge=0),
    "enable_tar_obs": Field(bool, False, "observe future reference frames"),
    "tar_obs_steps": Field(list, [1], "control steps ahead of each observed reference frame", item=int, ge=1),
    "rand_reset": Field(bool, True, "start episodes at a random time of the clip (else its start)"),
    "contact_bodies": Field(list, [], "bodies allowed to touch the ground (empty: no contact termination)",
                            item=str),
    "residual_action": Field(bool, False, "the PD target is the reference pose one step ahead plus the action"),
    "action_center": Field(str, "range", "centre of absolute action bounds", choices=ACTION_CENTERS),
    "visualize_ref_char": Field(bool, True, "draw the reference pose as a ghost in recorded video"),
    "ref_char_offset": Field(list, [0.0, 0.0, 0.0], "where the ghost is drawn relative to the reference pose "
                             "(upstream's configs: [2, 0, 0], beside the character)", unit="m", item=float),
    "robot_obs": Field(bool, False, "the policy observes only what a robot measures (gravity direction, angular "
                                    "velocity, joints, the reference relative to itself); root height, root velocity "
                                    "and reference root positions go to the critic alone (needs enable_tar_obs)"),
    "log_tracking_error": Field(bool, False, "accepted for upstream's configs; Test_E_Pos and Test_E_Vel are "
                                             "always logged"),
}
TRACKING_REWARD_SCHEMA: dict[str, Field] = {  # read by the tracking reward alone (envs with REWARD_TERMS)
    **reward_schema(TRACKING_TERMS),
    "track_root_xy": Field(bool, True, "the root's world x-y position counts in the tracking reward (with "
                                       "global_obs); false compares the character with its root's x-y moved onto "
                                       "the reference's, so drift (after a push) is not punished: for policies "
                                       "that observe no root position (robot_obs)"),
    "root_rot_err_w": Field(float, 0.1, "weight of the root's rotation angle^2 [rad^2] beside its position error^2 "
                                         "[m^2] in the root_pose reward term (upstream's 0.1)", ge=0),
    "joint_err_w": Field(list, None, "per non-root joint weight of the pose error (default ones)", item=float,
                         ge=0),
}
DEEPMIMIC_SCHEMA: dict[str, Field] = {**CLIP_ENV_SCHEMA, **TRACKING_REWARD_SCHEMA}


class DeepMimicEnv(CharEnv):
    """Reference-state initialisation, tracking observations, the five-term tracking reward, early
    termination on ground contact / pose error, and the paper's tracking errors in TEST mode.

    Extra config keys: :data:`DEEPMIMIC_SCHEMA`. With ``residual_action`` the action bounds are upstream's
    bounds shifted to centre on zero, so a zero action tracks the clip open-loop; ``action_center``
    ``motion_mean`` centres absolute bounds on the clips' mean DoF positions, so the untrained policy holds the
    clips' mean pose.
    """

    SCHEMA = DEEPMIMIC_SCHEMA
    # the reward terms this env offers; their weights and scales come from its config
    REWARD_TERMS: ClassVar[dict[str, TrackingTerm]] = TRACKING_TERMS
    SHOW_REFERENCE = True  # recorded video draws the reference pose as a ghost
    CLIP_END_SUCCESS = True  # a clamped clip played to its end ends the episode with SUCC
    ROBOT_OBS = True  # robot_obs is offered (a policy observation without state estimation, privileged critic)
    MASKED_RESET = True

    def _build_task(self) -> None:
        cfg = self.config
        self.motion_lib = MotionLib(cfg["motion_file"], self.kin_model, self.device)
        self._frames_at = compiled(self._frames_at, self.engine.compiles)  # type: ignore[method-assign]
        world, rank = self.worker.world_size, self.worker.rank
        if world > 1 and self.motion_lib.num_motions >= world:  # each worker trains on its share of the clips
            self.motion_lib.sample_only(torch.arange(rank, self.motion_lib.num_motions, world))
        self.enable_early_termination = cfg["enable_early_termination"]
        self.pose_termination = cfg["pose_termination"]
        self.pose_termination_dist = cfg["pose_termination_dist"]
        self.test_pose_termination = cfg["test_pose_termination"]
        self.pose_termination_root_xy = cfg["pose_termination_root_xy"]
        self.enable_phase_obs = cfg["enable_phase_obs"]
        self.num_phase_encoding = cfg["num_phase_encoding"]
        self.enable_tar_obs = cfg["enable_tar_obs"]
        self.tar_obs_steps = torch.tensor(cfg["tar_obs_steps"], dtype=torch.float32, device=self.device)
        self.rand_reset = cfg["rand_reset"]
        self.residual_action = cfg["residual_action"]
        if len(cfg["ref_char_offset"]) != 3:
            raise ConfigError(f"{self.source}: ref_char_offset must hold 3 numbers (x, y, z in m), found "
                              f"{cfg['ref_char_offset']}")
        self.ref_char_offset = torch.tensor(cfg["ref_char_offset"], dtype=torch.float32, device=self.device)
        self.show_reference = self.SHOW_REFERENCE and cfg["visualize_ref_char"]
        # The reference frames each step reads sit in a window of consecutive control steps ahead of the motion
        # time: 0 (now) up to the farthest target observation (and 1 for residual actions). A step slides the
        # window by one and computes only its newest frame; a reset computes the whole window of its envs.
        num_tar = self.tar_obs_steps.numel() if self.enable_tar_obs else 0
        tar_steps = [int(s) for s in cfg["tar_obs_steps"]][:num_tar]
        self._window = max([1 if self.residual_action else 0] + tar_steps) + 1  # frames 0 .. window-1
        self._window_steps = torch.arange(self._window, device=self.device)
        contiguous = bool(tar_steps) and tar_steps == list(range(tar_steps[0], tar_steps[0] + num_tar))
        self._tar_slots = (slice(tar_steps[0], tar_steps[-1] + 1) if contiguous  # views, no copy per step
                           else torch.tensor(tar_steps, dtype=torch.long, device=self.device))
        self.action_center = cfg["action_center"]
        pose_option = ("residual_action" if self.residual_action
                       else "action_center motion_mean" if self.action_center == "motion_mean" else None)
        if pose_option and self.engine.control_mode not in (ControlMode.POS, ControlMode.PD_1D):
            raise ConfigError(f"{self.source}: {pose_option} needs PD position targets (control_mode pos or "
                              f"pd_1d), but the engine uses {self.engine.control_mode.name.lower()}")
        if self.residual_action and self.action_center != "range":
            raise ConfigError(f"{self.source}: action_center {self.action_center!r} applies to absolute actions; "
                              f"residual_action already centres them on the reference")
        self.track_root = self.enable_tar_obs and self.global_obs  # world-frame root (reward, AMP's windows)
        self.reward_terms = configured_terms(cfg, self.REWARD_TERMS)
        if self.reward_terms:
            self._build_tracking_reward()
        allowed = torch.zeros(self.kin_model.num_bodies, dtype=torch.bool, device=self.device)
        contact_ids = self._body_ids(cfg["contact_bodies"], "contact_bodies")
        allowed[contact_ids] = True
        self.allowed_contact = allowed
        # An empty contact_bodies list disables contact termination (rolling, crawling clips).
        self.contact_termination = contact_ids.numel() > 0

        n = self.num_envs
        self.motion_ids = torch.zeros(n, dtype=torch.long, device=self.device)
        self.motion_time_offset = torch.zeros(n, device=self.device)
        self._frames: dict[str, torch.Tensor] = {}  # [N, window, ...] reference frames of the window
        self._ref: dict[str, torch.Tensor] = {}  # [N, ...] views of frame 0
        self._tar: dict[str, torch.Tensor] = {}  # [N, num_tar, ...] the target observation's frames
        self._cmd_ref_dof = torch.zeros(n, self.kin_model.dof_size, device=self.device)
        self._update_reference(torch.arange(n, device=self.device))

    # ------------------------------------------------------------------------------------ reference
    @property
    def reference(self) -> dict[str, torch.Tensor]:
        """The reference clip's state at every env's current motion time, keyed as :meth:`char_state` (the
        env's own buffers, refreshed each step)."""
        return self._ref

    def motion_time(self, env_ids: torch.Tensor | None = None) -> torch.Tensor:
        t = self.time + self.motion_time_offset
        return t if env_ids is None else t[env_ids]

    def _build_tracking_reward(self) -> None:
        """The tracking reward's settings (:data:`TRACKING_REWARD_SCHEMA`): which root coordinates it compares and
        the per-joint and root-rotation weights of its errors."""
        cfg = self.config
        self.track_root_xy = cfg["track_root_xy"]
        self.root_rot_err_w = cfg["root_rot_err_w"]
        num_joints = self.kin_model.num_joints
        joint_err_w = torch.tensor(cfg["joint_err_w"] or [1.0] * num_joints, dtype=torch.float32)
        if joint_err_w.numel() != num_joints:
            raise ConfigError(f"{self.source}: joint_err_w needs {num_joints} values (one per non-root joint), "
                              f"found {joint_err_w.numel()}")
        self.joint_err_w = joint_err_w.to(self.device)
        self.dof_err_w = self.kin_model.expand_joint_weights(self.joint_err_w)

    def _frames_at(self, motion_ids: torch.Tensor, times: torch.Tensor) -> dict[str, torch.Tensor]:
        """Reference state (with FK body poses) of clips at times, batched ``[n, ...]``."""
        f = self.motion_lib.calc_motion_frame(motion_ids, times)
        body_pos, body_rot = self.kin_model.forward_kinematics(f.root_pos, f.root_rot, f.joint_rot)
        return {"root_pos": f.root_pos, "root_rot": f.root_rot, "root_vel": f.root_vel,
                "root_ang_vel": f.root_ang_vel, "joint_rot": f.joint_rot, "dof_vel": f.dof_vel,
                "body_pos": body_pos, "body_rot": body_rot}

    def _window_times(self, env_ids: torch.Tensor | None, steps: torch.Tensor) -> torch.Tensor:
        """Motion times ``[n, len(steps)]`` of the control steps ``steps`` ahead of ``env_ids`` (all if None)'s
        episode clock, computed as the clock itself will read then, so a slid frame equals a recomputed one."""
        count = self.step_count if env_ids is None else self.step_count[env_ids]
        offset = self.motion_time_offset if env_ids is None else self.motion_time_offset[env_ids]
        return (count[:, None] + steps) * self.engine.timestep + offset[:, None]

    def _store_frames(self, env_ids: torch.Tensor | None, slots: slice, frames: dict[str, torch.Tensor]) -> None:
        """Write ``frames`` (``[n * k, ...]``, env-major) into window ``slots`` (k of them) of ``env_ids`` (all if
        None; ids, or a mask with frames of every env), then refresh what is read from the window."""
        for key, value in frames.items():
            if key not in self._frames:
                self._frames[key] = torch.zeros(self.num_envs, self._window, *value.shape[1:], device=self.device)
                self._ref[key] = self._frames[key][:, 0]
            value = value.reshape(-1, slots.stop - slots.start, *value.shape[1:])
            if env_ids is None:
                self._frames[key][:, slots] = value
            else:
                write_rows(self._frames[key][:, slots], env_ids, value)  # a view of the window
        if self.enable_tar_obs:
            self._tar = {key: value[:, self._tar_slots] for key, value in self._frames.items()}
        if self.residual_action:  # PD targets of the next control step
            if env_ids is None:
                self._cmd_ref_dof = self.kin_model.rot_to_dof(self._frames["joint_rot"][:, 1])
            else:
                write_rows(self._cmd_ref_dof, env_ids,
                           self.kin_model.rot_to_dof(select(self._frames["joint_rot"][:, 1], env_ids)))
        if self.show_reference and self.engine.renders:
            r = self._ref
            self.engine.show_reference(self.char_id, r["root_pos"][0] + self.ref_char_offset, r["root_rot"][0],
                                       self.kin_model.rot_to_dof(r["joint_rot"][0]))

    def _update_reference(self, env_ids: torch.Tensor) -> None:
        """The whole window of reference frames of ``env_ids`` (after a reset; ids or a mask), in one query."""
        times = self._window_times(computed_rows(env_ids), self._window_steps)
        ids = select(self.motion_ids, env_ids)[:, None].expand(-1, self._window)
        self._store_frames(env_ids, slice(0, self._window), self._frames_at(ids.reshape(-1), times.reshape(-1)))

    def _advance_reference(self) -> None:
        """Slide every env's window one control step on and compute its newest frame."""
        last = self._window - 1
        if last > 0:
            for value in self._frames.values():
                value[:, :last] = value[:, 1:].clone()
        times = self._window_times(None, self._window_steps[last:])
        self._store_frames(None, slice(last, last + 1), self._frames_at(self.motion_ids, times.reshape(-1)))

    # ---------------------------------------------------------------------------------------- hooks
    def _reset_envs(self, env_ids: torch.Tensor) -> None:
        n = row_count(env_ids)
        motion_ids = self.motion_lib.sample_motions(n)
        times = self.motion_lib.sample_time(motion_ids) if self.rand_reset else torch.zeros(n, device=self.device)
        write_rows(self.motion_ids, env_ids, motion_ids)
        write_rows(self.motion_time_offset, env_ids, times)
        self._update_reference(env_ids)
        ref = {k: select(v, env_ids) for k, v in self._ref.items()}
        self.engine.set_state(self.char_id, env_ids, root_pos=ref["root_pos"], root_rot=ref["root_rot"],
                              root_vel=ref["root_vel"], root_ang_vel=ref["root_ang_vel"],
                              dof_pos=self.kin_model.rot_to_dof(ref["joint_rot"]), dof_vel=ref["dof_vel"])

    def _update_misc(self) -> None:
        self._advance_reference()

    def _adjust_action_bounds(self, low: torch.Tensor, high: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        half_range = 0.5 * (high - low)
        if self.residual_action:
            return -half_range, half_range
        if self.action_center == "motion_mean":
            centre = self.motion_lib.mean_dof_pos.to(low.device)
            return centre - half_range, centre + half_range
        return low, high

    def _action_to_command(self, action: torch.Tensor) -> torch.Tensor:
        """Residual actions: PD targets = reference DoFs at the next control step + action ``[N, D]``."""
        return self._cmd_ref_dof + action if self.residual_action else action

    def _build_obs_terms(self) -> list[tuple[str, ObsTerm]]:
        """Character state, then the clip phase (``enable_phase_obs``), then the future reference frames
        (``enable_tar_obs``); with ``robot_obs`` the character and target terms are a robot's own measurements
        and a last ``privileged`` term carries what only the critic sees."""
        self.robot_obs = self.config["robot_obs"]
        if self.robot_obs and not self.ROBOT_OBS:
            raise ConfigError(f"{self.source}: robot_obs applies to tracking envs (env_name deepmimic), not "
                              f"{type(self).__name__}")
        if self.robot_obs and not self.enable_tar_obs:
            raise ConfigError(f"{self.source}: robot_obs needs enable_tar_obs (the reference is observed relative "
                              f"to the robot)")
        terms: list[tuple[str, ObsTerm]] = (
            [("char", self._robot_char_obs)] if self.robot_obs else super()._build_obs_terms())
        if self.enable_phase_obs:
            terms.append(("phase", self._phase_obs))
        if self.enable_tar_obs:
            terms.append(("target", self._robot_target_obs if self.robot_obs else self._target_obs))
        if self.robot_obs:
            terms.append(("privileged", self._privileged_obs))
        return terms

    def _robot_char_obs(self, env_ids: torch.Tensor | None) -> torch.Tensor:
        s = self.char_state(env_ids)
        return compute_robot_char_obs(s["root_rot"], s["root_ang_vel"], s["joint_rot"], s["dof_vel"], s["root_pos"],
                                      s["body_pos"][:, self.key_body_ids])

    def _robot_target_obs(self, env_ids: torch.Tensor | None) -> torch.Tensor:
        sel = (lambda x: x) if env_ids is None else (lambda x: x[env_ids])
        return compute_robot_target_obs(sel(self.engine.get_root_rot(self.char_id)), sel(self._tar["root_pos"]),
                                        sel(self._tar["root_rot"]), sel(self._tar["joint_rot"]),
                                        sel(self._tar["body_pos"])[:, :, self.key_body_ids])

    def _privileged_obs(self, env_ids: torch.Tensor | None) -> torch.Tensor:
        s = self.char_state(env_ids)
        tar_root_pos = self._tar["root_pos"] if env_ids is None else self._tar["root_pos"][env_ids]
        return compute_privileged_obs(s["root_pos"], s["root_rot"], s["root_vel"], tar_root_pos)

    def _phase_obs(self, env_ids: torch.Tensor | None) -> torch.Tensor:
        ids = self.motion_ids if env_ids is None else self.motion_ids[env_ids]
        phase = self.motion_lib.calc_motion_phase(ids, self.motion_time(env_ids))
        return compute_phase_obs(phase, self.num_phase_encoding)

    def _target_obs(self, env_ids: torch.Tensor | None) -> torch.Tensor:
        sel = (lambda x: x) if env_ids is None else (lambda x: x[env_ids])
        return compute_target_obs(
            sel(self.engine.get_root_pos(self.char_id)), sel(self._tar["root_pos"]), sel(self._tar["root_rot"]),
            sel(self._tar["joint_rot"]), sel(self._tar["body_pos"])[:, :, self.key_body_ids], self.global_obs,
            self.root_height_obs)

    def _tracking_states(self) -> tuple[TrackingState, TrackingState]:
        """The simulated and the reference character as the tracking reward reads them."""
        s = self.char_state(None)
        key = self.key_body_ids
        sim = TrackingState(s["root_pos"], s["root_rot"], s["root_vel"], s["root_ang_vel"], s["joint_rot"],
                            s["dof_vel"], s["body_pos"][:, key])
        r = self._ref
        ref = TrackingState(r["root_pos"], r["root_rot"], r["root_vel"], r["root_ang_vel"], r["joint_rot"],
                            r["dof_vel"], r["body_pos"][:, key])
        return sim, ref

    def _compute_reward(self) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        """The configured terms' reward; none configured (the AMP family): 0, the discriminator pays."""
        if not self.reward_terms:
            return torch.zeros(self.num_envs, device=self.device), {}
        sim, ref = self._tracking_states()
        frames = tracking_frames(sim, ref, self.joint_err_w, self.dof_err_w, self.track_root, self.root_height_obs,
                                 self.track_root_xy, self.root_rot_err_w)
        return compose_reward(frames, self.reward_terms)

    def _compute_metrics(self) -> dict[str, torch.Tensor]:
        """TEST mode: the paper's tracking errors of this step, ``e_pos`` [m] (Eq. 2) and ``e_vel`` [rad/s]
        (Eq. 3), each ``[N]``; the step averages them per episode into ``info["episode_metrics"]``."""
        if self.mode != EnvMode.TEST:
            return {}
        state = self.char_state(None)
        return {"e_pos": metrics.position_tracking_error(state["body_pos"], self._ref["body_pos"]),
                "e_vel": metrics.dof_velocity_error(self.kin_model, state["root_ang_vel"], self._ref["root_ang_vel"],
                                                    state["dof_vel"], self._ref["dof_vel"])}

    def _motion_ended(self) -> torch.Tensor:
        """``[N]`` True where a clamped (non-looping) clip has played to its end: the episode succeeds (envs
        that imitate style rather than a clip, ``CLIP_END_SUCCESS = False``, never end so)."""
        if not self.CLIP_END_SUCCESS:
            return torch.zeros(self.num_envs, dtype=torch.bool, device=self.device)
        motion_len = self.motion_lib.get_motion_length(self.motion_ids)
        clamp = self.motion_lib.get_motion_loop_mode(self.motion_ids) != LoopMode.WRAP
        return clamp & (self.motion_time() >= motion_len)

    def _compute_done(self) -> torch.Tensor:
        failed = torch.zeros(self.num_envs, dtype=torch.bool, device=self.device)
        if self.enable_early_termination:
            if self.contact_termination:
                failed |= contact_failure(self.engine.get_ground_contact_forces(self.char_id), self.allowed_contact)
            if self.pose_termination and (self.mode == EnvMode.TRAIN or self.test_pose_termination):
                failed |= pose_failure(self.engine.get_body_pos(self.char_id), self._ref["body_pos"],
                                       self.pose_termination_dist,
                                       align_root_xy=not self.pose_termination_root_xy)
        return compute_done(self.time, self.episode_length, self._motion_ended(), failed)
