"""The compact image corpus: one array file plus an index, and the torch dataset that reads it.

A corpus folder holds::

    images.npy    uint8 [N, S, S, 3] (RGB, square; loaded with mmap, so opening is instant)
    index.json    {"format": "creative_gan-anime-corpus", "version": 1, "size": S, "count": N,
                   "source": "procedural" | "folder", "attributes": {name: [value names]} | {},
                   "items": [{"source": relative path or "procedural:<seed>:<i>", <attribute>: index, …}],
                   "skipped": {reason: count}, …}

Both files are written to temporary names and renamed into place (:mod:`creative_gan.fileio`), the
index last: an interrupted build never leaves a half-written corpus that looks whole.
"""
from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch.utils.data import Dataset

from creative_gan import fileio
from creative_gan.errors import UsageError

FORMAT = "creative_gan-anime-corpus"
VERSION = 1
IMAGES = "images.npy"
INDEX = "index.json"


def write_corpus(out_dir: str | os.PathLike, images: np.ndarray, index: dict) -> Path:
    """Write ``images uint8 [N, S, S, 3]`` and ``index`` (items, attributes…) into ``out_dir``."""
    images = np.ascontiguousarray(images, dtype=np.uint8)
    if images.ndim != 4 or images.shape[3] != 3 or images.shape[1] != images.shape[2]:
        raise ValueError(f"corpus images must be [N, S, S, 3], got {images.shape}")
    if len(index.get("items", [])) != len(images):
        raise ValueError("index items and images differ in count")
    out = Path(out_dir)
    if out.exists() and not out.is_dir():
        raise UsageError(f"{out}: exists and is not a folder")
    out.mkdir(parents=True, exist_ok=True)
    meta = {"format": FORMAT, "version": VERSION, "size": int(images.shape[1]), "count": int(len(images)),
            **{k: v for k, v in index.items() if k not in ("format", "version", "size", "count")}}
    # the index is written last and records the count, so a crash in between is detected on reading
    with fileio.atomic_write(out / IMAGES, "wb") as handle:
        np.save(handle, images, allow_pickle=False)
    fileio.write_text(out / INDEX, json.dumps(meta, indent=1) + "\n")
    return out


def read_corpus(folder: str | os.PathLike) -> tuple[np.ndarray, dict]:
    """``(images uint8 [N, S, S, 3] (memory-mapped, read-only), index dict)``; one clear error otherwise."""
    folder = Path(folder)
    if not folder.is_dir():
        raise UsageError(f"{folder}: no such corpus folder (build one with `creative-gan data anime`)")
    if not (folder / INDEX).is_file() or not (folder / IMAGES).is_file():
        raise UsageError(f"{folder}: not an anime corpus (expected {IMAGES} and {INDEX}; "
                         f"build one with `creative-gan data anime --images DIR --out {folder}`)")
    try:
        index = json.loads((folder / INDEX).read_text())
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise UsageError(f"{folder / INDEX}: unreadable corpus index ({exc})") from None
    if not isinstance(index, dict) or index.get("format") != FORMAT:
        raise UsageError(f"{folder / INDEX}: not an anime corpus index")
    try:
        images = np.load(folder / IMAGES, mmap_mode="r", allow_pickle=False)
    except (OSError, ValueError) as exc:
        raise UsageError(f"{folder / IMAGES}: unreadable image array ({exc})") from None
    if images.dtype != np.uint8 or images.ndim != 4 or images.shape[3] != 3 or len(images) != index.get("count"):
        raise UsageError(f"{folder}: image array {images.shape} {images.dtype} does not match its index")
    return images, index


def attribute_labels(index: dict) -> np.ndarray | None:
    """``int64 [N, A]`` attribute indices in ``index["attributes"]`` order, or None if the corpus has none."""
    names = list(index.get("attributes") or {})
    if not names:
        return None
    return np.array([[int(item[name]) for name in names] for item in index["items"]], dtype=np.int64)


def to_tensor(images: np.ndarray, size: int | None = None) -> torch.Tensor:
    """``uint8 [N, S, S, 3]`` -> ``FloatTensor[N, 3, size, size]`` in [-1, 1] (area-resized if needed)."""
    x = torch.tensor(np.asarray(images, dtype=np.uint8)).permute(0, 3, 1, 2).float().div_(127.5).sub_(1.0)
    if size is not None and x.shape[-1] != size:
        mode = "area" if size < x.shape[-1] else "bilinear"
        x = F.interpolate(x, size=(size, size), mode=mode, **({} if mode == "area" else {"align_corners": False}))
    return x.clamp_(-1.0, 1.0)


class AnimeCorpus(Dataset):
    """An in-memory image corpus as ``{"x": FloatTensor[3, S, S] in [-1, 1]}`` items.

    Args:
        images: ``uint8 [N, H, H, 3]``.
        image_size: the training resolution ``S`` (images are area-resized when it differs from ``H``).
        labels: optional ``int64 [N, A]`` attribute indices (kept on ``.labels``; not fed to the GAN).
        provenance: plain-JSON description of where the images came from.
    """

    def __init__(self, images: np.ndarray, image_size: int, labels: np.ndarray | None = None,
                 provenance: dict | None = None, attributes: dict | None = None):
        if len(images) == 0:
            raise UsageError("the corpus holds no images")
        self.images = np.ascontiguousarray(images)
        self.image_size = int(image_size)
        self.labels = labels
        self.attributes = dict(attributes or {})
        self._provenance = dict(provenance or {})

    @classmethod
    def from_folder(cls, folder: str | os.PathLike, image_size: int) -> "AnimeCorpus":
        images, index = read_corpus(folder)
        provenance = {"corpus": Path(folder).name, "source": index.get("source", "folder"), "count": len(images),
                      "size": int(index["size"])}
        if "procedural_seed" in index:
            provenance["procedural_seed"] = index["procedural_seed"]
        return cls(np.array(images), image_size, attribute_labels(index), provenance, index.get("attributes"))

    def __len__(self) -> int:
        return len(self.images)

    def __getitem__(self, i: int) -> dict:
        return {"x": to_tensor(self.images[i:i + 1], self.image_size)[0]}

    def get_batch(self, indices) -> dict:
        """``{"x": FloatTensor[B, 3, S, S]}`` for ``indices`` (the trainer's fast path)."""
        return {"x": to_tensor(self.images[np.asarray(indices, dtype=np.int64)], self.image_size)}

    def provenance(self) -> dict:
        return dict(self._provenance)
