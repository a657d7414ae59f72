"""Model-free evaluation of generated notes: pitch accuracy, pitch entropy, NDB, timbre diversity, features.

Every function takes plain arrays: ``audio`` is float32 ``[N, T]`` (mono, ``sr`` Hz, 16 kHz in this project),
pitches are MIDI note numbers ``[N]``. Each figure means little alone; :mod:`.evaluation` reports each one
beside the same figure for held-out real notes (the reference), and NOTES.md explains why no one figure
suffices (a collapsed model is in tune; a diverse one may be noise).

- :func:`pitch_accuracy` — share of notes whose pYIN median f0 over the held part lies within ±0.5 semitone of
  the asked pitch (unvoiced → wrong), with the detected pitches.
- :func:`pitch_entropy` — entropy (nats) of the histogram of detected pitches rounded to semitones.
- :func:`ndb` — Number of statistically-Different Bins (Richardson & Weiss 2018) over k-means cells of real
  log-mel spectra (:func:`note_spectra`).
- :func:`diversity_ratio` — mean pairwise distance of MFCC-statistics embeddings (:func:`mfcc_stats`) of notes
  at one pitch, generated ÷ real, averaged over pitches (0 = mode collapse, ≈ 1 = as varied as the corpus).
"""
from __future__ import annotations

import math
import sys
import threading
import warnings
from typing import Mapping, NamedTuple, Sequence

import numpy as np

from ..constants import SAMPLE_RATE

# The held (sustained) part of an NSynth note analysed for pitch: after the attack transient, before note-off.
HELD_START_SECONDS = 0.25
HELD_END_SECONDS = 2.5
PITCH_TOLERANCE_SEMITONES = 0.5
# pYIN searches ±13 semitones around the asked pitch: wide enough that a note an octave off is detected as
# such (not folded back onto the asked pitch through a sub-harmonic), narrow enough to keep pYIN fast.
PITCH_SEARCH_SEMITONES = 13.0
PYIN_RESOLUTION = 0.25          # pitch bins per semitone = 1 / resolution (librosa's default 0.1 is 2.5× slower)
PYIN_HOP_SECONDS = 0.064        # 35 frames over the held part: plenty for a median, 2× faster than 32 ms
# pYIN's Viterbi allows f0 jumps up to this many octaves per second (librosa's default 35.92 lets one 64-ms
# frame jump further than the whole ±13-semitone search range, which librosa rejects); a held note barely moves.
PYIN_MAX_TRANSITION_OCTAVES_PER_SECOND = 12.0
_PARALLEL_MIN_NOTES = 16        # below this, worker start-up costs more than it saves


class PitchResult(NamedTuple):
    """Result of :func:`pitch_accuracy`: ``accuracy`` in [0, 1]; ``detected`` ``[N]`` float MIDI (NaN = no f0);
    ``correct`` ``[N]`` bool."""

    accuracy: float
    detected: np.ndarray
    correct: np.ndarray


def detect_pitch(note: np.ndarray, asked_pitch: float, sr: int = SAMPLE_RATE) -> float:
    """Median pYIN f0 of one note's held part (0.25–2.5 s), as a fractional MIDI pitch; NaN when no frame is voiced.

    ``note`` ``[T]`` float at ``sr`` Hz. The search range is the asked pitch ±13 semitones (capped below
    Nyquist); only frames pYIN marks voiced count.
    """
    import librosa

    note = np.asarray(note, dtype=np.float32)
    segment = note[int(HELD_START_SECONDS * sr):int(HELD_END_SECONDS * sr)]
    if segment.size == 0 or not np.isfinite(segment).all() or np.abs(segment).max() < 1e-6:
        return math.nan
    f_asked = 440.0 * 2.0 ** ((asked_pitch - 69.0) / 12.0)
    fmin = f_asked * 2.0 ** (-PITCH_SEARCH_SEMITONES / 12.0)
    fmax = min(f_asked * 2.0 ** (PITCH_SEARCH_SEMITONES / 12.0), 0.45 * sr)
    if fmin >= fmax:
        return math.nan          # the asked pitch is too close to Nyquist to be measured
    # Analysed at sr as given (downsampling low notes was tried: resampling cost more than it saved). The
    # frame must hold two periods of fmin (pYIN's difference function needs lag ≤ frame / 2).
    frame_length = 1 << max(8, math.ceil(math.log2(2.2 * sr / fmin)))
    hop_length = max(1, int(round(PYIN_HOP_SECONDS * sr)))
    if segment.size < frame_length:
        return math.nan
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # librosa warns about frame/fmin trade-offs it then handles itself
        f0, voiced, _ = librosa.pyin(segment, fmin=fmin, fmax=fmax, sr=sr, frame_length=frame_length,
                                     hop_length=hop_length, resolution=PYIN_RESOLUTION, center=False,
                                     max_transition_rate=PYIN_MAX_TRANSITION_OCTAVES_PER_SECOND)
    f0 = f0[voiced & np.isfinite(f0)]
    if f0.size == 0:
        return math.nan
    return float(np.median(69.0 + 12.0 * np.log2(f0 / 440.0)))


def _detect_chunk(notes: np.ndarray, pitches: np.ndarray, sr: int) -> list[float]:
    return [detect_pitch(n, float(p), sr) for n, p in zip(notes, pitches)]


def detect_pitches(audio: np.ndarray, pitches: Sequence[float], sr: int = SAMPLE_RATE,
                   n_jobs: int | None = None) -> np.ndarray:
    """:func:`detect_pitch` for many notes: ``audio`` ``[N, T]`` → detected MIDI ``[N]`` (NaN = no f0).

    ``n_jobs`` worker processes (default 1: library calls fork nothing unless asked; forked on Linux only from
    a single-threaded process, else in-process) each take an interleaved share of the notes.
    """
    audio = _as_numpy(audio).astype(np.float32, copy=False)
    pitches = np.asarray(_as_numpy(pitches), dtype=np.float64).reshape(-1)
    if audio.ndim != 2 or audio.shape[0] != pitches.shape[0]:
        raise ValueError(f"audio must be [N, T] with N = len(pitches); got {audio.shape}, {len(pitches)} pitches")
    n_jobs = 1 if n_jobs is None else max(1, int(n_jobs))
    if n_jobs == 1 or len(pitches) < _PARALLEL_MIN_NOTES:
        return np.asarray(_detect_chunk(audio, pitches, sr), dtype=np.float64)
    if not (sys.platform.startswith("linux") and threading.active_count() == 1):
        # fresh interpreters (joblib's loky) compiling librosa's numba kernels at once were seen to
        # segfault on a new install; without a safe fork, run in-process
        return np.asarray(_detect_chunk(audio, pitches, sr), dtype=np.float64)
    # one note first in this process compiles numba's kernels once, before the workers fork
    first = _detect_chunk(audio[:1], pitches[:1], sr)
    # Interleaved chunks balance the load: low notes (long frames) cost more than high ones.
    chunks = [1 + np.arange(len(pitches) - 1)[j::n_jobs] for j in range(n_jobs)]
    # Forked workers inherit librosa, numba's compiled code and the audio: ~0.1 s to start, where fresh
    # interpreters took ~10 s to import librosa on a busy 2-core machine. Only forked from a
    # single-threaded process (another thread could hold a lock the child would inherit).
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    with ProcessPoolExecutor(n_jobs, mp_context=multiprocessing.get_context("fork")) as pool:
        results = list(pool.map(_detect_chunk, [audio[i] for i in chunks], [pitches[i] for i in chunks],
                                [sr] * n_jobs))
    detected = np.empty(len(pitches), dtype=np.float64)
    detected[0] = first[0]
    for idx, values in zip(chunks, results):
        detected[idx] = values
    return detected


def pitch_accuracy(audio: np.ndarray, pitches: Sequence[float], sr: int = SAMPLE_RATE,
                   tolerance: float = PITCH_TOLERANCE_SEMITONES, n_jobs: int | None = None) -> PitchResult:
    """Share of notes in tune: ``audio`` ``[N, T]`` float at ``sr`` Hz, asked MIDI ``pitches`` ``[N]``.

    A note counts when its detected pitch (:func:`detect_pitch`) is within ``tolerance`` semitones of the
    asked one; a note with no voiced frame counts as wrong. Returns :class:`PitchResult`.
    """
    pitches = np.asarray(_as_numpy(pitches), dtype=np.float64).reshape(-1)
    if len(pitches) == 0:
        raise ValueError("pitch_accuracy needs at least one note")
    detected = detect_pitches(audio, pitches, sr, n_jobs=n_jobs)
    with np.errstate(invalid="ignore"):
        correct = np.abs(detected - pitches) <= tolerance   # NaN compares False: no f0 is wrong
    return PitchResult(float(correct.mean()), detected, correct)


def pitch_entropy(detected: Sequence[float]) -> float:
    """Entropy (nats) of the histogram of detected pitches rounded to the nearest semitone; NaNs are skipped.

    Uniform over 61 pitches → ln 61 ≈ 4.11; a model that plays one pitch → 0.
    """
    detected = np.asarray(_as_numpy(detected), dtype=np.float64).reshape(-1)
    detected = detected[np.isfinite(detected)]
    if detected.size == 0:
        return 0.0
    _, counts = np.unique(np.rint(detected).astype(np.int64), return_counts=True)
    p = counts / counts.sum()
    return float(-(p * np.log(p)).sum())


# --- spectra and NDB -------------------------------------------------------------------------------------
SPECTRUM_N_FFT = 1024           # 64 ms at 16 kHz
SPECTRUM_HOP = 256
SPECTRUM_N_MELS = 40
SPECTRUM_TIME_BLOCKS = 8        # a 4-s note → 8 blocks of 0.5 s
LOG_FLOOR = 1e-6                # power floor before the log (−60 dB re full-scale sine power)
NDB_ALPHA = 0.05



def filterbank_spectrogram(audio: np.ndarray, filterbank: np.ndarray, n_fft: int, hop: int,
                           floor: float = LOG_FLOOR, chunk: int = 64) -> np.ndarray:
    """Log power through a filterbank: ``audio`` ``[N, T]`` → ``ln(filterbank @ |STFT|² + floor)``
    float32 ``[N, F, frames]`` (Hann window, zero-padded centred frames, as librosa). ``filterbank``
    ``[F, n_fft // 2 + 1]``. Power is unnormalised: a full-scale sine peaks near (n_fft / 4)²."""
    import torch

    audio = torch.as_tensor(_as_numpy(audio), dtype=torch.float32)
    if audio.ndim != 2:
        raise ValueError(f"audio must be [N, T], got shape {tuple(audio.shape)}")
    bank = torch.as_tensor(filterbank, dtype=torch.float32)
    window = torch.hann_window(n_fft)
    out = []
    with torch.no_grad():
        for start in range(0, audio.shape[0], chunk):  # chunks bound the complex STFT's memory
            spec = torch.stft(audio[start:start + chunk], n_fft, hop, window=window, pad_mode="constant",
                              return_complex=True)
            out.append(torch.log(torch.matmul(bank, spec.real ** 2 + spec.imag ** 2) + floor))
    return torch.cat(out).numpy() if out else np.zeros((0, bank.shape[0], 0), np.float32)


def note_spectra(audio: np.ndarray, sr: int = SAMPLE_RATE) -> np.ndarray:
    """Low-resolution log-mel spectra for NDB: ``audio`` ``[N, T]`` → float32 ``[N, 40 mels × 8 time blocks]``
    (log power averaged over 0.5-s blocks of a 4-s note; the block length scales with ``T``)."""
    import librosa

    mel = librosa.filters.mel(sr=sr, n_fft=SPECTRUM_N_FFT, n_mels=SPECTRUM_N_MELS, fmin=20.0)
    spec = filterbank_spectrogram(audio, mel, SPECTRUM_N_FFT, SPECTRUM_HOP)
    blocks = np.array_split(np.arange(spec.shape[2]), SPECTRUM_TIME_BLOCKS)
    pooled = np.stack([spec[:, :, b].mean(axis=2) for b in blocks], axis=2)
    return pooled.reshape(len(pooled), -1).astype(np.float32)


class NDBBins(NamedTuple):
    """k-means cells of real spectra: ``centres`` ``[k, D]``, ``real_proportions`` ``[k]`` (sum 1), ``num_real``."""

    centres: np.ndarray
    real_proportions: np.ndarray
    num_real: int


class NDBResult(NamedTuple):
    """``count`` of bins whose share differs significantly, ``fraction`` = count / k, ``k``, both proportions
    ``[k]`` and the per-bin ``different`` flags ``[k]``."""

    count: int
    fraction: float
    k: int
    real_proportions: np.ndarray
    fake_proportions: np.ndarray
    different: np.ndarray


def fit_ndb_bins(real_spectra: np.ndarray, k: int = 50, seed: int = 0) -> NDBBins:
    """k-means (scikit-learn, seeded) on real spectra ``[N, D]``; k is capped at N // 2 (≥ 2 notes a bin)."""
    from sklearn.cluster import KMeans

    real_spectra = np.asarray(_as_numpy(real_spectra), dtype=np.float64)
    if real_spectra.ndim != 2 or len(real_spectra) < 4:
        raise ValueError(f"NDB needs real spectra [N ≥ 4, D], got shape {real_spectra.shape}")
    k = max(2, min(int(k), len(real_spectra) // 2))
    kmeans = KMeans(n_clusters=k, n_init=4, random_state=seed).fit(real_spectra)
    counts = np.bincount(kmeans.labels_, minlength=k)
    return NDBBins(kmeans.cluster_centers_.astype(np.float32), counts / counts.sum(), len(real_spectra))


def ndb_against_bins(bins: NDBBins, fake_spectra: np.ndarray, alpha: float = NDB_ALPHA) -> NDBResult:
    """Assign fakes ``[M, D]`` to the nearest centre; two-proportion z-test (pooled) per bin at level ``alpha``."""
    from scipy.stats import norm

    fake = np.asarray(_as_numpy(fake_spectra), dtype=np.float64)
    centres = np.asarray(bins.centres, dtype=np.float64)
    if fake.ndim != 2 or fake.shape[1] != centres.shape[1] or len(fake) == 0:
        raise ValueError(f"fake spectra must be [M ≥ 1, {centres.shape[1]}], got shape {fake.shape}")
    distances = (fake ** 2).sum(1)[:, None] - 2.0 * fake @ centres.T + (centres ** 2).sum(1)[None, :]
    k = len(centres)
    fake_share = np.bincount(distances.argmin(1), minlength=k) / len(fake)
    real_share = np.asarray(bins.real_proportions, dtype=np.float64)
    n_real, n_fake = int(bins.num_real), len(fake)
    pooled = (real_share * n_real + fake_share * n_fake) / (n_real + n_fake)
    stderr = np.sqrt(pooled * (1.0 - pooled) * (1.0 / n_real + 1.0 / n_fake))
    with np.errstate(divide="ignore", invalid="ignore"):
        z = np.where(stderr > 0, (real_share - fake_share) / stderr, 0.0)
    different = np.abs(z) > norm.ppf(1.0 - alpha / 2.0)
    count = int(different.sum())
    return NDBResult(count, count / k, k, real_share, fake_share, different)


def ndb(real_spectra: np.ndarray, fake_spectra: np.ndarray, k: int = 50, alpha: float = NDB_ALPHA,
        seed: int = 0) -> NDBResult:
    """Number of statistically-Different Bins (Richardson & Weiss 2018) of fakes ``[M, D]`` against real
    spectra ``[N, D]`` (e.g. :func:`note_spectra`): :func:`fit_ndb_bins` then :func:`ndb_against_bins`.

    A sample against itself scores 0; the expected count for two samples of one distribution is ≈ alpha · k.
    """
    return ndb_against_bins(fit_ndb_bins(real_spectra, k, seed), fake_spectra, alpha)


# --- timbre diversity ----------------------------------------------------------------------------------------
N_MFCC = 20


MFCC_TOP_DB = 80.0              # per-note dynamic range kept before the DCT (librosa's power_to_db default)


def mfcc_stats(audio: np.ndarray, sr: int = SAMPLE_RATE) -> np.ndarray:
    """Timbre embedding: per-note mean and std over time of 20 MFCCs → float32 ``[N, 40]``.

    librosa's recipe (128-band mel power, n_fft 2048, hop 512, dB floored ``MFCC_TOP_DB`` below the note's own
    peak, orthonormal DCT-II) done batched in torch. Unlike ``librosa.feature.mfcc`` on a batch, whose dB floor
    is set by the loudest note of the whole batch, each note's embedding depends on that note alone.
    """
    import librosa
    from scipy.fft import dct

    mel = librosa.filters.mel(sr=sr, n_fft=2048, n_mels=128)
    log_power = filterbank_spectrogram(audio, mel, 2048, 512, floor=1e-10).astype(np.float64)  # [N, 128, t]
    decibels = (10.0 / math.log(10.0)) * log_power
    decibels = np.maximum(decibels, decibels.max(axis=(1, 2), keepdims=True) - MFCC_TOP_DB)
    mfcc = dct(decibels, type=2, norm="ortho", axis=1)[:, :N_MFCC]                   # [N, 20, frames]
    return np.concatenate([mfcc.mean(axis=2), mfcc.std(axis=2)], axis=1).astype(np.float32)


def mean_pairwise_distance(embeddings: np.ndarray) -> float:
    """Mean Euclidean distance over all pairs of rows of ``[n ≥ 2, D]``."""
    emb = np.asarray(embeddings, dtype=np.float64)
    distances = np.sqrt(((emb[:, None, :] - emb[None, :, :]) ** 2).sum(-1))
    return float(distances.sum() / (len(emb) * (len(emb) - 1)))


def diversity_per_pitch(fake_by_pitch: Mapping[int, np.ndarray], real_by_pitch: Mapping[int, np.ndarray],
                        mean: np.ndarray | None = None, std: np.ndarray | None = None) -> dict[int, float]:
    """Per pitch: mean pairwise distance of fake embeddings ÷ that of real ones (both ``[n ≥ 2, D]``).

    Embeddings (e.g. :func:`mfcc_stats`) are standardised by ``mean``/``std`` ``[D]``, by default those of all
    the real embeddings given. Pitches lacking two notes on either side, or with identical real notes, are skipped.
    """
    real_all = np.concatenate([np.asarray(_as_numpy(v), np.float64) for v in real_by_pitch.values()])
    mean = real_all.mean(0) if mean is None else np.asarray(_as_numpy(mean), np.float64)
    std = real_all.std(0) if std is None else np.asarray(_as_numpy(std), np.float64)
    std = np.where(std > 1e-8, std, 1.0)
    ratios = {}
    for pitch in sorted(set(fake_by_pitch) & set(real_by_pitch)):
        fake, real = (np.asarray(_as_numpy(x), np.float64) for x in (fake_by_pitch[pitch], real_by_pitch[pitch]))
        if len(fake) < 2 or len(real) < 2:
            continue
        real_spread = mean_pairwise_distance((real - mean) / std)
        if real_spread > 0:
            ratios[int(pitch)] = mean_pairwise_distance((fake - mean) / std) / real_spread
    return ratios


def diversity_ratio(fake_by_pitch: Mapping[int, np.ndarray], real_by_pitch: Mapping[int, np.ndarray],
                    mean: np.ndarray | None = None, std: np.ndarray | None = None) -> float:
    """Timbre diversity of generated notes relative to the corpus, averaged over pitches (NaN if no pitch
    qualifies). ``{pitch: embeddings [n, D]}`` on both sides; see :func:`diversity_per_pitch`.

    0 = every z gives the same note (mode collapse); ≈ 1 = as varied as the corpus's instruments; > 1 = more.
    """
    ratios = diversity_per_pitch(fake_by_pitch, real_by_pitch, mean, std)
    return float(np.mean(list(ratios.values()))) if ratios else math.nan


def group_by_pitch(embeddings: np.ndarray, pitches: Sequence[int]) -> dict[int, np.ndarray]:
    """``embeddings`` ``[N, D]`` with ``pitches`` ``[N]`` → ``{pitch: embeddings of that pitch [n, D]}``."""
    embeddings, pitches = _as_numpy(embeddings), np.asarray(_as_numpy(pitches)).reshape(-1)
    return {int(p): embeddings[pitches == p] for p in np.unique(pitches)}


def _as_numpy(x) -> np.ndarray:
    """torch tensors (any device) and sequences → numpy."""
    return x.detach().cpu().numpy() if hasattr(x, "detach") else np.asarray(x)
