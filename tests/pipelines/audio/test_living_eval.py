"""Living-timbre evaluation (pipelines/audio/evaluate/living.py, living_scores.py): each figure on synthetic notes
with known answers, the stored reference's round trips, and `creative-gan evaluate audio` on a tiny model."""
from __future__ import annotations

import json
import math

import numpy as np
import pytest
import torch

from creative_gan.pipelines.audio.evaluate import living_scores
from creative_gan.pipelines.audio.evaluate.living import (LivingReference, build_living_reference,
                                                          harmonic_to_noise_db, living_reference_for_corpus,
                                                          note_descriptors, spectral_centroid_hz)
from creative_gan.pipelines.audio.evaluate.living_scores import (brightness_sign, morph_is_monotone, morph_pairs,
                                                                 score_living, sign_share)

SR, T = 16_000, 64_000
TIME = np.arange(T) / SR
PITCHES = (36, 48, 60, 72)
VELOCITIES = (40, 80, 120)
DECAY_TAU = 0.8                            # s: the "piano" of the synthetic corpus
PIANO_DECAY_DB = -20 * math.log10(math.e) * 1.9 / DECAY_TAU     # level 2.0–2.5 s minus 0.1–0.6 s ≈ −20.6 dB


def tone(pitch, tau=None, tremolo=0.0, tilt=2.0, amp=0.3) -> np.ndarray:
    """A 4-s harmonic note (8 partials, amplitude k^-tilt), exponential decay ``tau`` s (None: held), 5-Hz
    tremolo of relative depth ``tremolo``, note-off at 3 s with a 50-ms release."""
    f0 = 440.0 * 2 ** ((pitch - 69) / 12)
    wave = sum(np.sin(2 * np.pi * k * f0 * TIME) * k ** -tilt for k in range(1, 9) if k * f0 < SR / 2)
    env = np.exp(-TIME / tau) if tau else np.ones_like(TIME)
    env = env * (1 + tremolo * np.sin(2 * np.pi * 5.0 * TIME)) * np.exp(-np.clip(TIME - 3.0, 0, None) / 0.05)
    return (amp * wave / np.abs(wave).max() * env).astype(np.float32)


def instrument_note(m: float, pitch: int, velocity: int) -> np.ndarray:
    """The synthetic instruments as one family: m = 0 a decaying "piano" that brightens with velocity, m = 1 a
    held, tremolo "violin" whose timbre ignores velocity; both 19 dB louder from velocity 40 to 120."""
    tau = DECAY_TAU / max(1e-3, 1.0 - m) if m < 1 else None
    tilt = 2.0 - (1.0 - m) * (velocity - 80) / 80
    return tone(pitch, tau=tau, tremolo=0.3 * m, tilt=tilt, amp=0.3 * 10 ** ((velocity - 120) / 80 * 19 / 20))


class ToneSource:
    """A deterministic note source (AudioPipeline's synthesize protocol) over the instrument family above:
    m(z) = angle of (z0, z1) / 90°, so a slerp between the presets moves m evenly from 0 to 1. ``fold`` makes the
    morph non-monotone (m → 4m(1−m): back to the start at the end); ``static`` plays one held tone for every z;
    ``swap`` gives each preset the other instrument's sound (m → 1 − m)."""

    def __init__(self, fold=False, static=False, swap=False, latent_dim=4):
        self.latent_dim, self.pitch_range, self.has_velocity = latent_dim, (24, 84), True
        self.note_samples, self.sample_rate, self.fold, self.static, self.swap = T, SR, fold, static, swap
        self.presets = {"acoustic-grand-piano": torch.tensor([2.0, 0, 0, 0]), "violin": torch.tensor([0, 2.0, 0, 0]),
                        "flute": torch.tensor([1.4, 1.4, 0, 0])}
        self.generator = torch.nn.Module()      # no weights: the timbre fit only sets its mode

    def synthesize(self, pitches, z, velocities=None, num_samples=None):
        notes = []
        velocities = [100] * len(pitches) if velocities is None else velocities.tolist()
        for p, zi, v in zip(pitches.tolist(), z.detach(), velocities):
            m = float(torch.atan2(zi[1].abs(), zi[0].abs()) / (math.pi / 2))
            m = 4 * m * (1 - m) if self.fold else 1 - m if self.swap else m
            notes.append(tone(p, tremolo=0.0) if self.static else instrument_note(m, p, v))
        return torch.from_numpy(np.stack(notes)[:, :num_samples or T])


@pytest.fixture(scope="module")
def corpora(tmp_path_factory):
    """(training corpus: programs 0 "piano" m=0 and 40 "violin" m=1; held-out corpus: program 41 "viola", m=0.7)
    at pitches 36-72 (every 12) × velocities 40/80/120."""
    from creative_gan.pipelines.audio.data.nsynth import CorpusWriter

    root = tmp_path_factory.mktemp("living")
    for folder, programs in (("train", ((0, 0.0, "keyboard"), (40, 1.0, "string"))), ("held", ((41, 0.7, "string"),))):
        with CorpusWriter(root / folder) as writer:
            for program, m, family in programs:
                for pitch in PITCHES:
                    for velocity in VELOCITIES:
                        writer.add(instrument_note(m, pitch, velocity), pitch=pitch, velocity=velocity,
                                   instrument=program, family=family)
    return root / "train", root / "held"


@pytest.fixture(scope="module")
def reference(corpora):
    return build_living_reference(corpora[0], heldout=corpora[1])


# ------------------------------------------------------------------ the note descriptors
def test_decay_of_a_decaying_tone_and_a_flat_one():
    d = note_descriptors(np.stack([tone(60, tau=DECAY_TAU), tone(60)]), [60, 60])
    assert d["decay_db"][0] == pytest.approx(PIANO_DECAY_DB, abs=0.5)
    assert abs(d["decay_db"][1]) < 0.1
    assert d["level"].shape == (2, T // 256 + 1)


def test_tremolo_moves_a_static_tone_does_not():
    d = note_descriptors(np.stack([tone(60, tremolo=0.3), tone(60)]), [60, 60])
    assert d["movement_db"][1] < 0.1           # frame-RMS ripple of a steady tone only
    assert d["movement_db"][0] > 5 * max(d["movement_db"][1], 0.05)


def test_harmonic_to_noise_ratio_of_tones_and_noise():
    rng = np.random.default_rng(0)
    noise = (0.1 * rng.standard_normal(T)).astype(np.float32)
    clean, noisy_tone = tone(48), tone(48) + 0.3 * noise
    hnr = harmonic_to_noise_db(np.stack([clean, noisy_tone, noise]), [48, 48, 48]).numpy()
    assert hnr[0] > 40                      # only window leakage between the harmonics
    assert abs(hnr[2]) < 1.5                # white noise: as much power near the harmonics as between them
    assert 3 < hnr[1] < hnr[0] - 10
    assert harmonic_to_noise_db(clean[None], [49]).item() < hnr[0] - 20       # the wrong f0 finds noise


def test_centroid_follows_brightness_and_silence_is_zero():
    c = spectral_centroid_hz(np.stack([tone(60, tilt=2.0), tone(60, tilt=1.0), np.zeros(T, np.float32)])).numpy()
    assert c[1] > 1.2 * c[0] > 0 and c[2] == 0


# ------------------------------------------------------------------ figure logic
def test_velocity_sign_logic():
    low = [1000.0, 1000.0, 1000.0, 1000.0, np.nan]
    high = [1100.0, 1005.0, 900.0, 1011.0, 1000.0]
    signs = brightness_sign(low, high)
    np.testing.assert_array_equal(signs[:4], [1, 0, -1, 1])             # 0.5 % is inside the 1 % dead band
    assert np.isnan(signs[4])
    assert sign_share([1, 0, 1, 0, 1], signs) == pytest.approx(2 / 4)     # the NaN pair is not counted
    assert math.isnan(sign_share([1], [np.nan]))


def test_morph_monotonicity_logic():
    rising, falling = np.linspace(0, 8, 8), np.linspace(8, 0, 8)
    assert morph_is_monotone(rising, falling)
    dip = rising.copy()
    dip[4] = dip[3] - 0.2                           # within the 0.25-dB tolerance
    assert morph_is_monotone(dip, falling)
    dip[4] = dip[3] - 1.0
    assert not morph_is_monotone(dip, falling)
    assert not morph_is_monotone(rising, np.r_[falling[:4], falling[3] + 1.0, falling[5:]])
    there_and_back = np.r_[np.linspace(0, 8, 4), np.linspace(8, 0, 4)]
    assert not morph_is_monotone(there_and_back, there_and_back[::-1])
    assert not morph_is_monotone(np.zeros(8), np.zeros(8))         # A and B alike: nothing morphs


def test_morph_pairs_all_or_a_fixed_sample():
    names = [f"p{i:02d}" for i in range(12)]                # 66 pairs
    assert morph_pairs(names[:5], 40) == [(a, b) for i, a in enumerate(names[:5]) for b in names[i + 1:5]]
    sample = morph_pairs(names, 40, seed=3)
    assert len(sample) == len(set(sample)) == 40 and sample == morph_pairs(list(reversed(names)), 40, seed=3)
    assert sample != morph_pairs(names, 40, seed=4)


# ------------------------------------------------------------------ the reference
def test_reference_holds_the_real_figures(reference):
    assert reference.names == ["acoustic-grand-piano", "violin", "viola"]
    assert reference.heldout.tolist() == [False, False, True] and reference.reference_velocity == 80
    assert reference.logmel.shape == (3, 4, 64, T // 256 + 1) and reference.logmel.dtype == np.float16
    assert reference.heldout_audio.shape == (1, 4, T) and reference.heldout_audio.dtype == np.int16
    decay = reference.descriptors["decay_db"]
    assert decay.shape == (3, 4, 3)
    np.testing.assert_allclose(decay[0, :, 1], PIANO_DECAY_DB, atol=0.6)
    np.testing.assert_allclose(decay[1], 0.0, atol=1.0)          # held (tremolo windows: < 1 dB)
    loudness = reference.descriptors["loudness_db"]
    np.testing.assert_allclose(loudness[:, :, 2] - loudness[:, :, 0], 19.0, atol=0.3)


def test_reference_round_trip_through_tensors_and_a_saved_release(reference, tmp_path):
    from creative_gan.pipelines.audio.networks.harmonic import HarmonicGenerator, HarmonicGeneratorConfig
    from creative_gan.pipelines.audio.pipeline import AudioPipeline
    from creative_gan.release import load, save

    again = LivingReference.from_tensors(reference.to_tensors())
    cfg = HarmonicGeneratorConfig.tiny(latent_dim=8)
    pipe = AudioPipeline("harmonic", vars(cfg), HarmonicGenerator(cfg), living=reference.to_tensors())
    loaded = load(save(pipe, tmp_path / "model"))
    stored = LivingReference.from_tensors(loaded.living)
    for other in (again, stored):
        assert other.names == reference.names and other.reference_velocity == reference.reference_velocity
        for key in ("programs", "heldout", "pitches", "velocities", "logmel", "level", "heldout_audio"):
            np.testing.assert_array_equal(getattr(other, key), getattr(reference, key))
        for key, value in reference.descriptors.items():
            np.testing.assert_array_equal(other.descriptors[key], value)
    broken = {k: v for k, v in reference.to_tensors().items() if k != "logmel"}
    with pytest.raises(ValueError, match="missing logmel"):
        LivingReference.from_tensors(broken)


def test_reference_for_a_corpus_without_the_standard_notes(tmp_path, corpora):
    assert living_reference_for_corpus(corpora[0])["logmel"].shape[:2] == (2, 4)
    from creative_gan.pipelines.audio.data.nsynth import CorpusWriter

    with CorpusWriter(tmp_path / "c") as writer:                   # one velocity, pitches 50-51 only
        for pitch in (50, 51):
            writer.add(tone(pitch), pitch=pitch, velocity=100, instrument=0, family="keyboard")
    assert living_reference_for_corpus(tmp_path / "c") == {}
    with pytest.raises(ValueError, match="no notes of program"):
        build_living_reference(corpora[0], programs=[0, 5])


# ------------------------------------------------------------------ scoring a note source
def test_a_faithful_source_scores_perfectly(reference):
    scores = score_living(ToneSource(), reference, fit=False)
    assert scores["living_presets_matched"] == 2 and scores["living_presets"] == 3
    assert scores["decay_mismatch_db"] < 0.2
    assert scores["sustain_movement_ratio"] == pytest.approx(1.0, abs=0.05)
    assert scores["logmel_l1_db"] < 0.5
    assert scores["velocity_brightness_sign_share"] == 1.0 and scores["velocity_pairs"] == 8
    assert scores["velocity_brightening_share"] == 1.0
    assert scores["real_velocity_brightening_pairs"] == 4             # the piano brightens, the violin does not
    assert scores["loudness_change_db"] == pytest.approx(scores["real_loudness_change_db"], abs=0.3)
    assert scores["morph_monotonic_share"] == 1.0 and scores["morph_pairs"] == 3
    row = scores["preset:acoustic-grand-piano"]
    assert row["decay_db"] == pytest.approx(row["real_decay_db"], abs=0.2)
    assert "velocity signs 4/4" in str(row) and "preset:flute" not in scores


def test_a_static_source_misses_decay_movement_velocity_and_morphs(reference):
    scores = score_living(ToneSource(static=True), reference, fit=False)
    assert scores["decay_mismatch_db"] == pytest.approx(abs(PIANO_DECAY_DB) / 2, abs=0.5)
    assert scores["sustain_movement_ratio"] < 0.2
    assert scores["logmel_l1_db"] > 3
    assert scores["velocity_brightness_sign_share"] == pytest.approx(0.5)   # right only where the data is flat
    assert scores["velocity_brightening_share"] == 0.0
    assert scores["loudness_change_db"] == pytest.approx(0.0, abs=1e-3)
    assert scores["morph_monotonic_share"] == 0.0            # every step alike: no morph at all


def test_swapped_presets_miss_decay_both_ways_and_every_velocity_sign(reference):
    scores = score_living(ToneSource(swap=True), reference, fit=False)
    assert scores["decay_mismatch_db"] == pytest.approx(abs(PIANO_DECAY_DB), abs=0.7)   # +20.6 and −20.6 dB
    assert scores["sustain_movement_ratio"] == pytest.approx(1.0, abs=0.05)    # the same sounds, misnamed
    assert scores["logmel_l1_db"] > 3
    assert scores["velocity_brightness_sign_share"] == 0.0
    assert scores["morph_monotonic_share"] == 1.0


def test_heldout_fit_beats_the_presets_when_the_space_reaches_the_instrument(reference):
    # the held-out "viola" is m = 0.7; the presets are m = 0, 0.5, 1; 64 random starts (no descent) cover m densely
    scores = score_living(ToneSource(), reference, fit=True, fit_options={"steps": 0, "restarts": 64})
    row = scores["heldout:viola"]
    assert scores["heldout_programs"] == 1 and scores["heldout_fit_beats_presets_share"] == 1.0
    assert row["fit_logmel_l1_db"] < 0.5 * row["nearest_preset_logmel_l1_db"]
    assert row["nearest_preset"] in ("flute", "violin") and "nearest preset" in str(row)
    assert "heldout_programs" not in score_living(ToneSource(), reference, fit=False)


def test_nothing_to_compare_gives_nan_not_an_error(reference):
    bare = ToneSource()
    bare.presets = {}
    scores = score_living(bare, reference, fit=True, fit_options={"steps": 0, "restarts": 64})
    assert all(math.isnan(scores[k]) for k in living_scores.HEADLINE) and scores["morph_pairs"] == 0
    assert scores["heldout:viola"]["nearest_preset"] == "none" and scores["heldout_programs"] == 1
    high = ToneSource()
    high.pitch_range = (74, 84)                  # none of the reference pitches
    scores = score_living(high, reference, fit=True)
    assert math.isnan(scores["logmel_l1_db"]) and scores["living_presets"] == 3 and "heldout_programs" not in scores
    assert scores["morph_pairs"] == 3            # morphs play at the middle of the range instead


def test_a_folded_morph_is_not_monotone(reference):
    scores = living_scores.score_morphs(ToneSource(fold=True), seed=0)
    assert scores["morph_monotonic_share"] < 1.0


# ------------------------------------------------------------------ the CLI
@pytest.fixture(scope="module")
def tiny_release(tmp_path_factory, corpora):
    """An untrained tiny velocity-conditioned harmonic model with three presets (two named like the corpus) and,
    as a shipped model has, both stored references: the note-figure one and the living-timbre one."""
    from creative_gan.pipelines.audio.evaluate.evaluation import build_reference
    from creative_gan.pipelines.audio.networks.harmonic import HarmonicGenerator, HarmonicGeneratorConfig
    from creative_gan.pipelines.audio.pipeline import AudioPipeline
    from creative_gan.release import save

    torch.manual_seed(0)
    cfg = HarmonicGeneratorConfig.tiny(latent_dim=8, use_velocity=True)
    presets = {name: torch.randn(8, generator=torch.Generator().manual_seed(i))
               for i, name in enumerate(("acoustic-grand-piano", "violin", "flute"))}
    pipe = AudioPipeline("harmonic", vars(cfg), HarmonicGenerator(cfg), presets=presets,
                         reference=build_reference(corpora[0], PITCHES, classifier_epochs=10, n_jobs=1,
                                                   pitch_notes="held_out"),
                         living=living_reference_for_corpus(*corpora))
    return save(pipe, tmp_path_factory.mktemp("tiny") / "model")


HEADLINE_ORDER = ["decay_mismatch_db", "sustain_movement_ratio", "logmel_l1_db", "velocity_brightness_sign_share",
                  "morph_monotonic_share", "pitch_accuracy", "real_pitch_accuracy", "diversity_ratio",
                  "real_diversity_ratio", "frechet_distance", "real_frechet_distance", "frechet_ratio"]


def test_cli_without_data_prints_the_headline_figures_first_then_the_rows(capsys, tiny_release, tmp_path):
    from creative_gan.cli import main

    out = tmp_path / "m.json"
    assert main(["evaluate", "audio", "--model", str(tiny_release), "--pitch-step", "12", "--notes-per-pitch", "2",
                 "--fit-steps", "10", "--json", str(out)]) == 0
    lines = capsys.readouterr().out.splitlines()
    keys = [line.split()[0] for line in lines]
    assert keys[:len(HEADLINE_ORDER)] == HEADLINE_ORDER
    for line in lines[:5]:
        assert math.isfinite(float(line.split()[1]))
    rows = [line for line in lines if line.startswith(("preset:", "heldout:"))]
    assert lines[-len(rows):] == rows and [r.split()[0] for r in rows] == \
        ["preset:acoustic-grand-piano", "preset:violin", "heldout:viola"]
    assert "decay" in rows[0] and "movement" in rows[0] and "log-mel L1" in rows[0] and "HNR" in rows[0]
    metrics = json.loads(out.read_text())
    assert metrics["preset:violin"]["real_decay_db"] == pytest.approx(0.0, abs=1.0)
    assert metrics["heldout_programs"] == 1 and metrics["living_presets_matched"] == 2
    fit, near = metrics["heldout:viola"]["fit_logmel_l1_db"], metrics["heldout:viola"]["nearest_preset_logmel_l1_db"]
    assert 0 < fit < 80 and 0 < near < 80


def test_references_from_data_heldout_or_the_model(corpora, tiny_release, tmp_path):
    from argparse import Namespace

    from creative_gan.pipelines.audio.evaluate.command import _living_reference
    from creative_gan.pipelines.audio.data.nsynth import CorpusWriter
    from creative_gan.release import load

    pipe = load(tiny_release)
    with CorpusWriter(tmp_path / "other") as writer:           # another held-out program: 73 "flute", m = 0.4
        for pitch in PITCHES:
            for velocity in VELOCITIES:
                writer.add(instrument_note(0.4, pitch, velocity), pitch=pitch, velocity=velocity, instrument=73,
                           family="flute")
    stored = _living_reference(pipe, Namespace(data=None, heldout=None))
    assert stored.names == ["acoustic-grand-piano", "violin", "viola"]
    swapped = _living_reference(pipe, Namespace(data=None, heldout=str(tmp_path / "other")))
    assert swapped.names == ["acoustic-grand-piano", "violin", "flute"] and swapped.heldout.tolist() == [0, 0, 1]
    np.testing.assert_array_equal(swapped.logmel[:2], stored.logmel[:2])
    assert not np.array_equal(swapped.heldout_audio, stored.heldout_audio)
    from_data = _living_reference(pipe, Namespace(data=str(corpora[0]), heldout=None))
    assert from_data.names == ["acoustic-grand-piano", "violin"] and not from_data.heldout.any()
    pipe.living = {}
    assert _living_reference(pipe, Namespace(data=None, heldout=None)) is None


def test_cli_bad_living_options_are_one_line(capsys, tiny_release, tmp_path):
    from creative_gan.cli import main

    for extra, match in ((["--morph-pairs", "-1"], "--morph-pairs must be 0 or more"),
                         (["--fit-steps", "-2"], "--fit-steps must be 0 or more"),
                         (["--heldout", str(tmp_path / "none")], "none")):
        assert main(["evaluate", "audio", "--model", str(tiny_release), *extra]) == 2
        err = capsys.readouterr().err.strip().splitlines()
        assert len(err) == 1 and err[0].startswith("creative-gan: error:") and match in err[0]
