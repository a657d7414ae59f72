"""The NSynth JSON+WAV corpus format: reader with validation, atomic writer with resume, torch Dataset.

Layout (as in the official ``nsynth-{train,valid,test}`` releases)::

    <root>/examples.json             {note_str: {note, note_str, instrument, pitch, velocity, ...}}
    <root>/audio/<note_str>.wav      16 kHz, mono, 16-bit PCM, exactly 64,000 samples (4 s)

``note_str`` is ``<family>_<source>_<instrument:03d>-<pitch:03d>-<velocity:03d>``. Every problem found while
reading raises :class:`CorpusError` (a ``ValueError``) whose message is one line naming the file and problem.
"""

from __future__ import annotations

import json
import os
import random
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Iterable, Sequence

import numpy as np
import soundfile as sf
import torch
from torch.utils.data import Dataset

from creative_gan import fileio
from creative_gan.errors import CreativeGANError

from ..constants import FAMILIES, NOTE_SAMPLES, QUALITIES, SAMPLE_RATE, SOURCES

EXAMPLES_JSON = "examples.json"
AUDIO_DIR = "audio"
_INT_KEYS = ("note", "instrument", "pitch", "velocity", "sample_rate", "instrument_family", "instrument_source")
_STR_KEYS = ("note_str", "instrument_str", "instrument_family_str", "instrument_source_str")


class CorpusError(CreativeGANError, ValueError):
    """A corpus file is missing or malformed; the message is one line naming the file and the problem."""


def make_note_str(family: str, source: str, instrument: int, pitch: int, velocity: int) -> str:
    """NSynth note id, e.g. ``make_note_str("keyboard", "synthetic", 0, 60, 100) == "keyboard_synthetic_000-060-100"``."""
    return f"{family}_{source}_{instrument:03d}-{pitch:03d}-{velocity:03d}"


@dataclass(frozen=True)
class NoteRecord:
    """One note's metadata (the examples.json entry) plus the path of its WAV file (not serialised)."""

    note_str: str
    note: int
    instrument: int
    instrument_str: str
    pitch: int                      # MIDI note number
    velocity: int                   # MIDI velocity 1-127
    sample_rate: int                # Hz
    instrument_family: int          # index into FAMILIES
    instrument_family_str: str
    instrument_source: int          # index into SOURCES
    instrument_source_str: str
    qualities: tuple[int, ...]      # 10 flags, order of QUALITIES
    qualities_str: tuple[str, ...]
    audio_path: Path = field(compare=False)

    def to_json(self) -> dict:
        """The examples.json entry (lists, not tuples; no path)."""
        entry = asdict(self)
        del entry["audio_path"]
        entry["qualities"], entry["qualities_str"] = list(self.qualities), list(self.qualities_str)
        return entry

    @classmethod
    def from_json(cls, key: str, entry: object, root: Path, json_path: Path) -> "NoteRecord":
        """Validate one examples.json entry; raise CorpusError naming ``json_path`` and ``key`` if malformed."""
        where = f"{json_path}: note {key!r}"
        if not isinstance(entry, dict):
            raise CorpusError(f"{where}: entry is {type(entry).__name__}, expected an object")
        missing = [k for k in (*_INT_KEYS, *_STR_KEYS, "qualities", "qualities_str") if k not in entry]
        if missing:
            raise CorpusError(f"{where}: missing key(s) {', '.join(missing)}")
        for k in _INT_KEYS:
            if isinstance(entry[k], bool) or not isinstance(entry[k], int):
                raise CorpusError(f"{where}: {k} must be an integer, got {entry[k]!r}")
        for k in _STR_KEYS:
            if not isinstance(entry[k], str):
                raise CorpusError(f"{where}: {k} must be a string, got {entry[k]!r}")
        q, qs = entry["qualities"], entry["qualities_str"]
        if not (isinstance(q, list) and len(q) == len(QUALITIES) and all(v in (0, 1) and not isinstance(v, bool) for v in q)):
            raise CorpusError(f"{where}: qualities must be a list of {len(QUALITIES)} 0/1 integers, got {q!r}")
        if not (isinstance(qs, list) and all(s in QUALITIES for s in qs)):
            raise CorpusError(f"{where}: qualities_str must be a list of names from {QUALITIES}, got {qs!r}")
        if entry["note_str"] != key:
            raise CorpusError(f"{where}: note_str {entry['note_str']!r} differs from its key")
        if entry["sample_rate"] != SAMPLE_RATE:
            raise CorpusError(f"{where}: sample_rate {entry['sample_rate']}, expected {SAMPLE_RATE}")
        if not 0 <= entry["pitch"] <= 127 or not 0 <= entry["velocity"] <= 127:
            raise CorpusError(f"{where}: pitch/velocity out of MIDI range 0-127")
        fam, src = entry["instrument_family_str"], entry["instrument_source_str"]
        if fam not in FAMILIES or FAMILIES.index(fam) != entry["instrument_family"]:
            raise CorpusError(f"{where}: family {entry['instrument_family']}/{fam!r} is not one of {FAMILIES} by index")
        if src not in SOURCES or SOURCES.index(src) != entry["instrument_source"]:
            raise CorpusError(f"{where}: source {entry['instrument_source']}/{src!r} is not one of {SOURCES} by index")
        fields = {k: entry[k] for k in (*_INT_KEYS, *_STR_KEYS)}
        return cls(**fields, qualities=tuple(q), qualities_str=tuple(qs),
                   audio_path=root / AUDIO_DIR / f"{key}.wav")


def _check_wav(path: Path) -> None:
    """Raise CorpusError unless ``path`` is a 16 kHz mono WAV of exactly NOTE_SAMPLES frames."""
    if not path.is_file():
        raise CorpusError(f"{path}: WAV file is missing")
    try:
        info = sf.info(str(path))
    except Exception as exc:  # soundfile raises its own LibsndfileError / RuntimeError
        raise CorpusError(f"{path}: not a readable audio file ({str(exc).splitlines()[0]})") from None
    if info.samplerate != SAMPLE_RATE:
        raise CorpusError(f"{path}: sample rate {info.samplerate} Hz, expected {SAMPLE_RATE} Hz")
    if info.channels != 1:
        raise CorpusError(f"{path}: {info.channels} channels, expected mono")
    if info.frames != NOTE_SAMPLES:
        raise CorpusError(f"{path}: {info.frames} samples, expected {NOTE_SAMPLES} ({NOTE_SAMPLES / SAMPLE_RATE:g} s)")


def _load_examples(root: Path) -> dict:
    json_path = root / EXAMPLES_JSON
    if not json_path.is_file():
        raise CorpusError(f"{json_path}: missing (not an NSynth JSON+WAV folder)")
    try:
        data = json.loads(json_path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise CorpusError(f"{json_path}: broken JSON ({exc})") from None
    if not isinstance(data, dict):
        raise CorpusError(f"{json_path}: top level is {type(data).__name__}, expected an object keyed by note_str")
    return data


class NSynthCorpus:
    """An NSynth-format corpus (or a filtered subset): ``records`` in examples.json key order."""

    def __init__(self, root: Path, records: Sequence[NoteRecord]):
        self.root = Path(root)
        self.records: list[NoteRecord] = list(records)

    def __len__(self) -> int:
        return len(self.records)

    def __getitem__(self, i: int) -> NoteRecord:
        return self.records[i]

    def __iter__(self):
        return iter(self.records)

    def __repr__(self) -> str:
        return f"NSynthCorpus({str(self.root)!r}, {len(self)} notes, {len(self.instruments())} instruments)"

    def load_audio(self, i: int) -> np.ndarray:
        """Audio of note ``i``: float32 ``[NOTE_SAMPLES]`` in [-1, 1] (16-bit PCM / 32768)."""
        path = self.records[i].audio_path
        _check_wav(path)
        audio, _ = sf.read(str(path), dtype="float32", always_2d=False)
        return audio

    def load_all(self, indices: Iterable[int] | None = None, progress: bool = False) -> np.ndarray:
        """Audio of many notes: float32 ``[N, NOTE_SAMPLES]`` (all notes when ``indices`` is None)."""
        idx = list(range(len(self))) if indices is None else list(indices)
        if progress:
            from tqdm.auto import tqdm
            idx = tqdm(idx, desc="loading notes", unit="note")
        out = np.empty((len(idx), NOTE_SAMPLES), np.float32)
        for row, i in enumerate(idx):
            out[row] = self.load_audio(i)
        return out

    def pitch_histogram(self) -> dict[int, int]:
        """Number of notes per MIDI pitch, sorted by pitch."""
        hist: dict[int, int] = {}
        for r in self.records:
            hist[r.pitch] = hist.get(r.pitch, 0) + 1
        return dict(sorted(hist.items()))

    def instruments(self) -> dict[int, str]:
        """``{instrument id: instrument_str}`` sorted by id."""
        return dict(sorted({r.instrument: r.instrument_str for r in self.records}.items()))

    def subset(self, indices: Iterable[int]) -> "NSynthCorpus":
        """A corpus holding the given records (same root)."""
        return NSynthCorpus(self.root, [self.records[i] for i in indices])

    def split(self, held_out_fraction: float = 0.1, seed: int = 0, by: str = "note") -> tuple["NSynthCorpus", "NSynthCorpus"]:
        """Deterministic ``(train, held_out)`` split.

        ``by="note"`` (default): within every instrument, ``held_out_fraction`` of its notes are held out, so
        both parts see every timbre (right for evaluating a pitch-conditioned model on unseen notes; an
        instrument with ≥ 2 notes keeps at least one on each side). ``by="instrument"``: whole instruments are
        held out (for generalisation to unseen timbres).
        """
        if not 0.0 <= held_out_fraction < 1.0:
            raise ValueError(f"held_out_fraction must be in [0, 1), got {held_out_fraction}")
        rng = random.Random(seed)
        groups: dict[int, list[int]] = {}
        for i, r in enumerate(self.records):
            groups.setdefault(r.instrument, []).append(i)

        def take(items: list) -> list:   # shuffled share, at least one on each side when there are two
            items = items[:]
            rng.shuffle(items)
            k = round(held_out_fraction * len(items))
            return items[:min(max(k, 1), len(items) - 1) if held_out_fraction > 0 and len(items) >= 2 else k]

        if by == "note":
            held = [i for inst in sorted(groups) for i in take(groups[inst])]
        elif by == "instrument":
            held = [i for inst in take(sorted(groups)) for i in groups[inst]]
        else:
            raise ValueError(f"split by must be 'note' or 'instrument', got {by!r}")
        held_set = set(held)
        return (self.subset(i for i in range(len(self)) if i not in held_set),
                self.subset(sorted(held_set)))

    def validate(self, full: bool = True) -> None:
        """Raise CorpusError on the first bad WAV: ``full`` checks every header (rate, channels, length);
        otherwise only that every file exists."""
        for r in self.records:
            if full:
                _check_wav(r.audio_path)
            elif not r.audio_path.is_file():
                raise CorpusError(f"{r.audio_path}: WAV file is missing")


def read_corpus(path: str | os.PathLike, families: Iterable[str] | None = None, sources: Iterable[str] | None = None,
                pitch_range: tuple[int, int] | None = None, velocities: Iterable[int] | None = None,
                instruments: Iterable[int] | None = None, check_audio: bool = True) -> NSynthCorpus:
    """Read and validate an NSynth JSON+WAV folder (``path`` is the folder or its examples.json).

    Filters keep notes whose family/source name is listed, whose pitch lies in ``pitch_range`` (inclusive
    MIDI bounds) and whose velocity / instrument id is listed. Every entry's metadata is validated; with
    ``check_audio`` the WAV header of every kept note is checked too (16 kHz, mono, 64,000 samples).
    Raises CorpusError (one line) on any problem, or when no note is left after filtering.
    """
    root = Path(path)
    if root.name == EXAMPLES_JSON:
        root = root.parent
    if not root.is_dir():
        raise CorpusError(f"{root}: corpus folder does not exist")
    for name, wanted, known in (("family", families, FAMILIES), ("source", sources, SOURCES)):
        bad = sorted(set(wanted or ()) - set(known))
        if bad:
            raise CorpusError(f"unknown {name} name(s) {bad}; known: {', '.join(known)}")
    data = _load_examples(root)
    json_path = root / EXAMPLES_JSON
    fam_set = set(families) if families is not None else None
    src_set = set(sources) if sources is not None else None
    vel_set = set(velocities) if velocities is not None else None
    inst_set = set(instruments) if instruments is not None else None
    records = []
    for key, entry in data.items():
        r = NoteRecord.from_json(key, entry, root, json_path)
        if ((fam_set is None or r.instrument_family_str in fam_set) and (src_set is None or r.instrument_source_str in src_set)
                and (pitch_range is None or pitch_range[0] <= r.pitch <= pitch_range[1])
                and (vel_set is None or r.velocity in vel_set) and (inst_set is None or r.instrument in inst_set)):
            records.append(r)
    if not records:
        what = "contains no notes" if not data else "has no notes matching the filters"
        raise CorpusError(f"{json_path}: {what} (families={families}, sources={sources}, "
                          f"pitch_range={pitch_range}, velocities={velocities}, instruments={instruments})")
    corpus = NSynthCorpus(root, records)
    corpus.validate(full=check_audio)
    return corpus


def _atomic_write_bytes(path: Path, write) -> None:
    """Write via ``write(tmp_path)`` then rename over ``path`` (:mod:`creative_gan.fileio`: the user's umask,
    the temp file removed on any exit), so a crash never leaves a half-written file."""
    tmp = fileio.temp_name(path)   # not fileio.atomic_path: its stale-temp scan of the folder per note is O(N²)
    try:
        write(tmp)
        os.chmod(tmp, fileio.file_mode())
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


class CorpusWriter:
    """Adds notes to an NSynth folder; reopening an existing folder resumes it.

    WAVs are written atomically (temp file + rename) *before* their examples.json entry, and examples.json
    is rewritten atomically every ``flush_every`` notes and on :meth:`close`; so after a kill every listed
    note has a complete WAV. On reopen, entries whose WAV is missing are dropped (counted in ``dropped``).
    Use as a context manager, or call :meth:`close`.
    """

    def __init__(self, out_dir: str | os.PathLike, flush_every: int = 64):
        self.root = Path(out_dir)
        (self.root / AUDIO_DIR).mkdir(parents=True, exist_ok=True)
        self.flush_every = flush_every
        self.entries: dict[str, dict] = {}
        self.dropped = 0            # entries found without a WAV on reopen
        self.clipped_notes = 0      # notes added whose audio exceeded [-1, 1] and was clipped
        self._unflushed = 0
        if (self.root / EXAMPLES_JSON).exists():
            for key, entry in _load_examples(self.root).items():
                r = NoteRecord.from_json(key, entry, self.root, self.root / EXAMPLES_JSON)
                if r.audio_path.is_file():
                    self.entries[key] = entry
                else:
                    self.dropped += 1
        self._next_note = max((e["note"] for e in self.entries.values()), default=-1) + 1

    def __contains__(self, note_str: str) -> bool:
        return note_str in self.entries

    def __len__(self) -> int:
        return len(self.entries)

    def add(self, audio: np.ndarray, *, pitch: int, velocity: int, instrument: int, family: str,
            source: str = "synthetic", instrument_str: str | None = None,
            qualities: Sequence[int] | None = None) -> NoteRecord:
        """Write one note: ``audio`` float ``[NOTE_SAMPLES]`` in [-1, 1] (clipped beyond) → 16-bit WAV + entry.

        ``instrument_str`` defaults to ``<family>_<source>_<instrument:03d>``; ``qualities`` to all zeros.
        Re-adding an existing note replaces it.
        """
        if family not in FAMILIES or source not in SOURCES:
            raise ValueError(f"family must be one of {FAMILIES} and source one of {SOURCES}, got {family!r}/{source!r}")
        audio = np.asarray(audio, dtype=np.float32)
        if audio.shape != (NOTE_SAMPLES,):
            raise ValueError(f"note audio must have shape ({NOTE_SAMPLES},), got {audio.shape}")
        if not np.isfinite(audio).all():
            raise ValueError("note audio contains NaN or infinity")
        qualities = [0] * len(QUALITIES) if qualities is None else [int(q) for q in qualities]
        instrument_str = instrument_str or f"{family}_{source}_{instrument:03d}"
        key = f"{instrument_str}-{pitch:03d}-{velocity:03d}"
        if np.abs(audio).max() > 1.0:
            self.clipped_notes += 1
        pcm = np.round(np.clip(audio, -1.0, 1.0) * 32767.0).astype(np.int16)
        wav = self.root / AUDIO_DIR / f"{key}.wav"
        _atomic_write_bytes(wav, lambda tmp: sf.write(str(tmp), pcm, SAMPLE_RATE, subtype="PCM_16", format="WAV"))
        note = self.entries[key]["note"] if key in self.entries else self._next_note
        self._next_note = max(self._next_note, note + 1)
        entry = dict(note=note, note_str=key, instrument=instrument, instrument_str=instrument_str, pitch=pitch,
                     velocity=velocity, sample_rate=SAMPLE_RATE, instrument_family=FAMILIES.index(family),
                     instrument_family_str=family, instrument_source=SOURCES.index(source),
                     instrument_source_str=source, qualities=qualities,
                     qualities_str=[n for n, q in zip(QUALITIES, qualities) if q])
        record = NoteRecord.from_json(key, entry, self.root, self.root / EXAMPLES_JSON)
        self.entries[key] = entry
        self._unflushed += 1
        if self._unflushed >= self.flush_every:
            self.flush()
        return record

    def flush(self) -> None:
        """Atomically rewrite examples.json with every note added so far."""
        # one note per line: diffable and greppable, and still a single JSON object like NSynth's release
        lines = [f"{json.dumps(k)}: {json.dumps(self.entries[k], sort_keys=True)}" for k in sorted(self.entries)]
        text = "{\n" + ",\n".join(lines) + "\n}\n"
        _atomic_write_bytes(self.root / EXAMPLES_JSON, lambda tmp: tmp.write_text(text, encoding="utf-8"))
        self._unflushed = 0

    def close(self) -> None:
        self.flush()

    def __enter__(self) -> "CorpusWriter":
        return self

    def __exit__(self, *exc) -> None:
        self.close()


class NoteDataset(Dataset):
    """Torch view of a corpus with audio cached in memory (as int16, half the bytes of float32).

    Item: ``{"x": float32 [T] audio in [-1, 1], "pitch": int64 [] MIDI pitch, "velocity": int64 [],
    "family": int64 [] index into FAMILIES, "instrument": int64 [] instrument id}`` where
    ``T = clip_samples or NOTE_SAMPLES`` samples starting at ``clip_offset`` (16 kHz).
    """

    def __init__(self, corpus: NSynthCorpus, clip_samples: int | None = None, clip_offset: int = 0,
                 progress: bool = False):
        if len(corpus) == 0:
            raise ValueError("NoteDataset needs a corpus with at least one note")
        clip_samples = clip_samples or NOTE_SAMPLES - clip_offset
        if clip_offset < 0 or clip_samples <= 0 or clip_offset + clip_samples > NOTE_SAMPLES:
            raise ValueError(f"clip [{clip_offset}, {clip_offset + clip_samples}) is outside a {NOTE_SAMPLES}-sample note")
        self.corpus, self.clip_samples, self.clip_offset = corpus, clip_samples, clip_offset
        audio = corpus.load_all(progress=progress)[:, clip_offset:clip_offset + clip_samples]
        self.audio = torch.from_numpy(np.round(audio * 32768.0).clip(-32768, 32767).astype(np.int16))
        recs = corpus.records
        self.pitch = torch.tensor([r.pitch for r in recs], dtype=torch.long)
        self.velocity = torch.tensor([r.velocity for r in recs], dtype=torch.long)
        self.family = torch.tensor([r.instrument_family for r in recs], dtype=torch.long)
        self.instrument = torch.tensor([r.instrument for r in recs], dtype=torch.long)

    def __len__(self) -> int:
        return len(self.corpus)

    def __getitem__(self, i: int) -> dict[str, torch.Tensor]:
        return {"x": self.audio[i].float() / 32768.0, "pitch": self.pitch[i], "velocity": self.velocity[i],
                "family": self.family[i], "instrument": self.instrument[i]}
