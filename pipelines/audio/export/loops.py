"""Sustain loops for sampler instruments: loop points where waveform and slope match, baked into the sample.

A sampler plays a sample up to ``loop_end`` and jumps back to ``loop_start`` for as long as the key is held
(SFZ ``loop_mode=loop_continuous``), so every repeat crosses the seam ``audio[loop_end] -> audio[loop_start]``.
The seam is click-free when the audio arriving at the end continues the way the audio arriving at the start
did. :func:`find_loop_points` searches the sustain for such a pair: upward zero crossings (value 0, rising) near
the nominal start and end whose preceding windows correlate best, penalised by any value or slope mismatch.
:func:`build_looped_sample` then makes the note sampler-ready, the way the MIDI renderer's ``SustainLoop``
sustains a note: the first pass is the generated clip itself up to the loop end; the loop period that follows
is the same stretch with its level held at the loop-end level (a decaying note does not swell at each
repeat), and its last ``crossfade`` samples are crossfaded (raised-cosine) into the audio before the loop
start, so the seam is continuous in value and slope. The few best-scoring pairs are each built and the one
whose seam disturbs the spectrum least, relative to the sustain's own frame-to-frame spectral flux
(:func:`seam_flux_ratio`), is kept. Nothing here needs the sampler to support crossfaded loops.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

MAX_END_CANDIDATES = 48        # zero crossings tried near the nominal end (nearest first)
LEVEL_WINDOW = 1024            # samples of the RMS envelope that holds the loop level (64 ms at 16 kHz)
MAX_LEVEL_GAIN = 8.0           # never lift near-silent noise by more than 18 dB
TRIED_PAIRS = 4                # best-scoring loop point pairs built and checked for their seam
FLUX_FFT, FLUX_HOP, FLUX_FLOOR_DB = 512, 64, 80.0


@dataclass
class LoopedSample:
    """One sampler-ready note.

    audio: float32 ``[loop_end + 1]``: the generated note up to the loop, then one loop period.
    loop_start / loop_end: first and last sample (inclusive, as SFZ counts) of the period the sampler repeats.
    source_start / source_end: the loop points found in the generated clip (samples; the period is
    ``clip[source_start:source_end]``, levelled). match: normalised correlation in [-1, 1] of the audio
    leading into the two points (1: the seam is invisible even before the crossfade). seam_ratio: spectral flux
    across the seam / the largest frame-to-frame flux inside the loop (<= 1: the seam is within the
    sustain's own movement).
    """

    audio: np.ndarray
    loop_start: int
    loop_end: int
    source_start: int
    source_end: int
    match: float
    seam_ratio: float = float("nan")

    @property
    def period(self) -> int:
        """Loop length in samples."""
        return self.loop_end - self.loop_start + 1


def upward_crossings(x: np.ndarray, lo: int, hi: int) -> np.ndarray:
    """Indices i in [lo, hi) where x[i-1] < 0 <= x[i] (lo >= 1)."""
    i = np.arange(max(lo, 1), hi)
    return i[(x[i - 1] < 0) & (x[i] >= 0)]


def find_loop_points(clip: np.ndarray, start: int, end: int, search: int, window: int,
                     count: int = 1) -> list[tuple[int, int, float]]:
    """The ``count`` best loop point pairs [(s, e, r)] near the nominal ``start`` and ``end`` of ``clip [T]``.

    The loop plays ``clip[s:e]`` and jumps from ``e - 1`` back to ``s``; a good pair has ``clip[s - window:s]``
    like ``clip[e - window:e]`` (normalised correlation r) and ``clip[s]``, ``clip[s] - clip[s - 1]`` like
    ``clip[e]``, ``clip[e] - clip[e - 1]``. s is searched in ``[start, start + search]``, e in
    ``[end - search, end]``, both preferring upward zero crossings (any sample where there are none).
    Pairs are ranked by r minus the value and slope gaps (in units of the sustain's RMS and RMS slope);
    each end point gives at most one pair.
    """
    x = np.asarray(clip, np.float64)
    start = max(int(start), window + 1)
    end = min(int(end), len(x) - 1)
    if end - start < 4 * window:
        raise ValueError(f"loop region {start}-{end} is too short for a {window}-sample match window")
    ends = upward_crossings(x, end - search, end + 1)
    if len(ends) == 0:
        ends = np.arange(end - search, end + 1)
    ends = ends[np.argsort(np.abs(ends - end), kind="stable")][:MAX_END_CANDIDATES]
    starts = upward_crossings(x, start, start + search + 1)
    if len(starts) == 0:
        starts = np.arange(start, start + search + 1)
    region = x[start - window:start + search]                        # windows ending at start .. start+search
    energy = np.convolve(region ** 2, np.ones(window), mode="valid")  # [search + 1]
    rms = float(np.sqrt(np.mean(x[start:end] ** 2))) + 1e-12
    slope_rms = float(np.sqrt(np.mean(np.diff(x[start:end]) ** 2))) + 1e-12
    ranked = []
    for e in ends.tolist():
        tail = x[e - window:e]
        corr = np.correlate(region, tail, mode="valid")               # [search + 1]
        r = corr / np.maximum(np.sqrt(energy * np.sum(tail ** 2)), 1e-20)
        r_at = r[starts - start]
        value_gap = np.abs(x[starts] - x[e]) / rms
        slope_gap = np.abs((x[starts] - x[starts - 1]) - (x[e] - x[e - 1])) / slope_rms
        score = r_at - 0.25 * (value_gap + slope_gap)
        k = int(np.argmax(score))
        ranked.append((float(score[k]), int(starts[k]), e, float(r_at[k])))
    ranked.sort(key=lambda item: -item[0])
    return [(s, e, r) for _, s, e, r in ranked[:count]]


def spectral_flux(audio: np.ndarray) -> np.ndarray:
    """Frame-to-frame spectral flux [frames - 1]: L2 norm over bins (DC left out) of the rise in dB, with
    magnitudes floored 80 dB below the loudest bin (512-sample frames, hop 64)."""
    window = np.hanning(FLUX_FFT)
    frames = np.lib.stride_tricks.sliding_window_view(np.asarray(audio, np.float64), FLUX_FFT)[::FLUX_HOP]
    mag = 20 * np.log10(np.abs(np.fft.rfft(frames * window, axis=1))[:, 1:] + 1e-12)
    mag = np.maximum(mag, mag.max() - FLUX_FLOOR_DB)
    return np.sqrt((np.maximum(np.diff(mag, axis=0), 0.0) ** 2).sum(1))


def seam_flux_ratio(period: np.ndarray) -> float:
    """Largest spectral flux of the frames that span the jump from the end of a loop ``period [P]`` back to
    its start, divided by the largest flux inside the period played straight through (<= 1: click-free)."""
    half = min(4 * FLUX_FFT, len(period) // 2)
    if half <= FLUX_FFT:
        return float("nan")
    inside = spectral_flux(period).max()
    joined = np.concatenate([period[-half:], period[:half]])
    flux = spectral_flux(joined)
    starts = np.arange(len(flux) + 1) * FLUX_HOP
    spans = (starts < half) & (starts + FLUX_FFT > half)
    across = flux[spans[:-1] | spans[1:]]
    return float(across.max() / inside) if inside > 0 else float("inf") if across.max() > 0 else 0.0


def _level_envelope(x: np.ndarray, window: int) -> np.ndarray:
    """RMS envelope [T] of x: moving average of x² over ``window`` samples, centred."""
    power = np.convolve(x ** 2, np.ones(window) / window, mode="same")
    return np.sqrt(np.maximum(power, 0.0))


def build_looped_sample(clip: np.ndarray, start: int, end: int, sample_rate: int, search_s: float = 0.05,
                        crossfade_s: float = 0.2, match_s: float = 0.05, tries: int = TRIED_PAIRS) -> LoopedSample:
    """A :class:`LoopedSample` from a generated note ``clip [T]`` (float, at ``sample_rate`` Hz).

    ``start``/``end``: nominal loop region in samples (``end <= T``); loop points are searched up to
    ``search_s`` seconds inside it, matched over ``match_s`` seconds; ``crossfade_s``: length of the baked
    seam crossfade (capped at a third of the loop); ``tries``: best pairs built, the one with the smallest
    :func:`seam_flux_ratio` kept; if none is <= 1, later starts (1/8 and 1/4 of the loop in) are tried too.
    The loop period is levelled to the RMS level at the loop end.
    """
    x = np.asarray(clip, np.float64)
    if not 0 <= start < end <= len(x):
        raise ValueError(f"loop region {start}-{end} does not lie inside a clip of {len(x)} samples")
    loop_len = end - start
    window = max(8, min(int(round(match_s * sample_rate)), loop_len // 4, start))
    search = max(1, min(int(round(search_s * sample_rate)), loop_len // 4))
    env = _level_envelope(x, min(LEVEL_WINDOW, loop_len))
    best = None
    # the nominal start first; later starts only while no seam is within the sustain's own flux (ratio <= 1)
    for shift in (0.0, 0.25, 0.5):
        begin = start + int(shift * loop_len / 2)
        for s, e, r in find_loop_points(x, begin, end, search, window, count=max(1, tries)):
            c = max(8, min(int(round(crossfade_s * sample_rate)), (e - s) // 3, s))
            take = _bake(x, env, s, e, r, c)
            if best is None or take.seam_ratio < best.seam_ratio or np.isnan(best.seam_ratio):
                best = take
        if not best.seam_ratio > 1.0:           # also stops on NaN (a loop too short to measure)
            break
    return best


def _bake(x: np.ndarray, env: np.ndarray, s: int, e: int, r: float, c: int) -> LoopedSample:
    """The sampler-ready note for loop points (s, e) with a ``c``-sample raised-cosine seam crossfade."""
    target = float(np.mean(env[e - c:e]))
    gain = np.clip(target / np.maximum(env[s - c:e], 1e-12), 0.0, MAX_LEVEL_GAIN)
    level = x[s - c:e] * gain                   # the stretch before the start and the loop, levelled
    before_start, period = level[:c], level[c:].copy()
    u = 0.5 - 0.5 * np.cos(np.pi * (np.arange(c) + 0.5) / c)    # smooth at both ends: no slope step
    rho = float(np.clip(r, 0.0, 1.0))           # correlated content: equal gain; unrelated: equal power
    norm = 1.0 / np.sqrt(u ** 2 + (1 - u) ** 2 + 2 * rho * u * (1 - u))
    fade_in, fade_out = u * norm, (1 - u) * norm
    # the period ends the way the audio before its start does, so the jump back continues it
    period[-c:] = period[-c:] * fade_out + before_start * fade_in
    prefix = x[:e].copy()
    prefix[-c:] = prefix[-c:] * fade_out + before_start * fade_in
    audio = np.concatenate([prefix, period]).astype(np.float32)
    return LoopedSample(audio, len(prefix), len(audio) - 1, s, e, r, seam_flux_ratio(audio[len(prefix):]))
