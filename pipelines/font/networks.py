"""Attribute-conditioned glyph networks.

``GlyphGenerator``: ``G(z [B, latent_dim], char [B] long, attrs [B, A] in [0, 1]) → [B, 1, S, S]`` in
[-1, 1] (ink +1). The character embedding, the attribute vector and z form one style code that
enters at the start (a learned 4×4 map) and modulates every upsampling block (FiLM), so the same
attributes give the same stroke weight, slant and serif style across all 62 characters.

``GlyphDiscriminator``: ``D(x [B, 1, S, S], char, attrs) → (logits [B], {"char_logits": [B, 62],
"attr_pred": [B, A], "features": [...]})`` — a projection discriminator on (char, attrs) with an
AC-GAN character head and an attribute-regression head.
"""
from __future__ import annotations

import math
from dataclasses import asdict, dataclass

import torch
from torch import nn
from torch.nn import functional as F
from torch.nn.utils import spectral_norm

from .attributes import NUM_ATTRIBUTES
from .charset import NUM_CHARS


@dataclass
class GeneratorConfig:
    image_size: int = 32              # output pixels (a power of two × 4: 16, 32, 64)
    latent_dim: int = 32
    num_attributes: int = NUM_ATTRIBUTES
    num_chars: int = NUM_CHARS
    char_dim: int = 64
    style_dim: int = 128
    base_channels: int = 256          # channels at 4×4, halved at each upsampling
    min_channels: int = 32


@dataclass
class DiscriminatorConfig:
    image_size: int = 32
    num_attributes: int = NUM_ATTRIBUTES
    num_chars: int = NUM_CHARS
    base_channels: int = 32           # channels at full size, doubled at each downsampling
    max_channels: int = 256


def _num_blocks(image_size: int) -> int:
    blocks = int(round(math.log2(image_size / 4)))
    if image_size < 8 or 4 * 2 ** blocks != image_size:
        raise ValueError(f"image_size must be 4·2^k ≥ 8 (got {image_size})")
    return blocks


class FiLMBlock(nn.Module):
    """Upsample ×2 → conv 3×3 → GroupNorm → scale/shift from the style code → LeakyReLU."""

    def __init__(self, cin: int, cout: int, style_dim: int):
        super().__init__()
        self.conv = nn.Conv2d(cin, cout, 3, padding=1)
        self.conv2 = nn.Conv2d(cout, cout, 3, padding=1)
        self.norm = nn.GroupNorm(min(8, cout), cout, affine=False)
        self.film = nn.Linear(style_dim, 2 * cout)

    def forward(self, h: torch.Tensor, style: torch.Tensor) -> torch.Tensor:
        h = self.conv(F.interpolate(h, scale_factor=2, mode="nearest"))
        scale, shift = self.film(style)[:, :, None, None].chunk(2, dim=1)
        h = F.leaky_relu(self.norm(h) * (1 + scale) + shift, 0.2)
        return F.leaky_relu(self.conv2(h), 0.2) + h


class GlyphGenerator(nn.Module):
    def __init__(self, config: GeneratorConfig):
        super().__init__()
        self.config = config
        blocks = _num_blocks(config.image_size)
        self.char_embedding = nn.Embedding(config.num_chars, config.char_dim)
        self.style = nn.Sequential(
            nn.Linear(config.char_dim + config.num_attributes + config.latent_dim, config.style_dim),
            nn.LeakyReLU(0.2), nn.Linear(config.style_dim, config.style_dim), nn.LeakyReLU(0.2))
        channels = [max(config.min_channels, config.base_channels // 2 ** i) for i in range(blocks + 1)]
        self.start = nn.Linear(config.style_dim, channels[0] * 16)
        self.blocks = nn.ModuleList(FiLMBlock(channels[i], channels[i + 1], config.style_dim)
                                    for i in range(blocks))
        self.to_image = nn.Conv2d(channels[-1], 1, 3, padding=1)

    def forward(self, z: torch.Tensor, char: torch.Tensor, attrs: torch.Tensor, **_unused) -> torch.Tensor:
        """``z [B, latent_dim]``, ``char [B]`` (index into CHARACTERS), ``attrs [B, A]`` → ``[B, 1, S, S]``."""
        style = self.style(torch.cat([self.char_embedding(char), attrs.to(z.dtype), z], dim=1))
        h = F.leaky_relu(self.start(style), 0.2).view(z.shape[0], -1, 4, 4)
        for block in self.blocks:
            h = block(h, style)
        return torch.tanh(self.to_image(h))


class GlyphDiscriminator(nn.Module):
    def __init__(self, config: DiscriminatorConfig):
        super().__init__()
        self.config = config
        blocks = _num_blocks(config.image_size)
        layers, cin = [], 1
        for i in range(blocks):
            cout = min(config.max_channels, config.base_channels * 2 ** i)
            layers += [spectral_norm(nn.Conv2d(cin, cout, 3, padding=1)), nn.LeakyReLU(0.2),
                       spectral_norm(nn.Conv2d(cout, cout, 4, stride=2, padding=1)), nn.LeakyReLU(0.2)]
            cin = cout
        self.body = nn.ModuleList(layers)
        feature_dim = cin * 16
        self.real_fake = spectral_norm(nn.Linear(feature_dim, 1))
        self.char_projection = spectral_norm(nn.Embedding(config.num_chars, feature_dim))
        self.attr_projection = spectral_norm(nn.Linear(config.num_attributes, feature_dim, bias=False))
        self.char_head = nn.Linear(feature_dim, config.num_chars)
        self.attr_head = nn.Linear(feature_dim, config.num_attributes)

    def forward(self, x: torch.Tensor, char: torch.Tensor, attrs: torch.Tensor, **_unused):
        features = []
        h = x
        for i, layer in enumerate(self.body):
            h = layer(h)
            if i % 4 == 3:
                features.append(h)
        h = h.flatten(1)
        cond = self.char_projection(char) + self.attr_projection(attrs.to(h.dtype))
        logits = self.real_fake(h)[:, 0] + (h * cond).sum(dim=1) / math.sqrt(h.shape[1])
        return logits, {"char_logits": self.char_head(h), "attr_pred": self.attr_head(h), "features": features}


def build_networks(model: dict) -> tuple[GlyphGenerator, GlyphDiscriminator]:
    """Both networks from one model-options dict (GeneratorConfig fields, ``d_channels``)."""
    known = {f for f in GeneratorConfig.__dataclass_fields__}
    g_options = {k: v for k, v in model.items() if k in known}
    generator = GlyphGenerator(GeneratorConfig(**g_options))
    discriminator = GlyphDiscriminator(DiscriminatorConfig(
        image_size=generator.config.image_size, base_channels=int(model.get("d_channels", 32))))
    return generator, discriminator


def generator_config_dict(generator: GlyphGenerator) -> dict:
    return asdict(generator.config)
