"""WaveGAN-style networks on raw audio [B, T] (Donahue et al. 2019), pitch-conditioned.

G: z ⊕ pitch one-hot → dense → [C, 16] → n transposed 1-D convs (kernel 25, stride 4, ReLU) → tanh:
16·4^n samples (n = 5: 16,384; n = 6: 65,536), then cropped or zero-padded to `num_samples`.
D: n strided 1-D convs (kernel 25, stride 4, LeakyReLU 0.2) with phase shuffle ±`phase_shuffle` samples after
each of the first 4 (training mode only), a real/fake logit and the AC-GAN pitch head.
"""
from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from creative_gan.layers import MinibatchStdDev, check_label_range

from ..constants import PITCH_MAX, PITCH_MIN
from .spectral import one_hot_conditioning, velocity_condition

__all__ = ["WaveGeneratorConfig", "WaveGenerator", "WaveDiscriminatorConfig", "WaveDiscriminator", "phase_shuffle"]

_KERNEL, _STRIDE, _SEED_LENGTH = 25, 4, 16


@dataclass
class WaveGeneratorConfig:
    """Sizes of `WaveGenerator`. Layer i of n has min(max_channels, base_channels·2^(n−1−i)) input channels."""

    latent_dim: int = 100
    pitch_min: int = PITCH_MIN
    pitch_max: int = PITCH_MAX
    use_velocity: bool = False
    num_layers: int = 5                # 16·4^n samples before cropping: 5 → 16,384, 6 → 65,536
    num_samples: int = 16_384          # output length (crop or zero-pad the network's 16·4^n)
    base_channels: int = 64            # WaveGAN's d
    max_channels: int = 1024

    @property
    def num_pitches(self) -> int:
        return self.pitch_max - self.pitch_min + 1

    @property
    def native_samples(self) -> int:
        return _SEED_LENGTH * _STRIDE ** self.num_layers

    def layer_channels(self) -> list[int]:
        """Channels before layer 0 … after layer n−1 (the last is 1, the audio)."""
        n = self.num_layers
        return [min(self.max_channels, self.base_channels * 2 ** (n - 1 - i)) for i in range(n)] + [1]

    @classmethod
    def tiny(cls, **overrides):
        """A CPU-test preset: 4 layers → 4,096 samples, ≤ 64 channels, 32-d z."""
        values = dict(latent_dim=32, num_layers=4, num_samples=4096, base_channels=8)
        values.update(overrides)
        return cls(**values)


@dataclass
class WaveDiscriminatorConfig(WaveGeneratorConfig):
    """Sizes of `WaveDiscriminator` (the generator's, mirrored); latent_dim is unused by D."""

    phase_shuffle: int = 2             # ± samples, after each of the first 4 conv layers, training mode only
    feature_dim: int = 256
    minibatch_group_size: int = 4      # 0 turns minibatch stddev off (WaveGAN had none)

    @classmethod
    def tiny(cls, **overrides):
        values = dict(latent_dim=32, num_layers=4, num_samples=4096, base_channels=8, feature_dim=32)
        values.update(overrides)
        return cls(**values)


def _fit_length(audio: torch.Tensor, num_samples: int) -> torch.Tensor:
    """Crop or zero-pad the last axis to `num_samples`."""
    length = audio.shape[-1]
    return audio[..., :num_samples] if length >= num_samples else F.pad(audio, (0, num_samples - length))


def phase_shuffle(x: torch.Tensor, max_shift: int) -> torch.Tensor:
    """Shift each example of [B, C, T] by its own random integer in [−max_shift, max_shift], reflect-padding the gap."""
    if max_shift <= 0:
        return x
    batch, _, length = x.shape
    shifts = torch.randint(-max_shift, max_shift + 1, (batch,), device=x.device)
    padded = F.pad(x, (max_shift, max_shift), mode="reflect")
    index = torch.arange(length, device=x.device)[None, :] + max_shift - shifts[:, None]    # [B, T]
    return padded.gather(2, index[:, None, :].expand(-1, x.shape[1], -1))


class WaveGenerator(nn.Module):
    """(z [B, latent_dim], MIDI pitch [B], velocity [B] | None) → audio [B, num_samples] in [−1, 1]."""

    def __init__(self, config: WaveGeneratorConfig | None = None):
        super().__init__()
        self.config = config = config or WaveGeneratorConfig()
        channels = config.layer_channels()
        in_features = config.latent_dim + config.num_pitches + int(config.use_velocity)
        self.dense = nn.Linear(in_features, channels[0] * _SEED_LENGTH)
        layers = []
        for i, (c_in, c_out) in enumerate(zip(channels[:-1], channels[1:])):
            # padding 11 + output_padding 1: exactly ×4 in length
            layers.append(nn.ConvTranspose1d(c_in, c_out, _KERNEL, stride=_STRIDE, padding=11, output_padding=1))
            layers.append(nn.ReLU() if i < config.num_layers - 1 else nn.Tanh())
        self.upsample = nn.Sequential(*layers)

    def forward(self, z: torch.Tensor, pitch: torch.Tensor, velocity: torch.Tensor | None = None) -> torch.Tensor:
        if z.dim() != 2 or z.shape[1] != self.config.latent_dim:
            raise ValueError(f"expected z [B, {self.config.latent_dim}], got {tuple(z.shape)}")
        x = torch.cat([z, one_hot_conditioning(self.config, pitch, velocity, z.device)], dim=1)
        x = F.relu(self.dense(x)).view(z.shape[0], -1, _SEED_LENGTH)
        return _fit_length(self.upsample(x)[:, 0], self.config.num_samples)


class WaveDiscriminator(nn.Module):
    """(audio [B, T] or [B, 1, T], MIDI pitch [B], velocity [B] | None) → (logits [B], aux).

    Input is cropped/zero-padded to the config's 16·4^n samples. aux: "pitch_logits" [B, num_pitches] (AC-GAN
    head; class = pitch − pitch_min), "features" [B, feature_dim]. With use_velocity, a projection term
    ⟨embed(velocity), features⟩ joins the logit.
    """

    def __init__(self, config: WaveDiscriminatorConfig | None = None):
        super().__init__()
        self.config = config = config or WaveDiscriminatorConfig()
        channels = config.layer_channels()[::-1]          # 1 → d → 2d → …
        self.convs = nn.ModuleList(nn.Conv1d(c_in, c_out, _KERNEL, stride=_STRIDE, padding=11)
                                   for c_in, c_out in zip(channels[:-1], channels[1:]))
        group = config.minibatch_group_size
        self.stddev = MinibatchStdDev(group) if group > 0 else None
        flat = (channels[-1] + int(group > 0)) * _SEED_LENGTH
        self.to_features = nn.Sequential(nn.Linear(flat, config.feature_dim), nn.LeakyReLU(0.2))
        self.logit_head = nn.Linear(config.feature_dim, 1)
        self.pitch_head = nn.Linear(config.feature_dim, config.num_pitches)
        self.velocity_embedding = nn.Embedding(128, config.feature_dim) if config.use_velocity else None
        if self.velocity_embedding is not None:
            nn.init.normal_(self.velocity_embedding.weight, std=config.feature_dim ** -0.5)

    def forward(self, audio: torch.Tensor, pitch: torch.Tensor, velocity: torch.Tensor | None = None):
        cfg = self.config
        x = audio[:, None] if audio.dim() == 2 else audio
        x = _fit_length(x, cfg.native_samples)
        check_label_range(torch.as_tensor(pitch), cfg.pitch_min, cfg.pitch_max, "pitch")
        for i, conv in enumerate(self.convs):
            x = F.leaky_relu(conv(x), 0.2)
            if self.training and i < 4:
                x = phase_shuffle(x, cfg.phase_shuffle)
        if self.stddev is not None:
            x = self.stddev(x)
        features = self.to_features(x.flatten(1))
        logits = self.logit_head(features)[:, 0]
        if self.velocity_embedding is not None and velocity is not None:
            velocity = velocity_condition(torch.as_tensor(pitch), velocity, audio.device)
            logits = logits + (self.velocity_embedding(velocity.long()) * features).sum(dim=1)
        return logits, {"pitch_logits": self.pitch_head(features), "features": features}
