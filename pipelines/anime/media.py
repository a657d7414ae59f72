"""Writing latent walks: animated GIF (Pillow) or MP4 (only when ``imageio-ffmpeg`` is installed).

Frames are ``[T, 3, H, W]`` in [-1, 1] (numpy or torch). Files are written through
:mod:`creative_gan.fileio` (temp name, then rename), so a failed write never leaves a broken file.
"""
from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import torch
from PIL import Image

from creative_gan import fileio
from creative_gan.errors import UsageError
from creative_gan.images import to_uint8

WALK_SUFFIXES = (".gif", ".mp4")


def frames_uint8(frames, upscale: int = 1) -> np.ndarray:
    """``[T, 3, H, W]`` in [-1, 1] -> ``uint8 [T, H·upscale, W·upscale, 3]``."""
    tiles = to_uint8(torch.as_tensor(np.asarray(frames)))
    if upscale > 1:
        tiles = tiles.repeat(upscale, axis=1).repeat(upscale, axis=2)
    return tiles


def write_gif(frames, path: str | os.PathLike, fps: float = 20.0, upscale: int = 1, loop: bool = True) -> Path:
    """An animated GIF of ``frames`` at ``fps`` frames per second (adaptive palette per frame)."""
    path = Path(path)
    if fps <= 0:
        raise UsageError(f"fps must be positive (got {fps})")
    pictures = [Image.fromarray(tile) for tile in frames_uint8(frames, upscale)]
    path.parent.mkdir(parents=True, exist_ok=True)
    with fileio.atomic_path(path) as tmp:
        pictures[0].save(tmp, format="GIF", save_all=True, append_images=pictures[1:],
                         duration=max(20, int(round(1000 / fps))), loop=0 if loop else 1, optimize=False,
                         disposal=1)
    return path


def write_mp4(frames, path: str | os.PathLike, fps: float = 20.0, upscale: int = 4) -> Path:
    """An H.264 MP4 through ``imageio-ffmpeg``; a clear error when that optional package is missing."""
    try:
        import imageio_ffmpeg
    except ImportError:
        raise UsageError("writing MP4 needs the optional `imageio-ffmpeg` package (pip install imageio-ffmpeg); "
                         "or write the walk as .gif") from None
    path = Path(path)
    tiles = frames_uint8(frames, upscale)
    height, width = tiles.shape[1:3]
    path.parent.mkdir(parents=True, exist_ok=True)
    with fileio.atomic_path(path) as tmp:
        writer = imageio_ffmpeg.write_frames(str(tmp), (width, height), fps=fps, macro_block_size=1, quality=8)
        writer.send(None)
        for tile in tiles:
            writer.send(np.ascontiguousarray(tile))
        writer.close()
    return path


def write_walk(frames, path: str | os.PathLike, fps: float = 20.0, upscale: int = 1) -> Path:
    """Write a walk by the suffix of ``path``: ``.gif`` or ``.mp4``."""
    suffix = Path(path).suffix.lower()
    if suffix == ".gif":
        return write_gif(frames, path, fps, upscale)
    if suffix == ".mp4":
        return write_mp4(frames, path, fps, max(upscale, 1))
    raise UsageError(f"{path}: a walk is written as .gif or .mp4")


def read_gif_frames(path: str | os.PathLike) -> np.ndarray:
    """All frames of a GIF as ``uint8 [T, H, W, 3]`` (for checks and tests)."""
    with Image.open(path) as gif:
        frames = []
        for k in range(getattr(gif, "n_frames", 1)):
            gif.seek(k)
            frames.append(np.asarray(gif.convert("RGB")))
    return np.stack(frames)
