"""Velocity conditioning in every note-GAN family: trained on a two-velocity corpus, saved, loaded, asked for.

The corpus is written by the test: two instruments × four pitches × velocities 40 and 120, where the loud
layer is louder and brighter (as in the FluidR3 corpora), so training sees velocity as a real condition.
"""
import json
from types import SimpleNamespace

import numpy as np
import pytest
import torch

import creative_gan
from creative_gan.cli import main
from creative_gan.errors import UsageError
from creative_gan.pipelines.audio.commands import make_task
from creative_gan.pipelines.audio.constants import NOTE_SAMPLES, SAMPLE_RATE
from creative_gan.pipelines.audio.data.nsynth import CorpusWriter
from creative_gan.pipelines.audio.networks.spectral import (SpectralDiscriminator, SpectralDiscriminatorConfig,
                                                            SpectralGenerator, SpectralGeneratorConfig)
from creative_gan.pipelines.audio.networks.wave import (WaveDiscriminator, WaveDiscriminatorConfig, WaveGenerator,
                                                        WaveGeneratorConfig)
from creative_gan.pipelines.audio.presets import PRESETS

PITCHES = (48, 55, 60, 67)
VELOCITIES = (40, 120)
FAMILY_PRESETS = {"spectral": "tiny-spectral", "wave": "tiny-wave", "harmonic": "tiny"}


def _note(pitch: int, velocity: int, roll_off: float) -> np.ndarray:
    """A 4-s additive note [NOTE_SAMPLES]: level ∝ (velocity/127)², harmonics roll off less when loud."""
    t = np.arange(NOTE_SAMPLES) / SAMPLE_RATE
    f0 = 440.0 * 2 ** ((pitch - 69) / 12)
    k = np.arange(1, 9)[:, None]
    brightness = roll_off + (0.9 - roll_off) * velocity / 127
    partials = brightness ** (k - 1) * np.sin(2 * np.pi * f0 * k * t) * (k * f0 < SAMPLE_RATE / 2)
    env = np.minimum(t / 0.01, 1.0) * np.exp(-t / 1.5)
    return (0.6 * (velocity / 127) ** 2 * partials.sum(0) * env / 4).astype(np.float32)


def _write_corpus(root, velocities) -> None:
    with CorpusWriter(root) as writer:
        for instrument, (family, roll_off) in enumerate((("keyboard", 0.2), ("brass", 0.6))):
            for pitch in PITCHES:
                for velocity in velocities:
                    writer.add(_note(pitch, velocity, roll_off), pitch=pitch, velocity=velocity,
                               instrument=instrument, family=family)


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    root = tmp_path_factory.mktemp("velocity_corpus")
    _write_corpus(root, VELOCITIES)
    return root


@pytest.fixture(scope="module")
def single_velocity_corpus(tmp_path_factory):
    root = tmp_path_factory.mktemp("one_velocity_corpus")
    _write_corpus(root, (100,))
    return root


def _train(corpus, out, preset, *extra):
    assert main(["train", "audio", "--preset", preset, "--data", str(corpus), "--out", str(out), "--steps", "3",
                 "--batch-size", "8", "--no-progress", "--seed", "5", *extra]) == 0
    return out / "model"


def _options(preset: str, **model):
    values = json.loads(json.dumps(PRESETS[preset]["model"]))
    values.update(model)
    return SimpleNamespace(model=values, progress=False)


@pytest.mark.parametrize("family", ["spectral", "wave", "harmonic"])
def test_velocity_round_trip_through_save_and_load(corpus, tmp_path, family):
    model = _train(corpus, tmp_path / "run", FAMILY_PRESETS[family], "--set", "model.use_velocity=true")
    config = json.loads((model / "config.json").read_text(encoding="utf-8"))
    assert config["family"] == family
    assert config["use_velocity"] is True and config["generator"]["use_velocity"] is True

    pipe = creative_gan.load(model)
    assert pipe.has_velocity
    z = pipe.latent_for_seed(4)
    pitches, velocities = [60, 60, 55], [40, 120, 100]
    notes = pipe.generate(pitches, z=z, velocities=velocities)
    assert notes.shape == (3, NOTE_SAMPLES) and np.isfinite(notes).all()
    # same z and pitch, velocity 40 vs 120: a different note (by far more than float noise)
    assert np.abs(notes[0] - notes[1]).max() > 1e-3 * max(np.abs(notes[:2]).max(), 1e-6)
    # the default velocity is 100 (batch size alone may move the last bits)
    np.testing.assert_allclose(pipe.generate([55], z=z)[0], notes[2], atol=1e-5)
    # the renderer's entry point honours velocity the same way
    direct = pipe.synthesize(torch.tensor([60]), z[None], torch.tensor([40])).numpy()
    np.testing.assert_allclose(direct[0], notes[0], atol=1e-5)

    again = creative_gan.load(model)
    assert again.has_velocity
    np.testing.assert_array_equal(again.generate(pitches, z=z, velocities=velocities), notes)

    for bad in ([200], [-1]):
        with pytest.raises(UsageError, match="velocity") as error:
            pipe.generate([60], z=z, velocities=bad)
        assert "\n" not in str(error.value)
    if family != "harmonic":
        # one velocity may stand for all notes; a wrong count is one line
        np.testing.assert_allclose(pipe.generate([60, 60], z=z, velocities=120)[1], notes[1], atol=1e-5)
        with pytest.raises(UsageError, match="3 velocities for 2 notes"):
            pipe.generate([60, 60], z=z, velocities=[40, 80, 120])


@pytest.mark.parametrize("family", ["spectral", "wave"])
def test_velocity_choice_reaches_both_networks(corpus, single_velocity_corpus, family):
    preset = FAMILY_PRESETS[family]
    args = SimpleNamespace(data=str(corpus), families=None)
    task = make_task(_options(preset), args)                      # auto: the corpus has two velocities
    assert task.use_velocity
    assert task.generator.config.use_velocity and task.discriminator.config.use_velocity
    assert task.g_config["use_velocity"] is True                  # what the release config stores
    batch = task.dataset.get_batch([0, 1, 2, 3])
    assert sorted(set(batch["velocity"].tolist())) == list(VELOCITIES)

    single = make_task(_options(preset), SimpleNamespace(data=str(single_velocity_corpus), families=None))
    assert not single.use_velocity and not single.discriminator.config.use_velocity
    forced = make_task(_options(preset, use_velocity=False), args)
    assert not forced.generator.config.use_velocity and "velocity" not in forced.dataset.get_batch([0])
    with pytest.raises(UsageError, match="use_velocity"):
        make_task(_options(preset, use_velocity="yes"), args)


@pytest.mark.parametrize("family", ["spectral", "wave"])
def test_discriminator_projects_velocity(family):
    torch.manual_seed(0)
    if family == "spectral":
        G = SpectralGenerator(SpectralGeneratorConfig.tiny(use_velocity=True))
        D = SpectralDiscriminator(SpectralDiscriminatorConfig.tiny(use_velocity=True))
    else:
        G = WaveGenerator(WaveGeneratorConfig.tiny(use_velocity=True))
        D = WaveDiscriminator(WaveDiscriminatorConfig.tiny(use_velocity=True))
    D.eval()
    z, pitch = torch.randn(4, G.config.latent_dim), torch.tensor([60, 60, 48, 48])
    x = G(z, pitch, torch.tensor([40, 120, 40, 120]))
    swapped = G(z, pitch, torch.tensor([120, 40, 120, 40]))
    assert ((x - swapped).flatten(1).abs().amax(dim=1) > 1e-3).all()     # G hears velocity, note by note
    quiet, _ = D(x, pitch, torch.full((4,), 40))
    loud, _ = D(x, pitch, torch.full((4,), 120))
    assert (quiet - loud).abs().min() > 1e-4                     # the projection term moves every logit
    # the gradient of D's logit reaches the velocity embedding row of the asked velocity only
    quiet.sum().backward()
    rows = D.velocity_embedding.weight.grad.abs().sum(dim=1)
    assert rows[40] > 0 and rows[120] == 0
    with pytest.raises(UsageError, match="velocity"):
        D(x, pitch, torch.full((4,), 128))
    with pytest.raises(UsageError, match="2 velocities for 4 notes"):
        G(z, pitch, torch.tensor([40, 120]))
