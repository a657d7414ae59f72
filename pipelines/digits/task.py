"""The digits training task: the unconditional GAN the shared trainer runs on scikit-learn's digits."""
from __future__ import annotations

import copy
from dataclasses import dataclass, field
from pathlib import Path

import torch
from torch import nn

from creative_gan.images import save_grid
from creative_gan.task import Batch, GANTask

from .networks import LatentPrior, LatentPriorConfig, recalibrate_batchnorm
from .pipeline import DigitsPipeline


@dataclass
class DigitsTask(GANTask):
    """Unconditional digits: no conditions reach G or D (the dataset yields only ``"x"``)."""

    architecture: str = "dcgan"
    model_options: dict = field(default_factory=dict)
    prior: LatentPrior | None = None
    name: str = "digits"

    def sample_latent(self, n: int, generator: torch.Generator, device: torch.device) -> torch.Tensor:
        """``[n, latent_dim]`` from the task's latent prior (N(0, I) unless ``latent_modes`` is set)."""
        if self.prior is None:
            return super().sample_latent(n, generator, device)
        return self.prior.sample(n, generator).to(device)

    def sample_condition(self, real: Batch, generator: torch.Generator, device: torch.device) -> Batch:
        return {}

    def preview(self, generator: nn.Module, z: torch.Tensor, cond: Batch, path: Path) -> list[Path]:
        """Write ``<path>.png``: a grid of ``generator(z)`` (eval mode, 4× nearest upscale)."""
        was_training = generator.training
        generator.eval()
        with torch.no_grad():
            images = generator(z).float()
        generator.train(was_training)
        target = Path(path).with_name(Path(path).name + ".png")
        return [save_grid(images, target, upscale=4)]

    def release(self, generator_ema: nn.Module, provenance: dict) -> DigitsPipeline:
        """A CPU copy of the EMA generator with BatchNorm statistics recomputed for its own weights."""
        generator = copy.deepcopy(generator_ema).float().to("cpu")
        prior = self.prior or LatentPrior(LatentPriorConfig(latent_dim=generator.config.latent_dim))
        recalibrate_batchnorm(generator, prior)
        return DigitsPipeline(generator, self.architecture, self.dataset.provenance(), prior=prior)
