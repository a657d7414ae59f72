"""The three note-GAN families by name, and building their networks from plain config dicts.

``harmonic`` (controls → additive synth, judged on log-mel), ``spectral`` (GANSynth-style mag+IF image),
``wave`` (WaveGAN-style 1-D). Every family has the same conditioning: ``G(z, pitch[, velocity])`` and
``D(x, pitch[, velocity])``. Release models and training both build networks here.
"""
from __future__ import annotations

import torch

from ..dsp.spectral import SpectralLayout
from .harmonic import HarmonicGenerator, HarmonicGeneratorConfig, MelDiscriminator, MelDiscriminatorConfig
from .spectral import (SpectralDiscriminator, SpectralDiscriminatorConfig, SpectralGenerator,
                       SpectralGeneratorConfig)
from .wave import WaveDiscriminator, WaveDiscriminatorConfig, WaveGenerator, WaveGeneratorConfig

FAMILIES = {
    "harmonic": (HarmonicGenerator, HarmonicGeneratorConfig, MelDiscriminator, MelDiscriminatorConfig),
    "spectral": (SpectralGenerator, SpectralGeneratorConfig, SpectralDiscriminator, SpectralDiscriminatorConfig),
    "wave": (WaveGenerator, WaveGeneratorConfig, WaveDiscriminator, WaveDiscriminatorConfig),
}


def check_family(family: str) -> None:
    if family not in FAMILIES:
        raise ValueError(f"unknown audio model family {family!r} (choose from {', '.join(FAMILIES)})")


def build_generator(family: str, g_config: dict) -> torch.nn.Module:
    """The generator of ``family`` from its config dict (as stored in presets and release configs)."""
    check_family(family)
    g_cls, g_cfg_cls, _, _ = FAMILIES[family]
    return g_cls(g_cfg_cls(**g_config))


def build_networks(family: str, g_config: dict, d_config: dict):
    """(G, D) of a family from plain config dicts (as stored in presets and release configs)."""
    check_family(family)
    _, _, d_cls, d_cfg_cls = FAMILIES[family]
    return build_generator(family, g_config), d_cls(d_cfg_cls(**d_config))


def layout_for(g_config: SpectralGeneratorConfig, layout: dict) -> SpectralLayout:
    """The spectral layout whose frames × bins match a spectral generator's output."""
    lay = SpectralLayout(**layout)
    if (lay.n_frames, lay.n_bins) != (g_config.num_frames, g_config.num_bins):
        raise ValueError(f"layout {lay.n_frames}x{lay.n_bins} does not match the generator's "
                         f"{g_config.num_frames}x{g_config.num_bins}")
    return lay
