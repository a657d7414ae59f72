"""Evaluate a note generator against real notes: every figure beside its real-vs-real reference.

:func:`evaluate_notes` asks ``generate_fn`` for ``n_per_pitch`` notes at each pitch and reports, for them and
as ``real_*`` for held-out real notes (the reference):

==========================  ====================================================================================
``pitch_accuracy``          pYIN within ±0.5 semitone of the asked pitch (real: held-out notes)
``pitch_entropy``           nats, histogram of detected pitches (grows with the number of notes: compare alike)
``ndb``, ``ndb_fraction``   NDB over k-means cells of the train split's log-mel spectra (real: held-out vs train)
``frechet_distance``        classifier embedding vs the train split, on as many notes as held out (real: held-out)
``diversity_ratio``         MFCC-stat spread at a pitch ÷ the corpus's (real: a random half of the notes ÷ all)
``classifier_pitch_accuracy``  the classifier's pitch head agrees with the asked pitch (GANSynth's measure)
==========================  ====================================================================================

The real side is a :class:`RealReference`, built from a corpus (:func:`build_real_reference`) or from a stored
``dict[str, Tensor]`` (:func:`build_reference` makes one, ~0.3 MB, safetensors-ready) when no corpus is at hand.
The Fréchet distance is biased upwards by few notes, so generated notes are measured on subsets of the
held-out size (:func:`matched_frechet_distance`). NDB uses all generated notes (its real-vs-real reference is
≈ α·k at any size, and more notes only give it more power); the ``num_*`` entries give each side's count.
"""
from __future__ import annotations

import os
import time
from dataclasses import dataclass, field
from typing import Callable, Iterable

import numpy as np
import torch

from creative_gan.metrics import frechet_distance_from_stats, gaussian_stats

from ..constants import PITCH_MAX, PITCH_MIN
from .embedding import (NoteClassifier, NoteClassifierConfig, classifier_accuracy, classifier_from_tensors,
                        classifier_to_tensors, classify_notes, train_note_classifier)
from .metrics import (NDBBins, _as_numpy, diversity_ratio, fit_ndb_bins, group_by_pitch, mfcc_stats,
                      ndb_against_bins, note_spectra, pitch_accuracy, pitch_entropy)

GenerateFn = Callable[[torch.Tensor, int], np.ndarray]   # (pitches LongTensor [N], seed) -> audio [N, T]


@dataclass
class RealReference:
    """What generated notes are compared with; all arrays numpy. ``figures`` holds the ``real_*`` references."""

    pitches: np.ndarray                 # [P] MIDI pitches the reference covers
    note_samples: int                   # note length (samples at SAMPLE_RATE) the statistics were taken on
    mfcc_embeddings: np.ndarray         # [M, 40] MFCC statistics of real notes at those pitches
    mfcc_pitches: np.ndarray            # [M]
    mfcc_mean: np.ndarray               # [40] standardisation for diversity
    mfcc_std: np.ndarray                # [40]
    ndb_bins: NDBBins                   # k-means cells of the train split's spectra
    classifier: NoteClassifier
    embedding_mean: np.ndarray          # [E] classifier embeddings of the train split
    embedding_cov: np.ndarray           # [E, E]
    figures: dict[str, float] = field(default_factory=dict)
    details: dict = field(default_factory=dict)     # not stored: per-note pYIN results of a freshly built one

    def to_tensors(self) -> dict[str, torch.Tensor]:
        """Flat ``{name: tensor}`` (float32 arrays, int64 ids, float64 0-d figures) for safetensors."""
        f32 = lambda a: torch.as_tensor(np.asarray(a, np.float32)).contiguous()     # noqa: E731
        i64 = lambda a: torch.as_tensor(np.asarray(a, np.int64)).contiguous()       # noqa: E731
        tensors = {
            "pitches": i64(self.pitches), "note_samples": i64(self.note_samples),
            "mfcc_embeddings": f32(self.mfcc_embeddings), "mfcc_pitches": i64(self.mfcc_pitches),
            "mfcc_mean": f32(self.mfcc_mean), "mfcc_std": f32(self.mfcc_std),
            "ndb_centres": f32(self.ndb_bins.centres), "ndb_real_proportions": f32(self.ndb_bins.real_proportions),
            "ndb_num_real": i64(self.ndb_bins.num_real),
            "embedding_mean": f32(self.embedding_mean), "embedding_cov": f32(self.embedding_cov),
            **classifier_to_tensors(self.classifier),
        }
        tensors.update({f"figure.{k}": torch.tensor(float(v), dtype=torch.float64) for k, v in self.figures.items()})
        return tensors

    @classmethod
    def from_tensors(cls, tensors: dict[str, torch.Tensor]) -> "RealReference":
        """Inverse of :meth:`to_tensors`; a ``ValueError`` names the missing entries of a foreign dict."""
        needed = ("pitches", "note_samples", "mfcc_embeddings", "mfcc_pitches", "mfcc_mean", "mfcc_std",
                  "ndb_centres", "ndb_real_proportions", "ndb_num_real", "embedding_mean", "embedding_cov")
        missing = [k for k in needed if k not in tensors]
        if missing:
            raise ValueError(f"not an audio evaluation reference: missing {', '.join(missing)}")
        a = {k: tensors[k].detach().cpu().numpy() for k in needed}
        return cls(
            pitches=a["pitches"], note_samples=int(a["note_samples"]), mfcc_embeddings=a["mfcc_embeddings"],
            mfcc_pitches=a["mfcc_pitches"], mfcc_mean=a["mfcc_mean"], mfcc_std=a["mfcc_std"],
            ndb_bins=NDBBins(a["ndb_centres"], a["ndb_real_proportions"].astype(np.float64), int(a["ndb_num_real"])),
            classifier=classifier_from_tensors(tensors), embedding_mean=a["embedding_mean"],
            embedding_cov=a["embedding_cov"],
            figures={k[len("figure."):]: float(v) for k, v in tensors.items() if k.startswith("figure.")})


def _open_corpus(corpus):
    if isinstance(corpus, (str, os.PathLike)):
        from ..data.nsynth import read_corpus
        return read_corpus(corpus)
    return corpus


def _labels(corpus) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    records = corpus.records
    return (np.array([r.pitch for r in records], np.int64), np.array([r.instrument_family for r in records], np.int64),
            np.array([r.instrument for r in records], np.int64))


def _fit_to_length(audio: np.ndarray, samples: int) -> np.ndarray:
    """Crop or zero-pad notes ``[N, T]`` to ``[N, samples]`` (a short note is a note that ends early)."""
    if audio.shape[1] >= samples:
        return audio[:, :samples]
    return np.pad(audio, ((0, 0), (0, samples - audio.shape[1])))


def build_real_reference(corpus, pitches: Iterable[int] = range(PITCH_MIN, PITCH_MAX + 1), seed: int = 0,
                         held_out_fraction: float = 0.2, ndb_k: int = 50, pitch_notes: str = "held_out",
                         classifier_epochs: int = 25, n_jobs: int | None = None) -> RealReference:
    """Split ``corpus`` (NSynthCorpus or path; notes at ``pitches`` only) by note within each instrument, train
    the classifier and fit NDB cells on the train part, and measure the held-out part as the reference figures.

    ``pitch_notes="all"`` runs pYIN on every real note for ``real_pitch_accuracy`` (steadier, slower).
    """
    if pitch_notes not in ("all", "held_out"):
        raise ValueError(f"pitch_notes must be 'all' or 'held_out', got {pitch_notes!r}")
    wanted = sorted({int(p) for p in pitches})
    corpus = _open_corpus(corpus)
    corpus = corpus.subset(i for i, r in enumerate(corpus.records) if r.pitch in set(wanted))
    if len(corpus) < 8:
        raise ValueError(f"the real corpus has {len(corpus)} notes at the asked pitches; need at least 8")
    train, held = corpus.split(held_out_fraction, seed=seed, by="note")
    if len(held) < 2:
        raise ValueError(f"held_out_fraction {held_out_fraction} holds out {len(held)} notes; need at least 2")
    timings, started = {}, time.perf_counter()
    train_audio, held_audio = train.load_all(), held.load_all()
    (train_pitch, train_family, _), (held_pitch, held_family, _) = _labels(train), _labels(held)
    all_audio = np.concatenate([train_audio, held_audio])
    all_pitch = np.concatenate([train_pitch, held_pitch])
    timings["real_load_seconds"] = time.perf_counter() - started

    started = time.perf_counter()
    mfcc = mfcc_stats(all_audio)
    train_spectra, held_spectra = note_spectra(train_audio), note_spectra(held_audio)
    bins = fit_ndb_bins(train_spectra, ndb_k, seed)
    timings["real_features_seconds"] = time.perf_counter() - started

    config = NoteClassifierConfig(pitch_min=min(wanted), pitch_max=max(wanted))
    trained = train_note_classifier(train_audio, train_pitch, train_family, config=config,
                                    epochs=classifier_epochs, seed=seed)
    timings["classifier_train_seconds"] = trained.train_seconds
    _, _, train_emb = classify_notes(trained.model, train_audio)
    held_class_pitch, held_class_family = classifier_accuracy(trained.model, held_audio, held_pitch, held_family)
    _, _, held_emb = classify_notes(trained.model, held_audio)
    emb_mean, emb_cov = gaussian_stats(train_emb)

    started = time.perf_counter()
    pitch_audio, pitch_asked = (all_audio, all_pitch) if pitch_notes == "all" else (held_audio, held_pitch)
    pitch_records = (train.records + held.records) if pitch_notes == "all" else list(held.records)
    real_pitch = pitch_accuracy(pitch_audio, pitch_asked, n_jobs=n_jobs)
    timings["real_pitch_seconds"] = time.perf_counter() - started

    # Diversity reference: a random half of the real notes at each pitch, as if generated, against all of them.
    rng = np.random.default_rng(seed)
    by_pitch = group_by_pitch(mfcc, all_pitch)
    half = {p: e[rng.permutation(len(e))[:(len(e) + 1) // 2]] for p, e in by_pitch.items()}
    mean, std = mfcc.mean(0), mfcc.std(0)
    held_ndb = ndb_against_bins(bins, held_spectra)
    figures = {
        "real_pitch_accuracy": real_pitch.accuracy, "real_pitch_entropy": pitch_entropy(real_pitch.detected),
        "real_ndb": held_ndb.count, "real_ndb_fraction": held_ndb.fraction,
        "real_frechet_distance": frechet_distance_from_stats(emb_mean, emb_cov, *gaussian_stats(held_emb)),
        "real_diversity_ratio": diversity_ratio(half, by_pitch, mean, std),
        "real_classifier_pitch_accuracy": held_class_pitch, "real_classifier_family_accuracy": held_class_family,
        "num_real_train": len(train), "num_real_held_out": len(held), "num_real_pitch_notes": len(pitch_asked),
        "ndb_k": bins.centres.shape[0], **timings,
    }
    return RealReference(np.array(wanted), int(all_audio.shape[1]), mfcc, all_pitch, mean, std, bins,
                         trained.model, emb_mean, emb_cov, figures,
                         details={"pitch_records": pitch_records, "pitch_result": real_pitch})


def build_reference(corpus, pitches: Iterable[int] = range(PITCH_MIN, PITCH_MAX + 1), seed: int = 0,
                    **options) -> dict[str, torch.Tensor]:
    """A storable reference (``{name: tensor}``, ~0.3 MB; ``safetensors.torch.save_file`` it) so that
    :func:`evaluate_notes` works without the corpus. pYIN runs on every real note (``pitch_notes="all"``)."""
    options.setdefault("pitch_notes", "all")
    return build_real_reference(corpus, pitches, seed, **options).to_tensors()


def matched_frechet_distance(reference: RealReference, embeddings: np.ndarray, seed: int = 0,
                             draws: int = 4) -> float:
    """Fréchet distance of generated embeddings ``[N, E]`` to the train split, on as many notes as the real
    reference had: the figure's small-sample bias is large (FluidR3, 64-d: held-out 96 notes → 29.7, 48 → 58),
    so with more generated than held-out notes it averages ``draws`` seeded subsets of the held-out size."""
    n_match = int(reference.figures.get("num_real_held_out", len(embeddings)))
    if len(embeddings) < 2:
        return float("nan")
    def distance(subset: np.ndarray) -> float:
        return frechet_distance_from_stats(reference.embedding_mean, reference.embedding_cov, *gaussian_stats(subset))
    if len(embeddings) <= n_match or n_match < 2:
        return distance(embeddings)
    rng = np.random.default_rng(seed)
    return float(np.mean([distance(embeddings[rng.permutation(len(embeddings))[:n_match]]) for _ in range(draws)]))


def _finite_notes(audio: np.ndarray, samples: int) -> tuple[np.ndarray, np.ndarray]:
    """Notes ``[N, T]`` fitted to ``samples``, non-finite notes scored as silence; and which were finite ``[N]``."""
    finite = np.isfinite(audio).all(axis=1)
    return _fit_to_length(np.where(finite[:, None], audio, 0.0).astype(np.float32), samples), finite


def _generated(generate_fn: GenerateFn, asked: torch.Tensor, seed: int) -> np.ndarray:
    """``generate_fn(asked, seed)`` as float32 ``[len(asked), T]``; ValueError for any other shape."""
    audio = np.asarray(_as_numpy(generate_fn(asked, seed)), dtype=np.float32)
    if audio.ndim != 2 or audio.shape[0] != len(asked):
        raise ValueError(f"generate_fn returned shape {audio.shape}; expected [{len(asked)}, samples]")
    return audio


def score_generated(audio, asked_pitches, reference: RealReference, n_jobs: int | None = None,
                    fd_audio=None) -> dict[str, float]:
    """All figures for generated notes ``audio`` ``[N, T]`` (16 kHz) asked at MIDI ``asked_pitches`` ``[N]``;
    ``fd_audio`` ``[M, T]``: other generated notes to take the Fréchet distance on instead (as many as the real
    held-out notes, so both sides of the comparison carry the same small-sample bias)."""
    audio = np.asarray(_as_numpy(audio), dtype=np.float32)
    asked = np.asarray(_as_numpy(asked_pitches), dtype=np.int64).reshape(-1)
    if audio.ndim != 2 or len(audio) != len(asked):
        raise ValueError(f"generated audio must be [N, T] with N = {len(asked)} notes, got shape {audio.shape}")
    audio, finite = _finite_notes(audio, reference.note_samples)
    timings, started = {}, time.perf_counter()
    detected = pitch_accuracy(audio, asked, n_jobs=n_jobs)
    timings["pitch_seconds"] = time.perf_counter() - started
    started = time.perf_counter()
    fake_ndb = ndb_against_bins(reference.ndb_bins, note_spectra(audio))
    class_pitch, _, embeddings = classify_notes(reference.classifier, audio)
    fd_embeddings = embeddings
    if fd_audio is not None:
        fd_audio, _ = _finite_notes(np.asarray(_as_numpy(fd_audio), dtype=np.float32), reference.note_samples)
        _, _, fd_embeddings = classify_notes(reference.classifier, fd_audio)
    mfcc = mfcc_stats(audio)
    real_by_pitch = group_by_pitch(reference.mfcc_embeddings, reference.mfcc_pitches)
    timings["features_seconds"] = time.perf_counter() - started
    figures = {
        "pitch_accuracy": detected.accuracy, "pitch_entropy": pitch_entropy(detected.detected),
        "ndb": fake_ndb.count, "ndb_fraction": fake_ndb.fraction,
        "frechet_distance": matched_frechet_distance(reference, fd_embeddings),
        "num_frechet_notes": len(fd_embeddings),
        "diversity_ratio": diversity_ratio(group_by_pitch(mfcc, asked), real_by_pitch,
                                           reference.mfcc_mean, reference.mfcc_std),
        "classifier_pitch_accuracy": float((class_pitch == asked).mean()),
        "num_generated": len(audio), "num_nonfinite_notes": int((~finite).sum()),
    }
    return {**figures, **timings}


def evaluate_notes(generate_fn: GenerateFn, real_corpus=None,
                   pitches: Iterable[int] = range(PITCH_MIN, PITCH_MAX + 1), n_per_pitch: int = 4, seed: int = 0,
                   reference: dict[str, torch.Tensor] | RealReference | None = None,
                   **reference_options) -> dict[str, float]:
    """Generate ``n_per_pitch`` notes at each pitch with ``generate_fn(pitches LongTensor [N], seed) -> [N, T]``
    and score them beside the real reference: from ``real_corpus`` (NSynthCorpus or path; ``reference_options``
    go to :func:`build_real_reference`) or, without one, from a stored ``reference``.

    Returns a flat dict of floats: the figures listed in the module docstring, their ``real_*`` references,
    counts (``num_*``) and timings (``*_seconds``). Non-finite generated notes are scored as silence and counted.
    """
    pitches = sorted({int(p) for p in pitches})
    if n_per_pitch < 1 or not pitches:
        raise ValueError("evaluate_notes needs at least one pitch and n_per_pitch ≥ 1")
    if real_corpus is not None:
        real = build_real_reference(real_corpus, pitches, seed, **reference_options)
    elif reference is not None:
        real = reference if isinstance(reference, RealReference) else RealReference.from_tensors(reference)
    else:
        raise ValueError("evaluate_notes needs a real_corpus or a stored reference (see build_reference)")
    asked = torch.tensor(np.repeat(pitches, n_per_pitch), dtype=torch.long)
    started = time.perf_counter()
    audio = _generated(generate_fn, asked, seed)
    # the real Fréchet figure is measured on the held-out notes: take the generated one on as many notes
    n_match = int(real.figures.get("num_real_held_out", 0))
    fd_audio = None
    if n_match > len(asked):
        fd_asked = torch.tensor([pitches[i % len(pitches)] for i in range(n_match)], dtype=torch.long)
        fd_audio = _generated(generate_fn, fd_asked, seed + 1)
    generate_seconds = time.perf_counter() - started
    scores = score_generated(audio, asked, real, n_jobs=reference_options.get("n_jobs"), fd_audio=fd_audio)
    return {**scores, **real.figures, "generate_seconds": generate_seconds, "n_per_pitch": n_per_pitch}
