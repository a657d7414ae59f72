"""The "living timbre" note descriptors and the compact real-note reference a release carries for them.

Descriptors of a 4-s note (16 kHz, note-off at 3 s), all from :mod:`..dsp.features` or defined here:

=====================  ==========================================================================================
``decay_db``           level change from 0.1–0.6 s to 2.0–2.5 s (:func:`..dsp.features.decay_db`)
``movement_db``        std of the frame-to-frame level change over 0.6–2.5 s (``sustain_movement_db`` there)
``loudness_db``        power-mean frame level over 0.05–1.0 s (dB re full scale)
``centroid_hz``        power-weighted spectral centroid over 0.05–1.0 s (STFT 1024, hop 256, all frames pooled)
``hnr_db``             harmonic-to-noise ratio over 0.1–2.5 s: power of the STFT bins (4096-point Hann, 3.9 Hz)
                       within ±f0/4 of a harmonic k·f0 (k ≥ 1, f0 of the asked pitch) over the power of the rest
=====================  ==========================================================================================

:class:`LivingReference` holds them for real notes — per GM program, at pitches 36/48/60/72 × velocities
40/80/120 — plus each note's log-mel (float16, the reference velocity only), its level curve, and for held-out
programs the reference-velocity audio itself (int16, what a timbre fit needs). About 0.14 MB per program, plus
0.5 MB per held-out program; ``to_tensors``/``from_tensors`` make it safetensors-ready.
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Iterable

import numpy as np
import torch

from ..constants import NOTE_SAMPLES, SAMPLE_RATE
from ..dsp.features import decay_db, frame_times, level_db, logmel_db, sustain_movement_db

__all__ = ["DESCRIPTORS", "LivingReference", "build_living_reference", "living_reference_for_corpus",
           "note_descriptors", "spectral_centroid_hz", "harmonic_to_noise_db", "loudness_db"]

LIVING_PITCHES = (36, 48, 60, 72)
LIVING_VELOCITIES = (40, 80, 120)
REFERENCE_VELOCITY = 80
DESCRIPTORS = ("decay_db", "movement_db", "loudness_db", "centroid_hz", "hnr_db")
HNR_N_FFT, HNR_HOP = 4096, 1024


def _tensor(audio) -> torch.Tensor:
    audio = torch.as_tensor(np.asarray(audio, dtype=np.float32) if not torch.is_tensor(audio) else audio)
    return audio.float().reshape(-1, audio.shape[-1])


def _power_spectrogram(audio: torch.Tensor, n_fft: int, hop: int) -> torch.Tensor:
    """[B, T] → [B, n_fft // 2 + 1, frames] power (Hann window, centred frames)."""
    spec = torch.stft(audio, n_fft, hop, window=torch.hann_window(n_fft), center=True, return_complex=True)
    return spec.abs().pow(2)


def loudness_db(level: torch.Tensor, start: float = 0.05, end: float = 1.0) -> torch.Tensor:
    """[B, F] frame level dB → [B] power mean over ``start``–``end`` s, in dB."""
    t = frame_times(level.shape[-1])
    span = level[:, (t >= start) & (t < end)].double()
    return (10.0 * torch.log10(torch.pow(10.0, span / 10.0).mean(-1) + 1e-12)).float()


def spectral_centroid_hz(audio, start: float = 0.05, end: float = 1.0) -> torch.Tensor:
    """[B, T] audio → [B] power-weighted centroid (Hz) of the frames centred in ``start``–``end`` s
    (STFT 1024, hop 256; every bin of every frame weighted by its power). A silent note gives 0 Hz."""
    power = _power_spectrogram(_tensor(audio), 1024, 256)
    t = torch.arange(power.shape[-1]) * (256 / SAMPLE_RATE)
    power = power[..., (t >= start) & (t < end)].sum(-1).double()                       # [B, bins]
    freqs = torch.linspace(0.0, SAMPLE_RATE / 2, power.shape[-1], dtype=torch.float64)
    return ((power * freqs).sum(-1) / power.sum(-1).clamp_min(1e-20)).float()


def harmonic_to_noise_db(audio, pitches, start: float = 0.1, end: float = 2.5) -> torch.Tensor:
    """[B, T] audio, MIDI ``pitches`` [B] → [B] harmonic-to-noise ratio in dB.

    The mean power spectrum over frames centred in ``start``–``end`` s (4096-point Hann STFT, hop 1024) is split
    into "harmonic" bins — within ±f0/4 of the nearest harmonic k·f0, k ≥ 1, with f0 the equal-tempered
    frequency of the asked pitch — and the rest; the figure is 10·log10(harmonic power / rest). A pure
    harmonic tone reaches the window's leakage limit (≈ 60 dB); white noise gives ≈ 0 dB.
    """
    audio = _tensor(audio)
    power = _power_spectrogram(audio, HNR_N_FFT, HNR_HOP)
    t = torch.arange(power.shape[-1]) * (HNR_HOP / SAMPLE_RATE)
    power = power[..., (t >= start) & (t <= end)].mean(-1).double()                     # [B, bins]
    freqs = torch.linspace(0.0, SAMPLE_RATE / 2, power.shape[-1], dtype=torch.float64)[None]
    f0 = 440.0 * 2.0 ** ((torch.as_tensor(pitches, dtype=torch.float64).reshape(-1, 1) - 69.0) / 12.0)
    nearest = (freqs / f0).round().clamp_min(1.0) * f0
    harmonic = (freqs - nearest).abs() <= f0 / 4
    h = (power * harmonic).sum(-1)
    n = (power * ~harmonic).sum(-1)
    return (10.0 * torch.log10((h + 1e-20) / (n + 1e-20))).float()


def note_descriptors(audio, pitches) -> dict[str, np.ndarray]:
    """Notes ``[B, T]`` (16 kHz) at MIDI ``pitches [B]`` → ``{descriptor: float32 [B]}`` (see module doc) plus
    ``"level"`` ``[B, F]`` (frame level, dB)."""
    audio = _tensor(audio)
    with torch.no_grad():
        level = level_db(audio)
        out = {"decay_db": decay_db(level), "movement_db": sustain_movement_db(level),
               "loudness_db": loudness_db(level), "centroid_hz": spectral_centroid_hz(audio),
               "hnr_db": harmonic_to_noise_db(audio, pitches), "level": level}
    return {k: v.numpy().astype(np.float32) for k, v in out.items()}


@dataclass
class LivingReference:
    """Real-note features per program ``i``, pitch ``p`` and velocity ``v``; NaN where the corpus lacks the note.

    ``logmel`` ``[I, P, 64, F]`` float16 and ``level`` ``[I, P, V, F]`` float16 (dB); descriptors ``[I, P, V]``
    float32; ``heldout_audio`` ``[H, P, T]`` int16 (PCM) for the held-out programs in ``programs`` order, at
    ``reference_velocity``, zeros where missing.
    """

    programs: np.ndarray            # [I] int64 instrument ids (GM programs)
    names: list[str]                # [I] preset names (GM program names, as the preset bank spells them)
    heldout: np.ndarray             # [I] bool: never trained on
    pitches: np.ndarray             # [P] MIDI
    velocities: np.ndarray          # [V] MIDI
    reference_velocity: int         # the velocity of logmel and heldout_audio
    logmel: np.ndarray
    level: np.ndarray
    descriptors: dict[str, np.ndarray]
    heldout_audio: np.ndarray

    def index(self, name: str) -> int | None:
        """Row of a program by preset name (None if absent)."""
        return self.names.index(name) if name in self.names else None

    @property
    def velocity_row(self) -> int:
        return int(np.flatnonzero(self.velocities == self.reference_velocity)[0])

    def with_heldout(self, other: "LivingReference") -> "LivingReference":
        """This reference's trained-on programs plus ``other``'s held-out ones (same pitches and velocities)."""
        same = (self.pitches.tolist() == other.pitches.tolist() and self.velocities.tolist() == other.velocities.tolist()
                and self.reference_velocity == other.reference_velocity
                and self.logmel.shape[-1] == other.logmel.shape[-1])
        if not same:
            raise ValueError("the held-out reference covers other pitches or velocities than the main one")
        mine, theirs = ~self.heldout, other.heldout
        cat = lambda a, b: np.concatenate([a[mine], b[theirs]])         # noqa: E731
        return LivingReference(
            cat(self.programs, other.programs), [n for n, m in zip(self.names, mine) if m] +
            [n for n, t in zip(other.names, theirs) if t], cat(self.heldout, other.heldout), self.pitches,
            self.velocities, self.reference_velocity, cat(self.logmel, other.logmel), cat(self.level, other.level),
            {k: cat(self.descriptors[k], other.descriptors[k]) for k in DESCRIPTORS}, other.heldout_audio)

    def to_tensors(self, prefix: str = "") -> dict[str, torch.Tensor]:
        """Flat ``{prefix + name: tensor}``; names are stored as UTF-8 bytes joined by newlines."""
        names = np.frombuffer("\n".join(self.names).encode("utf-8"), dtype=np.uint8).copy()
        tensors = {
            "programs": np.asarray(self.programs, np.int64), "names": names,
            "heldout": np.asarray(self.heldout, np.uint8), "pitches": np.asarray(self.pitches, np.int64),
            "velocities": np.asarray(self.velocities, np.int64),
            "reference_velocity": np.asarray(self.reference_velocity, np.int64),
            "logmel": np.asarray(self.logmel, np.float16), "level": np.asarray(self.level, np.float16),
            "heldout_audio": np.asarray(self.heldout_audio, np.int16),
            **{f"descriptor.{k}": np.asarray(v, np.float32) for k, v in self.descriptors.items()},
        }
        return {prefix + k: torch.from_numpy(np.array(v)).contiguous() for k, v in tensors.items()}

    @classmethod
    def from_tensors(cls, tensors: dict[str, torch.Tensor], prefix: str = "") -> "LivingReference":
        """Inverse of :meth:`to_tensors`; a ``ValueError`` names what a foreign or damaged dict lacks."""
        needed = ("programs", "names", "heldout", "pitches", "velocities", "reference_velocity", "logmel",
                  "level", "heldout_audio", *(f"descriptor.{k}" for k in DESCRIPTORS))
        missing = [k for k in needed if prefix + k not in tensors]
        if missing:
            raise ValueError(f"not a living-timbre reference: missing {', '.join(missing)}")
        a = {k: tensors[prefix + k].detach().cpu().numpy() for k in needed}
        reference_velocity = int(a["reference_velocity"].reshape(-1)[0]) if a["reference_velocity"].size else -1
        names = bytes(a["names"].astype(np.uint8)).decode("utf-8").split("\n") if a["names"].size else []
        programs, pitches, velocities = a["programs"], a["pitches"], a["velocities"]
        shape = (len(programs), len(pitches), len(velocities))
        if len(names) != len(programs) or a["logmel"].shape[:2] != shape[:2] or a["level"].shape[:3] != shape \
                or any(a[f"descriptor.{k}"].shape != shape for k in DESCRIPTORS) \
                or reference_velocity not in velocities.tolist():
            raise ValueError("living-timbre reference arrays disagree in shape")
        return cls(programs, names, a["heldout"].astype(bool), pitches, velocities, reference_velocity,
                   a["logmel"], a["level"], {k: a[f"descriptor.{k}"] for k in DESCRIPTORS}, a["heldout_audio"])


def _open(corpus):
    if isinstance(corpus, (str, os.PathLike)):
        from ..data.nsynth import read_corpus
        return read_corpus(corpus)
    return corpus


def _program_rows(corpus, programs, pitches, velocities, reference_velocity, heldout: bool):
    """Features of each program of ``corpus``: list of (program, name, heldout, logmel, level, descriptors, audio)."""
    from ..render.bank import preset_name

    where = {(r.instrument, r.pitch, r.velocity): i for i, r in enumerate(corpus.records)}
    names = corpus.instruments()
    rows = []
    for program in programs:
        P, V = len(pitches), len(velocities)
        audio = np.zeros((P, V, NOTE_SAMPLES), np.float32)
        present = np.zeros((P, V), bool)
        for pi, pitch in enumerate(pitches):
            for vi, velocity in enumerate(velocities):
                i = where.get((program, pitch, velocity))
                if i is not None:
                    note = corpus.load_audio(i)[:NOTE_SAMPLES]
                    audio[pi, vi, :len(note)] = note
                    present[pi, vi] = True
        feats = note_descriptors(audio.reshape(P * V, -1), np.repeat(pitches, V))
        desc = {k: np.where(present, feats[k].reshape(P, V), np.nan).astype(np.float32) for k in DESCRIPTORS}
        level = np.where(present[..., None], feats["level"].reshape(P, V, -1), np.nan)
        vr = list(velocities).index(reference_velocity)
        with torch.no_grad():
            mel = logmel_db(torch.from_numpy(audio[:, vr])).numpy()
        mel = np.where(present[:, vr, None, None], mel, np.nan)
        pcm = np.round(np.clip(audio[:, vr], -1, 32767 / 32768) * 32768).astype(np.int16) if heldout else None
        rows.append((int(program), preset_name(names.get(program, str(program)), int(program)), heldout,
                     mel, level, desc, pcm))
    return rows


def build_living_reference(corpus, programs: Iterable[int] | None = None,
                           pitches: Iterable[int] = LIVING_PITCHES, velocities: Iterable[int] = LIVING_VELOCITIES,
                           heldout=None, heldout_programs: Iterable[int] | None = None,
                           reference_velocity: int = REFERENCE_VELOCITY) -> LivingReference:
    """The real side of the living-timbre figures from an NSynth-format ``corpus`` (path or NSynthCorpus):
    ``programs`` (instrument ids; default all of the corpus) at ``pitches`` × ``velocities``, and optionally the
    held-out programs of a second corpus ``heldout`` (flagged, with their reference-velocity audio kept).

    ``reference_velocity`` (log-mels, audio, the per-preset figures) becomes the nearest of ``velocities``.
    Missing notes are NaN; a ``ValueError`` if a named program has no note at all at those pitches/velocities.
    """
    pitches = np.array(sorted({int(p) for p in pitches}), np.int64)
    velocities = np.array(sorted({int(v) for v in velocities}), np.int64)
    if not len(pitches) or not len(velocities):
        raise ValueError("a living reference needs at least one pitch and one velocity")
    reference_velocity = int(velocities[np.argmin(np.abs(velocities - reference_velocity))])
    rows = []
    for source, chosen, is_heldout in ((corpus, programs, False), (heldout, heldout_programs, True)):
        if source is None:
            continue
        source = _open(source)
        ids = sorted(source.instruments()) if chosen is None else [int(p) for p in chosen]
        wanted = set(pitches.tolist()), set(velocities.tolist())
        having = {r.instrument for r in source.records if r.pitch in wanted[0] and r.velocity in wanted[1]}
        lacking = [p for p in ids if p not in having]
        if lacking:
            raise ValueError(f"{source.root}: no notes of program(s) {', '.join(map(str, lacking))} at pitches "
                             f"{pitches.tolist()} and velocities {velocities.tolist()}")
        rows += _program_rows(source, ids, pitches.tolist(), velocities.tolist(), reference_velocity, is_heldout)
    if not rows:
        raise ValueError("a living reference needs at least one program")
    held_pcm = [r[6] for r in rows if r[2]]
    return LivingReference(
        programs=np.array([r[0] for r in rows], np.int64), names=[r[1] for r in rows],
        heldout=np.array([r[2] for r in rows], bool), pitches=pitches, velocities=velocities,
        reference_velocity=reference_velocity, logmel=np.stack([r[3] for r in rows]).astype(np.float16),
        level=np.stack([r[4] for r in rows]).astype(np.float16),
        descriptors={k: np.stack([r[5][k] for r in rows]) for k in DESCRIPTORS},
        heldout_audio=np.stack(held_pcm) if held_pcm else np.zeros((0, len(pitches), NOTE_SAMPLES), np.int16))


def living_reference_for_corpus(corpus, heldout=None) -> dict[str, torch.Tensor]:
    """A stored living reference (``to_tensors()``) of a training ``corpus`` and optionally a ``heldout`` one (either
    may be None): the standard pitches and velocities the first given corpus has (all of its velocities if none of
    40/80/120), every program with notes there; ``{}`` if there is nothing to measure."""
    corpus, heldout = (None if c is None else _open(c) for c in (corpus, heldout))
    basis = corpus if corpus is not None else heldout
    if basis is None or not len(basis):
        return {}
    have_velocities = {r.velocity for r in basis.records}
    pitches = [p for p in LIVING_PITCHES if p in basis.pitch_histogram()]
    velocities = [v for v in LIVING_VELOCITIES if v in have_velocities] or sorted(have_velocities)[:3]

    def programs(source):
        return None if source is None else sorted(
            {r.instrument for r in source.records if r.pitch in pitches and r.velocity in velocities})

    chosen, held = programs(corpus), programs(heldout)
    if not pitches or not (chosen or held):
        return {}
    return build_living_reference(corpus if chosen else None, chosen, pitches, velocities,
                                  heldout=heldout if held else None, heldout_programs=held).to_tensors()
