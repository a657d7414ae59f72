"""Device choice, seeding and the few torch.distributed helpers the trainer needs."""
from __future__ import annotations

import os
import random

import numpy as np
import torch
import torch.distributed as dist

from .errors import UsageError


def select_device(device: str | torch.device | None = None) -> torch.device:
    """The device to train or generate on; under torchrun, CUDA devices follow ``LOCAL_RANK``.

    ``None``/"auto" picks cuda > mps > cpu. "cuda" without an index becomes ``cuda:<LOCAL_RANK>``
    (``cuda:0`` outside torchrun), so every process of a multi-GPU run gets its own GPU; an
    explicit index is kept. A device that does not exist here, or a name torch does not know,
    raises :class:`UsageError` (one line).
    """
    if device is None or str(device) == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda", local_rank() % torch.cuda.device_count())
        mps = getattr(torch.backends, "mps", None)
        if mps is not None and mps.is_available():
            return torch.device("mps")
        return torch.device("cpu")
    try:
        chosen = torch.device(device)
    except (RuntimeError, ValueError, TypeError):
        raise UsageError(f"unknown device {str(device)!r} (use auto, cpu, cuda, cuda:N or mps)") from None
    if chosen.type == "cuda":
        if not torch.cuda.is_available():
            raise UsageError(f"device {str(device)!r} requested but CUDA is not available on this machine")
        if chosen.index is None:  # more processes than GPUs: ranks share them round-robin
            chosen = torch.device("cuda", local_rank() % torch.cuda.device_count())
        if chosen.index >= torch.cuda.device_count():
            raise UsageError(f"device {str(chosen)!r} requested but this machine has "
                             f"{torch.cuda.device_count()} CUDA device(s)")
    elif chosen.type == "mps":
        mps = getattr(torch.backends, "mps", None)
        if mps is None or not mps.is_available():
            raise UsageError(f"device {str(device)!r} requested but MPS is not available on this machine")
    elif chosen.type != "cpu":
        raise UsageError(f"unsupported device {str(device)!r} (use auto, cpu, cuda, cuda:N or mps)")
    return chosen


def seed_everything(seed: int) -> None:
    """Seed Python, NumPy and torch (all devices)."""
    random.seed(seed)
    np.random.seed(seed % (2**32))
    torch.manual_seed(seed)


def is_distributed() -> bool:
    """True when launched by torchrun with more than one process."""
    return int(os.environ.get("WORLD_SIZE", "1")) > 1


def local_rank() -> int:
    return int(os.environ.get("LOCAL_RANK", "0"))


def rank() -> int:
    return dist.get_rank() if dist.is_available() and dist.is_initialized() else 0


def world_size() -> int:
    return dist.get_world_size() if dist.is_available() and dist.is_initialized() else 1


def init_distributed(device: torch.device) -> bool:
    """Join the torchrun process group; no-op for one process.

    nccl when every local process has a GPU of its own; gloo on CPU and when ranks share a GPU
    (nccl refuses two ranks on one device).
    """
    if not is_distributed() or dist.is_initialized():
        return dist.is_initialized()
    local_world = int(os.environ.get("LOCAL_WORLD_SIZE", os.environ.get("WORLD_SIZE", "1")))
    own_gpu = device.type == "cuda" and local_world <= torch.cuda.device_count()
    backend = "nccl" if own_gpu else "gloo"
    if device.type == "cuda":
        torch.cuda.set_device(device)
    dist.init_process_group(backend=backend)
    return True


def close_distributed() -> None:
    """Leave the torchrun process group, if one was joined: every rank waits for the others, then the
    group is torn down before interpreter exit (a gloo group left open can abort a rank as it exits)."""
    if dist.is_available() and dist.is_initialized():
        dist.barrier()
        dist.destroy_process_group()
