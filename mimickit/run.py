"""MimicKit entry point: ``python mimickit/run.py --arg_file args/<...>.txt [--key value ...]``.

Train mode writes ``<out_dir>/model.pt``, ``log.txt`` and copies of the three configs; test mode prints the
mean return, episode length and (for tracking environments) the paper's tracking errors, and writes them
to ``<out_dir>/test_results.json``. ``--help`` lists every argument.
"""

from __future__ import annotations

import json
import math
import os
import random
import signal
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

if __package__ in (None, ""):  # run as a script: make the repository importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np
import torch

from mimickit.learning.agent_builder import build_agent
from mimickit.learning.low_level import build_env
from mimickit.learning.runner import Runner
from mimickit.util import distributed, run_folder
from mimickit.util.arg_parser import parse_args
from mimickit.util.checkpoint import load_checkpoint
from mimickit.util.cli import guarded
from mimickit.util.config import ConfigError
from mimickit.util.cpu_numerics import flush_subnormals
from mimickit.util.logger import Logger, check_logger_available
from mimickit.util.paths import model_configs, resolve_path
from mimickit.util.video import mp4_available, write_video


class StoppedBySignal(Exception):
    """Training stopped on SIGINT / SIGTERM after writing its checkpoint."""

    def __init__(self, signum: int) -> None:
        super().__init__(signum)
        self.signum = signum


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


def run_test(args: dict, env, runner: Runner, out_dir: Path) -> dict:
    if args["video"]:
        env.start_video(env_ids=range(min(env.num_envs, env.VIDEO_ENVS)))
    info = runner.test(args["test_episodes"])
    run_folder.create(out_dir)
    results = {"episodes": info["num_eps"], "mean_return": info["mean_return"],
               "std_return": mean_std(info["returns"])[1], "mean_episode_length": info["mean_ep_len"]}
    print(f"Mean Return: {info['mean_return']:.4f} +- {results['std_return']:.4f}")
    print(f"Mean Episode Length: {info['mean_ep_len']:.2f}")
    print(f"Episodes: {info['num_eps']}")
    metrics = info["episode_metrics"]
    for key, label, unit in (("e_pos", "Position Tracking Error (Eq. 2)", "m"),
                             ("e_vel", "DoF Velocity Error (Eq. 3)", "rad/s")):
        if key in metrics:
            mean, std = mean_std(metrics[key])
            results[f"{key}_mean"], results[f"{key}_std"] = mean, std
            print(f"{label}: {mean:.4f} +- {std:.4f} {unit}")
    for key in sorted(set(metrics) - {"e_pos", "e_vel"}):  # task metrics, e.g. location_success
        mean, std = mean_std(metrics[key])
        results[f"{key}_mean"], results[f"{key}_std"] = mean, std
        print(f"{key}: {mean:.4f} +- {std:.4f}")
    if args["video"]:
        frames, frame_time = env.stop_video()
        path = write_video(out_dir / "videos" / "test", frames, frame_time=frame_time)
        results["video"] = str(path)
        print(f"Wrote {len(frames)} frames to {path}")
    results["model_file"] = args["model_file"] or None  # None: an untrained (--random_policy) or scripted policy
    (out_dir / "test_results.json").write_text(json.dumps(results, indent=2) + "\n")
    return results


def with_model_configs(args: dict) -> dict:
    """Test mode: the configs ``--model_file`` was trained with (its run folder's copies, else the texts the
    checkpoint carries) fill ``--env_config``, ``--agent_config`` and ``--engine_config`` where the command line
    and arg file leave them empty; what they name wins."""
    found = model_configs(resolve_path(args["model_file"]))
    filled = {key: found[key] for key in ("env_config", "agent_config", "engine_config")
              if not args[key] and key in found}
    if filled:
        print(f"Using the configs {args['model_file']} was trained with ({', '.join(sorted(filled))})", flush=True)
    return {**args, **filled}


def worker_count(args: dict) -> int:
    """Processes to train with: ``--num_workers``, or one per ``--devices`` entry when several are given."""
    workers, devices = args["num_workers"], args["devices"]
    if len(devices) > 1:
        if workers not in (1, len(devices)):
            raise ConfigError(f"--num_workers {workers} disagrees with {len(devices)} --devices")
        return len(devices)
    return workers


def check_devices(devices: list[str]) -> None:
    """Refuse ``--devices`` entries this machine cannot run on, with a one-line error."""
    for name in devices:
        try:
            device = torch.device(name)
        except RuntimeError:
            raise ConfigError(f"--devices {name}: not a torch device (use cpu or cuda:N)") from None
        if device.type == "cuda":
            if not torch.cuda.is_available():
                raise ConfigError(f"--devices {name}: this machine has no CUDA device (torch.cuda.is_available() is "
                                  f"False); use --devices cpu")
            if (device.index or 0) >= torch.cuda.device_count():
                raise ConfigError(f"--devices {name}: this machine has {torch.cuda.device_count()} CUDA device(s)")
        elif device.type != "cpu":
            raise ConfigError(f"--devices {name}: MimicKit runs on cpu or cuda devices")


def run(args: dict) -> None:
    """Train or test as the arguments say: in this process, in ``--num_workers`` spawned ones, or as one
    worker of a ``torchrun`` launch."""
    check_devices(args["devices"])
    workers = worker_count(args)
    if args["num_envs"] > CPU_ENVS_HINT and all(torch.device(d).type == "cpu" for d in args["devices"]):
        print(f"note: --num_envs {args['num_envs']} on the CPU (upstream's GPU setting) steps slowly and uses much "
              f"memory; the CPU presets use 256 (args/deepmimic_humanoid_ppo_args.txt), or use --devices cuda:0",
              flush=True)
    out_dir = Path(args["out_dir"])
    if args["mode"] == "train":  # checked once, before any worker can write into the folder
        run_folder.check_train(out_dir, args["resume"], args["model_file"], args["max_samples"],
                               args["max_minutes"])
    else:
        run_folder.check_test(out_dir, args["model_file"], args["random_policy"])
        if args["model_file"]:
            args = with_model_configs(args)
    if distributed.launched_by_torchrun():
        rank, world = int(os.environ["RANK"]), int(os.environ["WORLD_SIZE"])
        local = int(os.environ.get("LOCAL_RANK", rank))
        device = torch.device(args["devices"][local % len(args["devices"])])
        distributed.init(rank, world, device)
        if rank > 0:
            sys.stdout = open(os.devnull, "w")  # for the life of the worker
        try:
            run_process(args, device, rank)
        finally:
            distributed.shutdown()
    elif workers > 1:
        spawn_workers(args, workers)
    else:
        run_process(args, torch.device(args["devices"][0]))


def _worker(rank: int, args: dict, world: int, port: int) -> None:
    """One spawned worker: joins the group, runs, and exits with the code ``main`` would return."""
    if rank > 0:
        sys.stdout = open(os.devnull, "w")  # for the life of the worker
    device = torch.device(args["devices"][rank % len(args["devices"])])
    distributed.init(rank, world, device, master_port=port)
    try:
        code = _exit_code(lambda: run_process(args, device, rank))
    finally:
        distributed.shutdown()
    # Leave without interpreter teardown, as a forked multiprocessing child does: everything the run keeps is
    # on disk by now, and C++ thread pools destroyed during teardown have aborted finished workers (SIGABRT).
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)


class WorkerFailed(Exception):
    """A worker process ended with an error (it printed the reason)."""

    def __init__(self, code: int) -> None:
        super().__init__(code)
        self.code = code


def spawn_workers(args: dict, workers: int) -> None:
    """Train with ``workers`` local processes (gloo / NCCL). Ctrl-C and SIGTERM reach every worker, which
    stop together after their iteration with a checkpoint; the first failing worker's exit code is the run's."""
    import torch.multiprocessing as mp

    if args["mode"] != "train":
        raise ConfigError("--num_workers > 1 is for training; test with one process")
    if args["rand_seed"] is None:  # one clock seed for the whole run (each worker adds its rank)
        args = {**args, "rand_seed": int(time.time() * 256) % (2 ** 31)}
    context = mp.start_processes(_worker, args=(args, workers, distributed.free_port()), nprocs=workers,
                                 join=False, start_method="spawn")

    def forward(signum: int, frame) -> None:
        for process in context.processes:
            if process.is_alive():
                os.kill(process.pid, signum)

    previous = {signal.SIGINT: signal.signal(signal.SIGINT, signal.SIG_IGN),  # the workers see Ctrl-C themselves
                signal.SIGTERM: signal.signal(signal.SIGTERM, forward)}
    try:
        while not context.join():
            pass
    except mp.ProcessExitedException as err:
        if err.exit_code >= 128:
            raise StoppedBySignal(err.exit_code - 128) from None
        raise WorkerFailed(err.exit_code) from None
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def run_process(args: dict, device: torch.device, rank: int = 0) -> None:
    """Build, then train or test, in this process (worker ``rank`` of the current process group)."""
    main_process = rank == 0
    flush_subnormals()  # before the env or the agent starts a thread pool
    set_seed(None if args["rand_seed"] is None else args["rand_seed"] + rank)
    if distributed.world_size() > 1:
        torch.set_num_threads(max(1, (os.cpu_count() or 1) // distributed.local_world_size()))
    out_dir = Path(args["out_dir"])  # created once the run is built: a failed start writes nothing
    if args["video"] and not mp4_available():
        try:
            import PIL  # noqa: F401
        except ImportError:
            raise ConfigError("--video needs imageio-ffmpeg (MP4) or Pillow (GIF): pip install -e '.[video]'") from None
    if not args["env_config"]:
        raise ConfigError("--env_config is required (or an --arg_file that sets it)")
    check_logger_available(args["logger"])
    env = build_env(args["env_config"], args["engine_config"] or None, args["num_envs"], device,
                    visualize=args["visualize"] and main_process, record_video=args["video"] and main_process,
                    motion_file=args["motion_file"], worker=distributed.this_worker())
    try:
        agent = build_agent(args["agent_config"], env, device)
        distributed.broadcast_module(agent)  # every worker starts from rank 0's networks
        print(f"Built {agent.NAME} agent with {sum(p.numel() for p in agent.parameters() if p.requires_grad):,} "
              f"trainable parameters", flush=True)
        runner = Runner(env, agent)
        if args["mode"] == "test":
            run_folder.check_policy_given(agent.TRAINABLE, args["model_file"], args["random_policy"], agent.NAME)
        if args["mode"] == "train" and args["video"] and main_process:
            runner.video_frames = TRAINING_VIDEO_FRAMES
        if args["mode"] == "train":
            model_file = args["model_file"] or (str(out_dir / "model.pt") if args["resume"] else "")
            if model_file and not args["resume"] and load_checkpoint(resolve_path(model_file)).get("slim"):
                print(f"note: {model_file} is a slim model: training starts from its weights and normalisers with "
                      f"fresh optimisers and counters", flush=True)
                runner.load(resolve_path(model_file), resume=False)
            elif model_file:  # a checkpoint continues exactly: weights, optimisers, counters, RNG state
                runner.load(resolve_path(model_file), resume=True)
            if main_process:
                run_folder.create(out_dir)
            texts = run_folder.config_texts(args["env_config"], args["agent_config"], args["engine_config"],
                                            args["motion_file"])
            if main_process:  # the run folder keeps copies, and every checkpoint carries them (so its model file
                for key, text in texts.items():  # alone can be tested and exported)
                    (out_dir / f"{key}.yaml").write_text(text)
                runner.run_configs = texts
            logger = None
            if main_process:
                logger = Logger(out_dir, args["logger"], run_config=agent.config, append=args["resume"],
                                resume_iteration=runner.iteration)
                print(f"Logging data to {logger.path}", flush=True)
            try:
                stopped_by = runner.train(args["max_samples"], out_dir, logger, args["save_int_models"],
                                          args["checkpoint_interval"], args["max_minutes"])
            finally:
                if logger is not None:
                    logger.close()
            if stopped_by is not None:
                raise StoppedBySignal(stopped_by)
        else:
            if args["model_file"]:
                runner.load(resolve_path(args["model_file"]), resume=False)
            run_test(args, env, runner, out_dir)
    finally:
        env.close()


CPU_ENVS_HINT = 1024  # more envs than this on the CPU get a note pointing at the CPU presets
TRAINING_VIDEO_FRAMES = 150  # frames of env 0 recorded at each output iteration with --video true (5 s)

SUBCOMMANDS = {"export": "mimickit.export", "keys": "mimickit.keys", "plot": "mimickit.plot"}


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    try:
        if argv and argv[0] in SUBCOMMANDS:  # mimickit export ..., mimickit plot ...
            import importlib

            code = guarded(lambda: importlib.import_module(SUBCOMMANDS[argv[0]]).main(argv[1:]))
        else:
            code = _exit_code(lambda: run(parse_args(argv)))
        sys.stdout.flush()  # inside the guard: a closed pipe shows here, not at interpreter exit
        return code
    except BrokenPipeError:  # the reader went away (mimickit keys ... | head): stop quietly, as shell tools do
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())  # the exit flush must not raise again
        return 128 + signal.SIGPIPE


def _exit_code(job: Callable[[], None]) -> int:
    """Run ``job``; 0 on success, 2 on a user error (printed), 128 + signal when stopped by one."""
    try:
        return guarded(job)
    except StoppedBySignal as stop:
        return 128 + stop.signum
    except WorkerFailed as failed:
        return failed.code


if __name__ == "__main__":
    sys.exit(main())
