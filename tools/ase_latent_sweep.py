#!/usr/bin/env python
"""Play K fixed skill latents of a trained ASE policy from the same start and show how differently they move.

Every env starts at the default pose at rest; env k holds latent k for the whole run (deterministic actions).
Printed per latent: mean ground speed (m/s), net heading change (deg), displacement (m) and when it fell;
then the spread across latents (std of speed and of heading change): near zero means the latents do not
produce distinct behaviours. Writes ``<out>/latent_sweep.png`` (root paths on the ground and speeds per
latent; needs matplotlib), ``<out>/latent_sweep.json`` and a video grid ``<out>/latent_sweep.mp4`` (``.gif``
without imageio-ffmpeg): one tile per latent, row-major, four to a row, each camera following its character;
a latent that falls restarts from the default pose with the same latent. Rendering needs OpenGL; without a GPU
or display ``apt-get install libosmesa6`` and ``MUJOCO_GL=osmesa``; ``--no_video`` skips it.

    python tools/ase_latent_sweep.py --model_file output/ase_humanoid/model.pt --latents 8 --seconds 6
"""

from __future__ import annotations

import argparse
import json
import math
import statistics
import sys
from pathlib import Path

import torch

REPO_ROOT = Path(__file__).resolve().parents[1]
if str(REPO_ROOT) not in sys.path:
    sys.path.insert(0, str(REPO_ROOT))

from mimickit.envs.base_env import DoneFlags, EnvMode  # noqa: E402
from mimickit.envs.env_builder import build_env  # noqa: E402
from mimickit.learning.agent_builder import build_agent  # noqa: E402
from mimickit.learning.ase_agent import ASEAgent  # noqa: E402
from mimickit.learning.ase_model import sample_latents  # noqa: E402
from mimickit.learning.runner import Runner  # noqa: E402
from mimickit.util import rotations as rot  # noqa: E402
from mimickit.util.arg_parser import model_run_args  # noqa: E402
from mimickit.util.cli import at_least, guarded  # noqa: E402
from mimickit.util.config import ConfigError  # noqa: E402
from mimickit.util.paths import resolve_path  # noqa: E402
from mimickit.util.video import write_video  # noqa: E402


def sweep(model_file: str, arg_file: str | None, num_latents: int, seconds: float, seed: int,
          video_stem: Path | None = None) -> dict:
    """Roll out ``num_latents`` fixed latents; returns per-latent paths [m] and summary figures (and the video
    file under ``"video"`` when ``video_stem`` is given)."""
    model = resolve_path(model_file)
    args = model_run_args(model, arg_file, "args/ase_humanoid_args.txt")
    env_config, agent_config = args["env_config"], args["agent_config"]
    torch.manual_seed(seed)
    env = build_env(env_config, args["engine_config"], num_latents, record_video=video_stem is not None)
    try:
        agent = build_agent(agent_config, env)
        if not isinstance(agent, ASEAgent):
            raise ConfigError(f"{model_file}: not an ASE model (agent {agent.NAME})")
        runner = Runner(env, agent)
        runner.load(model, resume=False)
        runner.set_mode(EnvMode.TEST)
        env.default_reset_prob = 1.0  # the same start for every latent
        obs = runner._reset_all()
        agent.latents[:] = sample_latents(num_latents, agent.latent_dim)
        agent.latent_resample_time[:] = math.inf
        dt = env.step_time
        if video_stem is not None:
            env.start_video(env_ids=range(num_latents))
        steps = round(seconds / dt)
        paths = [env.char_state()["root_pos"][:, :2].clone()]
        headings = [rot.calc_heading(env.char_state()["root_rot"]).clone()]
        fell_at = torch.full((num_latents,), math.nan)
        alive = torch.ones(num_latents, dtype=torch.bool)
        with torch.no_grad():
            for step in range(steps):
                action, _ = agent.act(obs)
                obs, _, done, _ = env.step(action)
                obs = obs.clone()
                paths.append(env.char_state()["root_pos"][:, :2].clone())
                headings.append(rot.calc_heading(env.char_state()["root_rot"]).clone())
                failed = alive & (done == int(DoneFlags.FAIL))
                fell_at[failed] = (step + 1) * dt
                alive &= done == int(DoneFlags.NULL)
                if not alive.any():
                    break
        video = write_video(video_stem, *env.stop_video()) if video_stem is not None else None
    finally:
        env.close()
    path = torch.stack(paths, 1)  # [K, T, 2]
    heading = torch.stack(headings, 1)
    result = {"latents": [], "video": None if video is None else str(video)}
    for k in range(num_latents):
        end = len(paths) if math.isnan(fell_at[k]) else round(float(fell_at[k]) / dt) + 1
        p, h = path[k, :end], heading[k, :end]
        duration = max((end - 1) * dt, dt)
        turn = float(rot.normalize_angle(h[1:] - h[:-1]).sum()) if end > 1 else 0.0
        result["latents"].append({
            "speed": float((p[1:] - p[:-1]).norm(dim=-1).sum()) / duration,
            "heading_change_deg": math.degrees(turn), "displacement": float((p[-1] - p[0]).norm()),
            "fell_at_s": None if math.isnan(fell_at[k]) else float(fell_at[k]), "path": p.tolist()})
    speeds = [r["speed"] for r in result["latents"]]
    turns = [r["heading_change_deg"] for r in result["latents"]]
    result["speed_spread"] = statistics.pstdev(speeds)
    result["heading_change_spread_deg"] = statistics.pstdev(turns)
    result["fall_rate"] = sum(r["fell_at_s"] is not None for r in result["latents"]) / num_latents
    return result


def plot(result: dict, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (ax_path, ax_speed) = plt.subplots(1, 2, figsize=(10, 4.5))
    for k, r in enumerate(result["latents"]):
        xy = torch.tensor(r["path"])
        ax_path.plot(xy[:, 0], xy[:, 1], label=f"z{k}")
        if r["fell_at_s"] is not None:
            ax_path.plot(xy[-1, 0], xy[-1, 1], "kx")
    ax_path.set(xlabel="x (m)", ylabel="y (m)", title="root paths (x: fell)", aspect="equal")
    ax_path.legend(fontsize=7, ncol=2)
    ax_speed.bar(range(len(result["latents"])), [r["speed"] for r in result["latents"]])
    ax_speed.set(xlabel="latent", ylabel="mean ground speed (m/s)",
                 title=f"speed spread {result['speed_spread']:.2f} m/s, turn spread "
                       f"{result['heading_change_spread_deg']:.0f} deg")
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model_file", required=True)
    parser.add_argument("--arg_file", default=None, help="configs (default: those the model was trained with)")
    parser.add_argument("--latents", type=at_least(1), default=8)
    parser.add_argument("--seconds", type=at_least(0.01, float), default=6.0)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out_dir", default="output/ase_latent_sweep")
    parser.add_argument("--no_video", action="store_true", help="skip the video grid (needs no OpenGL)")
    cli = parser.parse_args(argv)
    out = Path(cli.out_dir)
    try:
        result = sweep(cli.model_file, cli.arg_file, cli.latents, cli.seconds, cli.seed,
                       None if cli.no_video else out / "latent_sweep")
    except ConfigError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    print(f"{'latent':>6} {'speed m/s':>10} {'turn deg':>9} {'disp m':>7} {'fell at s':>9}")
    for k, r in enumerate(result["latents"]):
        fell = "-" if r["fell_at_s"] is None else f"{r['fell_at_s']:.2f}"
        print(f"{k:>6} {r['speed']:>10.2f} {r['heading_change_deg']:>9.0f} {r['displacement']:>7.2f} {fell:>9}")
    print(f"spread across latents: speed {result['speed_spread']:.3f} m/s, heading change "
          f"{result['heading_change_spread_deg']:.1f} deg; fall rate {result['fall_rate']:.2f}")
    out.mkdir(parents=True, exist_ok=True)
    if result["video"]:
        print(f"video: {result['video']}")
    (out / "latent_sweep.json").write_text(json.dumps(result) + "\n")
    try:
        plot(result, out / "latent_sweep.png")
        print(f"figure: {out / 'latent_sweep.png'}")
    except ImportError:
        print("matplotlib not installed: no figure (pip install matplotlib)")
    return 0


if __name__ == "__main__":
    sys.exit(guarded(main))
