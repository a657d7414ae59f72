"""DiffAugment (Zhao et al. 2020) for image-like tensors, applied inside D's forward.

The same differentiable transforms hit real and fake batches, so D cannot tell them apart by
augmentation artefacts and G still gets gradients through them.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from .errors import UsageError

POLICIES = ("color", "translation", "cutout")


def _color(x: torch.Tensor) -> torch.Tensor:
    b = x.shape[0]
    rand = lambda: torch.rand(b, 1, 1, 1, device=x.device, dtype=x.dtype)  # noqa: E731
    x = x + (rand() - 0.5)
    if x.shape[1] > 1:
        mean = x.mean(dim=1, keepdim=True)
        x = (x - mean) * (rand() * 2) + mean
    mean = x.mean(dim=[1, 2, 3], keepdim=True)
    return (x - mean) * (rand() + 0.5) + mean


def _translation(x: torch.Tensor, ratio: float = 0.125) -> torch.Tensor:
    b, _, h, w = x.shape
    sh, sw = max(1, int(h * ratio + 0.5)), max(1, int(w * ratio + 0.5))
    tx = torch.randint(-sh, sh + 1, (b, 1, 1), device=x.device)
    ty = torch.randint(-sw, sw + 1, (b, 1, 1), device=x.device)
    gy, gx = torch.meshgrid(torch.arange(h, device=x.device), torch.arange(w, device=x.device),
                            indexing="ij")
    gy = (gy.unsqueeze(0) + tx + 1).clamp(0, h + 1)
    gx = (gx.unsqueeze(0) + ty + 1).clamp(0, w + 1)
    padded = F.pad(x, [1, 1, 1, 1])  # zero border: shifted-in pixels are blank
    flat = padded.permute(0, 2, 3, 1)[torch.arange(b, device=x.device)[:, None, None], gy, gx]
    return flat.permute(0, 3, 1, 2).contiguous()


def _cutout(x: torch.Tensor, ratio: float = 0.5) -> torch.Tensor:
    b, _, h, w = x.shape
    ch, cw = max(1, int(h * ratio + 0.5)), max(1, int(w * ratio + 0.5))
    oy = torch.randint(0, h + (1 - ch % 2), (b, 1, 1), device=x.device)
    ox = torch.randint(0, w + (1 - cw % 2), (b, 1, 1), device=x.device)
    gy = torch.arange(h, device=x.device)[None, :, None]
    gx = torch.arange(w, device=x.device)[None, None, :]
    dy, dx = gy - oy + ch // 2, gx - ox + cw // 2  # position inside the cut square
    inside = (dy >= 0) & (dy < ch) & (dx >= 0) & (dx < cw)
    return x * (~inside).unsqueeze(1).to(x.dtype)


_OPS = {"color": _color, "translation": _translation, "cutout": _cutout}


class DiffAugment(nn.Module):
    """Apply the named policies, each to a random share ``p`` of the batch. Input ``[B, C, H, W]``."""

    def __init__(self, policy: str = "color,translation,cutout", p: float = 1.0):
        super().__init__()
        self.policies = [s.strip() for s in policy.split(",") if s.strip()]
        for name in self.policies:
            if name not in _OPS:
                raise UsageError(f"unknown augmentation {name!r} (choose from {', '.join(POLICIES)})")
        self.p = float(p)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.dim() != 4:
            raise UsageError("DiffAugment needs image-like tensors [B, C, H, W]")
        for name in self.policies:
            out = _OPS[name](x)
            if self.p < 1.0:
                keep = (torch.rand(x.shape[0], 1, 1, 1, device=x.device) < self.p).to(x.dtype)
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
