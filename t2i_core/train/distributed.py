"""torchrun / DistributedDataParallel helpers (one process per GPU, or several CPU processes).

    torchrun --nproc_per_node 2 -m t2i_core train --data DIR --text-encoder TE --out RUN

torchrun sets RANK, WORLD_SIZE, LOCAL_RANK, MASTER_ADDR and MASTER_PORT; ``init_from_env`` reads
them and joins the process group (nccl on CUDA, gloo on CPU). Without them everything here is a
no-op, so the same trainer runs as a single process. Rank 0 writes all files; each rank trains
on its own shard of the data (records ``rank::world``); gradients are averaged by DDP.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import torch
from torch import nn

from ..errors import UserError
import torch.distributed as dist
from torch.nn.parallel import DistributedDataParallel as DDP


@dataclass
class DistInfo:
    rank: int = 0
    world_size: int = 1
    local_rank: int = 0
    device: torch.device = torch.device("cpu")
    backend: str | None = None  # None: single process, no process group

    @property
    def is_main(self) -> bool:
        return self.rank == 0

    @property
    def distributed(self) -> bool:
        return self.world_size > 1


def pick_device(device: str = "auto", local_rank: int = 0) -> torch.device:
    """``auto``: this process's GPU when CUDA is available, else the CPU."""
    if device == "auto":
        device = "cuda" if torch.cuda.is_available() else "cpu"
    if device == "cuda":
        if not torch.cuda.is_available():
            raise UserError("--device cuda was asked for but no CUDA GPU is available")
        torch.cuda.set_device(local_rank)
        return torch.device("cuda", local_rank)
    if device != "cpu":
        raise UserError(f"unknown device {device!r}: choose auto, cpu or cuda")
    return torch.device("cpu")


def init_from_env(device: str = "auto") -> DistInfo:
    """Join the process group that torchrun describes in the environment (if any)."""
    world = int(os.environ.get("WORLD_SIZE", "1"))
    rank = int(os.environ.get("RANK", "0"))
    local_rank = int(os.environ.get("LOCAL_RANK", "0"))
    dev = pick_device(device, local_rank)
    if world <= 1:
        return DistInfo(device=dev)
    backend = "nccl" if dev.type == "cuda" else "gloo"
    if not dist.is_initialized():
        dist.init_process_group(backend=backend, rank=rank, world_size=world)
    return DistInfo(rank=rank, world_size=world, local_rank=local_rank, device=dev, backend=backend)


def shutdown(info: DistInfo) -> None:
    if info.distributed and dist.is_initialized():
        dist.destroy_process_group()


def wrap(module: nn.Module, info: DistInfo) -> nn.Module:
    """DDP-wrap ``module`` when running distributed (BN buffers follow rank 0 each forward)."""
    if not info.distributed:
        return module

    ids = [info.device.index] if info.device.type == "cuda" else None
    return DDP(module, device_ids=ids)  # BN buffers are broadcast from rank 0 at each forward


def unwrap(module: nn.Module) -> nn.Module:
    return getattr(module, "module", module)


def all_reduce_mean(values: torch.Tensor, info: DistInfo) -> torch.Tensor:
    """Average a small tensor over ranks (every rank gets the same numbers)."""
    if not info.distributed:
        return values

    out = values.detach().clone().to(info.device)
    dist.all_reduce(out, op=dist.ReduceOp.SUM)
    return (out / info.world_size).cpu()


def all_gather_objects(obj, info: DistInfo) -> list:
    """Every rank's ``obj`` (e.g. its RNG and sampler state), in rank order, on every rank."""
    if not info.distributed:
        return [obj]

    out = [None] * info.world_size
    dist.all_gather_object(out, obj)
    return out


def broadcast_object(obj, info: DistInfo):
    """Rank 0's ``obj`` on every rank."""
    if not info.distributed:
        return obj

    box = [obj if info.is_main else None]
    dist.broadcast_object_list(box, src=0)
    return box[0]


def barrier(info: DistInfo) -> None:
    if info.distributed:

        dist.barrier()
