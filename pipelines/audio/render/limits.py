"""Sane limits for one render, in one place: a hostile or mistaken input fails at once with one line.

A MIDI file can put a note 10⁸ seconds into the piece in 44 bytes, and ``--release 1e9`` asks for a
116-TiB envelope; without limits the renderer would spool silence until the disk is full. Every bound
here can be raised (``render_midi(limits=RenderLimits(max_duration_s=…))`` or the CLI's
``--max-duration`` / ``--max-envelope``): they guard against accidents, not against long music.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..data.midi_notes import NoteTable, RenderError

DEFAULT_MAX_DURATION_S = 3 * 3600.0      # 3 hours of output: 346 MB of 16-bit WAV at 16 kHz, 1 GB at 48 kHz
DEFAULT_MAX_ENVELOPE_S = 60.0            # attack and release (seconds)


@dataclass(frozen=True)
class RenderLimits:
    """Upper bounds of a render: the whole piece (last note's end + release, which bounds every onset
    and every note's length too) ``max_duration_s``; the attack and release ramps ``max_envelope_s``."""

    max_duration_s: float = DEFAULT_MAX_DURATION_S
    max_envelope_s: float = DEFAULT_MAX_ENVELOPE_S

    def __post_init__(self):
        for name in ("max_duration_s", "max_envelope_s"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not np.isfinite(value) or value <= 0:
                raise RenderError(f"limit {name} must be a finite number of seconds > 0, got {value!r}")

    def check_envelope(self, attack: float, release: float) -> None:
        """RenderError if the attack or release ramp is longer than ``max_envelope_s``."""
        for name, value in (("attack", attack), ("release", release)):
            if value > self.max_envelope_s:
                raise RenderError(f"{name} {value:g} s is longer than the limit of {self.max_envelope_s:g} s "
                                  f"(raise it with --max-envelope / RenderLimits(max_envelope_s=...))")

    def check_notes(self, notes: NoteTable, release: float) -> None:
        """RenderError naming the first note that starts, lasts or ends (with release) beyond the limit."""
        limit = self.max_duration_s
        hint = "raise it with --max-duration / RenderLimits(max_duration_s=...)"
        late = np.flatnonzero(notes.onset_s >= limit)
        if len(late):
            onset = float(notes.onset_s[late[0]])
            raise RenderError(f"a note starts at {_clock(onset)}, after the {_clock(limit)} limit on a "
                              f"render's length ({hint})")
        long = np.flatnonzero(notes.duration_s > limit)
        if len(long):
            i = long[0]
            raise RenderError(f"a note at {_clock(float(notes.onset_s[i]))} lasts {_clock(float(notes.duration_s[i]))}, "
                              f"longer than the {_clock(limit)} limit on a render's length ({hint})")
        end = float(np.max(notes.onset_s + notes.duration_s)) + release if len(notes) else 0.0
        if end > limit:
            raise RenderError(f"the piece ends at {_clock(end)}, after the {_clock(limit)} limit on a "
                              f"render's length ({hint})")


def _clock(seconds: float) -> str:
    """``"2 h 05 min 07 s"`` / ``"7.5 s"`` for messages; huge values in scientific notation."""
    if seconds >= 1e7:
        return f"{seconds:.3g} s"
    if seconds < 60:
        return f"{seconds:g} s"
    whole = int(round(seconds))
    hours, rest = divmod(whole, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours} h {minutes:02d} min {secs:02d} s" if hours else f"{minutes} min {secs:02d} s"
