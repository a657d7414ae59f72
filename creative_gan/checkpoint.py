"""Resume state: a plain dict of state_dicts, optimiser states, step and RNG states.

Written atomically (:mod:`creative_gan.fileio`: temp file in the same folder, fsync, rename) so a
kill mid-write leaves the previous checkpoint intact and no temp file behind; read with
``torch.load(weights_only=True)`` so a checkpoint can never run code. nanoGPT's pattern, hardened.
"""
from __future__ import annotations

import os
import pickle
import pickletools
import warnings
import zipfile
from pathlib import Path

import torch

from . import fileio
from .errors import CheckpointError

STATE_NAME = "state.pt"
#: state-dict entries every resume checkpoint has, with the type each must be
REQUIRED = {"step": int, "generator": dict, "discriminator": dict, "generator_ema": dict,
            "opt_g": dict, "opt_d": dict}
#: the largest pickle program inspected when telling "pickled code" from "corrupt" (bytes)
_MAX_PICKLE_SCAN = 64 * 2**20
_CODE_OPCODES = {"GLOBAL", "STACK_GLOBAL", "REDUCE", "INST", "OBJ", "NEWOBJ", "NEWOBJ_EX", "BUILD"}


def save_state(state: dict, path: str | os.PathLike) -> Path:
    """Write ``state`` to ``path`` atomically (the folder is created)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with fileio.atomic_write(path, "wb") as handle:
        torch.save(state, handle)
    return path


def _pickle_program(path: Path) -> bytes | None:
    """The pickle bytes of a ``torch.save`` file (zip member ``*/data.pkl``) or a plain pickle file."""
    try:
        if zipfile.is_zipfile(path):
            with zipfile.ZipFile(path) as archive:
                member = next((i for i in archive.infolist() if i.filename.endswith("data.pkl")), None)
                if member is None or member.file_size > _MAX_PICKLE_SCAN:
                    return None
                return archive.read(member)
        with open(path, "rb") as handle:
            return handle.read(_MAX_PICKLE_SCAN)
    except Exception:  # a corrupt zip directory or member: not a readable pickle
        return None


def holds_pickled_code(path: str | os.PathLike) -> bool:
    """True when ``path`` is a complete, well-formed pickle that builds objects (imports, calls).

    Read with :mod:`pickletools` (which only parses, never executes), so garbage that merely fails
    to unpickle is told apart from a real pickle of foreign objects.
    """
    program = _pickle_program(Path(path))
    if not program:
        return False
    seen = set()
    try:
        for opcode, _arg, _pos in pickletools.genops(program):
            seen.add(opcode.name)
            if opcode.name == "STOP":
                return bool(seen & _CODE_OPCODES) and ("GLOBAL" in seen or "STACK_GLOBAL" in seen
                                                       or "INST" in seen)
    except Exception:  # pickletools raises ValueError and friends on malformed programs
        return False
    return False


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return (text.splitlines()[0] if text else type(exc).__name__)[:160]


def _check_structure(state, path: Path) -> dict:
    if not isinstance(state, dict) or "step" not in state or "generator" not in state:
        raise CheckpointError(f"{path}: not a creative_gan resume checkpoint")
    for key, kind in REQUIRED.items():
        value = state.get(key)
        if not isinstance(value, kind) or isinstance(value, bool):
            raise CheckpointError(f"{path}: corrupt checkpoint (entry {key!r} is missing or not a "
                                  f"{kind.__name__})")
    for key in ("generator", "discriminator", "generator_ema"):
        for name, tensor in state[key].items():
            if not isinstance(name, str) or not isinstance(tensor, torch.Tensor):
                raise CheckpointError(f"{path}: corrupt checkpoint ({key} entry {name!r} is not a tensor)")
    if state["step"] < 0:
        raise CheckpointError(f"{path}: corrupt checkpoint (step {state['step']})")
    return state


def load_state(path: str | os.PathLike, map_location="cpu") -> dict:
    """Read a resume state; anything that is not a safe, complete creative_gan state is refused.

    Raises :class:`CheckpointError` (one line) for missing, truncated, corrupt, foreign and pickled
    files; real pickles of foreign objects are never unpickled.
    """
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"{path}: no such checkpoint")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # torch's deprecation chatter about storages
            state = torch.load(path, map_location=map_location, weights_only=True)
    except MemoryError:
        raise CheckpointError(f"{path}: corrupt checkpoint (it asks for more memory than exists)") from None
    except Exception as exc:  # noqa: BLE001 - untrusted bytes: the restricted unpickler raises any type
        if isinstance(exc, pickle.UnpicklingError) and holds_pickled_code(path):
            raise CheckpointError(f"{path}: refused, the file holds pickled code or objects, "
                                  "not just tensors (only weights_only checkpoints load)") from None
        raise CheckpointError(f"{path}: corrupt or truncated checkpoint ({_first_line(exc)})") from None
    return _check_structure(state, path)
