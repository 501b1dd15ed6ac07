#!/usr/bin/env python
"""Where MuJoCo's time goes inside one physics step of a character, by MuJoCo's own timers.

For each env yaml, the character is put on its clip at ``--starts`` evenly spaced times and replayed open loop
for ``--control_steps`` control steps (PD targets = the clip's next frame, the engine's substeps), one ``MjData``
on one thread. The shares of ``mj_step`` are summed over all of it: position (kinematics, inertia, collision
detection split into broad and narrow phase, making constraints), velocity, actuation, the constraint solver and
integration. It tells which physics changes can pay: e.g. dropping collision pairs saves at most the collision
share.

    python benchmarks/physics_phases.py [--env_config data/envs/deepmimic_humanoid_env.yaml ...]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import mujoco
import numpy as np
import torch

REPO_ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO_ROOT))

from mimickit.envs.env_builder import build_env  # noqa: E402
from mimickit.util.cli import at_least, guarded  # noqa: E402
from mimickit.util.paths import resolve_path  # noqa: E402

ENGINE_CONFIG = "data/engines/mujoco_engine.yaml"
PHASES = {  # printed name: mjtTimer member
    "position": "mjTIMER_POSITION", "  kinematics": "mjTIMER_POS_KINEMATICS", "  inertia": "mjTIMER_POS_INERTIA",
    "  collision": "mjTIMER_POS_COLLISION", "    broad phase": "mjTIMER_COL_BROAD",
    "    narrow phase": "mjTIMER_COL_NARROW", "  make constraints": "mjTIMER_POS_MAKE",
    "velocity": "mjTIMER_VELOCITY", "actuation": "mjTIMER_ACTUATION", "constraint solver": "mjTIMER_CONSTRAINT",
    "integration": "mjTIMER_ADVANCE"}


def phase_shares(env_config: str, starts: int, control_steps: int) -> tuple[dict[str, float], float, float]:
    """Shares of ``mj_step`` time per phase (fractions), mean contacts per substep and µs per substep."""
    env = build_env(str(resolve_path(env_config)), str(REPO_ROOT / ENGINE_CONFIG), 1)
    try:
        engine, lib, kin = env.engine, env.motion_lib, env.kin_model
        model = engine.model
        data = mujoco.MjData(model)
        act_dof = engine._act_dof
        clip = torch.zeros(1, dtype=torch.long)
        length = float(lib.get_motion_length(clip))
        totals = np.zeros(len(data.timer))
        contacts, substeps = 0, 0
        for start in np.linspace(0.0, length, starts, endpoint=False):
            frame = lib.calc_motion_frame(clip, torch.tensor([start], dtype=torch.float32))
            engine.set_state(env.char_id, clip, root_pos=frame.root_pos, root_rot=frame.root_rot,
                             root_vel=torch.zeros(1, 3), root_ang_vel=torch.zeros(1, 3),
                             dof_pos=kin.rot_to_dof(frame.joint_rot), dof_vel=torch.zeros(1, kin.dof_size))
            data.qpos[:] = engine._qpos[0].numpy()
            data.qvel[:] = 0.0
            mujoco.mj_forward(model, data)
            for timer in data.timer:
                timer.duration, timer.number = 0.0, 0
            for step in range(control_steps):
                target = lib.calc_motion_frame(clip, torch.tensor([start + (step + 1) * env.step_time],
                                                                     dtype=torch.float32))
                data.ctrl[:] = kin.rot_to_dof(target.joint_rot)[0, act_dof].double().numpy()
                for _ in range(engine.substeps):
                    mujoco.mj_step(model, data)
                    contacts += data.ncon
                    substeps += 1
            totals += [data.timer[i].duration for i in range(len(totals))]
        step_time = totals[mujoco.mjtTimer.mjTIMER_STEP]
        shares = {name: totals[getattr(mujoco.mjtTimer, member)] / step_time for name, member in PHASES.items()}
        return shares, contacts / substeps, 1e6 * step_time / substeps
    finally:
        env.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--env_config", nargs="+", default=["data/envs/deepmimic_humanoid_env.yaml",
                                                             "data/envs/deepmimic_g1_env.yaml"])
    parser.add_argument("--starts", type=at_least(1), default=40, help="start times in the clip")
    parser.add_argument("--control_steps", type=at_least(1), default=10, help="control steps from each start")
    cli = parser.parse_args()
    for env_config in cli.env_config:
        shares, contacts, us = phase_shares(env_config, cli.starts, cli.control_steps)
        print(f"{env_config}: {us:.1f} us per substep, {contacts:.2f} contacts per substep; share of mj_step:")
        for name, share in shares.items():
            print(f"  {name:<20}{100 * share:5.1f} %")


if __name__ == "__main__":
    sys.exit(guarded(main))
