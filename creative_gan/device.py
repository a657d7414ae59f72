"""Device choice, seeding and the few torch.distributed helpers the trainer needs."""
from __future__ import annotations

import contextlib
import os
import random

import numpy as np
import torch
import torch.distributed as dist


def select_device(device: str | torch.device | None = None) -> torch.device:
    """``None``/"auto" picks cuda > mps > cpu; anything else is passed to ``torch.device``."""
    if device is None or str(device) == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda", local_rank() if is_distributed() else 0)
        mps = getattr(torch.backends, "mps", None)
        if mps is not None and mps.is_available():
            return torch.device("mps")
        return torch.device("cpu")
    return torch.device(device)


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
    """Join the torchrun process group (nccl on CUDA, gloo otherwise); no-op for one process."""
    if not is_distributed() or dist.is_initialized():
        return dist.is_initialized()
    backend = "nccl" if device.type == "cuda" else "gloo"
    if device.type == "cuda":
        torch.cuda.set_device(device)
    dist.init_process_group(backend=backend)
    return True


@contextlib.contextmanager
def single_thread():
    """Run torch on one intra-op thread, then restore the caller's setting.

    For small tensors (evaluation classifiers, k-means features): on a shared 2-core CPU two spinning
    OpenMP threads were measured ~20x slower per step than one.
    """
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(before)
