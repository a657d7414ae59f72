"""Audio evaluation metrics (pipelines/audio/evaluate/: metrics, embedding, evaluation) on real FluidR3 notes."""
from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from creative_gan import metrics as core_metrics
from creative_gan.pipelines.audio.evaluate import metrics
from creative_gan.pipelines.audio.evaluate.embedding import (classifier_accuracy, classifier_from_tensors,
                                                    classifier_to_tensors, classify_notes, train_note_classifier,
                                                    NoteClassifierConfig)
from creative_gan.pipelines.audio.evaluate.evaluation import RealReference, build_reference, evaluate_notes

SR = 16_000
PITCHES = range(48, 73)                 # the test corpus: 4 GM programs × 25 pitches = 100 notes
PROGRAMS = (0, 40, 56, 73)              # piano, violin, trumpet, flute


def sine_notes(pitches, seconds: float = 4.0, harmonics: int = 1) -> np.ndarray:
    """In-tune test tones ``[N, seconds·SR]``: harmonic stacks with 1/k amplitudes, note-off at 3 s."""
    t = np.arange(int(seconds * SR)) / SR
    notes = []
    for p in np.asarray(pitches, dtype=np.float64):
        f0 = 440.0 * 2 ** ((p - 69) / 12)
        tone = sum(np.sin(2 * np.pi * k * f0 * t) / k for k in range(1, harmonics + 1) if k * f0 < SR / 2)
        notes.append(0.3 * tone * np.exp(-t / 2.0) * (t < 3.0))
    return np.stack(notes).astype(np.float32)


@pytest.fixture(scope="module")
def corpus_dir(tmp_path_factory):
    """A tiny NSynth-format corpus rendered from FluidR3 (~2 s): 4 programs × pitches 48-72."""
    soundfont = pytest.importorskip("creative_gan.pipelines.audio.data.soundfont")
    from creative_gan.pipelines.audio.data.gm import gm_family
    from creative_gan.pipelines.audio.data.nsynth import CorpusWriter
    try:
        renderer = soundfont.SoundFontRenderer()
    except Exception as exc:  # no FluidSynth library or no FluidR3 SoundFont on this machine
        pytest.skip(f"FluidSynth/FluidR3 unavailable: {exc}")
    out = tmp_path_factory.mktemp("fluidr3") / "corpus"
    # Rendered here rather than with build_corpus, whose progress bar leaves a tqdm thread behind (the pitch
    # detector forks its workers only from a single-threaded process).
    with renderer, CorpusWriter(out) as writer:
        for program in PROGRAMS:
            for pitch in PITCHES:
                writer.add(renderer.render(program, pitch, 100), pitch=pitch, velocity=100, instrument=program,
                           family=gm_family(program))
    return out


@pytest.fixture(scope="module")
def corpus(corpus_dir):
    from creative_gan.pipelines.audio.data.nsynth import read_corpus
    return read_corpus(corpus_dir)


@pytest.fixture(scope="module")
def corpus_arrays(corpus):
    """(audio [100, 64000], pitch [100], family index [100])."""
    records = corpus.records
    return corpus.load_all(), np.array([r.pitch for r in records]), np.array([r.instrument_family for r in records])


def test_real_notes_in_tune_and_wrong_pitch_counts_as_wrong(corpus_arrays):
    audio, pitches, _ = corpus_arrays
    pick = np.arange(0, len(pitches), 6)                        # 17 notes, every program, pitches 48-72
    right = metrics.pitch_accuracy(audio[pick], pitches[pick], n_jobs=1)
    assert right.accuracy >= 0.9
    assert right.detected.shape == (len(pick),) and right.correct.dtype == bool
    shifted = metrics.pitch_accuracy(audio[pick], pitches[pick] + 1, n_jobs=1)
    assert shifted.accuracy <= 0.1
    np.testing.assert_allclose(shifted.detected, right.detected)   # the search range covers both asks


def test_sines_in_tune_across_range_octave_errors_and_silence_wrong():
    pitches = np.arange(24, 85, 6)
    result = metrics.pitch_accuracy(sine_notes(pitches), pitches, n_jobs=1)
    assert result.accuracy == 1.0
    assert np.abs(result.detected - pitches).max() < 0.1
    # an octave too high, or silent / non-finite: wrong, not folded back onto the asked pitch
    bad = np.concatenate([sine_notes([72]), np.zeros((1, 64000), np.float32), np.full((1, 64000), np.nan, np.float32)])
    wrong = metrics.pitch_accuracy(bad, [60, 60, 60], n_jobs=1)
    assert wrong.accuracy == 0.0
    assert abs(wrong.detected[0] - 72) < 0.2 and np.isnan(wrong.detected[1:]).all()


def test_parallel_pitch_detection_matches_serial():
    pitches = np.tile([36, 50, 64, 78], 4)
    notes = sine_notes(pitches, seconds=3.0, harmonics=3)
    serial = metrics.detect_pitches(notes, pitches, n_jobs=1)
    parallel = metrics.detect_pitches(torch.from_numpy(notes), torch.from_numpy(pitches), n_jobs=2)
    np.testing.assert_array_equal(serial, parallel)


def test_pitch_entropy():
    assert metrics.pitch_entropy([60.2, 59.9, 60.0, np.nan]) == 0.0
    assert metrics.pitch_entropy(np.arange(24, 85, dtype=float)) == pytest.approx(math.log(61))
    assert metrics.pitch_entropy([60, 60, 62, 62]) == pytest.approx(math.log(2))
    assert metrics.pitch_entropy([np.nan]) == 0.0


def test_ndb_self_zero_same_distribution_small_other_distribution_large():
    rng = np.random.default_rng(0)
    centres = rng.normal(0, 4, (12, 16))
    def sample(n):
        return centres[rng.integers(0, 12, n)] + rng.normal(0, 1, (n, 16))
    real = sample(500)
    assert metrics.ndb(real, real, k=50).count == 0
    same = metrics.ndb(real, sample(500), k=50)
    assert same.k == 50 and same.fraction <= 0.2
    other = metrics.ndb(real, rng.normal(0, 1, (500, 16)) + 20.0, k=50)   # mass where the real data has none
    assert other.fraction >= 0.8 and other.count > 5 * max(same.count, 1)
    assert metrics.ndb(real[:20], real[:20], k=50).k == 10           # k capped at N // 2


def test_note_spectra_and_ndb_real_notes_vs_noise(corpus_arrays):
    audio = corpus_arrays[0]
    spectra = metrics.note_spectra(audio)
    assert spectra.shape == (len(audio), metrics.SPECTRUM_N_MELS * metrics.SPECTRUM_TIME_BLOCKS)
    noise = metrics.note_spectra(np.random.default_rng(0).normal(0, 0.1, (100, 64000)).astype(np.float32))
    real_vs_noise = metrics.ndb(spectra, np.concatenate([noise, noise]), k=20)
    real_vs_real = metrics.ndb(spectra[::2], spectra[1::2], k=20)
    assert real_vs_noise.fraction >= 0.5 and real_vs_real.fraction <= 0.25


def test_core_frechet_distance_as_audio_uses_it_zero_on_self_grows_with_shift_closed_form():
    rng = np.random.default_rng(1)
    emb = rng.normal(0, 1, (200, 8)) @ rng.normal(0, 1, (8, 8))
    assert core_metrics.frechet_distance(emb, emb) == pytest.approx(0.0, abs=1e-6)
    distances = [core_metrics.frechet_distance(emb, emb + shift) for shift in (0.0, 0.5, 1.0, 2.0)]
    assert distances == sorted(distances) and distances[3] == pytest.approx(8 * 4.0, rel=1e-6)
    # diagonal Gaussians: ‖Δμ‖² + Σ (σa − σb)²
    closed = core_metrics.frechet_distance_from_stats(np.zeros(3), np.diag([1.0, 4.0, 9.0]), np.ones(3),
                                                 np.diag([4.0, 4.0, 1.0]), ridge=0.0)
    assert closed == pytest.approx(3.0 + 1.0 + 0.0 + 4.0, rel=1e-9)
    few = core_metrics.frechet_distance(rng.normal(size=(5, 64)), rng.normal(size=(7, 64)))  # rank-deficient
    assert math.isfinite(few) and few > 0


def test_mfcc_stats_per_note_and_diversity_collapse_vs_real(corpus_arrays):
    audio, pitches, _ = corpus_arrays
    emb = metrics.mfcc_stats(audio)
    assert emb.shape == (len(audio), 2 * metrics.N_MFCC)
    np.testing.assert_allclose(metrics.mfcc_stats(audio[:3] * 0.01), metrics.mfcc_stats(audio[:3] * 0.01)[:3])
    quiet_alone, quiet_with_loud = metrics.mfcc_stats(audio[:1] * 0.01), metrics.mfcc_stats(
        np.concatenate([audio[:1] * 0.01, audio[1:2]]))[:1]
    np.testing.assert_allclose(quiet_alone, quiet_with_loud, atol=1e-3)   # no batch-wide dB floor
    real = metrics.group_by_pitch(emb, pitches)
    collapsed = {p: np.repeat(e[:1], 4, axis=0) for p, e in real.items()}
    assert metrics.diversity_ratio(collapsed, real) == pytest.approx(0.0, abs=1e-9)
    half = {p: e[[0, 2]] for p, e in real.items()}              # two of the four instruments
    assert 0.6 <= metrics.diversity_ratio(half, real) <= 1.4
    assert set(metrics.diversity_per_pitch(half, real)) == set(PITCHES)


def test_classifier_names_held_out_pitches_and_families(corpus):
    train, held = corpus.split(0.2, seed=0)
    def arrays(c):
        return c.load_all(), [r.pitch for r in c.records], [r.instrument_family for r in c.records]
    (train_audio, train_pitch, train_family), (held_audio, held_pitch, held_family) = arrays(train), arrays(held)
    config = NoteClassifierConfig(pitch_min=min(PITCHES), pitch_max=max(PITCHES))
    trained = train_note_classifier(train_audio, train_pitch, train_family, config=config, epochs=20, seed=0)
    pitch_acc, family_acc = classifier_accuracy(trained.model, held_audio, held_pitch, held_family)
    assert pitch_acc >= 0.5 and family_acc >= 0.5              # chance: 1/25 and 1/4
    assert trained.train_seconds < 60
    restored = classifier_from_tensors(classifier_to_tensors(trained.model))
    np.testing.assert_array_equal(classify_notes(restored, held_audio)[2], classify_notes(trained.model, held_audio)[2])
    with pytest.raises(ValueError, match="pitches must lie"):
        train_note_classifier(train_audio[:2], [30, 31], [0, 0], config=config, epochs=1)


def test_evaluate_notes_with_corpus_and_with_stored_reference(corpus_dir, tmp_path):
    from safetensors.torch import load_file, save_file

    def generate(pitches: torch.Tensor, seed: int) -> np.ndarray:   # in tune, but the same note for every z
        assert pitches.dtype == torch.long
        return sine_notes(pitches.numpy(), harmonics=4)

    options = dict(held_out_fraction=0.2, classifier_epochs=15, n_jobs=1)
    with_corpus = evaluate_notes(generate, corpus_dir, PITCHES, n_per_pitch=2, seed=0, **options)
    for key in ("pitch_accuracy", "pitch_entropy", "ndb", "frechet_distance", "diversity_ratio"):
        assert math.isfinite(with_corpus[key]) and math.isfinite(with_corpus["real_" + key])
    assert with_corpus["pitch_accuracy"] == 1.0 and with_corpus["real_pitch_accuracy"] >= 0.9
    assert with_corpus["diversity_ratio"] < 0.05 and 0.6 <= with_corpus["real_diversity_ratio"] <= 1.4
    assert with_corpus["frechet_distance"] > 2 * with_corpus["real_frechet_distance"]
    assert with_corpus["ndb_fraction"] > with_corpus["real_ndb_fraction"]
    assert with_corpus["num_generated"] == 50 and with_corpus["num_real_held_out"] == 20

    tensors = build_reference(corpus_dir, PITCHES, seed=0, pitch_notes="held_out", **options)
    assert sum(t.numel() * t.element_size() for t in tensors.values()) < 1_000_000
    save_file(tensors, str(tmp_path / "reference.safetensors"))
    stored = load_file(str(tmp_path / "reference.safetensors"))
    without_corpus = evaluate_notes(generate, None, PITCHES, n_per_pitch=2, seed=0, reference=stored, n_jobs=1)
    for key in ("pitch_accuracy", "ndb", "frechet_distance", "diversity_ratio", "classifier_pitch_accuracy"):
        assert without_corpus[key] == pytest.approx(with_corpus[key], rel=1e-4, abs=1e-6), key

    # fewer generated notes than real held-out ones: the Fréchet figure is taken on as many as the real one
    calls = []
    def counting(pitches: torch.Tensor, seed: int) -> np.ndarray:
        calls.append((len(pitches), seed))
        return generate(pitches, seed)
    few = evaluate_notes(counting, None, PITCHES[:5], n_per_pitch=2, seed=0, reference=stored, n_jobs=1)
    assert few["num_generated"] == 10 and few["num_frechet_notes"] == few["num_real_held_out"] == 20
    assert calls == [(10, 0), (20, 1)]
    assert without_corpus["num_frechet_notes"] == 50

    with pytest.raises(ValueError, match="real_corpus or a stored reference"):
        evaluate_notes(generate, None, PITCHES, 1)
    with pytest.raises(ValueError, match="expected"):
        evaluate_notes(lambda p, s: np.zeros((3, 64000)), None, PITCHES, 1, reference=stored)
    with pytest.raises(ValueError, match="missing"):
        RealReference.from_tensors({"pitches": torch.arange(3)})
