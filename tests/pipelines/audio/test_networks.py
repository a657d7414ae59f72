"""Audio note networks (spectral, wave, harmonic) and the shared layers they are built from."""
import dataclasses
import json
import math
import time

import numpy as np
import pytest
import torch

from creative_gan.errors import UsageError
from creative_gan.layers import (EqualizedLinear, LatentSlerp, MinibatchStdDev, PixelNorm, count_parameters,
                                 slerp)
from creative_gan.pipelines.audio.networks.harmonic import (HarmonicGenerator, HarmonicGeneratorConfig,
                                                            MelDiscriminator, MelDiscriminatorConfig)
from creative_gan.pipelines.audio.networks.spectral import (SpectralDiscriminator, SpectralDiscriminatorConfig,
                                                            SpectralGenerator, SpectralGeneratorConfig)
from creative_gan.pipelines.audio.networks.wave import (WaveDiscriminator, WaveDiscriminatorConfig, WaveGenerator,
                                                        WaveGeneratorConfig, phase_shuffle)
from creative_gan.pipelines.audio.dsp.synth import midi_to_hz

PITCHES = torch.tensor([24, 41, 60, 84])


def tiny_pair(family: str, **overrides):
    """(G, D) of one family at its tiny preset, built under a fixed seed."""
    torch.manual_seed(0)
    if family == "spectral":
        return (SpectralGenerator(SpectralGeneratorConfig.tiny(**overrides)),
                SpectralDiscriminator(SpectralDiscriminatorConfig.tiny(**overrides)))
    if family == "wave":
        return (WaveGenerator(WaveGeneratorConfig.tiny(**overrides)),
                WaveDiscriminator(WaveDiscriminatorConfig.tiny(**overrides)))
    return (HarmonicGenerator(HarmonicGeneratorConfig.tiny(**overrides)),
            MelDiscriminator(MelDiscriminatorConfig.tiny(**overrides)))


EXPECTED_SHAPE = {"spectral": (2, 16, 64), "wave": (4096,), "harmonic": (16000,)}
FAMILIES = list(EXPECTED_SHAPE)


@pytest.mark.parametrize("family", FAMILIES)
@pytest.mark.parametrize("use_velocity", [False, True])
def test_shapes_and_contract(family, use_velocity):
    G, D = tiny_pair(family, use_velocity=use_velocity)
    z = torch.randn(len(PITCHES), G.config.latent_dim)
    velocity = torch.tensor([25, 50, 100, 127]) if use_velocity else None
    fake = G(z, PITCHES, velocity)
    assert fake.shape == (len(PITCHES), *EXPECTED_SHAPE[family])
    assert torch.isfinite(fake).all() and fake.abs().max() <= 1.5
    logits, aux = D(fake, PITCHES, velocity)
    assert logits.shape == (len(PITCHES),)
    assert aux["pitch_logits"].shape == (len(PITCHES), 61)
    assert aux["features"].dim() == 2 and aux["features"].shape[0] == len(PITCHES)
    # odd batch sizes pass minibatch stddev
    logits, _ = D(fake[:3], PITCHES[:3], None if velocity is None else velocity[:3])
    assert logits.shape == (3,)


@pytest.mark.parametrize("family", FAMILIES)
def test_bad_pitch_is_a_clear_error(family):
    G, D = tiny_pair(family)
    with pytest.raises(UsageError, match="pitch out of range"):
        G(torch.randn(2, G.config.latent_dim), torch.tensor([60, 85]))


@pytest.mark.parametrize("family", FAMILIES)
def test_seeded_determinism(family):
    outputs = []
    for _ in range(2):
        G, D = tiny_pair(family)
        G.train()   # training mode: harmonic G draws fresh noise, wave D shuffles phase — still seeded
        torch.manual_seed(7)
        z = torch.randn(4, G.config.latent_dim)
        fake = G(z, PITCHES)
        outputs.append((fake, D(fake, PITCHES)[0]))
    assert torch.equal(outputs[0][0], outputs[1][0]) and torch.equal(outputs[0][1], outputs[1][1])


@pytest.mark.parametrize("family", FAMILIES)
def test_gradients_reach_generator_through_discriminator(family):
    G, D = tiny_pair(family)
    z = torch.randn(4, G.config.latent_dim)
    logits, aux = D(G(z, PITCHES), PITCHES)
    (-logits.mean() + torch.nn.functional.cross_entropy(aux["pitch_logits"], PITCHES - 24)).backward()
    grads = [p.grad for p in G.parameters() if p.requires_grad]
    assert all(g is not None and torch.isfinite(g).all() for g in grads)
    assert sum(float(g.abs().sum()) for g in grads) > 0
    assert sum(int((g.abs() > 0).any()) for g in grads) >= 0.9 * len(grads)


def test_phase_shuffle_only_in_training_mode():
    _, D = tiny_pair("wave")
    audio = torch.randn(4, 4096)
    D.eval()
    assert torch.equal(D(audio, PITCHES)[0], D(audio, PITCHES)[0])
    D.train()
    torch.manual_seed(1)
    first = D(audio, PITCHES)[0]
    torch.manual_seed(2)
    assert not torch.allclose(first, D(audio, PITCHES)[0])
    x = torch.arange(40.0).view(1, 1, 40).repeat(8, 2, 1)
    shuffled = phase_shuffle(x, 2)
    shifts = shuffled[:, 0, 10] - x[:, 0, 10]
    assert set(shifts.tolist()) <= {-2.0, -1.0, 0.0, 1.0, 2.0}
    assert torch.equal(shuffled[:, :, 2:-2], x[:, :, 2:-2] + shifts[:, None, None])   # a pure shift inside


def _pyin_semitone_errors(audio: np.ndarray, pitch: int) -> np.ndarray:
    """Median pyin pitch error (semitones) of each clip [n, T] at 16 kHz.

    The clips are upsampled ×3 first: at 16 kHz a 784-Hz period is 20.4 samples and YIN's integer-lag
    difference function mis-tracks bright high notes an octave down (an estimator artefact — the same clips are
    exact at 48 kHz). The search spans ±1.1 octaves around the note, so octave errors either way still show.
    """
    import librosa
    from scipy.signal import resample_poly

    f0, fmin = float(midi_to_hz(pitch)), max(float(midi_to_hz(pitch)) / 2.2, 16.0)
    audio = resample_poly(audio / np.abs(audio).max(axis=-1, keepdims=True), 3, 1, axis=-1)
    track, voiced, _ = librosa.pyin(audio, fmin=fmin, fmax=f0 * 2.2, sr=48000,
                                    frame_length=4096 if fmin >= 24 else 8192)
    return np.array([12 * math.log2(np.nanmedian(t[v]) / f0) if v.any() else np.inf for t, v in zip(track, voiced)])


def _lowest_strong_peak(audio: np.ndarray) -> float:
    """Frequency (Hz) of the lowest spectral peak within 20 dB of the strongest one."""
    spectrum = np.abs(np.fft.rfft(audio * np.hanning(len(audio))))
    strong = np.nonzero(spectrum > spectrum.max() / 10)[0]
    first = strong[0]
    while first + 1 < len(spectrum) and spectrum[first + 1] > spectrum[first]:
        first += 1
    return first * 16000 / len(audio)


def test_untrained_harmonic_generator_is_in_tune():
    torch.manual_seed(3)
    G = HarmonicGenerator().eval()        # default (shipped) configuration, untrained
    pitches = torch.tensor([24, 31, 36, 45, 48, 57, 60, 69, 72, 79, 84]).repeat_interleave(3)
    with torch.no_grad():
        audio = G(torch.randn(len(pitches), G.config.latent_dim), pitches, num_samples=8000).numpy()
    errors = np.concatenate([_pyin_semitone_errors(audio[i:i + 3], int(pitches[i])) for i in range(0, len(audio), 3)])
    assert np.abs(errors).max() < 0.5, errors
    # the fundamental itself is the lowest strong peak (present, not drowned by noise, at f0 ± ½ semitone)
    for a, p in zip(audio, pitches):
        peak = _lowest_strong_peak(a[2000:])
        assert abs(12 * math.log2(peak / float(midi_to_hz(int(p))))) < 0.5


def test_harmonic_bounds_hold_whatever_the_weights():
    G = HarmonicGenerator(HarmonicGeneratorConfig.tiny())
    with torch.no_grad():    # worst case: loud noise everywhere, the 2nd harmonic dominating, fundamental dropped
        G.static_noise.bias.fill_(20.0)
        G.static_harmonics.bias.fill_(-10.0)
        G.static_harmonics.bias[1] = 10.0
        c = G.controls(torch.randn(8, G.config.latent_dim), torch.full((8,), 48), num_samples=8000)
    harmonic_power = c["harmonic_amplitudes"].pow(2).sum(-1) / 2
    noise_power = c["noise_magnitudes"].pow(2).mean(-1)          # white-noise power of band magnitudes (≤ max²)
    assert (noise_power <= G.config.max_noise_ratio * harmonic_power * 1.001 + 1e-9).all()
    dist = c["harmonic_distribution"]
    assert (dist[..., 0] >= G.config.fundamental_floor * dist.amax(-1) * 0.999).all()
    assert torch.allclose(dist.sum(-1), torch.ones_like(dist[..., 0]))


def test_harmonic_num_samples_renders_the_prefix():
    G = HarmonicGenerator(HarmonicGeneratorConfig.tiny()).eval()
    z, pitches = torch.randn(4, G.config.latent_dim), PITCHES
    with torch.no_grad():
        full = G(z, pitches)
        for n in (1, 300, 5000, 16000):
            part = G(z, pitches, num_samples=n)
            assert part.shape == (4, n)
            torch.testing.assert_close(part, full[:, :n], atol=1e-5, rtol=0)
        longer = G(z, pitches, num_samples=40000)       # beyond the config length: controls are analytic in t
    assert longer.shape == (4, 40000) and torch.isfinite(longer).all()


def test_harmonic_note_does_not_depend_on_its_batch():
    """Rendering in cache-sized chunks of notes must not change any note (eval mode)."""
    G = HarmonicGenerator(HarmonicGeneratorConfig.tiny()).eval()
    z, pitches = torch.randn(40, G.config.latent_dim), torch.randint(24, 85, (40,))
    with torch.no_grad():
        batch = G(z, pitches)                                  # 40 notes → two chunks
        for i in (0, 31, 32, 39):
            torch.testing.assert_close(G(z[i:i + 1], pitches[i:i + 1])[0], batch[i], atol=1e-5, rtol=0)


def test_harmonic_note_off_moves_the_release():
    G = HarmonicGenerator(HarmonicGeneratorConfig.tiny()).eval()
    z = torch.randn(2, G.config.latent_dim)
    with torch.no_grad():
        early = G.controls(z, torch.tensor([60, 60]), num_samples=32000, note_off=0.5)["amplitude"]
        late = G.controls(z, torch.tensor([60, 60]), num_samples=32000, note_off=torch.tensor([1.5, 1.5]))["amplitude"]
    frame = int(1.2 * 16000 / G.config.hop_size)
    assert (early[:, frame] < 0.1 * late[:, frame]).all()


def test_harmonic_latent_changes_timbre():
    torch.manual_seed(5)
    G = HarmonicGenerator().eval()
    with torch.no_grad():
        c = G.controls(torch.randn(16, G.config.latent_dim), torch.full((16,), 48), num_samples=16000)
    k = torch.arange(1, G.config.num_harmonics + 1)
    centroid = (c["harmonic_distribution"].mean(1) * k).sum(-1)          # mean harmonic number per note
    assert centroid.std() / centroid.mean() > 0.08, centroid
    profiles = c["harmonic_distribution"].mean(1)
    distance = torch.cdist(profiles, profiles)
    assert distance[~torch.eye(16, dtype=torch.bool)].min() > 1e-3


@pytest.mark.parametrize("family", FAMILIES)
def test_no_nan_on_extreme_latents(family):
    G, D = tiny_pair(family)
    z = torch.stack([torch.zeros(G.config.latent_dim), torch.full((G.config.latent_dim,), 50.0),
                     -torch.full((G.config.latent_dim,), 50.0), torch.randn(G.config.latent_dim) * 1e-6])
    fake = G(z, PITCHES)
    assert torch.isfinite(fake).all() and torch.isfinite(D(fake, PITCHES)[0]).all()


def test_mel_discriminator_any_length_and_multi_resolution():
    torch.manual_seed(0)
    D = MelDiscriminator(MelDiscriminatorConfig.tiny(fft_sizes=(512, 1024)))
    for length in (8000, 24000):
        logits, aux = D(torch.randn(4, 1, length), PITCHES)
        assert logits.shape == (4,) and aux["features"].shape == (4, 64)


@pytest.mark.parametrize("config", [SpectralGeneratorConfig.tiny(), SpectralDiscriminatorConfig(),
                                    WaveGeneratorConfig(), WaveDiscriminatorConfig.tiny(),
                                    HarmonicGeneratorConfig(), MelDiscriminatorConfig.multi_resolution()])
def test_configs_round_trip_through_json(config):
    values = json.loads(json.dumps(dataclasses.asdict(config)))
    assert type(config)(**values) == config
    assert {"latent_dim", "pitch_min", "pitch_max", "use_velocity"} <= set(values)


def test_shared_layers():
    x = torch.randn(5, 8, 3, 4) * 7
    assert torch.allclose(PixelNorm()(x).pow(2).mean(1), torch.ones(5, 3, 4), atol=1e-4)
    layer = EqualizedLinear(100, 10)
    assert 1.0 < layer(torch.randn(4096, 100)).std() < 2.0          # He scale at run time, not in the weights
    for shape in [(1, 4, 9), (6, 4, 9), (7, 4, 3, 3)]:
        out = MinibatchStdDev(group_size=4)(torch.randn(shape))
        assert out.shape == (shape[0], shape[1] + 1, *shape[2:])
    assert count_parameters(layer) == 1010


def test_slerp_is_safe():
    a, b = torch.randn(3, 16), torch.randn(3, 16)
    torch.testing.assert_close(slerp(a, b, 0.0), a)
    torch.testing.assert_close(slerp(a, b, 1.0), b)
    mid = slerp(a, a, 0.5)
    torch.testing.assert_close(mid, a)                                    # identical vectors
    path = torch.stack([slerp(a, -a, t) for t in torch.linspace(0, 1, 9)])   # antiparallel: a great half-circle
    assert torch.isfinite(path).all()
    torch.testing.assert_close(path[-1], -a, atol=1e-5, rtol=0)
    torch.testing.assert_close(path.norm(dim=-1), a.norm(dim=-1).expand(9, 3), atol=1e-4, rtol=0)
    assert torch.isfinite(slerp(torch.zeros(16), b[0], 0.3)).all()
    assert LatentSlerp(a[:1])(torch.tensor([0.0, 5.0])).shape == (2, 16)      # one anchor is a constant path
    walk = LatentSlerp(a, torch.tensor([0.0, 2.0, 6.0]))
    torch.testing.assert_close(walk(torch.tensor([2.0, -1.0, 9.0])), torch.stack([a[1], a[0], a[2]]))


def test_harmonic_synthesis_speed_is_reported():
    """Batched CPU inference speed of the default harmonic G (printed; `pytest -s` shows it; not asserted)."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        G = HarmonicGenerator().eval()
        z, pitches = torch.randn(64, G.config.latent_dim), torch.randint(24, 85, (64,))
        with torch.no_grad():
            G(z, pitches, num_samples=16000)
            times = []
            for _ in range(3):
                start = time.perf_counter()
                audio = G(z, pitches, num_samples=16000)
                times.append(time.perf_counter() - start)
    finally:
        torch.set_num_threads(threads)
    print(f"\nharmonic G: {min(times) * 1000 / 64:.2f} ms per 1-s note (batch 64, 1 thread); "
          f"G {count_parameters(G):,} parameters")
    assert audio.shape == (64, 16000) and torch.isfinite(audio).all()


def test_fine_discriminator_branch_sees_quiet_structure_whatever_the_gain():
    """The fine branch's view: semitone bands relative to the note's own peak, 80 dB deep — a partial 60 dB
    under the fundamental shows in its band, and the view does not change with the note's gain."""
    from creative_gan.pipelines.audio.networks.mel_discriminator import FINE_MIDI_LOW
    torch.manual_seed(0)
    config = MelDiscriminatorConfig.tiny(fine_fft_size=2048)
    D = MelDiscriminator(config)
    assert len(D.branches) == 2 and D.branches[1].fine
    t = torch.arange(32000) / 16000
    tone = torch.sin(2 * math.pi * midi_to_hz(60) * t)
    sub = 1e-3 * torch.sin(2 * math.pi * midi_to_hz(36) * t)            # −60 dB, two octaves below
    view = D.branches[1]._fine_view(torch.stack([tone, tone + sub, 0.01 * (tone + sub)]))
    assert view.amax() <= 1.0 and view.amin() >= -1.0
    band = 36 - FINE_MIDI_LOW
    quiet, heard = float(view[0, band].mean()), float(view[1, band].mean())
    assert heard > -0.6 and heard - quiet > 0.3                        # ≈ −60 dB → −0.5 on the [−1, 1] scale
    torch.testing.assert_close(view[2], view[1], atol=1e-3, rtol=0)     # 40 dB quieter, the same picture
    logits, aux = D(torch.stack([tone, tone + sub]), torch.tensor([60, 60]))
    assert logits.shape == (2,) and aux["features"].shape == (2, 2 * config.feature_dim)
    values = json.loads(json.dumps(dataclasses.asdict(config)))
    assert MelDiscriminatorConfig(**values) == config
