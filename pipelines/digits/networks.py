"""Digit generators and discriminators: the vanilla one-hidden-layer MLP GAN and a DCGAN.

Every generator maps ``z [B, latent_dim]`` to images ``[B, 1, S, S]`` in [-1, 1] (tanh); every
discriminator maps ``x [B, 1, S, S]`` to logits ``[B]``. Networks are unconditional: they take no
condition keyword. Each has a typed config dataclass; :func:`build_networks` makes a pair from an
architecture name and a plain dict of options (a preset's ``model`` entry).
"""
from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass

import torch
from torch import nn

from creative_gan.errors import UsageError
from creative_gan.layers import dcgan_generator_stack, init_dcgan_weights

ARCHITECTURES = ("mlp", "dcgan")


@dataclass
class MLPGeneratorConfig:
    """Vanilla GAN generator: ``z -> hidden_dim -> S·S`` (the 100-128-784 case study)."""

    latent_dim: int = 100
    image_size: int = 16
    hidden_dim: int = 128


@dataclass
class MLPDiscriminatorConfig:
    """Vanilla GAN discriminator: ``S·S -> hidden_dim -> 1``."""

    image_size: int = 16
    hidden_dim: int = 128
    leaky_slope: float = 0.2
    dropout: float = 0.0


@dataclass
class DCGeneratorConfig:
    """DCGAN generator: a 4×4 seed grown by stride-2 transposed convolutions to ``image_size``.

    Channels start at ``base_channels · 2^(u-1)`` at 4×4 (``u = log2(S/4)`` upsamplings) and halve
    at every upsampling; the last one outputs the single ink channel.
    """

    latent_dim: int = 100
    image_size: int = 16
    base_channels: int = 64


@dataclass
class DCDiscriminatorConfig:
    """DCGAN discriminator: stride-2 convolutions from ``image_size`` down to 4×4, then a 4×4 conv to 1."""

    image_size: int = 16
    base_channels: int = 64
    leaky_slope: float = 0.2


def _num_upsamplings(image_size: int) -> int:
    """``log2(image_size / 4)``; image_size must be 8, 16, 32 or 64."""
    if image_size not in (8, 16, 32, 64):
        raise UsageError(f"DCGAN image_size must be 8, 16, 32 or 64 (got {image_size})")
    return int(math.log2(image_size // 4))


class MLPGenerator(nn.Module):
    """``z [B, latent_dim] -> [B, 1, S, S]`` through one ReLU hidden layer and a tanh output."""

    def __init__(self, config: MLPGeneratorConfig):
        super().__init__()
        self.config = config
        size = config.image_size
        self.net = nn.Sequential(
            nn.Linear(config.latent_dim, config.hidden_dim), nn.ReLU(inplace=True),
            nn.Linear(config.hidden_dim, size * size), nn.Tanh(),
        )

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        size = self.config.image_size
        return self.net(z).reshape(z.shape[0], 1, size, size)


class MLPDiscriminator(nn.Module):
    """``x [B, 1, S, S] -> logits [B]`` through one LeakyReLU hidden layer."""

    def __init__(self, config: MLPDiscriminatorConfig):
        super().__init__()
        self.config = config
        size = config.image_size
        self.net = nn.Sequential(
            nn.Flatten(),
            nn.Linear(size * size, config.hidden_dim), nn.LeakyReLU(config.leaky_slope, inplace=True),
            nn.Dropout(config.dropout),
            nn.Linear(config.hidden_dim, 1),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x).reshape(-1)


class DCGenerator(nn.Module):
    """``z [B, latent_dim] -> [B, 1, S, S]``: ConvTranspose + BatchNorm + ReLU blocks, tanh output."""

    def __init__(self, config: DCGeneratorConfig):
        super().__init__()
        self.config = config
        self.net = dcgan_generator_stack(config.latent_dim, config.base_channels,
                                         _num_upsamplings(config.image_size), out_channels=1)
        init_dcgan_weights(self)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return self.net(z.reshape(z.shape[0], -1, 1, 1))


class DCDiscriminator(nn.Module):
    """``x [B, 1, S, S] -> logits [B]``: strided convs + LeakyReLU (BatchNorm after the first)."""

    def __init__(self, config: DCDiscriminatorConfig):
        super().__init__()
        self.config = config
        num_down = _num_upsamplings(config.image_size)
        slope = config.leaky_slope
        channels = config.base_channels
        layers: list[nn.Module] = [nn.Conv2d(1, channels, 4, 2, 1), nn.LeakyReLU(slope, inplace=True)]
        for _ in range(num_down - 1):
            layers += [nn.Conv2d(channels, channels * 2, 4, 2, 1, bias=False),
                       nn.BatchNorm2d(channels * 2), nn.LeakyReLU(slope, inplace=True)]
            channels *= 2
        layers += [nn.Conv2d(channels, 1, 4, 1, 0)]  # 4×4 -> 1×1
        self.net = nn.Sequential(*layers)
        init_dcgan_weights(self)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x).reshape(-1)


GENERATORS = {"mlp": (MLPGenerator, MLPGeneratorConfig), "dcgan": (DCGenerator, DCGeneratorConfig)}
DISCRIMINATORS = {"mlp": (MLPDiscriminator, MLPDiscriminatorConfig),
                  "dcgan": (DCDiscriminator, DCDiscriminatorConfig)}


def _config_from(config_cls, options: dict):
    """Fill ``config_cls`` with the entries of ``options`` it has fields for.

    Sizes (int fields) must be whole numbers ≥ 1 and rates (float fields) finite numbers in [0, 1):
    anything else is one :class:`UsageError` naming the option, not a torch error from deep inside.
    """
    fields = {f.name: f for f in dataclasses.fields(config_cls)}
    values = {k: v for k, v in options.items() if k in fields}
    for name, value in values.items():
        kind = str(fields[name].type)
        if kind == "int" and (isinstance(value, bool) or not isinstance(value, int) or value < 1):
            raise UsageError(f"model option {name} must be a whole number >= 1 (got {value!r})")
        if kind == "float" and (isinstance(value, bool) or not isinstance(value, (int, float))
                                or not 0.0 <= float(value) < 1.0):
            raise UsageError(f"model option {name} must be a number in [0, 1) (got {value!r})")
    return config_cls(**values)


def check_architecture(arch: str) -> str:
    if arch not in ARCHITECTURES:
        raise UsageError(f"unknown digits architecture {arch!r} (choose from {', '.join(ARCHITECTURES)})")
    return arch


def make_generator(arch: str, config: dict) -> nn.Module:
    """A generator of architecture ``arch`` from a config dict (e.g. a release config's)."""
    generator_cls, config_cls = GENERATORS[check_architecture(arch)]
    return generator_cls(_config_from(config_cls, config))


def build_networks(arch: str, options: dict) -> tuple[nn.Module, nn.Module]:
    """``(generator, discriminator)`` for ``arch`` ("mlp" or "dcgan").

    ``options`` is a flat dict of network options (``latent_dim``, ``image_size``, ``hidden_dim``,
    ``base_channels``…); ``g_``/``d_`` prefixed keys (``d_base_channels``) set one side only.
    Keys neither network knows are an error naming them.
    """
    check_architecture(arch)
    generator_cls, g_config_cls = GENERATORS[arch]
    discriminator_cls, d_config_cls = DISCRIMINATORS[arch]
    known = {f.name for f in dataclasses.fields(g_config_cls)} | {f.name for f in dataclasses.fields(d_config_cls)}
    shared = {k: v for k, v in options.items() if not k.startswith(("g_", "d_"))}
    g_options = {**shared, **{k[2:]: v for k, v in options.items() if k.startswith("g_")}}
    d_options = {**shared, **{k[2:]: v for k, v in options.items() if k.startswith("d_")}}
    unknown = sorted((set(g_options) | set(d_options)) - known)
    if unknown:
        raise UsageError(f"unknown {arch} network option(s): {', '.join(unknown)} "
                         f"(known: {', '.join(sorted(known))})")
    return (generator_cls(_config_from(g_config_cls, g_options)),
            discriminator_cls(_config_from(d_config_cls, d_options)))


@torch.no_grad()
def recalibrate_batchnorm(generator: nn.Module, prior: "LatentPrior | int", num_batches: int = 16,
                          batch_size: int = 256, seed: int = 0) -> nn.Module:
    """Reset G's BatchNorm running statistics to those of its own current weights ("standing stats").

    An EMA generator's weights are averaged but its BatchNorm buffers are not, so in eval mode the
    statistics would not match the weights. Running ``num_batches`` seeded batches of latents from
    ``prior`` (a :class:`LatentPrior`, or a latent_dim for N(0, I)) in train mode with a cumulative
    average (``momentum=None``) fixes that; deterministic for a given ``seed``. Networks without
    BatchNorm are returned untouched.
    """
    if isinstance(prior, int):
        prior = LatentPrior(LatentPriorConfig(latent_dim=prior))
    norms = [m for m in generator.modules() if isinstance(m, nn.modules.batchnorm._BatchNorm)]
    if not norms:
        return generator
    was_training = generator.training
    momenta = [m.momentum for m in norms]
    device = next(generator.parameters()).device
    for m in norms:
        m.reset_running_stats()
        m.momentum = None
    generator.train()
    rng = torch.Generator().manual_seed(seed)
    for _ in range(num_batches):
        generator(prior.sample(batch_size, rng).to(device))
    for m, momentum in zip(norms, momenta):
        m.momentum = momentum
    generator.train(was_training)
    return generator

@dataclass
class LatentPriorConfig:
    """Where latents come from: ``modes = 0`` is plain N(0, I); ``modes = K`` a mixture of K Gaussians.

    The mixture's centres are drawn once from N(0, I) with ``seed`` (so a release only stores these
    three numbers); each latent is ``centre[k] + spread · ε`` with k uniform and ε ~ N(0, I).
    A disconnected prior lets an unconditional G map separate modes to separate digit classes
    instead of spending latent volume on in-between shapes (cf. DeLiGAN, Gurumurthy et al. 2017).
    """

    latent_dim: int = 100
    modes: int = 0
    spread: float = 1.0
    seed: int = 0


class LatentPrior:
    """Draws latents ``[n, latent_dim]`` (on CPU) from a :class:`LatentPriorConfig`."""

    def __init__(self, config: LatentPriorConfig):
        if config.modes < 0 or config.spread <= 0:
            raise UsageError(f"latent prior needs modes >= 0 and spread > 0 (got {config})")
        self.config = config
        self.centres = None
        if config.modes:
            rng = torch.Generator().manual_seed(config.seed)
            self.centres = torch.randn(config.modes, config.latent_dim, generator=rng)  # [K, latent_dim]

    def sample(self, n: int, generator: torch.Generator) -> torch.Tensor:
        """``[n, latent_dim]`` latents; with ``modes = 0`` exactly ``torch.randn(n, latent_dim)``."""
        noise = torch.randn(n, self.config.latent_dim, generator=generator)
        if self.centres is None:
            return noise
        modes = torch.randint(0, self.config.modes, (n,), generator=generator)
        return self.centres[modes] + self.config.spread * noise
