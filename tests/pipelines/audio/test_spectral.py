"""GANSynth spectral representation: shapes, exact linear round trip, normalisation, mel inverse quality."""

import dataclasses
import math
from pathlib import Path

import numpy as np
import pytest
import torch

from creative_gan.pipelines.audio.dsp import spectral
from creative_gan.pipelines.audio.constants import NOTE_SAMPLES, SAMPLE_RATE

FLUIDR3 = Path("/usr/share/sounds/sf2/FluidR3_GM.sf2")
if not FLUIDR3.is_file():
    FLUIDR3 = Path("/usr/share/soundfonts/FluidR3_GM.sf2")
# piano, violin (vibrato), flute, saw lead (carries a DC offset) × low / middle / high
NOTES = [(program, pitch) for program in (0, 40, 73, 81) for pitch in (36, 60, 84)]


@pytest.fixture(scope="module")
def real_notes():
    """FluidR3 notes as stored in a corpus (16-bit): float32 ``[12, 64000]``."""
    if not FLUIDR3.is_file():
        pytest.skip("FluidR3_GM.sf2 not installed (apt-get install fluid-soundfont-gm)")
    pytest.importorskip("fluidsynth")
    from creative_gan.pipelines.audio.data.soundfont import SoundFontRenderer
    with SoundFontRenderer(FLUIDR3) as renderer:
        audio = np.stack([renderer.render(program, pitch) for program, pitch in NOTES])
    return torch.from_numpy(np.round(audio * 32767) / 32768).float()


def _test_signal(batch: int, samples: int) -> torch.Tensor:
    """Decaying harmonic tones plus a little noise (with a zero at Nyquist, like real recordings), peak < 1."""
    gen = torch.Generator().manual_seed(0)
    t = torch.arange(samples) / SAMPLE_RATE
    f0 = 110.0 * 2 ** (torch.arange(batch)[:, None] / 5)
    tone = sum(torch.sin(2 * math.pi * k * f0 * t) / k for k in range(1, 6)) * torch.exp(-2 * t)
    noise = torch.randn(batch, samples + 1, generator=gen)
    return 0.3 * tone + 0.005 * (noise[:, 1:] + noise[:, :-1])


@pytest.mark.parametrize("name", list(spectral.LAYOUTS))
def test_shapes_and_ranges(name):
    layout = spectral.LAYOUTS[name]
    audio = _test_signal(2, layout.num_samples)
    spec = spectral.audio_to_spec(audio, name)
    assert spec.shape == (2, *layout.shape) and spec.dtype == torch.float32
    assert spec[:, 0].min() >= spectral.LOG_MAG_MIN - 1e-4 and spec[:, 0].max() <= spectral.LOG_MAG_MAX
    assert spec[:, 1].abs().max() <= 1.0
    back = spectral.spec_to_audio(spec, name)
    assert back.shape == audio.shape
    assert spectral.audio_to_spec(audio[0], name).shape == layout.shape          # unbatched in, unbatched out
    assert spectral.spec_to_audio(spec[0], name).shape == (layout.num_samples,)
    if layout.mel:
        assert spectral.mel_to_linear(spec, layout).shape == spec.shape


def test_gansynth_layout_is_2x128x1024():
    assert spectral.LAYOUTS["gansynth"].shape == (2, 128, 1024) and spectral.LAYOUTS["gansynth"].mel
    assert spectral.LAYOUTS["gansynth"].num_samples == NOTE_SAMPLES


def test_bad_inputs():
    with pytest.raises(ValueError, match="64000"):
        spectral.audio_to_spec(torch.zeros(1, 1000), "gansynth_linear")
    with pytest.raises(ValueError, match="does not match"):
        spectral.spec_to_audio(torch.zeros(1, 2, 128, 512), "gansynth")
    with pytest.raises(ValueError, match="unknown spectral layout"):
        spectral.get_layout("huge")
    with pytest.raises(ValueError, match="do not cover"):
        spectral.SpectralLayout(2048, 512, 1024, 100, False, NOTE_SAMPLES)


@pytest.mark.parametrize("name", ["gansynth_linear", "small"])
def test_linear_round_trip_on_synthetic_tones(name):
    audio = _test_signal(3, spectral.LAYOUTS[name].num_samples)
    back = spectral.spec_to_audio(spectral.audio_to_spec(audio, name), name)
    assert spectral.snr_db(audio, back).min() > 70


@pytest.mark.parametrize("name", ["gansynth_linear", "small"])
def test_linear_round_trip_on_fluidr3_notes(real_notes, name):
    audio = real_notes[:, :spectral.LAYOUTS[name].num_samples]
    back = spectral.spec_to_audio(spectral.audio_to_spec(audio, name), name)
    snr = spectral.snr_db(audio, back)                   # sample-aligned: no shift search
    assert snr.min() >= 40, dict(zip(NOTES, snr.tolist()))


def test_dropping_dc_like_gansynth_hurts_synth_notes(real_notes):
    # why the presets drop the Nyquist bin instead: FluidR3's saw lead has a DC offset the DC bin carries
    gansynth_bins = dataclasses.replace(spectral.LAYOUTS["gansynth_linear"], drop_dc=True)
    saw = real_notes[[i for i, (program, _) in enumerate(NOTES) if program == 81]]
    snr_dc = spectral.snr_db(saw, spectral.spec_to_audio(spectral.audio_to_spec(saw, gansynth_bins), gansynth_bins))
    snr_ours = spectral.snr_db(saw, spectral.spec_to_audio(spectral.audio_to_spec(saw, "gansynth_linear"), "gansynth_linear"))
    assert snr_dc.min() < 40 <= snr_ours.min()


def test_normalisation_on_real_notes(real_notes):
    for name in ("gansynth", "gansynth_linear"):
        spec = spectral.audio_to_spec(real_notes, name)
        norm = spectral.normalize(spec)
        assert norm.min() >= -1 and norm.max() <= 1
        assert norm[:, 0].max() > -0.7          # the range is used, not squeezed into a corner
        torch.testing.assert_close(spectral.denormalize(norm), spec, atol=2e-5, rtol=0)   # nothing was clipped
    assert spectral.denormalize(torch.full((1, 2, 4, 4), 5.0))[:, 0].max() <= spectral.LOG_MAG_MAX   # clamps


def test_mel_matrices_are_averaging_operators():
    to_mel, to_linear = spectral.mel_matrices(spectral.LAYOUTS["gansynth"])
    assert to_mel.shape == to_linear.shape == (1024, 1024)
    assert (to_mel >= 0).all() and (to_linear >= 0).all()
    np.testing.assert_allclose(to_mel.sum(1), 1, atol=1e-5)
    np.testing.assert_allclose(to_linear.sum(1), 1, atol=1e-5)
    # low bands are narrow (mel), high bands wide: the band centre of mass moves faster than linearly
    centre = to_mel @ np.arange(1024)
    assert np.diff(centre[:100]).mean() < 0.5 < 2 < np.diff(centre[-100:]).mean()


def test_mel_inverse_spectral_convergence(real_notes, capsys):
    """Mel → linear is a smoothing. Measured on these 12 notes (2048/512, 1024 bands): resynthesis SC median
    0.17, mean 0.21, worst 0.47 (violin and flute high up: vibrato needs per-bin IF that the bands average
    away); magnitude-only SC mean 0.14; random phases 0.65. Thresholds leave ~40 % margin on mean and max."""
    layout = spectral.LAYOUTS["gansynth"]
    linear = spectral.audio_to_spec(real_notes, "gansynth_linear")
    mel = spectral.audio_to_spec(real_notes, layout)
    torch.testing.assert_close(spectral.linear_to_mel(linear, layout), mel, atol=1e-3, rtol=0)
    magnitude = torch.exp(linear[:, 0])
    magnitude_back = torch.exp(spectral.mel_to_linear(mel, layout)[:, 0])
    sc_magnitude = torch.linalg.vector_norm(magnitude - magnitude_back, dim=(1, 2)) / torch.linalg.vector_norm(magnitude, dim=(1, 2))
    resynth = spectral.spec_to_audio(mel, layout)
    sc = spectral.spectral_convergence(real_notes, resynth)
    # baseline: the same magnitudes with random phases
    noisy = mel.clone()
    noisy[:, 1] = torch.rand(noisy[:, 1].shape, generator=torch.Generator().manual_seed(0)) * 2 - 1
    sc_random = spectral.spectral_convergence(real_notes, spectral.spec_to_audio(noisy, layout))
    with capsys.disabled():
        print(f"\nmel inverse spectral convergence: resynthesis median {sc.median():.3f} mean {sc.mean():.3f} "
              f"max {sc.max():.3f}; magnitude-only mean {sc_magnitude.mean():.3f} max {sc_magnitude.max():.3f}; "
              f"random-phase mean {sc_random.mean():.3f}")
    assert sc_magnitude.max() < 0.35
    assert sc.median() < 0.25 and sc.mean() < 0.3 and sc.max() < 0.65
    assert sc.mean() < 0.5 * sc_random.mean()


def test_spec_to_audio_is_differentiable():
    spec = spectral.audio_to_spec(_test_signal(1, SAMPLE_RATE), "small").requires_grad_()
    spectral.spec_to_audio(spec, "small").pow(2).sum().backward()
    assert torch.isfinite(spec.grad).all() and spec.grad.abs().sum() > 0
