"""Resume state: a plain dict of state_dicts, optimiser states, step and RNG states.

Written atomically (temp file in the same folder, fsync, rename) so a kill mid-write leaves the
previous checkpoint intact; read with ``torch.load(weights_only=True)`` so a checkpoint can never
run code. nanoGPT's pattern, hardened.
"""
from __future__ import annotations

import os
import pickle
import tempfile
import zipfile
from pathlib import Path

import torch

from .errors import CheckpointError

STATE_NAME = "state.pt"


def save_state(state: dict, path: str | os.PathLike) -> Path:
    """Write ``state`` to ``path`` atomically."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as fh:
            torch.save(state, fh)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        raise
    return path


def load_state(path: str | os.PathLike, map_location="cpu") -> dict:
    """Read a resume state; anything that is not a safe, complete tensor dict is refused."""
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"{path}: no such checkpoint")
    try:
        state = torch.load(path, map_location=map_location, weights_only=True)
    except pickle.UnpicklingError as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
        if "weights_only" in str(exc) or "Unsupported global" in str(exc):
            raise CheckpointError(f"{path}: refused, the file holds pickled code or objects, "
                                  "not just tensors (only weights_only checkpoints load)") from None
        raise CheckpointError(f"{path}: corrupt checkpoint ({first[:160]})") from None
    except (RuntimeError, EOFError, OSError, zipfile.BadZipFile, ValueError, KeyError) as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise CheckpointError(f"{path}: corrupt or truncated checkpoint ({first[:160]})") from None
    if not isinstance(state, dict) or "step" not in state or "generator" not in state:
        raise CheckpointError(f"{path}: not a creative_gan resume checkpoint")
    return state
