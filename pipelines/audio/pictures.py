"""Pictures of a render without matplotlib: a piano roll of the MIDI and a log-mel spectrogram of the audio.

Both are drawn with numpy + Pillow (matplotlib is not a dependency) and saved as PNG.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw

from creative_gan import fileio, images

from .data.midi_notes import load_midi

# A perceptually ordered dark-to-bright map (anchors close to matplotlib's "magma"), interpolated to 256 colours.
_MAGMA_ANCHORS = np.array([
    [0, 0, 4], [28, 16, 68], [79, 18, 123], [129, 37, 129], [181, 54, 122],
    [229, 80, 100], [251, 135, 97], [254, 194, 135], [252, 253, 191]], dtype=np.float64)
_TRACK_COLOURS = [(86, 180, 233), (230, 159, 0), (0, 158, 115), (204, 121, 167),
                  (240, 228, 66), (0, 114, 178), (213, 94, 0), (170, 170, 255)]
_DRUM_COLOUR = (120, 120, 120)


def colour_map(values: np.ndarray) -> np.ndarray:
    """values [...] in [0, 1] -> uint8 RGB [..., 3] through the magma-like map."""
    return images.colour_map(values, _MAGMA_ANCHORS)


def piano_roll_png(midi, path, width: int = 1200, height: int = 480, seconds: float | None = None) -> Path:
    """Draw the notes of `midi` (path or PrettyMIDI) as a piano roll PNG [height, width] at `path`.

    x is time (0 .. end or `seconds`), y is pitch (the notes' range plus a margin); one colour per track,
    drums in grey; faint lines mark each C and every 10 seconds. Velocity sets a note's brightness.
    """
    pm = load_midi(midi)
    notes = [(n.start, n.end, n.pitch, n.velocity, i, inst.is_drum)
             for i, inst in enumerate(pm.instruments) for n in inst.notes]
    end = seconds if seconds else max([n[1] for n in notes], default=1.0)
    end = max(end, 1e-3)
    low = min([n[2] for n in notes], default=48) - 2
    high = max([n[2] for n in notes], default=72) + 2
    row = height / (high - low + 1)
    image = Image.new("RGB", (width, height), (18, 18, 24))
    draw = ImageDraw.Draw(image)
    for pitch in range(low, high + 1):
        if pitch % 12 == 0:
            y = height - (pitch - low + 1) * row
            draw.line([(0, y + row), (width, y + row)], fill=(48, 48, 60))
    for second in range(0, int(end) + 1, 10):
        x = second / end * (width - 1)
        draw.line([(x, 0), (x, height)], fill=(40, 40, 52))
    for start, stop, pitch, velocity, track, is_drum in notes:
        base = _DRUM_COLOUR if is_drum else _TRACK_COLOURS[track % len(_TRACK_COLOURS)]
        shade = 0.45 + 0.55 * velocity / 127
        colour = tuple(int(c * shade) for c in base)
        x0, x1 = start / end * (width - 1), max(stop / end * (width - 1), start / end * (width - 1) + 1)
        y0 = height - (pitch - low + 1) * row
        draw.rectangle([x0, y0, x1, y0 + max(row - 1, 1)], fill=colour)
    path = Path(path)
    with fileio.atomic_path(path) as tmp:
        image.save(tmp, format="PNG")
    return path


def mel_filterbank(sample_rate: int, n_fft: int, n_mels: int) -> np.ndarray:
    """Triangular mel filters [n_mels, n_fft // 2 + 1] (HTK mel scale), unit peak."""
    def hz_to_mel(hz):
        return 2595.0 * np.log10(1.0 + np.asarray(hz) / 700.0)

    def mel_to_hz(mel):
        return 700.0 * (10.0 ** (np.asarray(mel) / 2595.0) - 1.0)

    edges = mel_to_hz(np.linspace(hz_to_mel(30.0), hz_to_mel(sample_rate / 2), n_mels + 2))
    freqs = np.linspace(0, sample_rate / 2, n_fft // 2 + 1)
    lower, centre, upper = edges[:-2, None], edges[1:-1, None], edges[2:, None]
    rising = (freqs[None] - lower) / np.maximum(centre - lower, 1e-9)
    falling = (upper - freqs[None]) / np.maximum(upper - centre, 1e-9)
    return np.clip(np.minimum(rising, falling), 0.0, None)


def _fft_size(sample_rate: int) -> int:
    return int(2 ** np.ceil(np.log2(max(256, sample_rate * 0.064))))


def _frame_grid(length: int, n_fft: int, max_frames: int) -> tuple[int, int]:
    """(hop, frames) over a signal of ``length`` samples padded by n_fft // 2 on both sides."""
    padded = max(length + 2 * (n_fft // 2), n_fft)
    hop = max(n_fft // 4, int(np.ceil((padded - n_fft) / max(max_frames - 1, 1))))
    return hop, 1 + (padded - n_fft) // hop


def _log_mel_of_frames(read, frames: int, hop: int, n_fft: int, sample_rate: int, n_mels: int,
                       top_db: float) -> np.ndarray:
    """``read(start, n)`` gives samples [start, start + n) of the signal (zeros outside it)."""
    window = np.hanning(n_fft).astype(np.float32)
    filters = mel_filterbank(sample_rate, n_fft, n_mels).astype(np.float32)
    out = np.empty((n_mels, frames), np.float32)
    for first in range(0, frames, 256):
        idx = np.arange(first, min(first + 256, frames))
        segs = np.stack([read(i * hop - n_fft // 2, n_fft) for i in idx]) * window
        power = np.abs(np.fft.rfft(segs, axis=1)) ** 2
        out[:, idx] = filters @ power.T
    db = 10.0 * np.log10(np.maximum(out, 1e-12))
    return np.maximum(db - db.max(), -top_db)


def log_mel(audio: np.ndarray, sample_rate: int, n_mels: int = 128, max_frames: int = 2000,
            top_db: float = 80.0) -> np.ndarray:
    """audio [T] -> log-mel power in dB relative to its maximum [n_mels, frames], values in [-top_db, 0].

    The hop grows with the length so a long piece gives at most `max_frames` columns, computed in chunks
    of frames so memory stays small even for an hour of audio.
    """
    audio = np.asarray(audio, dtype=np.float32).reshape(-1)
    n_fft = _fft_size(sample_rate)
    hop, frames = _frame_grid(len(audio), n_fft, max_frames)

    def read(start: int, count: int) -> np.ndarray:
        seg = np.zeros(count, np.float32)
        lo, hi = max(start, 0), min(start + count, len(audio))
        if lo < hi:
            seg[lo - start:hi - start] = audio[lo:hi]
        return seg

    return _log_mel_of_frames(read, frames, hop, n_fft, sample_rate, n_mels, top_db)


def log_mel_of_file(path, n_mels: int = 128, max_frames: int = 2000, top_db: float = 80.0) -> tuple[np.ndarray, int]:
    """:func:`log_mel` of an audio file (channels averaged), reading only the frames it needs: memory stays
    flat however long the file. Returns (dB [n_mels, frames], sample rate)."""
    import soundfile as sf

    with sf.SoundFile(str(path)) as handle:
        length, rate = handle.frames, handle.samplerate
        n_fft = _fft_size(rate)
        hop, frames = _frame_grid(length, n_fft, max_frames)

        def read(start: int, count: int) -> np.ndarray:
            seg = np.zeros(count, np.float32)
            lo, hi = max(start, 0), min(start + count, length)
            if lo < hi:
                handle.seek(lo)
                data = handle.read(hi - lo, dtype="float32", always_2d=True).mean(axis=1)
                seg[lo - start:lo - start + len(data)] = data
            return seg

        return _log_mel_of_frames(read, frames, hop, n_fft, rate, n_mels, top_db), rate


def spectrogram_png(audio, sample_rate: int, path, width: int | None = None, height: int = 256,
                    top_db: float = 80.0) -> Path:
    """Save a log-mel spectrogram of audio [T] (float, at sample_rate Hz) as PNG; low frequencies at the bottom."""
    return _save_spectrogram(log_mel(audio, sample_rate, top_db=top_db), path, width, height, top_db)


def spectrogram_png_of_file(audio_path, path, width: int | None = None, height: int = 256,
                            top_db: float = 80.0) -> Path:
    """:func:`spectrogram_png` of an audio file, in memory flat in its length (a 3-hour render included)."""
    db, _ = log_mel_of_file(audio_path, top_db=top_db)
    return _save_spectrogram(db, path, width, height, top_db)


def _save_spectrogram(db: np.ndarray, path, width: int | None, height: int, top_db: float) -> Path:
    rgb = colour_map((db + top_db) / top_db)[::-1]          # [n_mels, frames, 3], flipped so bass is down
    image = Image.fromarray(np.ascontiguousarray(rgb), mode="RGB")
    image = image.resize((width or max(rgb.shape[1], 64), height), Image.BILINEAR)
    path = Path(path)
    with fileio.atomic_path(path) as tmp:
        image.save(tmp, format="PNG")
    return path


def pitch_tracks_png(rows: list[tuple[str, list[tuple[np.ndarray, tuple[int, int, int]]]]], path,
                     seconds: float, cents: float = 30.0, width: int = 900, row_height: int = 110) -> Path:
    """Line plots of pitch tracks, one row per label: ``rows`` = [(label, [(cents [F], rgb), …]), …], each track
    spanning ``seconds``; the vertical range is ±``cents`` (clipped), with a grey zero line."""
    label_w, pad = 170, 6
    image = Image.new("RGB", (label_w + width + pad, pad + len(rows) * row_height), (255, 255, 255))
    draw = ImageDraw.Draw(image)
    for r, (label, tracks) in enumerate(rows):
        top = pad + r * row_height
        middle = top + (row_height - pad) / 2
        draw.text((4, middle - 6), label, fill=(0, 0, 0))
        draw.rectangle([label_w, top, label_w + width, top + row_height - pad], outline=(200, 200, 200))
        draw.line([(label_w, middle), (label_w + width, middle)], fill=(220, 220, 220))
        scale = (row_height - pad) / 2 / cents
        for track, colour in tracks:
            track = np.asarray(track, dtype=np.float64)
            xs = label_w + np.arange(len(track)) * width / max(len(track) - 1, 1)
            ys = middle - np.clip(track, -cents, cents) * scale
            points = [(float(x), float(y)) for x, y in zip(xs, ys) if np.isfinite(y)]
            if len(points) > 1:
                draw.line(points, fill=colour, width=2)
    draw.text((label_w + 4, pad + 2), f"±{cents:g} cents, {seconds:g} s", fill=(90, 90, 90))
    path = Path(path)
    with fileio.atomic_path(path) as tmp:
        image.save(tmp, format="PNG")
    return path
