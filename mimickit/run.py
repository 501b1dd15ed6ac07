"""MimicKit entry point: ``python mimickit/run.py --arg_file args/<...>.txt [--key value ...]``.

Train mode writes ``<out_dir>/model.pt``, ``log.txt`` and copies of the three configs; test mode prints the
mean return, episode length and (for tracking environments) the paper's tracking errors, and writes them
to ``<out_dir>/test_results.json``. ``--help`` lists every argument.
"""

from __future__ import annotations

import json
import math
import random
import shutil
import statistics
import sys
import time
from pathlib import Path

if __package__ in (None, ""):  # run as a script: make the repository importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np  # noqa: E402
import torch  # noqa: E402

from mimickit.anim.mjcf_loader import CharModelError  # noqa: E402
from mimickit.anim.motion import MotionFileError  # noqa: E402
from mimickit.envs.env_builder import build_env  # noqa: E402
from mimickit.learning.agent_builder import build_agent  # noqa: E402
from mimickit.util.arg_parser import parse_args  # noqa: E402
from mimickit.util.checkpoint import CheckpointError  # noqa: E402
from mimickit.util.config import ConfigError  # noqa: E402
from mimickit.util.logger import Logger  # noqa: E402
from mimickit.util.paths import resolve_path  # noqa: E402

USER_ERRORS = (ConfigError, MotionFileError, CheckpointError, CharModelError)


def set_seed(seed: int | None) -> int:
    seed = int(time.time() * 256) % (2 ** 31) if seed is None else seed
    print(f"Setting seed: {seed}", flush=True)
    random.seed(seed)
    np.random.seed(seed % (2 ** 32))
    torch.manual_seed(seed)
    return seed


def mean_std(values: list[float]) -> tuple[float, float]:
    if not values:
        return math.nan, math.nan
    return statistics.fmean(values), (statistics.pstdev(values) if len(values) > 1 else 0.0)


def run_test(args: dict, env, agent, out_dir: Path) -> dict:
    if args["video"]:
        env.engine.start_video_recording()
    info = agent.test_model(args["test_episodes"])
    results = {"episodes": info["num_eps"], "mean_return": info["mean_return"],
               "std_return": mean_std(info["returns"])[1], "mean_episode_length": info["mean_ep_len"]}
    print(f"Mean Return: {info['mean_return']:.4f} +- {results['std_return']:.4f}")
    print(f"Mean Episode Length: {info['mean_ep_len']:.2f}")
    print(f"Episodes: {info['num_eps']}")
    if hasattr(env, "tracking_errors"):
        errors = env.tracking_errors()
        for key, label, unit in (("e_pos", "Position Tracking Error (Eq. 2)", "m"),
                                 ("e_vel", "DoF Velocity Error (Eq. 3)", "rad/s")):
            mean, std = mean_std(errors[key])
            results[f"{key}_mean"], results[f"{key}_std"] = mean, std
            print(f"{label}: {mean:.4f} +- {std:.4f} {unit}")
    if args["video"]:
        frames = env.engine.stop_video_recording()
        path = out_dir / "video.gif"
        write_gif(path, frames, fps=round(1.0 / env.engine.timestep))
        results["video"] = str(path)
        print(f"Wrote {len(frames)} frames to {path}")
    (out_dir / "test_results.json").write_text(json.dumps(results, indent=2) + "\n")
    return results


def write_gif(path: Path, frames: list[np.ndarray], fps: int) -> None:
    from PIL import Image

    images = [Image.fromarray(f) for f in frames]
    images[0].save(path, save_all=True, append_images=images[1:], duration=round(1000 / fps), loop=0)


def run(args: dict) -> None:
    if len(args["devices"]) != 1:
        raise ConfigError("--devices takes one device in this version (multi-process training is not built yet)")
    device = torch.device(args["devices"][0])
    set_seed(args["rand_seed"])
    out_dir = Path(args["out_dir"])
    out_dir.mkdir(parents=True, exist_ok=True)
    if args["video"]:
        if args["mode"] != "test":
            raise ConfigError("--video records test episodes; use it with --mode test")
        try:
            import PIL  # noqa: F401
        except ImportError:
            raise ConfigError("--video needs Pillow: pip install pillow") from None
    if not args["env_config"]:
        raise ConfigError("--env_config is required (or an --arg_file that sets it)")
    env = build_env(args["env_config"], args["engine_config"] or None, args["num_envs"], device,
                    visualize=args["visualize"], record_video=args["video"])
    try:
        agent = build_agent(args["agent_config"], env, device)
        print(f"Built {agent.NAME} agent with {sum(p.numel() for p in agent.parameters() if p.requires_grad):,} "
              f"trainable parameters", flush=True)
        if args["mode"] == "train":
            model_file = args["model_file"] or (str(out_dir / "model.pt") if args["resume"] else "")
            if model_file:  # a checkpoint continues exactly: weights, optimisers, counters, RNG state
                agent.load(resolve_path(model_file), resume=True)
            for key, name in (("engine_config", "engine_config.yaml"), ("env_config", "env_config.yaml"),
                              ("agent_config", "agent_config.yaml")):
                if args[key]:
                    src = resolve_path(args[key])
                    if src.resolve() != (out_dir / name).resolve():
                        shutil.copyfile(src, out_dir / name)
            logger = Logger(out_dir, args["logger"], run_config=agent.config, append=args["resume"])
            print(f"Logging data to {logger.path}", flush=True)
            try:
                agent.train_model(args["max_samples"], out_dir, logger, args["save_int_models"])
            finally:
                logger.close()
        else:
            if args["model_file"]:
                agent.load(resolve_path(args["model_file"]), resume=False)
            run_test(args, env, agent, out_dir)
    finally:
        env.close()


def main(argv: list[str] | None = None) -> int:
    try:
        args = parse_args(sys.argv[1:] if argv is None else argv)
        run(args)
    except USER_ERRORS as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    return 0


if __name__ == "__main__":
    sys.exit(main())
