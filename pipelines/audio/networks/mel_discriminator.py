"""The `harmonic` family's discriminator: log-mel spectrograms (one or several resolutions, and an optional
fine semitone view) judged by spectral-norm convolutions, minibatch stddev, pitch (and velocity) projection
terms and the AC-GAN pitch head.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from creative_gan.layers import MinibatchStdDev, check_label_range, spectral_norm

from ..constants import PITCH_MAX, PITCH_MIN, SAMPLE_RATE

__all__ = ["MelDiscriminatorConfig", "MelDiscriminator", "FINE_MIDI_LOW", "FINE_MIDI_HIGH"]


@dataclass
class MelDiscriminatorConfig:
    """Sizes of `MelDiscriminator`; one branch per FFT size (hop = fft_size / 4), logits summed over branches.

    latent_dim is unused by D (kept so every audio network config shares the same keys).
    """

    latent_dim: int = 64
    pitch_min: int = PITCH_MIN
    pitch_max: int = PITCH_MAX
    use_velocity: bool = False
    sample_rate: int = SAMPLE_RATE
    fft_sizes: tuple[int, ...] = (1024,)
    num_mels: int = 80
    min_frequency: float = 20.0            # Hz
    channels: tuple[int, ...] = (16, 32, 64, 128)    # one stride-2 conv block each (CPU-sized: ≈0.1 s fwd+bwd
    feature_dim: int = 128                            # for 16 two-second clips on one core)
    minibatch_group_size: int = 4
    # an extra "fine" branch (0: none): an fft-point STFT in semitone bands (MIDI 20–118), each note's log power
    # relative to its own peak and floored fine_range_db below it — the quiet structure (below the
    # fundamental, between partials, weak partials' decays) that the absolute log-mel view clips away
    fine_fft_size: int = 0
    fine_range_db: float = 80.0

    def __post_init__(self):            # JSON round trips turn tuples into lists
        self.fft_sizes, self.channels = tuple(self.fft_sizes), tuple(self.channels)

    @property
    def num_pitches(self) -> int:
        return self.pitch_max - self.pitch_min + 1

    @classmethod
    def tiny(cls, **overrides) -> "MelDiscriminatorConfig":
        """A CPU-test preset: 40 mels, three narrow blocks."""
        values = dict(num_mels=40, channels=(8, 16, 32), feature_dim=32)
        values.update(overrides)
        return cls(**values)

    @classmethod
    def multi_resolution(cls, **overrides) -> "MelDiscriminatorConfig":
        """Three resolutions (512, 1024, 2048-point FFTs): sharper onsets and finer low harmonics, ≈3× the cost."""
        values = dict(fft_sizes=(512, 1024, 2048))
        values.update(overrides)
        return cls(**values)


FINE_MIDI_LOW, FINE_MIDI_HIGH = 20, 118      # the fine branch's semitone bands (118 ≈ 7.5 kHz)


class _MelBranch(nn.Module):
    """Log-mel front end + spectral-norm conv stack; audio [B, T] → features [B, feature_dim] (any T ≥ fft_size).

    ``fine=True``: semitone bands of an ``fft_size``-point STFT instead, in dB relative to each note's peak
    (detached), floored ``config.fine_range_db`` below it and scaled to [−1, 1]."""

    def __init__(self, config: MelDiscriminatorConfig, fft_size: int, fine: bool = False):
        super().__init__()
        self.fine, self.fft_size = fine, fft_size
        if fine:
            from ..dsp.features import semitone_bands

            bank = semitone_bands(config.sample_rate, fft_size, FINE_MIDI_LOW, FINE_MIDI_HIGH)
            self.register_buffer("bands", torch.from_numpy(bank), persistent=False)
            self.register_buffer("window", torch.hann_window(fft_size), persistent=False)
            self.range_nats = config.fine_range_db * math.log(10.0) / 10.0
            rows = bank.shape[0]
        else:
            import torchaudio   # imported here so generating audio never needs it

            self.mel = torchaudio.transforms.MelSpectrogram(
                config.sample_rate, n_fft=fft_size, hop_length=fft_size // 4, f_min=config.min_frequency,
                n_mels=config.num_mels, power=2.0, norm="slaney", mel_scale="slaney")
            rows = config.num_mels
        layers, in_channels = [spectral_norm(nn.Conv2d(1, config.channels[0], 3, padding=1)), nn.LeakyReLU(0.2)], \
            config.channels[0]
        for out_channels in config.channels:
            layers += [spectral_norm(nn.Conv2d(in_channels, out_channels, 4, stride=2, padding=1)), nn.LeakyReLU(0.2)]
            in_channels = out_channels
        self.convs = nn.Sequential(*layers)
        self.stddev = MinibatchStdDev(config.minibatch_group_size)
        self.final_conv = spectral_norm(nn.Conv2d(in_channels + 1, in_channels, 3, padding=1))
        for _ in config.channels:
            rows //= 2
        self.to_features = spectral_norm(nn.Linear(2 * in_channels * rows, config.feature_dim))

    def _fine_view(self, audio: torch.Tensor) -> torch.Tensor:
        """[B, T] → [B, bands, frames] in [−1, 1]: 1 at the note's peak, −1 at fine_range_db below it."""
        spectrum = torch.stft(audio, self.fft_size, self.fft_size // 4, window=self.window, return_complex=True)
        log_power = torch.log(torch.einsum("kf,bft->bkt", self.bands, spectrum.abs().square()) + 1e-12)
        relative = log_power - log_power.amax(dim=(1, 2), keepdim=True).detach()
        return 1.0 + 2.0 * torch.clamp(relative, min=-self.range_nats) / self.range_nats

    def forward(self, audio: torch.Tensor) -> torch.Tensor:
        with torch.autocast(audio.device.type, enabled=False):   # log-mel in float32 even under AMP
            if self.fine:
                view = self._fine_view(audio.float())
            else:
                log_mel = torch.log(self.mel(audio.float()) + 1e-5)      # [B, mels, frames]
                view = (log_mel + 5.0) / 5.0               # fixed affine: silence ≈ −1.3, loud ≈ +1.3
        x = self.convs(view[:, None])
        x = F.leaky_relu(self.final_conv(self.stddev(x)), 0.2)      # [B, C, mel_rows, frames']
        pooled = torch.cat([x.mean(dim=-1), x.amax(dim=-1)], dim=1)   # pool over time: any clip length works
        return F.leaky_relu(self.to_features(pooled.flatten(1)), 0.2)


class MelDiscriminator(nn.Module):
    """(audio [B, T] or [B, 1, T], MIDI pitch [B], velocity [B] | None) → (logits [B], aux).

    logit = Σ_branches w·φ(x) + ⟨embed(pitch), φ(x)⟩ (+ ⟨embed(velocity), φ(x)⟩): a projection discriminator.
    aux: "pitch_logits" [B, num_pitches] (AC-GAN head, class = pitch − pitch_min, branch average) and
    "features" [B, feature_dim · branches].
    """

    def __init__(self, config: MelDiscriminatorConfig | None = None):
        super().__init__()
        self.config = config = config or MelDiscriminatorConfig()
        branches = [_MelBranch(config, n) for n in config.fft_sizes]
        if config.fine_fft_size:
            branches.append(_MelBranch(config, config.fine_fft_size, fine=True))
        self.branches = nn.ModuleList(branches)
        width, count = config.feature_dim, len(branches)
        self.logit_heads = nn.ModuleList(spectral_norm(nn.Linear(width, 1)) for _ in range(count))
        self.pitch_embeddings = nn.ModuleList(spectral_norm(nn.Embedding(config.num_pitches, width))
                                              for _ in range(count))
        self.pitch_heads = nn.ModuleList(nn.Linear(width, config.num_pitches) for _ in range(count))
        self.velocity_embeddings = nn.ModuleList(spectral_norm(nn.Embedding(128, width)) for _ in range(count)) \
            if config.use_velocity else None

    def forward(self, audio: torch.Tensor, pitch: torch.Tensor, velocity: torch.Tensor | None = None):
        cfg = self.config
        if audio.dim() == 3:
            audio = audio[:, 0]
        pitch = torch.as_tensor(pitch, device=audio.device)
        check_label_range(pitch, cfg.pitch_min, cfg.pitch_max, "pitch")
        pitch_class = pitch.long() - cfg.pitch_min
        logits, pitch_logits, features = 0.0, 0.0, []
        for i, branch in enumerate(self.branches):
            phi = branch(audio)
            logit = self.logit_heads[i](phi)[:, 0] + (self.pitch_embeddings[i](pitch_class) * phi).sum(dim=1)
            if self.velocity_embeddings is not None and velocity is not None:
                check_label_range(velocity, 0, 127, "velocity")
                logit = logit + (self.velocity_embeddings[i](velocity.long()) * phi).sum(dim=1)
            logits = logits + logit
            pitch_logits = pitch_logits + self.pitch_heads[i](phi) / len(self.branches)
            features.append(phi)
        return logits, {"pitch_logits": pitch_logits, "features": torch.cat(features, dim=1)}
