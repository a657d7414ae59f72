"""A deterministic additive-synth NoteSource for renderer tests and the benchmark's --synthetic mode.

Timbre is a function of z: the amplitudes of 8 harmonics are softmax(W z) with a fixed seeded W, and the
decay rate is sigmoid(v · z). Everything is torch ops, so it is differentiable (timbre_from_audio works).
It counts generate calls and generated notes so tests can check caching and batching.
"""
from __future__ import annotations

import math

import torch

NUM_HARMONICS = 8


class FakeNoteSource:
    """Implements pipelines.audio.render.timbre.NoteSource. Audio [N, T]: sum_k a_k(z) sin(2π k f0 t) · env(t)."""

    def __init__(self, latent_dim: int = 16, has_velocity: bool = False, sample_rate: int = 16_000,
                 note_samples: int = 64_000, pitch_range: tuple[int, int] = (24, 84), device: str = "cpu"):
        self.sample_rate, self.note_samples = sample_rate, note_samples
        self.pitch_range, self.latent_dim, self.has_velocity = pitch_range, latent_dim, has_velocity
        self.device = torch.device(device)
        gen = torch.Generator().manual_seed(1234)
        self.mix = torch.randn(NUM_HARMONICS, latent_dim, generator=gen).to(self.device)
        self.decay_dir = torch.randn(latent_dim, generator=gen).to(self.device)
        self.presets = {name: self.latent_for_seed(seed) for name, seed in
                        (("bright", 101), ("warm", 202), ("hollow", 303))}
        self.calls: list[dict] = []   # one per generate call: n, num_samples, pitches, z [N, D], velocities

    @property
    def notes_generated(self) -> int:
        return sum(call["n"] for call in self.calls)

    def latent_for_seed(self, seed: int) -> torch.Tensor:
        gen = torch.Generator().manual_seed(int(seed))
        return torch.randn(self.latent_dim, generator=gen).to(self.device)

    def harmonic_amplitudes(self, z: torch.Tensor) -> torch.Tensor:
        """z [N, D] -> amplitudes [N, K] summing to 1."""
        return torch.softmax(z @ self.mix.T, dim=-1)

    def synthesize(self, pitches, z, velocities=None, num_samples=None):
        """pitches [N] long, z [N, D], velocities [N] or None -> audio [N, num_samples or note_samples]."""
        n = int(num_samples or self.note_samples)
        self.calls.append({"n": len(pitches), "num_samples": n, "pitches": [int(p) for p in pitches],
                           "z": z.detach().cpu().float().clone(),
                           "velocities": None if velocities is None else [int(v) for v in velocities]})
        pitches = torch.as_tensor(pitches, device=self.device)
        if pitches.min() < self.pitch_range[0] or pitches.max() > self.pitch_range[1]:
            raise ValueError(f"pitch outside {self.pitch_range}")
        z = z.to(self.device).float()
        t = torch.arange(n, device=self.device, dtype=torch.float32) / self.sample_rate      # [T] s
        f0 = 440.0 * 2.0 ** ((pitches.float() - 69.0) / 12.0)                                # [N] Hz
        amps = self.harmonic_amplitudes(z)                                                    # [N, K]
        if self.has_velocity and velocities is not None:   # louder notes are brighter
            bright = torch.as_tensor(velocities, device=self.device).float().reshape(-1, 1) / 127.0
            tilt = torch.arange(1, NUM_HARMONICS + 1, device=self.device).float() ** (bright - 1.0)
            amps = amps * tilt / (amps * tilt).sum(-1, keepdim=True)
        decay = 0.05 + 0.3 * torch.sigmoid(z @ self.decay_dir)                               # [N] 1/s
        # sin(k x) by the Chebyshev recurrence sin((k+1)x) = 2 cos(x) sin(kx) - sin((k-1)x): one sin/cos pair
        phase = 2 * math.pi * f0.reshape(-1, 1) * t.reshape(1, -1)                           # [N, T] rad
        sin_k, sin_prev, two_cos = torch.sin(phase), torch.zeros_like(phase), 2 * torch.cos(phase)
        audio = torch.zeros(len(pitches), n, device=self.device)
        for k in range(1, NUM_HARMONICS + 1):
            alive = (k * f0 < 0.45 * self.sample_rate).float()                               # no aliasing
            audio = audio + (amps[:, k - 1] * alive).reshape(-1, 1) * sin_k
            sin_k, sin_prev = two_cos * sin_k - sin_prev, sin_k
        attack = torch.clamp(t / 0.005, max=1.0)
        note_off = 0.75 * self.note_samples / self.sample_rate                                # 3 s of 4 s
        release = torch.clamp(1.0 - (t - note_off) / 0.9, min=0.0, max=1.0)
        env = attack * release * torch.exp(-decay.reshape(-1, 1) * t.reshape(1, -1))
        return (0.5 * audio * env).float()


class NoGradSource(FakeNoteSource):
    """Same timbres, but synthesize runs under no_grad: what a non-differentiable (exported) model looks like."""

    def synthesize(self, *args, **kwargs):
        with torch.no_grad():
            return super().synthesize(*args, **kwargs)
