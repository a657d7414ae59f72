"""DiffAugment (Zhao et al. 2020) for image-like tensors, applied inside D's forward.

Every D input (real and fake batches alike) passes through the same family of differentiable
transforms, so D cannot tell them apart by augmentation artefacts and G still gets gradients
through them. Each call draws fresh per-sample parameters; passing the same seeded
``torch.Generator`` state gives the same transform (e.g. to augment a real and a fake batch
identically).

Only for images ``[B, C, H, W]`` whose channels are colours or intensities: colour jitter on a
mag+IF spectrogram would mix magnitude and phase, and a waveform has no height and width. Tasks
declare this with ``GANTask.image_like``; the trainer refuses augmentation for other tasks up front.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from .errors import UsageError

POLICIES = ("color", "translation", "cutout")


def _uniform(shape, x: torch.Tensor, generator: torch.Generator | None) -> torch.Tensor:
    return torch.rand(shape, generator=generator).to(x.device, x.dtype)


def _randint(low: int, high: int, shape, x: torch.Tensor, generator: torch.Generator | None) -> torch.Tensor:
    return torch.randint(low, high, shape, generator=generator).to(x.device)


def _color(x: torch.Tensor, generator=None) -> torch.Tensor:
    """Per-sample brightness shift ±0.5, saturation ×[0, 2] (colour images), contrast ×[0.5, 1.5]."""
    b = x.shape[0]
    x = x + (_uniform((b, 1, 1, 1), x, generator) - 0.5)
    if x.shape[1] > 1:
        mean = x.mean(dim=1, keepdim=True)
        x = (x - mean) * (_uniform((b, 1, 1, 1), x, generator) * 2) + mean
    mean = x.mean(dim=[1, 2, 3], keepdim=True)
    return (x - mean) * (_uniform((b, 1, 1, 1), x, generator) + 0.5) + mean


def _translation(x: torch.Tensor, generator=None, ratio: float = 0.125) -> torch.Tensor:
    """Per-sample shift by up to ``ratio`` of the size each way; shifted-in pixels are zero."""
    b, _, h, w = x.shape
    sh, sw = max(1, int(h * ratio + 0.5)), max(1, int(w * ratio + 0.5))
    tx = _randint(-sh, sh + 1, (b, 1, 1), x, generator)
    ty = _randint(-sw, sw + 1, (b, 1, 1), x, generator)
    gy, gx = torch.meshgrid(torch.arange(h, device=x.device), torch.arange(w, device=x.device),
                            indexing="ij")
    gy = (gy.unsqueeze(0) + tx + 1).clamp(0, h + 1)
    gx = (gx.unsqueeze(0) + ty + 1).clamp(0, w + 1)
    padded = F.pad(x, [1, 1, 1, 1])  # zero border: shifted-in pixels are blank
    flat = padded.permute(0, 2, 3, 1)[torch.arange(b, device=x.device)[:, None, None], gy, gx]
    return flat.permute(0, 3, 1, 2).contiguous()


def _cutout(x: torch.Tensor, generator=None, ratio: float = 0.5) -> torch.Tensor:
    """Per-sample zeroed square of ``ratio`` of the size at a random centre."""
    b, _, h, w = x.shape
    ch, cw = max(1, int(h * ratio + 0.5)), max(1, int(w * ratio + 0.5))
    oy = _randint(0, h + (1 - ch % 2), (b, 1, 1), x, generator)
    ox = _randint(0, w + (1 - cw % 2), (b, 1, 1), x, generator)
    gy = torch.arange(h, device=x.device)[None, :, None]
    gx = torch.arange(w, device=x.device)[None, None, :]
    dy, dx = gy - oy + ch // 2, gx - ox + cw // 2  # position inside the cut square
    inside = (dy >= 0) & (dy < ch) & (dx >= 0) & (dx < cw)
    return x * (~inside).unsqueeze(1).to(x.dtype)


_OPS = {"color": _color, "translation": _translation, "cutout": _cutout}


def check_augmentable(image_like: bool, task_name: str = "task") -> None:
    """Refuse DiffAugment for a task whose samples are not images (one-line :class:`UsageError`)."""
    if not image_like:
        raise UsageError(f"augment needs image-like data [B, C, H, W]; {task_name}'s samples are not "
                         "(colour jitter would mix e.g. magnitude and phase): set augment to ''")


class DiffAugment(nn.Module):
    """Apply the named policies, each to a random share ``p`` of the batch. Input ``[B, C, H, W]``."""

    def __init__(self, policy: str = "color,translation,cutout", p: float = 1.0):
        super().__init__()
        self.policies = [s.strip() for s in policy.split(",") if s.strip()]
        for name in self.policies:
            if name not in _OPS:
                raise UsageError(f"unknown augmentation {name!r} (choose from {', '.join(POLICIES)})")
        self.p = float(p)

    def forward(self, x: torch.Tensor, generator: torch.Generator | None = None) -> torch.Tensor:
        if x.dim() != 4:
            raise UsageError(f"DiffAugment needs image-like tensors [B, C, H, W] (got {list(x.shape)})")
        for name in self.policies:
            out = _OPS[name](x, generator)
            if self.p < 1.0:
                keep = (_uniform((x.shape[0], 1, 1, 1), x, generator) < self.p).to(x.dtype)
                out = keep * out + (1 - keep) * x
            x = out
        return x


class AugmentedDiscriminator(nn.Module):
    """Wrap D so that every input passes through the augmentation first: ``D(aug(x), **cond)``."""

    def __init__(self, discriminator: nn.Module, augment: nn.Module):
        super().__init__()
        self.discriminator = discriminator
        self.augment = augment

    def forward(self, x: torch.Tensor, **cond):
        return self.discriminator(self.augment(x), **cond)
