"""A user's recorded note, ready for the timbre fit: read, mixed to mono, resampled, trimmed, its pitch found.

    >>> audio = read_note("cello.wav")              # float32 [T] at 16 kHz, from the onset, at most 10 s
    >>> detect_pitch(audio, 16000)                   # MIDI note number (int) of the held part
    >>> parse_note_spec("cello.wav:48")              # ("cello.wav", 48); "cello.wav" -> ("cello.wav", None)

Every way a file can be unusable is one :class:`~creative_gan.errors.UsageError` line: missing, not audio,
empty, non-finite, silent (peak below :data:`SILENCE_DBFS`), or no steady pitch in it.
"""
from __future__ import annotations

import math
import os
import warnings
from pathlib import Path

import numpy as np

from creative_gan.errors import UsageError

from ..constants import SAMPLE_RATE
from ..evaluate.metrics import PYIN_HOP_SECONDS, PYIN_MAX_TRANSITION_OCTAVES_PER_SECOND, PYIN_RESOLUTION

#: a file whose peak is below this (dB full scale) holds no note
SILENCE_DBFS = -60.0
#: the note starts where the level first comes within this many dB of the file's peak level
ONSET_BELOW_PEAK_DB = 30.0
#: seconds of a file that are read (a note; anything longer is cut)
MAX_READ_SECONDS = 10.0
#: pitch search range (MIDI, A0–C8: a piano's keys)
SEARCH_PITCHES = (21, 108)
#: the held part pYIN looks at, seconds after the onset
HELD_SPAN_SECONDS = (0.1, 2.5)
#: share of analysed frames pYIN must call voiced for a pitch to count
MIN_VOICED_SHARE = 0.3


def parse_note_spec(spec: str | os.PathLike) -> tuple[str, int | None]:
    """``"note.wav:60"`` → ``("note.wav", 60)``; ``"note.wav"`` → ``("note.wav", None)``.

    A path that exists as given wins over reading its last ``:N`` as a pitch.
    """
    text = os.fspath(spec)
    head, sep, tail = text.rpartition(":")
    if not sep or not head or Path(text).exists():
        return text, None
    tail = tail.strip()
    if tail.lstrip("-").isdigit():
        return head, int(tail)
    if Path(head).is_file():
        raise UsageError(f"{text}: the pitch after ':' must be a MIDI note number, e.g. {head}:60")
    return text, None


def read_note(path: str | os.PathLike, sample_rate: int = SAMPLE_RATE) -> np.ndarray:
    """Mono float32 ``[T]`` at ``sample_rate`` Hz, starting at the note's onset (at most 10 s are read)."""
    import soundfile as sf

    path = Path(path)
    if not path.exists():
        raise UsageError(f"{path}: no such file")
    if path.is_dir():
        raise UsageError(f"{path}: is a folder; give an audio file (WAV, FLAC, OGG, ...)")
    try:
        with sf.SoundFile(str(path)) as handle:
            rate = int(handle.samplerate)
            audio = handle.read(frames=int(MAX_READ_SECONDS * rate), dtype="float32", always_2d=True)
    except (sf.LibsndfileError, RuntimeError, TypeError, ValueError, OSError) as exc:
        reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise UsageError(f"{path}: not an audio file this can read ({reason[:120]})") from None
    if audio.size == 0:
        raise UsageError(f"{path}: holds no samples")
    if not np.isfinite(audio).all():
        raise UsageError(f"{path}: contains NaN or infinite samples")
    mono = audio.mean(axis=1)
    peak = float(np.abs(mono).max())
    if peak < 10 ** (SILENCE_DBFS / 20):
        shown = "-inf" if peak == 0 else f"{20 * math.log10(peak):.0f}"
        raise UsageError(f"{path}: is silent (peak {shown} dBFS, below {SILENCE_DBFS:.0f}); "
                         "record the note louder")
    if rate != sample_rate:
        from scipy.signal import resample_poly

        step = math.gcd(rate, sample_rate)
        mono = resample_poly(mono, sample_rate // step, rate // step).astype(np.float32)
    return trim_to_onset(mono, sample_rate)


def trim_to_onset(audio: np.ndarray, sample_rate: int = SAMPLE_RATE) -> np.ndarray:
    """``audio [T]`` from 5 ms before the first 16-ms frame within :data:`ONSET_BELOW_PEAK_DB` of the peak frame."""
    audio = np.asarray(audio, dtype=np.float32).reshape(-1)
    hop = max(1, sample_rate // 62)
    frames = len(audio) // hop
    if frames < 2:
        return audio
    level = 10 * np.log10(np.square(audio[: frames * hop].reshape(frames, hop)).mean(1) + 1e-20)
    first = int(np.argmax(level >= level.max() - ONSET_BELOW_PEAK_DB))
    return audio[max(0, first * hop - sample_rate // 200):]


def detect_pitch(audio: np.ndarray, sr: int = SAMPLE_RATE, where: str = "the note") -> int:
    """The MIDI note (int) of a note's held part (0.1–2.5 s after its onset) by pYIN over A0–C8.

    ``audio [T]`` float at ``sr`` Hz, starting at the onset (see :func:`trim_to_onset`). UsageError when
    fewer than :data:`MIN_VOICED_SHARE` of the frames are voiced (a drum, noise, a chord, a glide).
    """
    import librosa

    audio = np.asarray(audio, dtype=np.float32).reshape(-1)
    segment = audio[int(HELD_SPAN_SECONDS[0] * sr):int(HELD_SPAN_SECONDS[1] * sr)]
    fmin = 440.0 * 2.0 ** ((SEARCH_PITCHES[0] - 1 - 69) / 12)
    fmax = min(440.0 * 2.0 ** ((SEARCH_PITCHES[1] + 1 - 69) / 12), 0.45 * sr)
    frame_length = 1 << max(8, math.ceil(math.log2(2.2 * sr / fmin)))   # two periods of fmin
    hop_length = max(1, int(round(PYIN_HOP_SECONDS * sr / 2)))
    no_pitch = f"{where}: no steady pitch found; give the pitch as {where}:60 (MIDI note number)"
    if segment.size < frame_length or not np.isfinite(segment).all() or np.abs(segment).max() < 1e-6:
        raise UsageError(no_pitch)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")     # librosa's notes about frame/fmin trade-offs
        f0, voiced, _ = librosa.pyin(segment, fmin=fmin, fmax=fmax, sr=sr, frame_length=frame_length,
                                     hop_length=hop_length, resolution=PYIN_RESOLUTION, center=False,
                                     max_transition_rate=PYIN_MAX_TRANSITION_OCTAVES_PER_SECOND)
    found = f0[voiced & np.isfinite(f0)]
    if found.size == 0 or found.size < MIN_VOICED_SHARE * len(f0):
        raise UsageError(no_pitch)
    return int(round(float(np.median(69.0 + 12.0 * np.log2(found / 440.0)))))


def load_notes(pipe, items, pitch=None, names=None) -> tuple[list[np.ndarray], list[int]]:
    """Notes and MIDI pitches for the timbre fit from ``items``: one or a list of file paths (``"x.wav:60"``
    gives the pitch) or float arrays ``[T]`` at ``pipe.sample_rate``, each from its onset.

    ``pitch``: one MIDI note for every item, or one per item, used where an item names none; otherwise
    :func:`detect_pitch` finds it. Pitches outside the model's range are a UsageError. ``names``: what error
    messages call each array item (default "note 1", "note 2", ...).
    """
    if isinstance(items, (str, os.PathLike, np.ndarray)) or (hasattr(items, "dim") and items.dim() == 1):
        items = [items]
    items = list(items)
    if not items:
        raise UsageError("give at least one recorded note")
    asked = [pitch] * len(items) if pitch is None or np.ndim(pitch) == 0 else list(pitch)
    if len(asked) != len(items):
        raise UsageError(f"{len(items)} notes but {len(asked)} pitches")
    lo, hi = pipe.pitch_range
    sr = int(pipe.sample_rate)
    notes, pitches = [], []
    for index, (item, given) in enumerate(zip(items, asked)):
        if isinstance(item, (str, os.PathLike)):
            path, named = parse_note_spec(item)
            where, audio = path, read_note(path, sr)
            given = named if named is not None else given
        else:
            where = str(names[index]) if names else f"note {index + 1}"
            audio = np.asarray(item.detach().cpu() if hasattr(item, "detach") else item, dtype=np.float32)
            if audio.ndim != 1 or audio.size == 0 or not np.isfinite(audio).all():
                raise UsageError(f"{where}: a note must be a finite mono float array [T] at {sr} Hz")
            if np.abs(audio).max() < 10 ** (SILENCE_DBFS / 20):
                raise UsageError(f"{where}: is silent (peak below {SILENCE_DBFS:.0f} dBFS)")
            audio = trim_to_onset(audio, sr)
        if given is None:
            found = detect_pitch(audio, sr, where)
            if not lo <= found <= hi:
                raise UsageError(f"{where}: its pitch {found} is outside this model's range {lo}-{hi}; "
                                 f"give a note between them, or its pitch as {where}:N if {found} is wrong")
            given = found
        elif not _whole(given) or not lo <= int(given) <= hi:
            raise UsageError(f"{where}: pitch {given!r} is not a MIDI note in this model's range {lo}-{hi}")
        notes.append(audio)
        pitches.append(int(given))
    return notes, pitches


def _whole(value) -> bool:
    try:
        return not isinstance(value, bool) and float(value) == int(value)
    except (TypeError, ValueError, OverflowError):
        return False
