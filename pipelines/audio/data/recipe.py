"""What made a corpus: the SoundFont (name, size, SHA-256) and the rendering recipe, kept in ``corpus.json``.

A SoundFont corpus records its recipe when it is built. Building into an existing folder continues that
corpus only with the same SoundFont and the same programs, source, bank and gain (more pitches or
velocities are fine); anything else would silently mix two instrument sets, so it is refused. Training
reads the recipe back to describe the corpus in a release's provenance without any machine path.
"""
from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

from creative_gan import fileio

from .nsynth import EXAMPLES_JSON, CorpusError

RECIPE_JSON = "corpus.json"
#: recipe entries that must match to add notes to an existing corpus
FIXED = ("soundfont", "programs", "source", "bank", "gain")


def soundfont_identity(path: str | os.PathLike) -> dict:
    """``{"name", "bytes", "sha256"}`` of a SoundFont file (its folder is not recorded: not portable)."""
    path = Path(path)
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return {"name": path.name, "bytes": path.stat().st_size, "sha256": digest.hexdigest()}


def read_recipe(root: str | os.PathLike) -> dict | None:
    """The recipe of the corpus in ``root``, or None when it has none (e.g. NSynth itself)."""
    path = Path(root) / RECIPE_JSON
    if not path.is_file():
        return None
    try:
        recipe = json.loads(path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise CorpusError(f"{path}: broken JSON ({exc})") from None
    if not isinstance(recipe, dict):
        raise CorpusError(f"{path}: not a corpus recipe")
    return recipe


def check_recipe(root: str | os.PathLike, recipe: dict) -> None:
    """CorpusError (one line) unless notes made by ``recipe`` may be added to the corpus in ``root``."""
    root = Path(root)
    if not root.exists() or not (root / EXAMPLES_JSON).exists():
        return
    existing = read_recipe(root)
    if existing is None:
        raise CorpusError(f"{root} already holds a corpus that does not record how it was made; "
                          "build into a new --out folder")
    for key in FIXED:
        if existing.get(key) != recipe.get(key):
            raise CorpusError(f"{root} was built with {key} {_show(key, existing.get(key))}, not "
                              f"{_show(key, recipe.get(key))}; build into a new --out folder")


def write_recipe(root: str | os.PathLike, recipe: dict) -> None:
    """Record ``recipe`` in ``root`` (pitches and velocities merged with those already recorded)."""
    root = Path(root)
    existing = read_recipe(root) or {}
    merged = dict(recipe)
    for key in ("pitches", "velocities"):
        merged[key] = sorted(set(existing.get(key, [])) | set(recipe.get(key, [])))
    fileio.write_json(root / RECIPE_JSON, merged)


def describe_corpus(root: str | os.PathLike, notes: int, pitch_range: tuple[int, int]) -> str:
    """One portable line for provenance: the SoundFont and recipe if recorded, else the folder's name."""
    recipe = read_recipe(root)
    name = Path(root).name
    if not recipe:
        return f"NSynth-format corpus {name!r}, MIDI {pitch_range[0]}-{pitch_range[1]} ({notes} notes)"
    velocities = ",".join(str(v) for v in recipe.get("velocities", []))
    programs = ",".join(str(p) for p in recipe.get("programs", []))
    font = recipe.get("soundfont", {}).get("name", "?")
    return (f"{font}, programs {programs}, MIDI {pitch_range[0]}-{pitch_range[1]}, velocity {velocities} "
            f"({notes} notes, corpus {name!r})")


def _show(key: str, value) -> str:
    if key == "soundfont" and isinstance(value, dict):
        return f"{value.get('name')} ({value.get('bytes')} bytes, sha256 {str(value.get('sha256'))[:12]}…)"
    return repr(value)
