"""Image grids for previews and samples: tensors in [-1, 1] -> uint8 -> PNG (Pillow, atomic writes).

Shapes: images are ``[B, C, H, W]`` with C = 1 (grey) or 3 (RGB), values in [-1, 1]
(values outside are clipped). Grids are laid out row-major, ``nrow`` images per row.
"""
from __future__ import annotations

import math
import os
import tempfile
from pathlib import Path

import numpy as np
import torch
from PIL import Image


def colour_map(values: np.ndarray, anchors: np.ndarray) -> np.ndarray:
    """values ``[...]`` in [0, 1] -> uint8 RGB ``[..., 3]``, linear between ``anchors [K, 3]`` (0–255).

    NaN counts as 0; values outside [0, 1] are clipped.
    """
    anchors = np.asarray(anchors, dtype=np.float64)
    positions = np.linspace(0.0, 1.0, len(anchors))
    v = np.clip(np.nan_to_num(values), 0.0, 1.0)
    rgb = np.stack([np.interp(v, positions, anchors[:, c]) for c in range(3)], axis=-1)
    return rgb.round().astype(np.uint8)


def to_uint8(images: torch.Tensor | np.ndarray) -> np.ndarray:
    """``[B, C, H, W]`` in [-1, 1] (tensor or numpy) -> ``uint8 [B, H, W, C]`` in 0–255 (-1 -> 0, +1 -> 255)."""
    if isinstance(images, np.ndarray):
        images = torch.from_numpy(images)
    if images.ndim != 4 or images.shape[1] not in (1, 3):
        raise ValueError(f"expected images [B, 1|3, H, W], got {list(images.shape)}")
    x = images.detach().float().cpu().nan_to_num(0.0).clamp(-1.0, 1.0)
    x = ((x + 1.0) * 127.5).round().to(torch.uint8)
    return x.permute(0, 2, 3, 1).numpy()


def make_grid(images: torch.Tensor, nrow: int | None = None, pad: int = 2, pad_value: int = 255,
              upscale: int = 1) -> np.ndarray:
    """Tile ``[B, C, H, W]`` images into one ``uint8 [rows·(H'+pad)+pad, nrow·(W'+pad)+pad, C]`` array.

    ``nrow`` defaults to ``ceil(sqrt(B))``; ``upscale`` enlarges each image by nearest-neighbour
    (``H' = H·upscale``); ``pad`` pixels of ``pad_value`` separate the tiles.
    """
    if upscale < 1 or pad < 0:
        raise ValueError("upscale must be >= 1 and pad >= 0")
    tiles = to_uint8(images)
    count, height, width, channels = tiles.shape
    if count == 0:
        raise ValueError("cannot make a grid of zero images")
    if upscale > 1:
        tiles = tiles.repeat(upscale, axis=1).repeat(upscale, axis=2)
        height, width = height * upscale, width * upscale
    nrow = max(1, min(nrow or math.ceil(math.sqrt(count)), count))
    rows = math.ceil(count / nrow)
    grid = np.full((rows * (height + pad) + pad, nrow * (width + pad) + pad, channels), pad_value, np.uint8)
    for i, tile in enumerate(tiles):
        top = pad + (i // nrow) * (height + pad)
        left = pad + (i % nrow) * (width + pad)
        grid[top:top + height, left:left + width] = tile
    return grid


def _to_pil(array: np.ndarray) -> Image.Image:
    """``uint8 [H, W, 1|3]`` -> a Pillow image (mode L or RGB)."""
    return Image.fromarray(array[..., 0] if array.shape[-1] == 1 else array)


def save_png(array: np.ndarray, path: str | os.PathLike) -> Path:
    """Write ``uint8 [H, W, 1|3]`` as a PNG atomically (temp file in the same folder, then rename)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as handle:
            _to_pil(array).save(handle, format="PNG")
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def save_grid(images: torch.Tensor, path: str | os.PathLike, nrow: int | None = None, pad: int = 2,
              upscale: int = 1, pad_value: int = 255) -> Path:
    """Save ``images [B, C, H, W]`` in [-1, 1] as one PNG grid at ``path``; returns the path."""
    return save_png(make_grid(images, nrow=nrow, pad=pad, pad_value=pad_value, upscale=upscale), path)


def save_images(images: torch.Tensor, folder: str | os.PathLike, names: list[str], upscale: int = 1) -> list[Path]:
    """Save each image of ``[B, C, H, W]`` as ``folder/<name>.png``; returns the paths."""
    if len(names) != images.shape[0]:
        raise ValueError(f"{images.shape[0]} images but {len(names)} names")
    tiles = to_uint8(images)
    if upscale > 1:
        tiles = tiles.repeat(upscale, axis=1).repeat(upscale, axis=2)
    return [save_png(tile, Path(folder) / f"{name}.png") for tile, name in zip(tiles, names)]


def interpolation_strip(frames: torch.Tensor, path: str | os.PathLike, pad: int = 2, upscale: int = 1) -> Path:
    """Save interpolation walks as a PNG: ``[T, C, H, W]`` (one row) or ``[R, T, C, H, W]`` (R rows)."""
    frames = torch.as_tensor(frames)
    if frames.ndim == 4:
        frames = frames.unsqueeze(0)
    if frames.ndim != 5:
        raise ValueError(f"expected frames [T, C, H, W] or [R, T, C, H, W], got {list(frames.shape)}")
    rows, steps = frames.shape[:2]
    return save_grid(frames.reshape(rows * steps, *frames.shape[2:]), path, nrow=steps, pad=pad, upscale=upscale)
