"""Training glue for anime faces: presets, the GAN task and its construction from options.

Presets: :mod:`.presets`. Without ``--data`` the task trains on procedural (synthetic) faces drawn in memory; with
``--data DIR`` it trains on a corpus built by ``creative-gan data anime``.
"""
from __future__ import annotations

import argparse
import copy
from dataclasses import dataclass, field
from pathlib import Path

import torch
from torch import nn

from creative_gan.errors import UsageError
from creative_gan.images import save_grid
from creative_gan.task import Batch, GANTask

from ..data.corpus import AnimeCorpus
from ..networks import build_networks, check_image_size, recalibrate_batchnorm
from ..pipeline import AnimePipeline
from ..presets import PRESETS  # noqa: F401  (re-exported: the training presets live beside the task)
from ..data.procedural import ATTRIBUTES, render_corpus

#: model options that describe the data rather than the networks
DATA_KEYS = ("procedural_faces", "procedural_seed")
DEFAULT_PROCEDURAL_FACES = 6000


@dataclass
class AnimeTask(GANTask):
    """Unconditional faces: the dataset yields only ``"x"``, so no condition reaches G or D."""

    model_options: dict = field(default_factory=dict)
    name: str = "anime"

    def sample_condition(self, real: Batch, generator: torch.Generator, device: torch.device) -> Batch:
        return {}

    def features(self, x: torch.Tensor) -> torch.Tensor:
        """Collapse-monitor embedding: 16×16 thumbnails (``[B, 768]``), robust to pixel noise."""
        return torch.nn.functional.adaptive_avg_pool2d(x.float(), 16).reshape(x.shape[0], -1)

    def preview(self, generator: nn.Module, z: torch.Tensor, cond: Batch, path: Path) -> list[Path]:
        """Write ``<path>.png``: a grid of ``generator(z)`` (2× nearest upscale).

        A copy of G runs in train mode, so BatchNorm normalises with the preview batch's own
        statistics: the EMA generator's copied running statistics lag its averaged weights early on.
        """
        probe = copy.deepcopy(generator).train()
        with torch.no_grad():
            images = probe(z).float()
        return [save_grid(images, Path(path).with_name(Path(path).name + ".png"), upscale=2)]

    def release(self, generator_ema: nn.Module, provenance: dict) -> AnimePipeline:
        """A CPU copy of the EMA generator with BatchNorm statistics recomputed for its own weights."""
        generator = copy.deepcopy(generator_ema).float().to("cpu")
        recalibrate_batchnorm(generator)
        return AnimePipeline(generator, self.dataset.provenance(), self.dataset.attributes)


def procedural_dataset(count: int, seed: int, image_size: int, progress: bool = True) -> AnimeCorpus:
    """``count`` procedural faces drawn in memory at 64 px (128 px for 128-px models)."""
    if count < 1:
        raise UsageError(f"procedural_faces must be at least 1 (got {count})")
    draw_size = 128 if image_size > 64 else 64
    images, labels = render_corpus(count, seed=seed, size=draw_size, progress=progress)
    provenance = {"source": "procedural", "count": count, "procedural_seed": seed, "size": draw_size,
                  "note": "synthetic anime faces drawn by creative_gan.pipelines.anime.data.procedural"}
    return AnimeCorpus(images, image_size, labels, provenance, {k: list(v) for k, v in ATTRIBUTES.items()})


def make_task(options, preset: dict, args: argparse.Namespace) -> AnimeTask:
    """Build networks (seeded by ``options.seed``) and the dataset (``--data`` or procedural)."""
    model = {**dict(preset.get("model", {})), **dict(options.model)}
    if getattr(args, "image_size", None):
        model["image_size"] = args.image_size
    model.setdefault("image_size", 64)
    image_size = check_image_size(model["image_size"])
    network_options = {k: v for k, v in model.items() if k not in DATA_KEYS}
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(options.seed)
        generator, discriminator = build_networks(network_options)
    data = getattr(args, "data", None)
    if data:
        dataset = AnimeCorpus.from_folder(data, image_size)
    else:
        dataset = procedural_dataset(int(model.get("procedural_faces", DEFAULT_PROCEDURAL_FACES)),
                                     int(model.get("procedural_seed", 0)), image_size, options.progress)
    return AnimeTask(generator=generator, discriminator=discriminator, dataset=dataset,
                     latent_dim=generator.config.latent_dim, image_like=True, model_options=model)
