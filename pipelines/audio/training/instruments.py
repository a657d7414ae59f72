"""Instrument latents: a learned z per training instrument, reconstructed as well as judged (GLO beside the GAN).

A pure adversarial note GAN on a CPU budget learns in-tune but static spectra: nothing forces any one z to
decay like a piano or breathe like a flute. Here each training instrument owns a learnable latent; part of
every fake batch is G(instrument latent, the real note's pitch and velocity), scored against that real note
by the log-mel L1 (dB) and by how much its level moves in the sustain — on top of the adversarial loss, which
still trains random z to sound real. The released generator is the plain G: the latents stay in training (the
shipped presets are fitted to real notes afterwards, by :func:`..render.invert.fit_timbre`).

- :class:`InstrumentLatents` wraps G: ``forward(z, pitch, velocity=None, instrument=None)``; rows with
  ``instrument >= 0`` take that instrument's latent instead of z.
- :class:`IgnoreInstrument` wraps D so that the ``instrument`` condition never reaches it.
"""
from __future__ import annotations

import torch
from torch import nn

__all__ = ["InstrumentLatents", "IgnoreInstrument", "instrument_index"]


def instrument_index(instrument_ids: torch.Tensor) -> tuple[torch.Tensor, list[int]]:
    """Map corpus instrument ids [N] to contiguous indices [N]; also the sorted ids (index → id)."""
    ids = sorted({int(i) for i in instrument_ids.tolist()})
    lookup = {v: i for i, v in enumerate(ids)}
    return torch.tensor([lookup[int(i)] for i in instrument_ids.tolist()], dtype=torch.long), ids


class InstrumentLatents(nn.Module):
    """G plus one learnable latent [latent_dim] per training instrument (N(0, I) at start)."""

    def __init__(self, generator: nn.Module, num_instruments: int, latent_dim: int, seed: int = 0):
        super().__init__()
        self.generator = generator
        start = torch.randn(num_instruments, latent_dim, generator=torch.Generator().manual_seed(seed))
        self.latents = nn.Parameter(start)

    @property
    def config(self):
        return self.generator.config

    def forward(self, z: torch.Tensor, pitch: torch.Tensor, velocity: torch.Tensor | None = None,
                instrument: torch.Tensor | None = None, **kwargs) -> torch.Tensor:
        if instrument is not None:
            instrument = torch.as_tensor(instrument, device=z.device)
            known = instrument >= 0
            if bool(known.any()):
                chosen = self.latents[instrument.clamp_min(0)].to(z.dtype)
                z = torch.where(known[:, None], chosen, z)
        return self.generator(z, pitch, velocity, **kwargs)


class IgnoreInstrument(nn.Module):
    """D that accepts (and drops) the ``instrument`` condition."""

    def __init__(self, discriminator: nn.Module):
        super().__init__()
        self.discriminator = discriminator

    @property
    def config(self):
        return self.discriminator.config

    def forward(self, x: torch.Tensor, pitch: torch.Tensor, velocity: torch.Tensor | None = None,
                instrument: torch.Tensor | None = None):
        return self.discriminator(x, pitch, velocity)
