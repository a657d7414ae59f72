"""Differentiable harmonic-plus-noise synthesiser (DDSP idea) rendered frame by frame with overlap-add.

Controls arrive at a low frame rate: frame n sits at sample n·hop_size, so N samples need ceil(N / hop) + 1
frames.

- harmonics: partial k of a note sits at f_k = k·f0·√((1 + B·k²) / (1 + B)) Hz (B = inharmonicity ≥ 0, so the
  fundamental is exactly f0 — in tune by construction). Within one hop the sum Σ_k a_k(t) sin(φ_k(n) + ω_k τ)
  with linearly interpolated amplitudes splits into per-frame coefficients times a per-note basis of hop samples:
  one batched matrix product per note, no per-sample sin of every partial. Phases at frame starts are exact
  (float64 modulo 2π), so the intervals join without clicks.
- noise: each frame (2·hop samples centred on it) takes a fixed, precomputed white-noise spectrum (so the
  synth is a deterministic function of its controls and a prefix render equals the start of a full render; or
  fresh noise, for training), multiplies it by the band magnitudes interpolated to FFT bins (frequency
  sampling), and overlap-adds with a √Hann window, which keeps white-noise variance constant.

Units: frequencies in Hz, amplitudes linear (a harmonic of amplitude a peaks at ±a), noise magnitudes are the
RMS of the noise in that band (a flat magnitude m gives white noise of standard deviation m).
"""
from __future__ import annotations

import math

import torch
from torch import nn

from ..constants import SAMPLE_RATE

__all__ = ["midi_to_hz", "harmonic_frequencies", "num_frames_for", "HarmonicNoiseSynth"]


def midi_to_hz(pitch: torch.Tensor) -> torch.Tensor:
    """MIDI pitch (int or fractional) → frequency in Hz (A4 = 69 = 440 Hz); keeps float64 if given integers."""
    pitch = torch.as_tensor(pitch)
    pitch = pitch.double() if not pitch.is_floating_point() else pitch
    return 440.0 * torch.pow(2.0, (pitch - 69.0) / 12.0)


def harmonic_frequencies(f0: torch.Tensor, num_harmonics: int,
                         inharmonicity: torch.Tensor | None = None) -> torch.Tensor:
    """Partial frequencies (Hz) [B, K] of stiff strings: f_k = k·f0·√((1+B·k²)/(1+B)); f0 [B] Hz, B [B] ≥ 0."""
    k = torch.arange(1, num_harmonics + 1, dtype=f0.dtype, device=f0.device)
    freqs = f0[:, None] * k
    if inharmonicity is not None:
        stiff = inharmonicity.to(f0.dtype)[:, None]
        freqs = freqs * torch.sqrt((1 + stiff * k ** 2) / (1 + stiff))
    return freqs


def num_frames_for(num_samples: int, hop_size: int) -> int:
    """Control frames needed to render `num_samples` samples (frame n centred at n·hop)."""
    return -(-num_samples // hop_size) + 1


def _band_matrix(num_bands: int, num_bins: int, sample_rate: int) -> torch.Tensor:
    """[num_bands, num_bins] linear-interpolation weights from mel-spaced band centres (0 Hz..Nyquist) to FFT bins."""
    nyquist = sample_rate / 2
    mel = lambda hz: 2595.0 * torch.log10(1.0 + hz / 700.0)   # noqa: E731
    centres = torch.linspace(0.0, float(mel(torch.tensor(nyquist))), num_bands, dtype=torch.float64)
    bins = mel(torch.linspace(0.0, nyquist, num_bins, dtype=torch.float64))
    position = torch.searchsorted(centres, bins, right=True).clamp(1, num_bands - 1)
    left_centre, right_centre = centres[position - 1], centres[position]
    frac = ((bins - left_centre) / (right_centre - left_centre)).clamp(0, 1)
    weights = torch.zeros(num_bands, num_bins, dtype=torch.float64)
    columns = torch.arange(num_bins)
    weights[position - 1, columns] = 1 - frac
    weights[position, columns] += frac
    return weights.float()


class HarmonicNoiseSynth(nn.Module):
    """Render [B, N] audio from frame-rate controls; no trainable parameters, fully differentiable in the controls.

    forward(f0 [B] Hz, harmonic_amplitudes [B, F, K] linear, noise_magnitudes [B, F, num_noise_bands] RMS,
    inharmonicity [B] | None, num_samples, noise_offset [B] | None) → [B, num_samples];
    F ≥ num_frames_for(num_samples, hop_size); noise_offset None = fresh random noise (see `render_noise`).
    """

    def __init__(self, sample_rate: int = SAMPLE_RATE, hop_size: int = 256, num_harmonics: int = 64,
                 num_noise_bands: int = 40, noise_table_frames: int = 509, seed: int = 20240611):
        super().__init__()
        self.frames_per_chunk = 2048
        self.sample_rate, self.hop_size = sample_rate, hop_size
        self.num_harmonics, self.num_noise_bands = num_harmonics, num_noise_bands
        frame = 2 * hop_size
        generator = torch.Generator().manual_seed(seed)
        lags = torch.arange(hop_size, dtype=torch.float32)                            # τ, samples into an interval
        self.register_buffer("lags", lags, persistent=False)
        self.register_buffer("sqrt_hann", torch.hann_window(frame, periodic=True).sqrt(), persistent=False)
        # fixed random starting phases of the partials: lower crest factor than all-zero phases, and deterministic
        self.register_buffer("start_phase", torch.rand(num_harmonics, generator=generator, dtype=torch.float64),
                             persistent=False)
        white = torch.randn(noise_table_frames, frame, generator=generator)
        self.register_buffer("noise_table", torch.view_as_real(torch.fft.rfft(white, dim=-1)), persistent=False)
        self.register_buffer("band_to_bin", _band_matrix(num_noise_bands, hop_size + 1, sample_rate),
                             persistent=False)

    def partial_frequencies(self, f0: torch.Tensor, inharmonicity: torch.Tensor | None = None) -> torch.Tensor:
        """[B, K] partial frequencies in Hz (float64) for fundamental f0 [B] Hz."""
        return harmonic_frequencies(f0.double(), self.num_harmonics, inharmonicity)

    def harmonic_mask(self, f0: torch.Tensor, inharmonicity: torch.Tensor | None = None) -> torch.Tensor:
        """[B, K] bool: partials strictly below Nyquist (those above would alias)."""
        return self.partial_frequencies(f0, inharmonicity) < self.sample_rate / 2

    def render_harmonics(self, f0: torch.Tensor, amplitudes: torch.Tensor, inharmonicity: torch.Tensor | None,
                         num_frames: int) -> torch.Tensor:
        """Harmonic audio [B, (num_frames-1)·hop]; amplitudes [B, ≥num_frames, K] linear, interpolated between frames.

        Interval n (samples n·hop … (n+1)·hop-1) is Σ_k [(1-α)·a_k(n) + α·a_k(n+1)]·sin(φ_k(n) + ω_k τ), α = τ/hop:
        coefficients [a(n) sin φ, a(n) cos φ] and [Δa(n) sin φ, Δa(n) cos φ] times a per-note basis
        [cos ωτ; sin ωτ] — one batched matrix product, then steady + α · ramp.
        """
        freqs = self.partial_frequencies(f0, inharmonicity)                                   # [B, K] Hz
        audible = freqs < self.sample_rate / 2
        # partials above Nyquist for every note in the batch cost nothing: drop them (high notes: K → a few)
        kept = int(audible.any(dim=0).nonzero().max()) + 1 if bool(audible.any()) else 1
        freqs, audible = freqs[:, :kept], audible[:, :kept]
        amplitudes = amplitudes[:, :num_frames, :kept] * audible.to(amplitudes.dtype)[:, None]
        cycles_per_sample = freqs / self.sample_rate                                           # [B, K]
        starts = torch.arange(num_frames - 1, dtype=torch.float64, device=f0.device) * self.hop_size
        start_cycles = torch.frac(cycles_per_sample[:, None, :] * starts[:, None] + self.start_phase[:kept])
        start_phase = (2 * math.pi * start_cycles).float()                                     # [B, F-1, K] rad
        sin_start, cos_start = torch.sin(start_phase), torch.cos(start_phase)
        # (1-α)·a(n) + α·a(n+1) = a(n) + α·Δ(n): rows [a(n) sin φ, a(n) cos φ] and [Δ sin φ, Δ cos φ] times the
        # basis [cos ωτ; sin ωτ] give the steady and the ramp part of every interval in one product; the ramp
        # part is then scaled by α — half the basis of the four-row form, and no fade-multiplied copy of it
        now, delta = amplitudes[:, :-1], amplitudes[:, 1:] - amplitudes[:, :-1]
        intervals = num_frames - 1
        coefficients = torch.cat([torch.cat([now * sin_start, now * cos_start], -1),
                                  torch.cat([delta * sin_start, delta * cos_start], -1)], 1)   # [B, 2(F-1), 2K]
        local_phase = (2 * math.pi) * cycles_per_sample.float()[:, :, None] * self.lags       # [B, K, hop]
        basis = torch.cat([torch.cos(local_phase), torch.sin(local_phase)], 1)                # [B, 2K, hop]
        parts = torch.bmm(coefficients, basis)                                                # [B, 2(F-1), hop]
        audio = torch.addcmul(parts[:, :intervals], parts[:, intervals:], self.lags / self.hop_size)
        return audio.reshape(f0.shape[0], -1)                                                 # [B, (F-1)·hop]

    def render_noise(self, noise_magnitudes: torch.Tensor, noise_offset: torch.Tensor | None,
                     num_frames: int) -> torch.Tensor:
        """Windowed noise frames [B, num_frames, 2·hop]; magnitudes [B, ≥num_frames, bands].

        noise_offset [B] picks each note's first row of the fixed noise table; None draws fresh white noise from
        torch's global generator instead (training: the discriminator never sees the same noise twice).
        """
        batch = noise_magnitudes.shape[0]
        if noise_offset is None:
            white = torch.randn(batch, num_frames, 2 * self.hop_size, device=noise_magnitudes.device)
            spectrum = torch.fft.rfft(white, dim=-1)
        else:
            table_frames = self.noise_table.shape[0]
            rows = (noise_offset.long()[:, None] + torch.arange(num_frames, device=noise_offset.device)) % table_frames
            spectrum = torch.view_as_complex(self.noise_table[rows])                           # [B, F, hop+1]
        gains = noise_magnitudes[:, :num_frames] @ self.band_to_bin                            # [B, F, hop+1]
        if noise_offset is not None and not gains.requires_grad:
            # rendering: scale the gathered table rows (a fresh copy) in place, as real pairs — no complex
            # copy of the gains and no second spectrum (same values; a quarter of the noise's time)
            torch.view_as_real(spectrum).mul_(gains[..., None])
        else:
            spectrum = spectrum * gains
        frames = torch.fft.irfft(spectrum, n=2 * self.hop_size, dim=-1)
        return frames.mul_(self.sqrt_hann)       # in place: irfft's backward does not need its output

    def overlap_add(self, frames: torch.Tensor, num_samples: int) -> torch.Tensor:
        """[B, F, 2·hop] windowed frames (frame n centred at n·hop) → [B, num_samples]."""
        hop = self.hop_size
        out = frames[:, :-1, hop:] + frames[:, 1:, :hop]                                      # [B, F-1, hop]
        return out.reshape(out.shape[0], -1)[:, :num_samples]

    def forward(self, f0: torch.Tensor, harmonic_amplitudes: torch.Tensor, noise_magnitudes: torch.Tensor,
                inharmonicity: torch.Tensor | None = None, num_samples: int | None = None,
                noise_offset: torch.Tensor | None = None) -> torch.Tensor:
        with torch.autocast(f0.device.type, enabled=False):     # bf16 sines would add ≈ −45 dB of hiss
            return self._render(f0, harmonic_amplitudes.float(), noise_magnitudes.float(),
                                None if inharmonicity is None else inharmonicity.float(), num_samples, noise_offset)

    def _render(self, f0: torch.Tensor, harmonic_amplitudes: torch.Tensor, noise_magnitudes: torch.Tensor,
                inharmonicity: torch.Tensor | None, num_samples: int | None,
                noise_offset: torch.Tensor | None) -> torch.Tensor:
        available = harmonic_amplitudes.shape[1]
        if num_samples is None:
            num_samples = (available - 1) * self.hop_size
        num_frames = num_frames_for(num_samples, self.hop_size)
        if num_frames > available or noise_magnitudes.shape[1] < num_frames:
            raise ValueError(f"{num_samples} samples need {num_frames} control frames, got {available}")
        # a few notes at a time keep the [notes, frames, 2·hop] temporaries cache-sized: ≈1.5× faster for 4-s notes
        chunk = max(1, self.frames_per_chunk // num_frames)
        pieces = []
        for start in range(0, f0.shape[0], chunk):
            part = slice(start, start + chunk)
            harmonics = self.render_harmonics(f0[part], harmonic_amplitudes[part],
                                              None if inharmonicity is None else inharmonicity[part], num_frames)
            noise = self.render_noise(noise_magnitudes[part], None if noise_offset is None else noise_offset[part],
                                      num_frames)
            noise = self.overlap_add(noise, num_samples)
            pieces.append(noise.add_(harmonics[:, :num_samples]))     # in place into the fresh overlap-add buffer
        return pieces[0] if len(pieces) == 1 else torch.cat(pieces)

    def extra_repr(self) -> str:
        return (f"sample_rate={self.sample_rate}, hop_size={self.hop_size}, num_harmonics={self.num_harmonics}, "
                f"num_noise_bands={self.num_noise_bands}")
