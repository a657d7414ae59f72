"""The contract between a pipeline and the trainer: networks, data, objective, preview.

A pipeline builds a :class:`GANTask`; the trainer owns everything else (loop, optimisers, AMP, EMA,
augmentation, regularisers, DDP, logging, checkpoints).

Batches are dicts: ``{"x": Tensor[B, ...], <condition name>: Tensor[B, ...], ...}``.
Networks are called with the same condition keys::

    fake = G(z, **cond)                   # z: [B, latent_dim]
    out = D(x, **cond)                    # Tensor[B] of logits, or (Tensor[B], aux dict)

The aux dict (e.g. ``{"pitch_logits": [B, P], "features": [h1, h2, …]}``) reaches the objective
(see :mod:`creative_gan.objective`) inside :class:`DOutput`.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from torch import nn
from torch.utils.data import Dataset

from .objective import AdversarialLoss, Batch, DOutput, DStep, GStep, Objective, split_output

__all__ = ["GANTask", "Batch", "Objective", "AdversarialLoss", "DOutput", "DStep", "GStep", "split_output"]


@dataclass
class GANTask:
    """Everything modality-specific the trainer needs.

    ``dataset[i]`` returns a dict with key ``"x"`` and condition tensors; a dataset may also define
    ``get_batch(indices) -> Batch`` as a fast path for in-memory corpora (datasets without it are
    read through a ``DataLoader`` with ``TrainOptions.num_workers`` worker processes).

    ``adversarial``: an :class:`AdversarialLoss` that replaces the named ``TrainOptions.loss``.
    ``image_like``: x is ``[B, C, H, W]`` with channels that are colours or intensities; only then
    may DiffAugment run (a mag+IF spectrogram or a waveform is refused up front).
    """

    generator: nn.Module
    discriminator: nn.Module
    dataset: Dataset
    latent_dim: int
    objective: Objective = field(default_factory=Objective)
    image_like: bool = True          # x is [B, C, H, W]: DiffAugment and channels_last apply
    name: str = "task"
    adversarial: AdversarialLoss | None = None

    def sample_latent(self, n: int, generator: torch.Generator, device: torch.device) -> torch.Tensor:
        """Latent codes ``[n, latent_dim]`` from N(0, I), drawn from the trainer's latent RNG."""
        return torch.randn(n, self.latent_dim, generator=generator).to(device)

    def sample_condition(self, real: Batch, generator: torch.Generator, device: torch.device) -> Batch:
        """Conditions for fakes; by default those of the real batch, so the data's histogram drives them."""
        return {k: v for k, v in real.items() if k != "x"}

    def features(self, x: torch.Tensor) -> torch.Tensor:
        """Embedding ``[B, F]`` for the mode-collapse monitor (default: the flattened sample)."""
        return x.reshape(x.shape[0], -1).float()

    def preview(self, generator: nn.Module, z: torch.Tensor, cond: Batch, path: Path) -> list[Path]:
        """Write preview files (image grid, audio clip) for ``generator(z, **cond)`` under ``path``."""
        return []

    def release(self, generator_ema: nn.Module, provenance: dict) -> Any:
        """Build the release pipeline object (see :mod:`creative_gan.release`) from the EMA generator."""
        raise NotImplementedError
