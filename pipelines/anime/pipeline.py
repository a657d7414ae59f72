"""The anime-faces release model: an (EMA) DCGAN generator that draws faces by seed and walks between them.

    >>> pipe = creative_gan.load("anime-default")
    >>> images = pipe.generate(seeds=range(16))              # float32 [16, 3, 64, 64] in [-1, 1]
    >>> one = pipe(seed=7, truncation=0.8)                    # [1, 3, 64, 64]
    >>> frames = pipe.walk([3, 17, 42], frames=60)            # float32 [60, 3, 64, 64]

Seed ``k`` always gives the same face: its latent is ``torch.randn(latent_dim)`` from its own
``torch.Generator().manual_seed(k)``, scaled by ``truncation`` (ψ ≤ 1 pulls latents towards the
mean face: less variety, fewer odd faces), and the generator runs in eval mode (BatchNorm uses its
stored statistics), so a face does not depend on the other faces in the batch.
"""
from __future__ import annotations

import dataclasses
from typing import Iterable

import numpy as np
import torch

from creative_gan.errors import UsageError
from creative_gan.layers import slerp
from creative_gan.plugin import Pipeline

from .networks import Generator, make_generator

TENSOR_PREFIX = "generator."
MAX_FRAMES = 2000


def check_truncation(truncation: float) -> float:
    truncation = float(truncation)
    if not 0.0 < truncation <= 2.0:
        raise UsageError(f"truncation must be in (0, 2] (got {truncation})")
    return truncation


class AnimePipeline(Pipeline):
    """An unconditional face generator ``z [N, latent_dim] -> [N, 3, S, S]`` with seeded sampling.

    Args:
        generator: a :class:`~.networks.Generator` (put in eval mode, gradients off).
        dataset: plain-JSON provenance of the training data (procedural or a folder).
        attributes: the corpus's attribute names and values (empty for a plain image folder).
    """

    pipeline_name = "anime"

    def __init__(self, generator: Generator, dataset: dict | None = None, attributes: dict | None = None,
                 device: str | torch.device = "cpu"):
        self.generator = generator.eval().requires_grad_(False)
        self.dataset = dict(dataset or {})
        self.attributes = {k: list(v) for k, v in (attributes or {}).items()}
        self.device = torch.device(device)
        self.generator.to(self.device)

    @property
    def latent_dim(self) -> int:
        return int(self.generator.config.latent_dim)

    @property
    def image_size(self) -> int:
        return int(self.generator.config.image_size)

    def to(self, device) -> "AnimePipeline":
        self.device = torch.device(device)
        self.generator.to(self.device)
        return self

    # -- latents ----------------------------------------------------------------------------------
    def latents_for_seeds(self, seeds: Iterable[int], truncation: float = 1.0) -> torch.Tensor:
        """``[N, latent_dim]`` float32 on CPU: row ``i`` is ``truncation · randn`` seeded by ``seeds[i]``."""
        truncation = check_truncation(truncation)
        rows = []
        for s in seeds:
            s = int(s)
            if not 0 <= s < 2 ** 63:
                raise UsageError(f"seeds must be in [0, 2^63) (got {s})")
            rows.append(torch.randn(self.latent_dim, generator=torch.Generator().manual_seed(s)))
        if not rows:
            raise UsageError("no seeds given")
        return torch.stack(rows) * truncation

    # -- sampling ---------------------------------------------------------------------------------
    @torch.no_grad()
    def generate_tensor(self, z: torch.Tensor, batch_size: int = 256) -> torch.Tensor:
        """Images ``FloatTensor[N, 3, S, S]`` in [-1, 1] on CPU for latents ``z [N, latent_dim]``."""
        if z.ndim != 2 or z.shape[1] != self.latent_dim:
            raise UsageError(f"z must be [N, {self.latent_dim}] (got {list(z.shape)})")
        parts = [self.generator(chunk.to(self.device, torch.float32)).float().clamp(-1, 1).cpu()
                 for chunk in z.split(batch_size)]
        return torch.cat(parts)

    def generate(self, seeds: Iterable[int] | None = None, n: int | None = None, z=None, seed: int | None = None,
                 truncation: float = 1.0, as_tensor: bool = False):
        """Faces ``float32 [N, 3, S, S]`` in [-1, 1] (numpy; a CPU tensor with ``as_tensor=True``).

        From exactly one of ``seeds`` (one face per seed), ``seed`` (one face), ``n`` (seeds 0…n-1)
        or ``z`` (latents ``[N, latent_dim]``; ``truncation`` does not apply to them).
        """
        if sum(arg is not None for arg in (seeds, n, z, seed)) != 1:
            raise UsageError("generate() takes exactly one of seeds=, seed=, n= or z=")
        if seed is not None:
            seeds = [int(seed)]
        if n is not None:
            if int(n) < 1:
                raise UsageError(f"n must be at least 1 (got {n})")
            seeds = range(int(n))
        latents = self.latents_for_seeds(seeds, truncation) if z is None else torch.as_tensor(z, dtype=torch.float32)
        images = self.generate_tensor(latents)
        return images if as_tensor else images.numpy()

    __call__ = generate

    def walk_latents(self, seeds: Iterable[int], frames: int, truncation: float = 1.0, loop: bool = False) -> torch.Tensor:
        """``[frames, latent_dim]``: a slerp path through the seeds' latents, evenly timed.

        The first frame is exactly the first seed's latent and the last exactly the last seed's
        (with ``loop=True`` the path returns to the first seed instead and the last frame is the
        step before it, so the GIF loops without a repeated frame).
        """
        seeds = [int(s) for s in seeds]
        frames = int(frames)
        if len(seeds) < 2:
            raise UsageError(f"a walk needs at least two seeds (got {len(seeds)})")
        if not 2 <= frames <= MAX_FRAMES:
            raise UsageError(f"frames must be in [2, {MAX_FRAMES}] (got {frames})")
        anchors = self.latents_for_seeds(seeds + seeds[:1] if loop else seeds, truncation)
        segments = len(anchors) - 1
        denominator = frames if loop else frames - 1
        rows = []
        for k in range(frames):
            position = k * segments / denominator
            left = min(int(np.floor(position)), segments - 1)
            frac = position - left
            if frac == 0.0:
                rows.append(anchors[left])
            elif frac == 1.0:
                rows.append(anchors[left + 1])
            else:
                rows.append(slerp(anchors[left], anchors[left + 1], float(frac)))
        return torch.stack(rows)

    def walk(self, seeds: Iterable[int], frames: int = 60, truncation: float = 1.0, loop: bool = False,
             as_tensor: bool = False):
        """Frames ``float32 [frames, 3, S, S]`` in [-1, 1] of a slerp walk through ``seeds``."""
        images = self.generate_tensor(self.walk_latents(seeds, frames, truncation, loop))
        return images if as_tensor else images.numpy()

    def interpolate(self, seed_a: int, seed_b: int, steps: int = 8, truncation: float = 1.0, as_tensor: bool = False):
        """``steps`` faces on the slerp path from ``seed_a`` to ``seed_b`` (both ends included)."""
        return self.walk([seed_a, seed_b], steps, truncation, as_tensor=as_tensor)

    # -- release ----------------------------------------------------------------------------------
    def release_config(self) -> dict:
        return {
            "generator": dataclasses.asdict(self.generator.config),
            "image_size": self.image_size,
            "latent_dim": self.latent_dim,
            "dataset": self.dataset,
            "attributes": self.attributes,
        }

    def release_tensors(self) -> dict[str, torch.Tensor]:
        return {TENSOR_PREFIX + k: v for k, v in self.generator.state_dict().items()}

    @classmethod
    def from_release(cls, config: dict, tensors: dict[str, torch.Tensor],
                     device: str | torch.device = "cpu") -> "AnimePipeline":
        """Rebuild from a release's ``config.json`` dict and tensors (strict: every key must fit)."""
        generator = make_generator(config["generator"])
        state = {k[len(TENSOR_PREFIX):]: v for k, v in tensors.items() if k.startswith(TENSOR_PREFIX)}
        if not state:
            raise KeyError("no 'generator.*' tensors in model.safetensors")
        generator.load_state_dict(state, strict=True)
        return cls(generator, config.get("dataset"), config.get("attributes"), device)
