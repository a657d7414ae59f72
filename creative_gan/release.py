"""Release models: a folder (or .zip) holding ``config.json`` and ``model.safetensors``.

Loading never unpickles anything: JSON for the config, safetensors for the tensors. Every way a
file can be wrong (missing, truncated, corrupt, foreign, unknown pipeline) is one clear
:class:`~creative_gan.errors.ReleaseError`.
"""
from __future__ import annotations

import json
import os
import zipfile
from pathlib import Path

import torch
from safetensors import SafetensorError
from safetensors.torch import load as load_safetensors_bytes
from safetensors.torch import save_file

from . import __version__, fileio
from .errors import ReleaseError
from .registry import get_plugin

FORMAT = "creative_gan-release"
FORMAT_VERSION = 1
ASSETS = Path(__file__).resolve().parent / "assets"
#: largest ``model.safetensors`` a release may hold (bytes); checked before anything is read
MAX_MODEL_BYTES = 2 * 2**30
#: largest ``config.json`` (bytes)
MAX_CONFIG_BYTES = 16 * 2**20
#: a zip member this many times larger than its compressed size (and over 64 MiB) is a zip bomb
MAX_COMPRESSION_RATIO = 200


def shipped_models() -> list[str]:
    """Names of the models shipped inside the package (``creative_gan/assets/<name>/``)."""
    if not ASSETS.is_dir():
        return []
    return sorted(p.name for p in ASSETS.iterdir() if (p / "config.json").is_file())


def save(pipe, directory: str | os.PathLike, provenance: dict | None = None) -> Path:
    """Write ``pipe`` as a release folder (atomically: a temp folder renamed into place)."""
    directory = Path(directory)
    config = {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "pipeline": pipe.pipeline_name,
        "creative_gan_version": __version__,
        **pipe.release_config(),
    }
    if provenance:
        config["provenance"] = provenance
    tensors = {k: v.detach().to("cpu").contiguous() for k, v in pipe.release_tensors().items()}
    with fileio.atomic_dir(directory) as tmp:
        (tmp / "config.json").write_text(json.dumps(config, indent=2, sort_keys=True) + "\n")
        save_file(tensors, str(tmp / "model.safetensors"),
                  metadata={"format": FORMAT, "pipeline": pipe.pipeline_name})
    return directory


def _size_check(where, name: str, size: int) -> None:
    limit = MAX_CONFIG_BYTES if name == "config.json" else MAX_MODEL_BYTES
    if size > limit:
        raise ReleaseError(f"{where}: {name} is {size / 2**20:,.0f} MiB, more than a release may hold "
                           f"({limit / 2**20:,.0f} MiB)")


def _read_member(zf: zipfile.ZipFile, info: zipfile.ZipInfo, path: Path) -> bytes:
    """Read one zip member, trusting its declared size no further than the limit (chunked, capped)."""
    name = Path(info.filename).name
    _size_check(path, name, info.file_size)
    if info.file_size > 64 * 2**20 and info.file_size > MAX_COMPRESSION_RATIO * max(info.compress_size, 1):
        raise ReleaseError(f"{path}: {name} would expand {info.file_size // max(info.compress_size, 1)}x "
                           "(a zip bomb, not a release)")
    chunks, total = [], 0
    with zf.open(info) as member:
        while chunk := member.read(1 << 20):
            total += len(chunk)
            if total > info.file_size:
                raise ReleaseError(f"{path}: {name} is larger than the zip directory says (corrupt zip)")
            chunks.append(chunk)
    return b"".join(chunks)


def _read_release(path: Path) -> tuple[dict, bytes]:
    """Return (config dict, safetensors bytes) from a folder or a .zip, within the size limits."""
    if path.is_dir():
        cfg_file, st_file = path / "config.json", path / "model.safetensors"
        if not cfg_file.is_file():
            raise ReleaseError(f"{path}: no config.json (not a creative_gan release folder)")
        if not st_file.is_file():
            raise ReleaseError(f"{path}: no model.safetensors beside config.json")
        _size_check(path, "config.json", cfg_file.stat().st_size)
        _size_check(path, "model.safetensors", st_file.stat().st_size)
        return _parse_config(cfg_file.read_bytes(), cfg_file), st_file.read_bytes()
    if zipfile.is_zipfile(path):
        try:
            with zipfile.ZipFile(path) as zf:
                members = {Path(i.filename).name: i for i in zf.infolist() if not i.is_dir()}
                if "data.pkl" in members and "model.safetensors" not in members:
                    raise ReleaseError(f"{path}: a PyTorch pickle (torch.save), not a release folder or .zip; "
                                       "pickles are never loaded")
                if "config.json" not in members or "model.safetensors" not in members:
                    raise ReleaseError(f"{path}: zip lacks config.json or model.safetensors")
                for name in ("config.json", "model.safetensors"):  # both sizes before reading either
                    _size_check(path, name, members[name].file_size)
                config = _parse_config(_read_member(zf, members["config.json"], path), path)
                return config, _read_member(zf, members["model.safetensors"], path)
        except (zipfile.BadZipFile, zipfile.LargeZipFile, NotImplementedError, OSError, EOFError,
                RuntimeError, ValueError) as exc:
            if isinstance(exc, ReleaseError):
                raise
            reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            raise ReleaseError(f"{path}: corrupt zip ({reason[:160]})") from None
    with open(path, "rb") as handle:
        head = handle.read(2)
    if len(head) == 2 and head[0] == 0x80 and 2 <= head[1] <= 5:
        raise ReleaseError(f"{path}: looks like a Python pickle, not a release folder or .zip; "
                           "pickles are never loaded")
    raise ReleaseError(f"{path}: not a release folder or .zip (expected config.json + model.safetensors)")


def _parse_config(raw: bytes, where: Path) -> dict:
    try:
        config = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ReleaseError(f"{where}: config.json is not valid JSON ({exc})") from None
    if not isinstance(config, dict) or config.get("format") != FORMAT:
        raise ReleaseError(f"{where}: config.json is not a creative_gan release config")
    if not isinstance(config.get("pipeline"), str):
        raise ReleaseError(f"{where}: config.json names no pipeline")
    version = config.get("format_version")
    if not isinstance(version, int) or isinstance(version, bool) or version < 1:
        raise ReleaseError(f"{where}: config.json has format_version {version!r}; expected a whole "
                           f"number from 1 to {FORMAT_VERSION}")
    if version > FORMAT_VERSION:
        raise ReleaseError(f"{where}: release format {config['format_version']} is newer than this "
                           f"creative_gan understands ({FORMAT_VERSION}); upgrade creative-gan")
    return config


def resolve(path_or_name: str | os.PathLike) -> Path:
    """A path that exists, or the folder of a shipped model of that name."""
    path = Path(path_or_name)
    if path.exists():
        return path
    shipped = ASSETS / str(path_or_name)
    if (shipped / "config.json").is_file():
        return shipped
    names = ", ".join(shipped_models()) or "none"
    raise ReleaseError(f"{path_or_name}: no such file, folder or shipped model (shipped: {names})")


def load_parts(path_or_name) -> tuple[dict, dict[str, torch.Tensor]]:
    """Read a release's config and tensors without building the pipeline."""
    path = resolve(path_or_name)
    config, blob = _read_release(path)
    try:
        tensors = load_safetensors_bytes(blob)
    except (SafetensorError, ValueError, RuntimeError, OSError) as exc:
        reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise ReleaseError(f"{path}: model.safetensors is corrupt or truncated ({reason[:160]})") from None
    bad = [name for name, t in tensors.items()
           if (t.is_floating_point() or t.is_complex()) and not bool(torch.isfinite(t).all())]
    if bad:
        raise ReleaseError(f"{path}: weights contain NaN/inf ({len(bad)} tensor(s), e.g. {sorted(bad)[0]!r}); "
                           "the model cannot generate")
    return config, tensors


def load(path_or_name, device: str | torch.device | None = None):
    """Load a release model (folder, .zip or shipped name) as its pipeline object."""
    from .device import select_device

    device = select_device(device)  # an unusable device is the user's error, never the model's
    config, tensors = load_parts(path_or_name)
    plugin = get_plugin(config["pipeline"])
    try:
        return plugin.from_release(config, tensors, device)
    except (KeyError, RuntimeError, TypeError, ValueError) as exc:
        if isinstance(exc, ReleaseError):
            raise
        raise ReleaseError(f"{path_or_name}: release does not fit pipeline {config['pipeline']!r} "
                           f"({type(exc).__name__}: {str(exc).splitlines()[0][:200]})") from None
