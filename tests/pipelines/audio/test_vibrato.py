"""Frequency vibrato: the warp itself, a vibrato model's renders, and the head fitted to real pitch movement."""
from __future__ import annotations

import dataclasses
import math

import numpy as np
import pytest
import torch

from creative_gan.pipelines.audio.networks.harmonic import HarmonicGenerator, HarmonicGeneratorConfig, vibrato_warp
from creative_gan.pipelines.audio.pipeline import AudioPipeline
from creative_gan.pipelines.audio.training.vibrato import fit_vibrato, pitch_movement_cents, with_vibrato

SR = 16_000


def sine(hz: float = 440.0, seconds: float = 3.0) -> torch.Tensor:
    t = torch.arange(int(seconds * SR), dtype=torch.float64) / SR
    return (0.5 * torch.sin(2 * math.pi * hz * t)).float()[None]


def tracked_cents(audio: torch.Tensor, hz: float = 440.0) -> np.ndarray:
    """Pitch (cents re ``hz``) of a pure tone every 16 ms from 0.6 s: the peak of a 64-ms windowed spectrum."""
    x = audio[0].double().numpy()
    out = []
    for start in range(int(0.6 * SR), len(x) - 4096, 256):
        frame = x[start:start + 1024] * np.hanning(1024)
        spectrum = np.abs(np.fft.rfft(frame, 65536))
        out.append(1200 * np.log2(np.argmax(spectrum) * SR / 65536 / hz))
    return np.array(out)


def test_the_warp_bends_the_pitch_by_the_asked_cents_and_keeps_the_level():
    tone = sine()
    still = vibrato_warp(tone, torch.tensor([0.0]), torch.tensor([5.0]), torch.tensor([0.0]), SR)
    torch.testing.assert_close(still, tone)                              # no depth: the very same samples
    bent = vibrato_warp(tone, torch.tensor([20.0]), torch.tensor([5.0]), torch.tensor([0.0]), SR)
    cents = tracked_cents(bent)
    assert 16 < cents.max() < 22 and -22 < cents.min() < -16, (cents.min(), cents.max())  # ±20 · fade(≥0.9)
    assert abs(np.mean(cents)) < 2                                       # around the asked pitch
    assert float(bent.pow(2).mean() / tone.pow(2).mean()) == pytest.approx(1.0, abs=0.01)


def vibrato_generator(seconds: float = 3.0) -> HarmonicGenerator:
    torch.manual_seed(0)
    config = HarmonicGeneratorConfig.tiny(latent_dim=16, modulation=True, vibrato=True,
                                          num_samples=int(seconds * SR), max_noise_ratio=1e-3)
    return HarmonicGenerator(config).eval()


def test_a_vibrato_model_starts_still_and_renders_prefixes():
    G = vibrato_generator(1.0)
    z, pitch = torch.randn(3, 16), torch.tensor([40, 60, 80])
    plain = HarmonicGenerator(dataclasses.replace(G.config, vibrato=False)).eval()
    plain.load_state_dict({k: v for k, v in G.state_dict().items() if not k.startswith("vibrato_head.")})
    with torch.no_grad():
        full = G(z, pitch)
        torch.testing.assert_close(G(z, pitch, num_samples=5000), full[:, :5000], atol=1e-5, rtol=0)
        assert float((full - plain(z, pitch)).abs().max()) < 0.02 * float(full.abs().max())   # ≈ 0.06 cents
        G.vibrato_head.bias.fill_(3.0)                                   # ≈ 24 cents
        assert float((G(z, pitch) - plain(z, pitch)).abs().max()) > 0.2 * float(full.abs().max())
    with pytest.raises(ValueError, match="needs modulation"):
        HarmonicGenerator(HarmonicGeneratorConfig.tiny(vibrato=True))


def test_fit_vibrato_gives_the_moving_timbre_vibrato_and_the_still_one_none():
    G = vibrato_generator()
    pipe = AudioPipeline("harmonic", dataclasses.asdict(G.config), G)
    still, moving = pipe.latent_for_seed(1), pipe.latent_for_seed(2)
    pitches = [55, 67, 55, 67]
    latents = torch.stack([still, still, moving, moving])
    with torch.no_grad():                            # the "real" notes: the same timbres, one with 12 cents
        G.vibrato_head.weight.zero_()
        G.vibrato_head.bias.fill_(-30.0)
        real_still = pipe.generate(pitches[:2], z=latents[:2])
        G.vibrato_head.bias.fill_(math.log(12 / 13))                   # 12 of 25 cents
        real_moving = pipe.generate(pitches[2:], z=latents[2:])
        G.vibrato_head.bias.fill_(-6.0)                                # back to the untrained start
    real = np.concatenate([real_still, real_moving])
    fit = fit_vibrato(pipe, real, pitches, latents)
    assert np.all(fit.before < 1.0)                                    # no vibrato before
    assert np.all(fit.real[2:] > 3 * fit.real[:2])
    assert np.all(fit.after[:2] < 1.0), fit.after                      # still stays still
    assert np.allclose(fit.after[2:], fit.real[2:], rtol=0.3), (fit.after, fit.real)
    measured = pitch_movement_cents(pipe.generate(pitches[2:], z=latents[2:]), pitches[2:])
    assert np.allclose(measured, fit.after[2:])                        # the fitted head is in the model


def test_with_vibrato_keeps_every_weight_and_refuses_models_without_the_lfo():
    G = vibrato_generator(1.0)
    plain = HarmonicGenerator(dataclasses.replace(G.config, vibrato=False)).eval()
    pipe = AudioPipeline("harmonic", dataclasses.asdict(plain.config), plain)
    z, pitch = torch.randn(2, 16), torch.tensor([50, 70])
    before = pipe.generate(pitch, z=z)
    pipe = with_vibrato(pipe)
    assert pipe.g_config["vibrato"] and pipe.generator.config.vibrato
    assert np.abs(pipe.generate(pitch, z=z) - before).max() < 0.02 * np.abs(before).max()
    bare = HarmonicGenerator(HarmonicGeneratorConfig.tiny(latent_dim=16))
    with pytest.raises(ValueError, match="without modulation"):
        with_vibrato(AudioPipeline("harmonic", dataclasses.asdict(bare.config), bare))


def test_a_vibrato_model_keeps_its_vibrato_through_a_release(tmp_path):
    import creative_gan
    from creative_gan.release import save

    G = vibrato_generator(1.0)
    with torch.no_grad():
        G.vibrato_head.bias.fill_(0.0)                                   # 12.5 cents
    pipe = AudioPipeline("harmonic", dataclasses.asdict(G.config), G, presets={"wobbly": torch.randn(16)})
    save(pipe, tmp_path / "model")
    loaded = creative_gan.load(tmp_path / "model")
    assert loaded.generator.config.vibrato and loaded.generator.config.max_vibrato_cents == 25.0
    np.testing.assert_allclose(loaded.generate([60, 72], timbre="wobbly"), pipe.generate([60, 72], timbre="wobbly"),
                               atol=1e-6)
