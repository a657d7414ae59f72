"""DCGAN generator and discriminator for RGB faces at 32, 64 or 128 px (Radford et al. 2016).

Radford's guidelines: strided (transposed) convolutions instead of pooling, no dense hidden layers,
BatchNorm in both networks (not on G's output or D's input), ReLU + tanh in G, LeakyReLU(0.2) in D.
The small-data option: ``spectral_norm=True`` puts spectral normalisation on every D convolution and
drops D's BatchNorm (the two do the same job; SN keeps D's Lipschitz constant in check).

Shapes: ``G(z [B, latent_dim]) -> [B, 3, S, S]`` in [-1, 1]; ``D(x [B, 3, S, S]) -> logits [B]``.
"""
from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass

import torch
from torch import nn

from creative_gan.errors import UsageError
from creative_gan.layers import dcgan_generator_stack, init_dcgan_weights

IMAGE_SIZES = (32, 64, 128)


@dataclass
class GeneratorConfig:
    """A 4×4 seed grown by stride-2 transposed convolutions to ``image_size``.

    Channels are ``base_channels · 2^(u-1)`` at 4×4 (``u = log2(S/4)`` upsamplings), halving at each
    upsampling; the last layer outputs RGB.
    """

    latent_dim: int = 100
    image_size: int = 64
    base_channels: int = 64

    def __post_init__(self):
        if int(self.latent_dim) < 1 or int(self.base_channels) < 1:
            raise UsageError(f"latent_dim and base_channels must be at least 1 (got {self.latent_dim}, "
                             f"{self.base_channels})")
        check_image_size(self.image_size)


@dataclass
class DiscriminatorConfig:
    """Stride-2 convolutions from ``image_size`` down to 4×4 (channels doubling), then a 4×4 conv to 1."""

    image_size: int = 64
    base_channels: int = 64
    leaky_slope: float = 0.2
    spectral_norm: bool = False

    def __post_init__(self):
        if int(self.base_channels) < 1:
            raise UsageError(f"base_channels must be at least 1 (got {self.base_channels})")
        check_image_size(self.image_size)


def check_image_size(image_size: int) -> int:
    if int(image_size) not in IMAGE_SIZES:
        raise UsageError(f"anime image_size must be one of {IMAGE_SIZES} (got {image_size})")
    return int(image_size)


def _num_resamplings(image_size: int) -> int:
    return int(math.log2(check_image_size(image_size) // 4))


class Generator(nn.Module):
    """``z [B, latent_dim] -> [B, 3, S, S]``: ConvTranspose + BatchNorm + ReLU blocks, tanh output."""

    def __init__(self, config: GeneratorConfig):
        super().__init__()
        self.config = config
        self.net = dcgan_generator_stack(config.latent_dim, config.base_channels,
                                         _num_resamplings(config.image_size), out_channels=3)
        init_dcgan_weights(self)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return self.net(z.reshape(z.shape[0], -1, 1, 1))


class Discriminator(nn.Module):
    """``x [B, 3, S, S] -> logits [B]``: strided convs + LeakyReLU, BatchNorm (or spectral norm)."""

    def __init__(self, config: DiscriminatorConfig):
        super().__init__()
        self.config = config
        num_down = _num_resamplings(config.image_size)
        slope, sn = config.leaky_slope, config.spectral_norm
        wrap = nn.utils.spectral_norm if sn else (lambda m: m)
        channels = config.base_channels
        layers: list[nn.Module] = [wrap(nn.Conv2d(3, channels, 4, 2, 1)), nn.LeakyReLU(slope, inplace=True)]
        for _ in range(num_down - 1):
            layers.append(wrap(nn.Conv2d(channels, channels * 2, 4, 2, 1, bias=sn)))
            if not sn:
                layers.append(nn.BatchNorm2d(channels * 2))
            layers.append(nn.LeakyReLU(slope, inplace=True))
            channels *= 2
        layers.append(wrap(nn.Conv2d(channels, 1, 4, 1, 0)))  # 4×4 -> 1×1
        self.net = nn.Sequential(*layers)
        init_dcgan_weights(self)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x).reshape(-1)


def _config_from(config_cls, options: dict):
    names = {f.name for f in dataclasses.fields(config_cls)}
    return config_cls(**{k: v for k, v in options.items() if k in names})


def make_generator(config: dict) -> Generator:
    """A generator from a plain config dict (e.g. a release config's ``generator`` entry)."""
    return Generator(_config_from(GeneratorConfig, config))


def build_networks(options: dict) -> tuple[Generator, Discriminator]:
    """``(generator, discriminator)`` from a flat dict of options.

    Keys: ``latent_dim``, ``image_size``, ``base_channels``, ``leaky_slope``, ``spectral_norm``;
    ``g_``/``d_`` prefixed keys (``d_base_channels``) set one side only. Unknown keys are an error.
    """
    known = ({f.name for f in dataclasses.fields(GeneratorConfig)}
             | {f.name for f in dataclasses.fields(DiscriminatorConfig)})
    shared = {k: v for k, v in options.items() if not k.startswith(("g_", "d_"))}
    g_options = {**shared, **{k[2:]: v for k, v in options.items() if k.startswith("g_")}}
    d_options = {**shared, **{k[2:]: v for k, v in options.items() if k.startswith("d_")}}
    unknown = sorted((set(g_options) | set(d_options)) - known)
    if unknown:
        raise UsageError(f"unknown anime network option(s): {', '.join(unknown)} (known: {', '.join(sorted(known))})")
    return Generator(_config_from(GeneratorConfig, g_options)), Discriminator(_config_from(DiscriminatorConfig, d_options))


@torch.no_grad()
def recalibrate_batchnorm(generator: Generator, num_batches: int = 16, batch_size: int = 128,
                          seed: int = 0) -> Generator:
    """Recompute G's BatchNorm running statistics for its current (EMA) weights ("standing stats").

    An EMA generator's weights are averaged but its BatchNorm buffers are not; seeded N(0, I) batches
    in train mode with a cumulative average (``momentum=None``) make eval mode match the weights.
    """
    norms = [m for m in generator.modules() if isinstance(m, nn.modules.batchnorm._BatchNorm)]
    was_training = generator.training
    momenta = [m.momentum for m in norms]
    device = next(generator.parameters()).device
    for m in norms:
        m.reset_running_stats()
        m.momentum = None
    generator.train()
    rng = torch.Generator().manual_seed(seed)
    for _ in range(num_batches):
        generator(torch.randn(batch_size, generator.config.latent_dim, generator=rng).to(device))
    for m, momentum in zip(norms, momenta):
        m.momentum = momentum
    generator.train(was_training)
    return generator
