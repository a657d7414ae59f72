"""Living timbres in training: the modulated harmonic G, instrument latents re-making real notes, the fitted bank."""
import json
import math

import numpy as np
import pytest
import torch

import creative_gan
from creative_gan.cli import main
from creative_gan.pipelines.audio.constants import NOTE_SAMPLES, SAMPLE_RATE
from creative_gan.pipelines.audio.data.nsynth import CorpusWriter
from creative_gan.pipelines.audio.dsp.features import level_db, sustain_movement_db
from creative_gan.pipelines.audio.networks.harmonic import HarmonicGenerator, HarmonicGeneratorConfig
from creative_gan.pipelines.audio.training.instruments import InstrumentLatents
from creative_gan.pipelines.audio.training.task import AudioTask
from creative_gan.runlog import read_metrics

PITCHES = (48, 55, 60, 67)


def _note(pitch: int, velocity: int, decay: float, brightness: float) -> np.ndarray:
    """4-s additive note: exponential decay (time constant ``decay`` s), brighter with velocity."""
    t = np.arange(NOTE_SAMPLES) / SAMPLE_RATE
    f0 = 440.0 * 2 ** ((pitch - 69) / 12)
    k = np.arange(1, 9)[:, None]
    roll = brightness * (0.6 + 0.4 * velocity / 127)
    partials = (roll ** (k - 1)) * np.sin(2 * np.pi * f0 * k * t) * (k * f0 < SAMPLE_RATE / 2)
    env = np.minimum(t / 0.01, 1.0) * np.exp(-t / decay) * np.where(t < 3.0, 1.0, np.exp(-(t - 3.0) / 0.2))
    return (0.3 * velocity / 127 * partials.sum(0) * env / 8).astype(np.float32)


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    """Two GM programs (0 piano: fast decay, dark; 56 trumpet: held, bright) × 4 pitches × velocities 40/120."""
    root = tmp_path_factory.mktemp("living-corpus")
    with CorpusWriter(root) as writer:
        for program, family, decay, brightness in ((0, "keyboard", 0.5, 0.3), (56, "brass", 30.0, 0.85)):
            for pitch in PITCHES:
                for velocity in (40, 120):
                    writer.add(_note(pitch, velocity, decay, brightness), pitch=pitch, velocity=velocity,
                               instrument=program, family=family)
    return root


@pytest.fixture(scope="module")
def heldout(tmp_path_factory):
    """One GM program never trained on (40 violin), same pitches and velocities."""
    root = tmp_path_factory.mktemp("living-heldout")
    with CorpusWriter(root) as writer:
        for pitch in PITCHES:
            for velocity in (40, 120):
                writer.add(_note(pitch, velocity, 3.0, 0.7), pitch=pitch, velocity=velocity, instrument=40,
                           family="string")
    return root


def _modulated(**overrides) -> HarmonicGenerator:
    torch.manual_seed(0)
    return HarmonicGenerator(HarmonicGeneratorConfig.tiny(modulation=True, frame_layers=2, **overrides)).eval()


def test_modulation_moves_the_sustain_and_stays_deterministic():
    z, pitch = torch.randn(4, 64, generator=torch.Generator().manual_seed(1)), torch.tensor([48, 55, 60, 67])
    static = HarmonicGenerator(HarmonicGeneratorConfig.tiny()).eval()
    living = _modulated(num_samples=3 * SAMPLE_RATE)
    with torch.no_grad():
        living.modulation_head.bias.copy_(torch.tensor([0.0, 2.0, 2.0, 2.0]))   # deep tremolo and jitter
        still = static(z, pitch, num_samples=3 * SAMPLE_RATE)
        moving = living(z, pitch)
        again = living(z, pitch)
        prefix = living(z, pitch, num_samples=SAMPLE_RATE)
    assert sustain_movement_db(level_db(moving)).mean() > 3 * sustain_movement_db(level_db(still)).mean()
    assert sustain_movement_db(level_db(moving)).mean() > 0.3
    torch.testing.assert_close(moving, again)                          # eval mode: same inputs, same note
    torch.testing.assert_close(prefix, moving[:, :SAMPLE_RATE])        # a prefix render is the start


def test_onset_noise_allowance_only_near_the_onset():
    gen = _modulated(attack_noise_ratio=1.0, max_noise_ratio=0.05)
    with torch.no_grad():
        gen.static_noise.bias.fill_(10.0)           # noise at its ceiling everywhere
        c = gen.controls(torch.randn(2, 64), torch.tensor([60, 60]))
    noise = c["noise_magnitudes"].pow(2).sum(-1)
    harmonic = c["harmonic_amplitudes"].pow(2).sum(-1) / 2
    ratio = noise / harmonic.clamp_min(1e-12)
    frames = ratio.shape[1]
    assert ratio[:, 2].mean() > 3 * ratio[:, frames // 2].mean()          # 32 ms vs 0.5 s into the note


def test_reconstruct_condition_layout():
    task = AudioTask(generator=torch.nn.Identity(), discriminator=torch.nn.Identity(), dataset=None, latent_dim=8,
                     use_velocity=True, paired_conditions=True, reconstruct_share=0.5)
    real = {"x": torch.zeros(8, 10), "pitch": torch.arange(40, 48), "velocity": torch.arange(100, 108),
            "instrument": torch.tensor([3, 1, 2, 0, 1, 1, 2, 3])}
    cond = task.sample_condition(real, None, "cpu")
    assert cond["instrument"].tolist() == [3, 1, 2, 0, -1, -1, -1, -1]
    assert cond["pitch"][:4].tolist() == [40, 41, 42, 43] and cond["velocity"][:4].tolist() == [100, 101, 102, 103]
    assert cond["pitch"][4:6].tolist() == cond["pitch"][6:8].tolist() == [44, 45]       # mode-seeking pairs


def test_instrument_latents_replace_z_only_where_asked():
    gen = InstrumentLatents(_modulated(), num_instruments=2, latent_dim=64)
    z, pitch = torch.randn(3, 64), torch.tensor([60, 60, 60])
    with torch.no_grad():
        mixed = gen(z, pitch, instrument=torch.tensor([1, -1, 0]))
        direct = gen.generator(torch.stack([gen.latents[1], z[1], gen.latents[0]]), pitch)
    torch.testing.assert_close(mixed, direct)


def test_tiny_living_trains_reconstructs_and_ships_a_fitted_bank(corpus, heldout, tmp_path, capsys):
    from creative_gan.pipelines.audio.evaluate.living import LivingReference

    run = tmp_path / "run"
    assert main(["train", "audio", "--preset", "tiny-living", "--data", str(corpus), "--out", str(tmp_path / "x"),
                 "--steps", "4", "--no-progress", "--heldout", str(corpus)]) == 2      # not held out at all
    assert "--heldout shares instruments" in capsys.readouterr().err
    assert not (tmp_path / "x" / "model").exists()
    assert main(["train", "audio", "--preset", "tiny-living", "--data", str(corpus), "--out", str(run),
                 "--steps", "4", "--no-progress", "--seed", "1", "--heldout", str(heldout)]) == 0
    rows = read_metrics(run / "metrics.jsonl")
    assert {"G/reconstruct", "G/movement", "G/brightness", "G/velocity_tilt"} <= set(rows[-1])
    assert all(math.isfinite(v) for row in rows for v in row.values())
    pipe = creative_gan.load(run / "model")
    assert pipe.has_velocity and type(pipe.generator).__name__ == "HarmonicGenerator"
    assert set(pipe.presets) == {"acoustic-grand-piano", "trumpet"}
    assert not (pipe.presets["acoustic-grand-piano"] == pipe.presets["trumpet"]).all()
    soft, loud = pipe.generate([60, 60], z=pipe.presets["trumpet"], velocities=[40, 120])
    assert not np.array_equal(soft, loud)
    living = LivingReference.from_tensors(pipe.living)                  # stored for evaluate audio
    assert sorted(zip(living.programs.tolist(), living.heldout.tolist())) == [(0, False), (40, True), (56, False)]


def test_instrument_latents_learn_their_instruments(corpus, tmp_path):
    """Re-making real notes is a working training signal: 40 steps cut the log-mel L1 of the re-made notes."""
    run = tmp_path / "run"
    assert main(["train", "audio", "--preset", "tiny-living", "--data", str(corpus), "--out", str(run),
                 "--steps", "40", "--no-progress", "--seed", "2", "--set", "log_every=1",
                 "--set", "model.bank=false", "--set", "lr_g=2e-3",
                 "--set", 'loss_weights={"G/adv": 0.0, "G/reconstruct": 1.0, "G/movement": 0.0}']) == 0
    recon = [row["G/reconstruct"] for row in read_metrics(run / "metrics.jsonl") if "G/reconstruct" in row]
    assert np.mean(recon[-5:]) < 0.75 * np.mean(recon[:5])


def test_fine_tuning_grows_the_discriminator_by_a_fine_branch(corpus, tmp_path, capsys):
    """``--init-from`` a run + ``--set model.discriminator.fine_fft_size=…`` (a dotted key into the preset's
    nested options): the new run starts from the old G, its D keeps the log-mel branch and gains the fine one."""
    base = ["train", "audio", "--preset", "tiny-living", "--data", str(corpus), "--steps", "2", "--no-progress",
            "--set", "model.bank=false"]
    assert main([*base, "--out", str(tmp_path / "a")]) == 0
    assert main([*base, "--out", str(tmp_path / "b"), "--init-from", str(tmp_path / "a"),
                 "--set", "model.discriminator.fine_fft_size=1024"]) == 0
    old = torch.load(tmp_path / "a" / "checkpoints" / "state.pt", weights_only=True)["discriminator"]
    new = torch.load(tmp_path / "b" / "checkpoints" / "state.pt", weights_only=True)["discriminator"]
    assert any(".branches.1." in k for k in new) and not any(".branches.1." in k for k in old)
    assert {k: v for k, v in new.items() if k in old}.keys() == old.keys()
    options = json.loads((tmp_path / "b" / "options.json").read_text())
    assert options["model"]["discriminator"]["fine_fft_size"] == 1024
    assert options["model"]["discriminator"]["num_mels"] == 40             # the rest of the preset's D kept
    assert "started from" in capsys.readouterr().out
    provenance = json.loads((tmp_path / "b" / "model" / "config.json").read_text())["provenance"]
    assert provenance["steps"] == 2 and provenance["started_from"]["steps"] == 2     # the history is kept
    assert provenance["started_from"]["options"]["out_dir"] == "a"                 # … without machine paths
    assert main([*base, "--out", str(tmp_path / "b"), "--resume", "--steps", "3",
                 "--set", "model.discriminator.fine_fft_size=1024"]) == 0
    provenance = json.loads((tmp_path / "b" / "model" / "config.json").read_text())["provenance"]
    assert provenance["steps"] == 3 and provenance["started_from"]["steps"] == 2     # and survives a resume
    assert main([*base, "--out", str(tmp_path / "c"), "--set", "model.family.x=1"]) == 2
    assert "model.family is a value" in capsys.readouterr().err
    assert not (tmp_path / "c").exists()


def test_seed_prior_bank_stores_the_bank_as_seed_anchors(corpus, tmp_path, capsys):
    """``model.seed_prior=bank``: the release's seeds blend the instruments its bank fitted; refused without a
    bank or for an unknown prior (one line, nothing written)."""
    base = ["train", "audio", "--preset", "tiny-living", "--data", str(corpus), "--steps", "2", "--no-progress"]
    assert main([*base, "--out", str(tmp_path / "a"), "--set", "model.seed_prior=bank"]) == 0
    pipe = creative_gan.load(tmp_path / "a" / "model")
    assert torch.equal(pipe.seed_anchors, torch.stack([pipe.presets[n] for n in sorted(pipe.presets)]))
    z = pipe.latent_for_seed(3)
    first, second = pipe.seed_anchors
    plane = torch.linalg.qr(torch.stack([first, second]).T).Q
    assert float((z - plane @ (plane.T @ z)).norm()) < 1e-4 * float(z.norm())
    for bad in (["--set", "model.seed_prior=bank", "--set", "model.bank=false"], ["--set", "model.seed_prior=wide"]):
        assert main([*base, "--out", str(tmp_path / "b"), *bad]) == 2
        assert "model.seed_prior must be" in capsys.readouterr().err
        assert not (tmp_path / "b").exists()


def test_velocity_arguments_of_a_velocity_conditioned_harmonic_model():
    from creative_gan.errors import UsageError
    from creative_gan.pipelines.audio.pipeline import AudioPipeline

    config = HarmonicGeneratorConfig.tiny(use_velocity=True, modulation=True)
    pipe = AudioPipeline("harmonic", vars(config), HarmonicGenerator(config))
    z = torch.randn(64)
    one = pipe.generate([60, 64], z=z, velocities=120, num_samples=4000)
    each = pipe.generate([60, 64], z=z, velocities=[120, 120], num_samples=4000)
    np.testing.assert_array_equal(one, each)                        # one velocity plays every note
    default = pipe.generate([60], z=z, num_samples=4000)
    np.testing.assert_array_equal(default, pipe.generate([60], z=z, velocities=100, num_samples=4000))
    for bad in ([100.5], ["loud"], [40, 80, 120], [200]):
        with pytest.raises(UsageError):
            pipe.generate([60, 64] if len(bad) != 1 else [60], z=z, velocities=bad, num_samples=4000)


def test_split_velocity_starts_as_pure_gain_and_can_learn_timbre():
    gen = _modulated(use_velocity=True, velocity_mode="split")
    z, pitch = torch.randn(2, 64, generator=torch.Generator().manual_seed(3)), torch.tensor([48, 60])
    with torch.no_grad():
        soft = gen(z, pitch, torch.tensor([40, 40]), num_samples=8000)
        loud = gen(z, pitch, torch.tensor([120, 120]), num_samples=8000)
        ratio = (loud.pow(2).mean(1) / soft.pow(2).mean(1)).sqrt()
        # same note shape, ≈ 19 dB louder: velocity only scales it until training says otherwise
        torch.testing.assert_close(loud, soft * ratio[:, None], rtol=1e-4, atol=1e-6)
        assert 15 < float(20 * torch.log10(ratio).mean()) < 23
        gen.velocity_shift.bias.fill_(0.5)
        louder = gen(z, pitch, torch.tensor([120, 120]), num_samples=8000)
        softer = gen(z, pitch, torch.tensor([40, 40]), num_samples=8000)
    ratio = (louder.pow(2).mean(1) / softer.pow(2).mean(1)).sqrt()
    assert (louder - softer * ratio[:, None]).abs().max() > 1e-3


def test_tilt_velocity_keeps_the_spectrum_until_a_note_learns_to_brighten():
    from creative_gan.pipelines.audio.evaluate.living import spectral_centroid_hz
    gen = _modulated(use_velocity=True, velocity_mode="split", velocity_timbre="tilt", num_samples=SAMPLE_RATE)
    assert not hasattr(gen, "velocity_shift")
    z, pitch = torch.randn(3, 64, generator=torch.Generator().manual_seed(4)), torch.tensor([36, 48, 60])

    def centroids(velocity):
        with torch.no_grad():
            return spectral_centroid_hz(gen(z, pitch, torch.full((3,), velocity)))

    change = centroids(120) / centroids(40) - 1
    assert change.abs().max() < 0.005                 # at start: louder, not brighter (under the 1 % sign band)
    with torch.no_grad():
        gen.velocity_tilt.bias.fill_(0.5)             # now every note brightens with velocity, monotonically
    c40, c80, c120 = centroids(40), centroids(80), centroids(120)
    assert bool((c80 > 1.05 * c40).all()) and bool((c120 > 1.05 * c80).all())
    with torch.no_grad():                             # a strongly negative slope is exactly pure gain
        gen.velocity_tilt.bias.fill_(-60.0)
        soft = gen(z, pitch, torch.full((3,), 40))
        loud = gen(z, pitch, torch.full((3,), 120))
    ratio = (loud.pow(2).mean(1) / soft.pow(2).mean(1)).sqrt()
    torch.testing.assert_close(loud, soft * ratio[:, None], rtol=1e-4, atol=1e-6)
    with pytest.raises(ValueError, match="velocity_timbre"):
        HarmonicGenerator(HarmonicGeneratorConfig.tiny(velocity_timbre="bend"))


def test_velocity_tilt_prior_covers_the_random_timbres_only():
    from types import SimpleNamespace

    from creative_gan.pipelines.audio.training.objective import NoteObjective

    gen = _modulated(use_velocity=True, velocity_mode="split", velocity_timbre="tilt", num_samples=4000)
    assert _modulated(use_velocity=True, velocity_mode="split").velocity_brightening(
        torch.randn(2, 64), torch.tensor([60, 60])) is None                  # a code-shift model has no slope
    z, pitch = torch.randn(3, 64, generator=torch.Generator().manual_seed(5)), torch.tensor([48, 60, 72])
    step = SimpleNamespace(z=z, fake=torch.zeros(3, 4000), real={"x": torch.zeros(3, 4000)},
                           cond={"pitch": pitch, "velocity": torch.tensor([40, 80, 120]),
                                 "instrument": torch.tensor([0, -1, -1])},
                           fake_out=SimpleNamespace(aux={"pitch_logits": torch.zeros(3, 128)}))
    terms = NoteObjective(gen.config.pitch_min, "harmonic", False, gen.velocity_brightening).g_terms(step)
    slope = gen.velocity_brightening(z[1:], pitch[1:])                        # row 0 re-makes an instrument
    torch.testing.assert_close(terms["velocity_tilt"], slope.mean())
    terms["velocity_tilt"].backward()
    assert float(gen.velocity_tilt.bias.grad) > 0                             # the prior lowers the slope
    assert "velocity_tilt" not in NoteObjective(gen.config.pitch_min, "harmonic", False).g_terms(step)
