"""Sustain loops inside the WAV files too: a RIFF ``smpl`` chunk (root key and one forward loop).

Samplers that import bare WAVs (hardware samplers, a DAW's sampler, SoundFont editors) read loop points and
the root key from this chunk; SFZ players read them from the ``.sfz`` and ignore it. Loop ends are inclusive
here as in SFZ. ``soundfile`` (libsndfile) cannot write the chunk, so it is appended to a finished file.
"""
from __future__ import annotations

import os
import struct
from pathlib import Path


def smpl_chunk(sample_rate: int, unity_note: int, loop_start: int, loop_end: int) -> bytes:
    """The ``smpl`` chunk bytes: sample period (ns), MIDI unity note, one forward loop played forever."""
    header = struct.pack("<9I", 0, 0, round(1e9 / sample_rate), int(unity_note), 0, 0, 0, 1, 0)
    loop = struct.pack("<6I", 0, 0, int(loop_start), int(loop_end), 0, 0)
    body = header + loop
    return b"smpl" + struct.pack("<I", len(body)) + body


def add_loop_chunk(path, sample_rate: int, unity_note: int, loop_start: int, loop_end: int) -> None:
    """Append a ``smpl`` chunk to the RIFF/WAVE file ``path`` (in place) and fix the RIFF size."""
    path = Path(path)
    chunk = smpl_chunk(sample_rate, unity_note, loop_start, loop_end)
    with open(path, "r+b") as handle:
        head = handle.read(12)
        if head[:4] != b"RIFF" or head[8:12] != b"WAVE":
            raise ValueError(f"{path.name} is not a RIFF/WAVE file")
        handle.seek(0, os.SEEK_END)
        if handle.tell() % 2:                      # RIFF chunks start on even offsets
            handle.write(b"\0")
        handle.write(chunk)
        size = handle.tell() - 8
        handle.seek(4)
        handle.write(struct.pack("<I", size))


def read_loop_chunk(path) -> dict | None:
    """``{"unity_note", "loop_start", "loop_end", "sample_period_ns"}`` from a WAV's ``smpl`` chunk, or None."""
    data = Path(path).read_bytes()
    pos = 12
    while pos + 8 <= len(data):
        kind, size = data[pos:pos + 4], struct.unpack("<I", data[pos + 4:pos + 8])[0]
        if kind == b"smpl" and size >= 60:
            fields = struct.unpack("<9I", data[pos + 8:pos + 44])
            loop = struct.unpack("<6I", data[pos + 44:pos + 68])
            return {"sample_period_ns": fields[2], "unity_note": fields[3], "loop_start": loop[2],
                    "loop_end": loop[3]}
        pos += 8 + size + (size % 2)
    return None
