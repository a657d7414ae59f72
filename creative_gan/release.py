"""Release models: a folder (or .zip) holding ``config.json`` and ``model.safetensors``.

Loading never unpickles anything: JSON for the config, safetensors for the tensors. Every way a
file can be wrong (missing, truncated, corrupt, foreign, unknown pipeline) is one clear
:class:`~creative_gan.errors.ReleaseError`.
"""
from __future__ import annotations

import json
import os
import shutil
import tempfile
import zipfile
from pathlib import Path

import torch
from safetensors import SafetensorError
from safetensors.torch import load as load_safetensors_bytes
from safetensors.torch import save_file

from . import __version__
from .errors import ReleaseError
from .registry import get_plugin

FORMAT = "creative_gan-release"
FORMAT_VERSION = 1
ASSETS = Path(__file__).resolve().parent / "assets"


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
    directory.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{directory.name}.", dir=directory.parent))
    try:
        (tmp / "config.json").write_text(json.dumps(config, indent=2, sort_keys=True) + "\n")
        save_file(tensors, str(tmp / "model.safetensors"),
                  metadata={"format": FORMAT, "pipeline": pipe.pipeline_name})
        if directory.exists():
            old = directory.with_name(f".{directory.name}.old")
            shutil.rmtree(old, ignore_errors=True)
            directory.rename(old)
            tmp.rename(directory)
            shutil.rmtree(old, ignore_errors=True)
        else:
            tmp.rename(directory)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return directory


def _read_release(path: Path) -> tuple[dict, bytes]:
    """Return (config dict, safetensors bytes) from a folder or a .zip."""
    if path.is_dir():
        cfg_file, st_file = path / "config.json", path / "model.safetensors"
        if not cfg_file.is_file():
            raise ReleaseError(f"{path}: no config.json (not a creative_gan release folder)")
        if not st_file.is_file():
            raise ReleaseError(f"{path}: no model.safetensors beside config.json")
        return _parse_config(cfg_file.read_bytes(), cfg_file), st_file.read_bytes()
    if zipfile.is_zipfile(path):
        try:
            with zipfile.ZipFile(path) as zf:
                names = {Path(n).name: n for n in zf.namelist()}
                if "config.json" not in names or "model.safetensors" not in names:
                    raise ReleaseError(f"{path}: zip lacks config.json or model.safetensors")
                return (_parse_config(zf.read(names["config.json"]), path),
                        zf.read(names["model.safetensors"]))
        except (zipfile.BadZipFile, OSError, EOFError) as exc:
            raise ReleaseError(f"{path}: corrupt zip ({exc})") from None
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
    if int(config.get("format_version", 0)) > FORMAT_VERSION:
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
        raise ReleaseError(f"{path}: model.safetensors is corrupt or truncated ({exc})") from None
    return config, tensors


def load(path_or_name, device: str | torch.device | None = None):
    """Load a release model (folder, .zip or shipped name) as its pipeline object."""
    from .device import select_device

    config, tensors = load_parts(path_or_name)
    plugin = get_plugin(config["pipeline"])
    device = select_device(device)
    try:
        return plugin.from_release(config, tensors, device)
    except (KeyError, RuntimeError, TypeError, ValueError) as exc:
        if isinstance(exc, ReleaseError):
            raise
        raise ReleaseError(f"{path_or_name}: release does not fit pipeline {config['pipeline']!r} "
                           f"({type(exc).__name__}: {str(exc).splitlines()[0][:200]})") from None
