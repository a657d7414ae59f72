"""Per-note shaping (envelope, seamless sustain loop) and block-wise mixing with a two-pass normalised output.

Memory stays flat in the number of notes and in their length: notes are mixed into fixed-size blocks that
are flushed to a raw float32 temp file as soon as no later note can touch them; a note longer than a block
is streamed (its samples are made block by block as the blocks are flushed, never as one array); and the
output is normalised while it is copied from that temp file to the final file (or array) in a second pass.
"""
from __future__ import annotations

import os
from collections import OrderedDict
from pathlib import Path
from typing import Callable, Iterator

import numpy as np
import soundfile as sf


def velocity_gain(velocity: np.ndarray, exponent: float = 2.0) -> np.ndarray:
    """MIDI velocity [N] 1..127 -> linear gain [N]: (v / 127) ** exponent.

    Exponent 2 is the DLS/GM convention (40·log10(v/127) dB: v=64 is -12 dB); 0 ignores velocity.
    """
    return (np.asarray(velocity, np.float64) / 127.0) ** exponent


class NoteEnvelope:
    """Attack/release envelope applied in place: linear attack over `attack` samples, 1 until `hold` samples
    (note-off), then a raised-cosine release over `release` samples that ends at exactly 0 (no click).

    The two ramps are computed once; a note only multiplies its first `attack` and last `release` samples,
    which keeps the per-note cost tiny when a piece has 100,000 notes.
    """

    def __init__(self, attack: int, release: int):
        self.attack = np.minimum(1.0, (np.arange(attack) + 1.0) / max(attack, 1)).astype(np.float32)
        u = (np.arange(release) + 1.0) / max(release, 1)
        self.release = (0.5 + 0.5 * np.cos(np.pi * u)).astype(np.float32)     # last sample exactly 0

    def apply(self, audio: np.ndarray, hold: int) -> np.ndarray:
        """audio [hold + release] float32, modified in place and returned."""
        a = min(len(self.attack), len(audio))
        audio[:a] *= self.attack[:a]
        tail = audio[hold:]
        tail *= self.release[:len(tail)]
        return audio

    def apply_range(self, audio: np.ndarray, offset: int, hold: int) -> np.ndarray:
        """Samples [offset, offset + len(audio)) of a note (float32, in place): the same result, piece by piece,
        as :meth:`apply` on the whole note."""
        end = offset + len(audio)
        a1 = min(len(self.attack), end)
        if offset < a1:
            audio[:a1 - offset] *= self.attack[offset:a1]
        r0, r1 = max(hold, offset), min(hold + len(self.release), end)
        if r0 < r1:
            audio[r0 - offset:r1 - offset] *= self.release[r0 - hold:r1 - hold]
        return audio

    def curve(self, length: int, hold: int) -> np.ndarray:
        """The envelope itself [length] (for tests and plots)."""
        return self.apply(np.ones(length, np.float32), hold)


def _smooth_envelope(x: np.ndarray, window: int) -> np.ndarray:
    """RMS envelope [len(x)] of x, a moving average of x² over `window` samples."""
    power = np.convolve(x.astype(np.float64) ** 2, np.ones(window) / window, mode="same")
    return np.sqrt(np.maximum(power, 0.0))


class SustainLoop:
    """Sustains a generated clip beyond its held part by looping [loop_start, loop_end) samples.

    Three things make the loop seamless: (1) the loop start is moved by up to `max_lag` samples to where the
    waveform best matches the audio just before loop_end (normalised cross-correlation), so the seams join
    in phase; (2) the loop segment is flattened (divided by its smoothed RMS envelope, scaled to the level at
    loop_end) so a decaying sound holds steady instead of swelling at each repeat; (3) repeats are joined
    with crossfades of `crossfade` samples whose law follows the measured correlation r: equal-power
    (sin²+cos²=1) for unrelated content (r=0), equal-gain for identical content (r=1), in between
    g = 1/sqrt(fi² + fo² + 2·r·fi·fo), so the level neither dips nor bumps at a seam.
    """

    def __init__(self, clip: np.ndarray, loop_start: int, loop_end: int, crossfade: int, max_lag: int = 800):
        c = crossfade
        max_lag = max(0, min(max_lag, (loop_end - loop_start - 3 * c) // 2))
        tail = clip[loop_end - c:loop_end].astype(np.float64)
        search = clip[loop_start:loop_start + max_lag + c].astype(np.float64)
        corr = np.correlate(search, tail, mode="valid")                     # [max_lag + 1]
        window_energy = np.convolve(search ** 2, np.ones(c), mode="valid")
        r = corr / np.maximum(np.sqrt(window_energy * np.sum(tail ** 2)), 1e-12)
        lag = int(np.argmax(r))
        self.correlation = float(np.clip(r[lag], 0.0, 1.0))
        self.clip, self.loop_start, self.loop_end, self.crossfade = clip, loop_start + lag, loop_end, c
        segment = clip[self.loop_start:loop_end].astype(np.float64)
        env = _smooth_envelope(segment, min(1024, len(segment)))
        target = float(np.mean(env[-c:]))
        gain = np.clip(target / np.maximum(env, 1e-9), 0.0, 8.0)   # cap: never blow up near-silent noise
        segment = segment * gain
        u = (np.arange(c) + 0.5) / c
        norm = 1.0 / np.sqrt(u ** 2 + (1 - u) ** 2 + 2 * self.correlation * u * (1 - u))
        self.fade_in, self.fade_out = u * norm, (1 - u) * norm
        first_seam = clip[loop_end - c:loop_end] * self.fade_out + segment[:c] * self.fade_in
        seam = segment[-c:] * self.fade_out + segment[:c] * self.fade_in
        self.period = np.concatenate([segment[c:-c], seam]).astype(np.float32)   # [loop_len - crossfade]
        # the note before the first repeat: the clip up to loop_end, its last crossfade joined to the loop
        self.prefix = np.concatenate([clip[:loop_end - c], first_seam]).astype(np.float32)   # [loop_end]

    def render(self, length: int) -> np.ndarray:
        """Audio [length] float32: the clip up to loop_end, then the loop as long as needed."""
        return self.render_range(0, length)

    def render_range(self, start: int, count: int) -> np.ndarray:
        """Samples [start, start + count) of :meth:`render`'s infinite note, float32 [count]: any part of a
        note hours long without building the whole of it."""
        out = np.empty(count, np.float32)
        filled, pos, head, period = 0, start, len(self.prefix), len(self.period)
        if pos < head:
            filled = min(count, head - pos)
            out[:filled] = self.prefix[pos:pos + filled]
            pos += filled
        while filled < count:
            k = (pos - head) % period
            take = min(count - filled, period - k)
            out[filled:filled + take] = self.period[k:k + take]
            filled += take
            pos += take
        return out


class NoteCache:
    """LRU cache of generated clips, bounded in bytes. The renderer's keys are ints encoding (z id, velocity,
    pitch), where equal z bytes share one z id: so identical (pitch, velocity, z) notes are generated once.

    A hit needs a clip at least as long as requested (a longer clip's prefix is used: a source's shorter
    `num_samples` output is assumed to be the prefix of its longer one). Also caches each clip's SustainLoop.
    """

    def __init__(self, max_bytes: int):
        self.max_bytes, self.bytes = max_bytes, 0
        self.items: OrderedDict = OrderedDict()
        self.hits = self.misses = 0

    def get(self, key, length: int) -> np.ndarray | None:
        entry = self.items.get(key)
        if entry is None or len(entry[0]) < length:
            self.misses += 1
            return None
        self.items.move_to_end(key)
        self.hits += 1
        return entry[0]

    def put(self, key, clip: np.ndarray) -> None:
        old = self.items.pop(key, None)
        if old is not None:
            self.bytes -= old[0].nbytes
        self.items[key] = [clip, None]
        self.bytes += clip.nbytes
        while self.bytes > self.max_bytes and len(self.items) > 1:
            _, (evicted, _) = self.items.popitem(last=False)
            self.bytes -= evicted.nbytes

    def loop_for(self, key, clip: np.ndarray, build: Callable[[np.ndarray], SustainLoop]) -> SustainLoop:
        """The SustainLoop of `clip`, built once while its cache entry lives."""
        entry = self.items.get(key)
        if entry is None or entry[0] is not clip:
            return build(clip)
        if entry[1] is None:
            entry[1] = build(clip)
        return entry[1]


class BlockMixer:
    """Sums notes into consecutive blocks of `block_len` samples and hands finished blocks to `sink` in order.

    Blocks exist only where notes sound; gaps are flushed as zeros. Memory: the blocks spanned by notes
    that started but have not finished (polyphony × note length), never the whole piece.
    """

    def __init__(self, block_len: int, sink: Callable[[np.ndarray], None]):
        self.block_len, self.sink = block_len, sink
        self.blocks: dict[int, np.ndarray] = {}
        self.next_block = 0                  # index of the first block not yet flushed
        self.streams: list[list] = []        # [next sample, end sample, start sample, produce(offset, count)]

    def add_stream(self, start: int, length: int, produce: Callable[[int, int], np.ndarray]) -> None:
        """Mix a note of ``length`` samples at ``start`` whose audio is made on demand, block by block:
        ``produce(offset, count)`` returns its samples [offset, offset + count) as float32 [count]."""
        if start < self.next_block * self.block_len:
            raise RuntimeError("note starts inside an already flushed block")
        if length > 0:
            self.streams.append([start, start + length, start, produce])

    def _fill_streams(self, index: int, block: np.ndarray | None) -> np.ndarray | None:
        """Add every stream's share of block ``index`` (creating the block if a stream sounds in it)."""
        if not self.streams:
            return block
        begin, end = index * self.block_len, (index + 1) * self.block_len
        for stream in self.streams:
            pos, stop, start, produce = stream
            if pos >= end or pos >= stop:
                continue
            take = min(end, stop) - pos
            if block is None:
                block = np.zeros(self.block_len, np.float32)
            block[pos - begin:pos - begin + take] += produce(pos - start, take)
            stream[0] = pos + take
        self.streams = [s for s in self.streams if s[0] < s[1]]
        return block

    def add(self, start: int, audio: np.ndarray) -> None:
        """Mix audio [L] starting at sample `start` (must not precede a flushed block)."""
        if start < self.next_block * self.block_len:
            raise RuntimeError("note starts inside an already flushed block")
        index, offset = divmod(start, self.block_len)
        if offset + len(audio) <= self.block_len:          # the common case: the note fits in one block
            block = self.blocks.get(index)
            if block is None:
                block = self.blocks[index] = np.zeros(self.block_len, np.float32)
            block[offset:offset + len(audio)] += audio
            return
        pos, end = start, start + len(audio)
        while pos < end:
            index, offset = divmod(pos, self.block_len)
            block = self.blocks.get(index)
            if block is None:
                block = self.blocks[index] = np.zeros(self.block_len, np.float32)
            take = min(self.block_len - offset, end - pos)
            block[offset:offset + take] += audio[pos - start:pos - start + take]
            pos += take

    def flush_before(self, sample: int) -> None:
        """Flush every block that ends at or before `sample` (no later note can reach it)."""
        while (self.next_block + 1) * self.block_len <= sample:
            block = self._fill_streams(self.next_block, self.blocks.pop(self.next_block, None))
            self.sink(block if block is not None else np.zeros(self.block_len, np.float32))
            self.next_block += 1

    def finish(self, total: int) -> None:
        """Flush everything up to `total` samples; the last block is cut to length."""
        self.flush_before(total)
        remainder = total - self.next_block * self.block_len
        if remainder > 0:
            block = self._fill_streams(self.next_block, self.blocks.pop(self.next_block, None))
            self.sink(block[:remainder] if block is not None else np.zeros(remainder, np.float32))
        self.blocks.clear()
        self.streams.clear()


class FloatSpool:
    """Pass one: mixed blocks at `in_rate` -> (streaming soxr resample to `out_rate`) -> raw float32 temp file.

    Tracks the absolute peak of what is written, i.e. after resampling (resampling can overshoot).
    """

    def __init__(self, path: Path, in_rate: int, out_rate: int):
        self.path, self.out_rate, self.peak, self.frames = path, out_rate, 0.0, 0
        self.file = sf.SoundFile(path, "w", samplerate=out_rate, channels=1, format="RAW", subtype="FLOAT")
        self.resampler = None
        if in_rate != out_rate:
            import soxr     # librosa's resampling backend; streaming keeps block joins seamless
            self.resampler = soxr.ResampleStream(in_rate, out_rate, 1, dtype="float32", quality="VHQ")

    def write(self, block: np.ndarray, last: bool = False) -> None:
        if self.resampler is not None:
            block = self.resampler.resample_chunk(np.ascontiguousarray(block, np.float32), last=last)
        if len(block):
            self.peak = max(self.peak, float(np.max(np.abs(block))))
            self.file.write(block.astype(np.float32, copy=False))
            self.frames += len(block)

    def close(self) -> None:
        if self.resampler is not None:
            self.write(np.zeros(0, np.float32), last=True)
            self.resampler = None
        self.file.close()

    def read_scaled(self, gain: float, chunk: int) -> Iterator[np.ndarray]:
        """Pass two: the spooled audio times `gain`, in chunks of `chunk` frames, float32."""
        with sf.SoundFile(self.path, "r", samplerate=self.out_rate, channels=1, format="RAW",
                          subtype="FLOAT") as spool:
            while True:
                data = spool.read(chunk, dtype="float32")
                if len(data) == 0:
                    break
                yield data * np.float32(gain)


def normalise_gain(peak: float, headroom_db: float) -> float:
    """Gain that puts the absolute peak at -headroom_db dBFS (1.0 for silence)."""
    return 10.0 ** (-headroom_db / 20.0) / peak if peak > 0 else 1.0


def remove_quietly(path: Path) -> None:
    try:
        os.unlink(path)
    except FileNotFoundError:
        pass
