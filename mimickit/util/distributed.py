"""Multi-process training on ``torch.distributed``: one process per worker, gloo on CPU and NCCL on CUDA.

Every helper is a no-op in a single process, so the training code calls them unconditionally. Launch with
``--num_workers N`` (processes on this machine) or ``torchrun`` (any number of nodes; the ``RANK`` /
``WORLD_SIZE`` / ``MASTER_ADDR`` / ``MASTER_PORT`` variables it sets are used as they are).
"""

from __future__ import annotations

import os
import socket
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import torch
import torch.distributed as dist


@dataclass(frozen=True)
class WorkerPlace:
    """Where a process sits among the training workers, handed to what it builds (envs share clips by it,
    engines size their thread pools by it): ``rank`` of ``world_size`` workers, ``local_world_size`` of them
    on this machine. The default is a lone process."""

    rank: int = 0
    world_size: int = 1
    local_world_size: int = 1


LONE_WORKER = WorkerPlace()  # the default place: a single training process


def this_worker() -> WorkerPlace:
    """This process's place in the running process group (a lone process without one)."""
    return WorkerPlace(rank(), world_size(), local_world_size())


def is_distributed() -> bool:
    return dist.is_available() and dist.is_initialized()


def world_size() -> int:
    return dist.get_world_size() if is_distributed() else 1


def rank() -> int:
    return dist.get_rank() if is_distributed() else 0


def local_world_size() -> int:
    """Workers on this machine (torchrun's LOCAL_WORLD_SIZE; all of them when launched with --num_workers)."""
    return int(os.environ.get("LOCAL_WORLD_SIZE", world_size()))


def is_main() -> bool:
    """True on the process that logs and writes checkpoints (rank 0)."""
    return rank() == 0


def launched_by_torchrun() -> bool:
    return "RANK" in os.environ and "WORLD_SIZE" in os.environ


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def init(rank_: int, world: int, device: torch.device, master_port: int | None = None) -> None:
    """Join the process group (``env://``); ``master_port`` given: a group of local processes on 127.0.0.1."""
    if master_port is not None:
        os.environ.setdefault("MASTER_ADDR", "127.0.0.1")
        os.environ["MASTER_PORT"] = str(master_port)
    # torch._dynamo, imported lazily by the first optimizer, keeps references to a default process group that
    # exists when it is first imported; destroy_process_group then cannot free the group, its gloo threads outlive
    # the interpreter, and a collective's last tensor freed on one of them during exit aborts the worker
    # (SIGABRT, "terminate called without an active exception"). Imported first, it holds none.
    import torch._dynamo  # noqa: F401

    backend = "nccl" if device.type == "cuda" else "gloo"
    dist.init_process_group(backend, rank=rank_, world_size=world)


def shutdown() -> None:
    if is_distributed():
        dist.destroy_process_group()


def _comm_device() -> torch.device:
    return torch.device("cuda", torch.cuda.current_device()) if dist.get_backend() == "nccl" else torch.device("cpu")


def _all_reduce(t: torch.Tensor, op) -> torch.Tensor:
    if not is_distributed():
        return t
    buf = t.detach().to(_comm_device()).clone()
    dist.all_reduce(buf, op=op)
    return buf.to(t.device)


def all_reduce_sum(t: torch.Tensor) -> torch.Tensor:
    """Sum of ``t`` over the workers (a new tensor on ``t``'s device; ``t`` itself when single)."""
    return _all_reduce(t, dist.ReduceOp.SUM)


def all_reduce_max(t: torch.Tensor) -> torch.Tensor:
    """Element-wise maximum of ``t`` over the workers."""
    return _all_reduce(t, dist.ReduceOp.MAX)


def average_gradients(params: Iterable[torch.nn.Parameter]) -> None:
    """Replace every gradient by its mean over the workers (one flat all-reduce)."""
    if not is_distributed():
        return
    grads = [p.grad for p in params if p.grad is not None]
    if not grads:
        return
    flat = torch.cat([g.reshape(-1) for g in grads]).to(_comm_device())
    dist.all_reduce(flat, op=dist.ReduceOp.SUM)
    flat = flat.to(grads[0].device) / world_size()
    offset = 0
    for g in grads:
        g.copy_(flat[offset:offset + g.numel()].view_as(g))
        offset += g.numel()


def broadcast_module(module: torch.nn.Module) -> None:
    """Copy rank 0's parameters and buffers to every worker (networks start identical)."""
    if not is_distributed():
        return
    for tensor in [*module.parameters(), *module.buffers()]:
        buf = tensor.detach().to(_comm_device()).clone()
        dist.broadcast(buf, src=0)
        tensor.data.copy_(buf.to(tensor.device))


def all_gather_objects(obj: Any) -> list[Any]:
    """Every worker's ``obj``, in rank order (``[obj]`` when single)."""
    if not is_distributed():
        return [obj]
    out: list[Any] = [None] * world_size()
    dist.all_gather_object(out, obj)
    return out


def pooled_mean_std(x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Mean and (unbiased) standard deviation of the union of every worker's samples ``x``."""
    stats = all_reduce_sum(torch.stack([x.new_tensor(float(x.numel())), x.sum(), (x * x).sum()]).double())
    count, total, total_sq = stats[0], stats[1], stats[2]
    mean = total / count
    var = (total_sq - count * mean * mean) / (count - 1).clamp_min(1.0)
    return mean.to(x.dtype), var.clamp_min(0.0).sqrt().to(x.dtype)
