"""The digits release model: an (EMA) generator ready to draw digits by seed.

    >>> pipe = creative_gan.load("digits-default")
    >>> images = pipe.generate(seeds=range(16))          # numpy float32 [16, 1, S, S] in [-1, 1]
    >>> one = pipe(seed=7)                               # numpy float32 [1, 1, S, S]
    >>> pipe.save_grid("digits.png", seeds=range(64))

Seed ``k`` always gives the same image whatever else is in the batch: its latent is drawn from the
model's latent prior (N(0, I), or the mixture of Gaussians the ``quick`` preset trains with) with
its own ``torch.Generator().manual_seed(k)``, and the generator runs in eval mode (BatchNorm uses
its stored statistics), so samples do not depend on their neighbours.
"""
from __future__ import annotations

import dataclasses
import os
from pathlib import Path
from typing import Iterable

import numpy as np
import torch
from torch import nn

from creative_gan.errors import UsageError
from creative_gan.images import interpolation_strip, save_grid
from creative_gan.layers import slerp
from creative_gan.plugin import Pipeline

from .networks import LatentPrior, LatentPriorConfig, check_architecture, make_generator

TENSOR_PREFIX = "generator."


class DigitsPipeline(Pipeline):
    """An unconditional digit generator ``z [N, latent_dim] -> [N, 1, S, S]`` with seeded sampling.

    Args:
        generator: an :class:`~.networks.MLPGenerator` or :class:`~.networks.DCGenerator`.
        architecture: ``"mlp"`` or ``"dcgan"``.
        dataset: plain-JSON provenance of the training data (see ``DigitsDataset.provenance``).
        prior: where latents come from (default: N(0, I) of the generator's ``latent_dim``).
    """

    pipeline_name = "digits"

    def __init__(self, generator: nn.Module, architecture: str, dataset: dict | None = None,
                 device: str | torch.device = "cpu", prior: LatentPrior | None = None):
        self.architecture = check_architecture(architecture)
        self.prior = prior or LatentPrior(LatentPriorConfig(latent_dim=int(generator.config.latent_dim)))
        if self.prior.config.latent_dim != int(generator.config.latent_dim):
            raise ValueError(f"latent prior has {self.prior.config.latent_dim} dims, "
                             f"the generator takes {generator.config.latent_dim}")
        self.generator = generator.eval().requires_grad_(False)
        self.dataset = dict(dataset or {})
        self.device = torch.device(device)
        self.generator.to(self.device)

    # -- properties -------------------------------------------------------------------------------
    @property
    def generator_config(self) -> dict:
        return dataclasses.asdict(self.generator.config)

    @property
    def latent_dim(self) -> int:
        return int(self.generator.config.latent_dim)

    @property
    def image_size(self) -> int:
        return int(self.generator.config.image_size)

    def to(self, device) -> "DigitsPipeline":
        self.device = torch.device(device)
        self.generator.to(self.device)
        return self

    # -- sampling ---------------------------------------------------------------------------------
    def latents_for_seeds(self, seeds: Iterable[int]) -> torch.Tensor:
        """``[N, latent_dim]`` latents on CPU, row ``i`` drawn from the prior with seed ``seeds[i]``."""
        rows = [self.prior.sample(1, torch.Generator().manual_seed(int(s)))[0] for s in seeds]
        if not rows:
            raise UsageError("no seeds given")
        return torch.stack(rows)

    @torch.no_grad()
    def generate(self, seeds: Iterable[int] | None = None, z: torch.Tensor | None = None,
                 n: int | None = None, seed: int | None = None, batch_size: int = 500,
                 as_tensor: bool = False) -> np.ndarray | torch.Tensor:
        """Images ``float32 [N, 1, S, S]`` in [-1, 1] (numpy; a CPU tensor if ``as_tensor``), from exactly one of:

        ``seeds`` (one image per seed), ``seed`` (one image), ``z`` (latents ``[N, latent_dim]``)
        or ``n`` (seeds 0…n-1). The same seed gives the same image in every process and batch.
        """
        if sum(arg is not None for arg in (seeds, z, n, seed)) != 1:
            raise UsageError("generate() takes exactly one of seeds=, seed=, z= or n=")
        if seed is not None:
            seeds = [int(seed)]
        if n is not None:
            if int(n) < 1:
                raise UsageError(f"n must be at least 1 (got {n})")
            seeds = range(int(n))
        if z is None:
            z = self.latents_for_seeds(seeds)
        if z.ndim != 2 or z.shape[1] != self.latent_dim:
            raise UsageError(f"z must be [N, {self.latent_dim}] (got {list(z.shape)})")
        outputs = [self.generator(chunk.to(self.device, torch.float32)).float().cpu()
                   for chunk in torch.as_tensor(z).split(batch_size)]
        images = torch.cat(outputs)
        return images if as_tensor else images.numpy()

    __call__ = generate

    def interpolate(self, seed_a: int, seed_b: int, steps: int = 8, spherical: bool = True,
                    as_tensor: bool = False) -> np.ndarray | torch.Tensor:
        """A walk of ``steps`` images ``float32 [steps, 1, S, S]`` from seed ``a``'s latent to seed ``b``'s.

        ``spherical`` uses :func:`creative_gan.layers.slerp` (direction along the great circle, norm
        interpolated linearly), which keeps intermediate latents at a typical Gaussian norm.
        """
        if steps < 2:
            raise UsageError(f"interpolation needs at least 2 steps (got {steps})")
        z_a, z_b = self.latents_for_seeds([seed_a, seed_b])
        t = torch.linspace(0.0, 1.0, steps).unsqueeze(1)
        z = slerp(z_a, z_b, t) if spherical else (1 - t) * z_a + t * z_b
        return self.generate(z=z, as_tensor=as_tensor)

    def save_grid(self, path: str | os.PathLike, seeds: Iterable[int] | None = None, n: int | None = None,
                  nrow: int | None = None, upscale: int = 4) -> Path:
        """Write a PNG grid of the images for ``seeds`` (default: seeds 0…63) at ``path``."""
        if seeds is None and n is None:
            n = 64
        return save_grid(self.generate(seeds=seeds, n=n), path, nrow=nrow, upscale=upscale)

    def save_interpolation(self, path: str | os.PathLike, seed_pairs: list[tuple[int, int]],
                           steps: int = 8, upscale: int = 4) -> Path:
        """Write one interpolation walk per ``(seed_a, seed_b)`` pair as the rows of a PNG."""
        frames = torch.stack([self.interpolate(a, b, steps, as_tensor=True) for a, b in seed_pairs])
        return interpolation_strip(frames, path, upscale=upscale)

    # -- release ----------------------------------------------------------------------------------
    def release_config(self) -> dict:
        return {
            "architecture": self.architecture,
            "generator": self.generator_config,
            "image_size": self.image_size,
            "latent_dim": self.latent_dim,
            "latent_prior": dataclasses.asdict(self.prior.config),
            "dataset": self.dataset,
        }

    def release_tensors(self) -> dict[str, torch.Tensor]:
        return {TENSOR_PREFIX + k: v for k, v in self.generator.state_dict().items()}

    @classmethod
    def from_release(cls, config: dict, tensors: dict[str, torch.Tensor],
                     device: str | torch.device = "cpu") -> "DigitsPipeline":
        """Rebuild from a release's ``config.json`` dict and safetensors dict (strict: every key must fit)."""
        generator = make_generator(config["architecture"], config["generator"])
        state = {k[len(TENSOR_PREFIX):]: v for k, v in tensors.items() if k.startswith(TENSOR_PREFIX)}
        if not state:
            raise KeyError("no 'generator.*' tensors in model.safetensors")
        generator.load_state_dict(state, strict=True)
        prior_config = {"latent_dim": generator.config.latent_dim, **config.get("latent_prior", {})}
        prior = LatentPrior(LatentPriorConfig(**prior_config))
        return cls(generator, config["architecture"], config.get("dataset"), device, prior)
