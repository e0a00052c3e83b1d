"""PyTorch distributed data parallel under ``torchrun``; one process when not launched by it.

``torchrun --nproc_per_node N --no-python liquid-controller train CONFIG.yaml`` sets
``WORLD_SIZE``, ``RANK`` and ``LOCAL_RANK``; :func:`setup` then joins the process
group (``nccl`` when the run is on CUDA, ``gloo`` on CPU) and the trainer wraps its
model in ``torch.nn.parallel.DistributedDataParallel``.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import torch
import torch.distributed as dist

from liquid_controller.errors import ConfigError

__all__ = ["Distributed", "all_reduce_sum", "setup", "teardown"]


@dataclass(frozen=True)
class Distributed:
    """This process's place in the run.

    Attributes:
        rank: global rank (0 writes files and shows progress).
        world_size: number of processes.
        device: where this process computes.
    """

    rank: int
    world_size: int
    device: torch.device

    @property
    def active(self) -> bool:
        """Whether a process group is in use."""
        return self.world_size > 1

    @property
    def is_main(self) -> bool:
        """Whether this is rank 0."""
        return self.rank == 0


def _device(choice: str, local_rank: int) -> torch.device:
    if choice == "cuda" or (choice == "auto" and torch.cuda.is_available()):
        if not torch.cuda.is_available():
            raise ConfigError("optimisation.device", choice, "'cpu' or 'auto' (no CUDA device)")
        return torch.device("cuda", local_rank % torch.cuda.device_count())
    return torch.device("cpu")


def setup(device: str = "auto") -> Distributed:
    """Join the ``torchrun`` process group if launched by it, and pick this process's device."""
    world = int(os.environ.get("WORLD_SIZE", "1"))
    local_rank = int(os.environ.get("LOCAL_RANK", "0"))
    target = _device(device, local_rank)
    if world <= 1:
        return Distributed(0, 1, target)
    if target.type == "cuda":
        torch.cuda.set_device(target)
    if not dist.is_initialized():
        dist.init_process_group(backend="nccl" if target.type == "cuda" else "gloo")
    return Distributed(dist.get_rank(), dist.get_world_size(), target)


def teardown(state: Distributed) -> None:
    """Leave the process group (no-op for a single process)."""
    if state.active and dist.is_initialized():
        dist.destroy_process_group()


def all_reduce_sum(state: Distributed, values: list[float]) -> list[float]:
    """Sum ``values`` over all processes (returned unchanged for a single process)."""
    if not state.active:
        return list(values)
    tensor = torch.tensor(values, dtype=torch.float64, device=state.device)
    dist.all_reduce(tensor)
    return [float(v) for v in tensor.tolist()]
