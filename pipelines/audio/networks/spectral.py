"""GANSynth-style networks on normalised magnitude + instantaneous-frequency spectrograms [B, 2, frames, bins].

G: z (256-d N(0, I)) ⊕ pitch one-hot → dense seed [C, frames/2^n, bins/2^n] → n nearest-upsample stages of two
3×3 convs (LeakyReLU 0.2, pixel norm, equalised LR) → 1×1 conv → tanh, in [−1, 1]. D mirrors it with average
pooling, minibatch stddev at the lowest resolution, a real/fake logit and the AC-GAN pitch head. Fixed resolution
(no progressive growing). The default layout is GANSynth's 128 frames × 1024 bins; `spectral.py` converts the
tensor to audio.
"""
from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from creative_gan.errors import UsageError
from creative_gan.layers import (EqualizedConv2d, EqualizedLinear, MinibatchStdDev, PixelNorm, check_label_range,
                                 label_one_hot)

from ..constants import PITCH_MAX, PITCH_MIN

__all__ = ["SpectralGeneratorConfig", "SpectralGenerator", "SpectralDiscriminatorConfig", "SpectralDiscriminator",
           "one_hot_conditioning", "velocity_condition", "DEFAULT_VELOCITY"]


@dataclass
class SpectralGeneratorConfig:
    """Sizes of `SpectralGenerator`. Stage i (0 = seed) has min(max_channels, base_channels·2^(n−i)) channels."""

    latent_dim: int = 256
    pitch_min: int = PITCH_MIN
    pitch_max: int = PITCH_MAX
    use_velocity: bool = False
    num_frames: int = 128              # time axis of the output layout
    num_bins: int = 1024               # frequency axis of the output layout
    num_channels: int = 2              # log-magnitude, instantaneous frequency
    num_upsamples: int = 6             # seed is [frames/2^n, bins/2^n]: GANSynth's 2×16
    base_channels: int = 32            # channels at full resolution
    max_channels: int = 256

    @property
    def num_pitches(self) -> int:
        return self.pitch_max - self.pitch_min + 1

    def stage_channels(self) -> list[int]:
        """Channels of stages 0 (seed) … num_upsamples (full resolution)."""
        n = self.num_upsamples
        return [min(self.max_channels, self.base_channels * 2 ** (n - i)) for i in range(n + 1)]

    def seed_shape(self) -> tuple[int, int]:
        """(frames, bins) of the dense seed; the layout must divide by 2^num_upsamples."""
        factor = 2 ** self.num_upsamples
        if self.num_frames % factor or self.num_bins % factor:
            raise ValueError(f"layout {self.num_frames}×{self.num_bins} does not divide by 2^{self.num_upsamples}")
        return self.num_frames // factor, self.num_bins // factor

    @classmethod
    def tiny(cls, **overrides):
        """A CPU-test preset: 16 frames × 64 bins, 3 upsamples, ≤ 32 channels, 32-d z."""
        values = dict(latent_dim=32, num_frames=16, num_bins=64, num_upsamples=3, base_channels=8, max_channels=32)
        values.update(overrides)
        return cls(**values)


@dataclass
class SpectralDiscriminatorConfig(SpectralGeneratorConfig):
    """Sizes of `SpectralDiscriminator` (the generator's, mirrored); latent_dim is unused by D."""

    feature_dim: int = 256
    minibatch_group_size: int = 4

    @classmethod
    def tiny(cls, **overrides):
        values = dict(latent_dim=32, num_frames=16, num_bins=64, num_upsamples=3, base_channels=8, max_channels=32,
                      feature_dim=32)
        values.update(overrides)
        return cls(**values)


DEFAULT_VELOCITY = 100                 # MIDI velocity of a note asked for without one


def velocity_condition(pitch: torch.Tensor, velocity, device) -> torch.Tensor:
    """MIDI velocities [B] (long) for pitches [B]: None → 100 each, one value → all notes; UsageError if any
    lies outside 0–127 or the count differs from the pitches'."""
    if velocity is None:
        return torch.full(pitch.shape, DEFAULT_VELOCITY, dtype=torch.long, device=device)
    velocity = torch.as_tensor(velocity, device=device)
    if velocity.dim() == 0 or velocity.numel() == 1:
        velocity = velocity.reshape(1).expand(pitch.shape[0])
    if tuple(velocity.shape) != tuple(pitch.shape):
        raise UsageError(f"{velocity.numel()} velocities for {pitch.numel()} notes")
    check_label_range(velocity, 0, 127, "velocity")
    return velocity.long()


def one_hot_conditioning(config, pitch: torch.Tensor, velocity: torch.Tensor | None, device) -> torch.Tensor:
    """G input code: pitch one-hot [B, num_pitches] (+ velocity/127 [B, 1] if use_velocity; missing velocity = 100)."""
    pitch = torch.as_tensor(pitch, device=device)
    parts = [label_one_hot(pitch, config.pitch_min, config.pitch_max, "pitch")]
    if config.use_velocity:
        parts.append(velocity_condition(pitch, velocity, device).float()[:, None] / 127.0)
    return torch.cat(parts, dim=1)


class _ConvBlock(nn.Sequential):
    """Two 3×3 equalised convs, each followed by LeakyReLU 0.2 (and pixel norm in G)."""

    def __init__(self, in_channels: int, out_channels: int, pixel_norm: bool):
        layers = []
        for c_in in (in_channels, out_channels):
            layers += [EqualizedConv2d(c_in, out_channels, 3, padding=1), nn.LeakyReLU(0.2)]
            if pixel_norm:
                layers.append(PixelNorm())
        super().__init__(*layers)


class SpectralGenerator(nn.Module):
    """(z [B, latent_dim], MIDI pitch [B], velocity [B] | None) → spectrogram [B, 2, frames, bins] in [−1, 1]."""

    def __init__(self, config: SpectralGeneratorConfig | None = None):
        super().__init__()
        self.config = config = config or SpectralGeneratorConfig()
        channels, (seed_frames, seed_bins) = config.stage_channels(), config.seed_shape()
        in_features = config.latent_dim + config.num_pitches + int(config.use_velocity)
        self.input_norm = PixelNorm()
        self.seed = EqualizedLinear(in_features, channels[0] * seed_frames * seed_bins, gain=2 ** 0.5 / 4)
        self.seed_shape = (channels[0], seed_frames, seed_bins)
        self.seed_block = nn.Sequential(nn.LeakyReLU(0.2), PixelNorm(),
                                        EqualizedConv2d(channels[0], channels[0], 3, padding=1), nn.LeakyReLU(0.2),
                                        PixelNorm())
        self.stages = nn.ModuleList(_ConvBlock(c_in, c_out, pixel_norm=True)
                                    for c_in, c_out in zip(channels[:-1], channels[1:]))
        self.to_spectrogram = EqualizedConv2d(channels[-1], config.num_channels, 1, gain=1.0)

    def forward(self, z: torch.Tensor, pitch: torch.Tensor, velocity: torch.Tensor | None = None) -> torch.Tensor:
        if z.dim() != 2 or z.shape[1] != self.config.latent_dim:
            raise ValueError(f"expected z [B, {self.config.latent_dim}], got {tuple(z.shape)}")
        x = torch.cat([z, one_hot_conditioning(self.config, pitch, velocity, z.device)], dim=1)
        x = self.seed(self.input_norm(x)).view(z.shape[0], *self.seed_shape)
        x = self.seed_block(x)
        for stage in self.stages:
            x = stage(F.interpolate(x, scale_factor=2.0, mode="nearest"))
        return torch.tanh(self.to_spectrogram(x))


class SpectralDiscriminator(nn.Module):
    """(spectrogram [B, 2, frames, bins], MIDI pitch [B], velocity [B] | None) → (logits [B], aux).

    aux: "pitch_logits" [B, num_pitches] (AC-GAN head; class = pitch − pitch_min), "features" [B, feature_dim].
    With use_velocity, a projection term ⟨embed(velocity), features⟩ joins the logit.
    """

    def __init__(self, config: SpectralDiscriminatorConfig | None = None):
        super().__init__()
        self.config = config = config or SpectralDiscriminatorConfig()
        channels, (seed_frames, seed_bins) = config.stage_channels()[::-1], config.seed_shape()
        self.from_spectrogram = nn.Sequential(EqualizedConv2d(config.num_channels, channels[0], 1), nn.LeakyReLU(0.2))
        self.stages = nn.ModuleList(_ConvBlock(c_in, c_out, pixel_norm=False)
                                    for c_in, c_out in zip(channels[:-1], channels[1:]))
        self.stddev = MinibatchStdDev(config.minibatch_group_size)
        self.final_conv = nn.Sequential(EqualizedConv2d(channels[-1] + 1, channels[-1], 3, padding=1),
                                        nn.LeakyReLU(0.2))
        self.to_features = nn.Sequential(EqualizedLinear(channels[-1] * seed_frames * seed_bins, config.feature_dim),
                                         nn.LeakyReLU(0.2))
        self.logit_head = EqualizedLinear(config.feature_dim, 1, gain=1.0)
        self.pitch_head = EqualizedLinear(config.feature_dim, config.num_pitches, gain=1.0)
        self.velocity_embedding = nn.Embedding(128, config.feature_dim) if config.use_velocity else None
        if self.velocity_embedding is not None:
            nn.init.normal_(self.velocity_embedding.weight, std=config.feature_dim ** -0.5)

    def forward(self, x: torch.Tensor, pitch: torch.Tensor, velocity: torch.Tensor | None = None):
        cfg = self.config
        if tuple(x.shape[1:]) != (cfg.num_channels, cfg.num_frames, cfg.num_bins):
            raise ValueError(f"expected spectrograms [B, {cfg.num_channels}, {cfg.num_frames}, {cfg.num_bins}], "
                             f"got {tuple(x.shape)}")
        check_label_range(torch.as_tensor(pitch), cfg.pitch_min, cfg.pitch_max, "pitch")
        h = self.from_spectrogram(x)
        for stage in self.stages:
            h = F.avg_pool2d(stage(h), 2)
        h = self.final_conv(self.stddev(h))
        features = self.to_features(h.flatten(1))
        logits = self.logit_head(features)[:, 0]
        if self.velocity_embedding is not None and velocity is not None:
            velocity = velocity_condition(torch.as_tensor(pitch), velocity, x.device)
            logits = logits + (self.velocity_embedding(velocity.long()) * features).sum(dim=1)
        return logits, {"pitch_logits": self.pitch_head(features), "features": features}
