"""MIDI in: load a file safely and flatten its pitched notes into arrays the renderer walks in onset order.

Times come from pretty_midi, so tempo and time-signature changes are already applied (seconds).
"""
from __future__ import annotations

import os
import warnings
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pretty_midi


class RenderError(ValueError):
    """Bad input to the MIDI renderer; the message is one clear line for the user."""


class RenderWarning(UserWarning):
    """Something in the MIDI file was changed or skipped (drums, transposed or empty notes)."""


def load_midi(midi) -> pretty_midi.PrettyMIDI:
    """Path or PrettyMIDI -> PrettyMIDI; RenderError for missing, non-MIDI, truncated or corrupt files."""
    if isinstance(midi, pretty_midi.PrettyMIDI):
        return midi
    if not isinstance(midi, (str, os.PathLike)):
        raise RenderError(f"midi must be a file path or pretty_midi.PrettyMIDI, got {type(midi).__name__}")
    path = Path(midi)
    if not path.is_file():
        raise RenderError(f"MIDI file not found: {path}")
    with open(path, "rb") as handle:
        head = handle.read(4)
    if head != b"MThd":
        raise RenderError(f"{path.name} is not a MIDI file (it does not start with the 'MThd' header)")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")    # pretty_midi warns about odd meta events; we report what matters
            return pretty_midi.PrettyMIDI(str(path))
    except Exception as error:            # mido/pretty_midi raise many types (EOFError, OSError, KeyError ...)
        reason = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
        raise RenderError(f"could not read MIDI file {path.name}: truncated or corrupt ({reason})") from None


@dataclass
class NoteTable:
    """All pitched notes of a piece, sorted by onset. Arrays are [N]."""

    onset_s: np.ndarray        # float64 seconds
    duration_s: np.ndarray     # float64 seconds, > 0
    pitch: np.ndarray          # int64 MIDI pitch, already moved into the model's range
    velocity: np.ndarray       # int64 1..127
    track: np.ndarray          # int64 index into PrettyMIDI.instruments
    skipped_drums: int = 0
    skipped_empty: int = 0
    transposed: int = 0
    tracks: list[dict] = field(default_factory=list)   # one summary per instrument

    def __len__(self) -> int:
        return len(self.onset_s)

    @property
    def end_s(self) -> float:
        """Time the last note is released (seconds), without any release tail."""
        return float(np.max(self.onset_s + self.duration_s)) if len(self) else 0.0


def move_into_range(pitch: np.ndarray, low: int, high: int) -> np.ndarray:
    """Transpose pitches [N] by whole octaves into [low, high]; clamp if the range is narrower than an octave."""
    pitch = np.asarray(pitch, dtype=np.int64)
    below, above = pitch < low, pitch > high
    out = pitch.copy()
    out[below] += 12 * np.ceil((low - pitch[below]) / 12).astype(np.int64)
    out[above] -= 12 * np.ceil((pitch[above] - high) / 12).astype(np.int64)
    return np.clip(out, low, high)


def extract_notes(pm: pretty_midi.PrettyMIDI, pitch_range: tuple[int, int], warn: bool = True) -> NoteTable:
    """Flatten every non-drum instrument's notes; count (and warn about) drums, empty and transposed notes.

    Raises RenderError if nothing pitched with a positive length is left to render.
    """
    low, high = int(pitch_range[0]), int(pitch_range[1])
    parts: list[tuple] = []                 # per pitched instrument: arrays, no per-note Python lists
    tracks, drums, total = [], 0, 0
    for index, inst in enumerate(pm.instruments):
        count = len(inst.notes)
        total += count
        tracks.append({"index": index, "name": inst.name, "program": inst.program,
                       "is_drum": bool(inst.is_drum), "notes": count})
        if inst.is_drum:
            drums += count
            continue
        start = np.fromiter((n.start for n in inst.notes), np.float64, count)
        end = np.fromiter((n.end for n in inst.notes), np.float64, count)
        parts.append((start, end - start, np.fromiter((n.pitch for n in inst.notes), np.int64, count),
                      np.fromiter((n.velocity for n in inst.notes), np.int64, count),
                      np.full(count, index, np.int64)))
    if total == 0:
        raise RenderError("the MIDI file has no notes: nothing to render")
    onset, duration, pitch, velocity, track = (
        np.concatenate([part[c] for part in parts]) if parts else np.zeros(0, np.int64) for c in range(5))
    del parts
    if len(onset) == 0:
        raise RenderError(f"no pitched notes: the file holds only drum tracks ({drums} drum notes), nothing to render")
    keep = (duration > 0) & np.isfinite(duration) & np.isfinite(onset)
    empty = int((~keep).sum())
    onset, duration, pitch, velocity, track = (a[keep] for a in (onset, duration, pitch, velocity, track))
    if len(onset) == 0:
        raise RenderError(f"no pitched notes with a positive length ({empty} zero-length notes): nothing to render")
    moved = move_into_range(pitch, low, high)
    transposed = int((moved != pitch).sum())
    order = np.argsort(onset, kind="stable")
    table = NoteTable(onset[order], duration[order], moved[order], np.clip(velocity[order], 1, 127),
                      track[order], drums, empty, transposed, tracks)
    if warn:
        if drums:
            warnings.warn(f"skipped {drums} drum notes: drum tracks are not rendered by a pitched timbre model",
                          RenderWarning, stacklevel=3)
        if empty:
            warnings.warn(f"skipped {empty} notes of zero or negative length", RenderWarning, stacklevel=3)
        if transposed:
            warnings.warn(f"transposed {transposed} notes by octaves into the model's range {low}-{high}",
                          RenderWarning, stacklevel=3)
    return table
