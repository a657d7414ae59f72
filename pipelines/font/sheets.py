"""Glyph sheets: alphabets as PNG pictures, ink black on white."""
from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import torch

from creative_gan.images import save_grid


def save_alphabet_sheet(alphabets: np.ndarray, path: str | os.PathLike, upscale: int = 2) -> Path:
    """``[N, 62, S, S]`` (or ``[62, S, S]``) in [-1, 1], ink +1 → one PNG, one alphabet per row."""
    stack = np.asarray(alphabets, dtype=np.float32)
    if stack.ndim == 3:
        stack = stack[None]
    images = torch.from_numpy(-stack.reshape(-1, 1, *stack.shape[-2:]))
    return save_grid(images, Path(path), nrow=stack.shape[1], upscale=upscale, pad=1)
