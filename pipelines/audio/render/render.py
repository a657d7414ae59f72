"""Render any MIDI file through a note generator's learned timbres, with timbre morphing over time.

    result = render_midi(source, "song.mid", "song.wav", morph="0:bright,30:seed:7,60:warm")

Every non-drum note becomes one generated note (pitch, velocity, z at its onset), shaped by an
attack/release envelope, sustained by a crossfaded loop when longer than the generated clip, scaled by
velocity and mixed. Identical (pitch, velocity, z) notes are generated once; generation is batched and asks
only for the samples a note needs. Output is peak-normalised on the absolute peak, written atomically.
"""
from __future__ import annotations

import os
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from tqdm.auto import tqdm

from creative_gan import fileio

from ..data.midi_notes import NoteTable, RenderError, RenderWarning, extract_notes, load_midi
from .limits import RenderLimits
from .mixing import (BlockMixer, FloatSpool, NoteCache, NoteEnvelope, SustainLoop, normalise_gain,
                     remove_quietly, velocity_gain)
from .timbre import MORPH_STEPS, NoteSource, TimbreCurve, TimbreError, build_curve, default_timbre, source_device

__all__ = ["render_midi", "RenderResult", "RenderError", "RenderWarning", "RenderLimits", "NoteSource"]

OUTPUT_FORMATS = {".wav": "WAV", ".flac": "FLAC"}
_SOURCE_FIELDS = ("sample_rate", "note_samples", "pitch_range", "latent_dim", "has_velocity", "presets",
                  "latent_for_seed", "synthesize")


@dataclass
class RenderResult:
    """audio: [T] float32 in [-1, 1] at `sample_rate` Hz, or None when written to `path`; summary: counts/timings."""

    audio: np.ndarray | None
    sample_rate: int
    path: Path | None
    summary: dict


def render_midi(source: NoteSource, midi, out_path=None, timbres=None, morph=None, track_timbres=None,
                sample_rate: int | None = None, attack: float = 0.01, release: float = 0.3,
                headroom_db: float = 1.0, block_seconds: float = 10.0, progress: bool = True,
                batch_size: int = 64, velocity_exponent: float | None = None, morph_steps: int = MORPH_STEPS,
                cache_mb: float = 64.0, loop_region: tuple[float, float] | None = None,
                limits: RenderLimits | None = None) -> RenderResult:
    """Render `midi` (path or PrettyMIDI) through `source`; write `out_path` (.wav/.flac, 16-bit) or return audio.

    Timbres (each a seed, preset name, z vector or morph string): `timbres` one spec for every pitched
    track or a list assigned to pitched tracks in order (cycled); `morph` anchors "0:a,30:b" / [(0, "a"),
    (30, "b")] / "a,b" (spread over the piece) for every track; `track_timbres` {instrument index: spec or
    morph} overrides per track. Default: the source's `default_timbre` (for a release model: its configured
    default, else its first preset by sorted name), else seed 0. `timbres` and `morph` exclude each other.
    attack/release: envelope seconds; a note sounds for duration + release. velocity: gain
    (v/127)**velocity_exponent, plus the generation condition if source.has_velocity; velocity_exponent
    None = 0 for a velocity-conditioned source (its notes already get louder as in its data: a gain on top
    would count velocity twice), else 2 (the standard MIDI velocity curve). sample_rate: output Hz
    (streaming soxr VHQ resampling). headroom_db: the absolute peak lands at -headroom_db dBFS.
    block_seconds: mixing block; batch_size: notes per generate call; cache_mb: generated-clip cache budget;
    morph_steps: morph quantisation per anchor interval; loop_region: (start_s, end_s) of the sustain loop
    inside the clip (default 12.5 %-72.5 % of it: 0.5-2.9 s of a 4-s clip whose note-off is at 3 s).
    limits: :class:`RenderLimits` (default: 3 hours of output, 60-s attack/release); checked before any work.
    Memory stays flat in the number and length of notes when writing a file (`out_path`); temp files are
    removed on every exit, Ctrl-C and SIGTERM (as the CLI raises it) included.
    """
    started = time.perf_counter()
    out = _check_output(out_path)
    _check_source(source)
    if velocity_exponent is None:
        velocity_exponent = 0.0 if getattr(source, "has_velocity", False) else 2.0
    limits = RenderLimits() if limits is None else limits
    if not isinstance(limits, RenderLimits):
        raise RenderError(f"limits must be a RenderLimits, got {type(limits).__name__}")
    out_rate = _check_options(source, sample_rate, attack, release, headroom_db, block_seconds, batch_size,
                              velocity_exponent, morph_steps, cache_mb)
    limits.check_envelope(attack, release)
    _track_curves(source, None, timbres, morph, track_timbres, 0.0)        # bad names fail before any work
    pm = load_midi(midi)
    notes = extract_notes(pm, source.pitch_range)
    limits.check_notes(notes, release)                                     # before a single sample is made
    curves = _track_curves(source, notes, timbres, morph, track_timbres, float(notes.onset_s.max()))

    # hidden temp files beside the output (the spool can be large; /tmp may be small); fileio's naming lets
    # the next render remove those of a process that was killed outright (SIGKILL, power loss)
    spool_dir = out.parent if out is not None else Path(tempfile.gettempdir())
    spool_path = fileio.temp_name(spool_dir / f"{out.name if out else 'render'}.spool")
    fileio.remove_stale_temps(spool_dir / f"{out.name if out else 'render'}.spool")
    try:
        spool = FloatSpool(spool_path, source.sample_rate, out_rate)
        try:
            stats = _mix_notes(source, notes, curves, spool, attack, release, block_seconds, batch_size,
                               velocity_exponent, morph_steps, cache_mb, loop_region, progress)
        finally:
            spool.close()
        gain = normalise_gain(spool.peak, headroom_db)
        chunk = max(1, int(block_seconds * out_rate))
        audio = None
        if out is not None:
            import soundfile as sf

            # atomic, with the user's umask: an existing good file is replaced only when this one is complete
            with fileio.atomic_path(out) as partial:
                with sf.SoundFile(partial, "w", samplerate=out_rate, channels=1, subtype="PCM_16",
                                  format=OUTPUT_FORMATS[out.suffix.lower()]) as handle:
                    for data in spool.read_scaled(gain, chunk):
                        handle.write(data)
        else:
            audio = np.empty(spool.frames, np.float32)
            pos = 0
            for data in spool.read_scaled(gain, chunk):
                audio[pos:pos + len(data)] = data
                pos += len(data)
    finally:                                # any exit: errors, Ctrl-C, the CLI's SIGTERM/SIGHUP exception
        remove_quietly(spool_path)

    render_s = time.perf_counter() - started
    duration_s = spool.frames / out_rate
    per_track = np.bincount(notes.track, minlength=len(notes.tracks))
    tracks = [dict(t, notes_rendered=int(per_track[t["index"]]), timbre=_curve_label(curves.get(t["index"])))
              for t in notes.tracks]
    summary = {
        "notes_rendered": len(notes), "notes_skipped_drums": notes.skipped_drums,
        "notes_transposed": notes.transposed, "notes_skipped_empty": notes.skipped_empty,
        "duration_s": duration_s, "render_s": render_s,
        "realtime_factor": duration_s / render_s if render_s > 0 else float("inf"),
        "tracks": tracks, "sample_rate": out_rate,
        "peak_before_normalisation": spool.peak, "gain_db": float(20 * np.log10(gain)),
        **stats,
    }
    return RenderResult(audio, out_rate, out, summary)


def _mix_notes(source, notes: NoteTable, curves: dict[int, TimbreCurve], spool: FloatSpool, attack, release,
               block_seconds, batch_size, velocity_exponent, morph_steps, cache_mb, loop_region,
               progress) -> dict:
    """Generate, shape and mix every note in onset order, in batches; returns generation statistics."""
    sr, clip_len = int(source.sample_rate), int(source.note_samples)
    loop_start, loop_end = _loop_samples(loop_region, sr, clip_len)
    crossfade = max(1, min(int(0.1 * sr), (loop_end - loop_start) // 4))
    att, rel = int(round(attack * sr)), int(round(release * sr))
    bucket = max(1, sr // 4)      # requested lengths rounded up to 0.25 s so clips are shared and reused

    onset = np.rint(notes.onset_s * sr).astype(np.int64)
    hold = np.maximum(1, np.rint(notes.duration_s * sr).astype(np.int64))
    length = hold + rel
    looped = (hold > loop_end) | (length > clip_len)
    request = np.minimum(clip_len, -(-np.where(looped, loop_end, length) // bucket) * bucket)
    gains = velocity_gain(notes.velocity, velocity_exponent).astype(np.float32)
    latents, note_key = _note_keys(source, notes, curves, morph_steps)

    device = source_device(source)
    cache = NoteCache(int(cache_mb * 2 ** 20 * 0.75))
    shaped = NoteCache(int(cache_mb * 2 ** 20 * 0.25))    # finished notes: same clip, velocity and length
    mixer = BlockMixer(max(1, int(block_seconds * sr)), spool.write)
    generated = calls = 0
    generate_s = 0.0                        # wall time inside source.generate (incl. the copy to CPU)
    build_loop = lambda clip: SustainLoop(clip, loop_start, loop_end, crossfade, sr // 20)   # noqa: E731
    bar = tqdm(total=len(notes), unit="note", desc="render", disable=not progress, leave=False)
    envelope = NoteEnvelope(att, rel)
    stream_above = mixer.block_len          # notes longer than a mixing block are made block by block
    for first in range(0, len(notes), batch_size):
        last = min(first + batch_size, len(notes))
        # plain Python ints: per-note scalar access on numpy arrays costs more than the mixing itself
        keys = note_key[first:last].tolist()
        wanted, clips = {}, {}              # wanted: cache misses, key -> samples to generate
        for key, needed in zip(keys, request[first:last].tolist()):
            if key in clips and len(clips[key]) >= needed:
                continue
            cached = cache.get(key, needed)
            if cached is not None:
                clips[key] = cached
            else:
                wanted[key] = max(needed, wanted.get(key, 0))
        for num_samples in sorted(set(wanted.values())):   # one generate call per requested length
            group = [key for key, n in wanted.items() if n == num_samples]
            tick = time.perf_counter()
            audio = _generate(source, device, group, latents, num_samples)
            generate_s += time.perf_counter() - tick
            calls += 1
            generated += len(group)
            for key, clip in zip(group, audio):
                cache.put(key, clip)
                clips[key] = clip
        columns = (a[first:last].tolist() for a in (onset, hold, length, notes.velocity, gains, looped))
        for key, start, hold_i, length_i, velocity, gain, loop in zip(keys, *columns):
            if loop and length_i > stream_above:
                sustain = cache.loop_for(key, clips[key], build_loop)
                mixer.add_stream(start, length_i, _note_stream(sustain, np.float32(gain), envelope, hold_i))
                continue
            shape_key = (key, velocity, hold_i)      # repeated notes (same length too) are shaped once
            audio = shaped.get(shape_key, 0)
            if audio is None:
                clip = clips[key]
                audio = (cache.loop_for(key, clip, build_loop).render(length_i) if loop
                         else clip[:length_i].copy())
                audio *= np.float32(gain)
                envelope.apply(audio, hold_i)
                shaped.put(shape_key, audio)
            mixer.add(start, audio)
        if last < len(notes):
            mixer.flush_before(int(onset[last]))
        bar.update(last - first)
    bar.close()
    mixer.finish(int(np.max(onset + length)))
    return {"unique_notes_generated": generated, "generate_calls": calls, "generate_s": generate_s,
            "notes_reused": len(notes) - generated if generated <= len(notes) else 0}


def _note_stream(sustain: SustainLoop, gain: np.float32, envelope: NoteEnvelope, hold: int):
    """``produce(offset, count)`` of one long note for :meth:`BlockMixer.add_stream`: looped, scaled, enveloped."""
    def produce(offset: int, count: int) -> np.ndarray:
        audio = sustain.render_range(offset, count)
        audio *= gain
        return envelope.apply_range(audio, offset, hold)
    return produce


def _note_keys(source, notes: NoteTable, curves: dict[int, TimbreCurve], steps: int):
    """Cache keys [N] int64 = (z id · 128 + velocity) · 128 + pitch, and the z [D] of each z id.

    Each note's z is its track's curve at the quantised onset position; identical z vectors (compared by
    their bytes, e.g. two tracks with one timbre) share one id. Velocity is part of the key only if the
    source is conditioned on it (otherwise it is just a gain). Computed once for the piece: O(N) integers.
    """
    segment = np.zeros(len(notes), np.int64)
    step = np.zeros(len(notes), np.int64)
    for index, curve in curves.items():
        mask = notes.track == index
        segment[mask], step[mask] = curve.keys_at(notes.onset_s[mask], steps)
    seg_count = int(segment.max()) + 1
    position = (notes.track * seg_count + segment) * (steps + 1) + step       # one int per curve position
    del segment, step
    groups, inverse = np.unique(position, return_inverse=True)
    del position
    rest, group_step = np.divmod(groups, steps + 1)
    group_track, group_segment = np.divmod(rest, seg_count)
    group_z = torch.empty(len(groups), next(iter(curves.values())).latents.shape[1])
    for index, curve in curves.items():          # one batched slerp per track, not one per position
        where = np.flatnonzero(group_track == index)
        if len(where):
            group_z[where] = curve.latents_for_keys(group_segment[where], group_step[where], steps).float()
    id_of_bytes: dict[bytes, int] = {}
    latents: list[torch.Tensor] = []
    group_ids = np.empty(len(groups), np.int64)
    for g, z in enumerate(group_z):
        z_id = id_of_bytes.setdefault(z.numpy().tobytes(), len(latents))
        if z_id == len(latents):
            latents.append(z)
        group_ids[g] = z_id
    velocity = notes.velocity if source.has_velocity else np.zeros_like(notes.velocity)
    keys = (group_ids[inverse.reshape(-1)] * 128 + velocity) * 128 + notes.pitch
    return latents, keys


def _generate(source, device, keys: list[int], latents: list[torch.Tensor], num_samples: int) -> list[np.ndarray]:
    """One batched source.synthesize call for note keys -> float32 clips [num_samples] (own memory).

    RenderError if the source returns NaN or infinite samples."""
    pitches = torch.tensor([key % 128 for key in keys], dtype=torch.long, device=device)
    z = torch.stack([latents[key // 16384] for key in keys]).to(device)
    velocities = None
    if source.has_velocity:
        velocities = torch.tensor([(key // 128) % 128 for key in keys], dtype=torch.long, device=device)
    with torch.inference_mode():
        out = source.synthesize(pitches, z, velocities, num_samples=num_samples)
    out = out.detach().float().cpu().numpy().reshape(len(keys), -1)
    if not np.isfinite(out).all():          # never a silent all-zero file from a broken model
        raise RenderError("the model generated NaN or infinite samples: its weights are broken "
                          "(retrain it, or render with another model)")
    if out.shape[1] < num_samples:          # a source may ignore num_samples or give less: pad with silence
        out = np.pad(out, ((0, 0), (0, num_samples - out.shape[1])))
    return [row[:num_samples].astype(np.float32, copy=True) for row in out]


def _loop_samples(loop_region, sr: int, clip_len: int) -> tuple[int, int]:
    if loop_region is None:
        return int(round(0.125 * clip_len)), int(round(0.725 * clip_len))
    start, end = (int(round(float(v) * sr)) for v in loop_region)
    if not 0 <= start < end <= clip_len or end - start < max(8, sr // 20):
        raise RenderError(f"loop_region {tuple(loop_region)} must satisfy 0 <= start < end <= "
                          f"{clip_len / sr:g} s with at least 50 ms between them")
    return start, end


def _check_output(out_path) -> Path | None:
    """Validate the output path before any work: existing folder, supported suffix, not a folder."""
    if out_path is None:
        return None
    out = Path(out_path).expanduser().absolute()
    if out.suffix.lower() not in OUTPUT_FORMATS:
        raise RenderError(f"output {out.name}: unsupported format, use one of {', '.join(OUTPUT_FORMATS)}")
    if not out.parent.is_dir():
        raise RenderError(f"output folder does not exist: {out.parent}")
    if out.is_dir():
        raise RenderError(f"output path is a folder: {out}")
    if not os.access(out.parent, os.W_OK):
        raise RenderError(f"output folder is not writable: {out.parent}")
    return out


def _check_source(source) -> None:
    missing = [name for name in _SOURCE_FIELDS if not hasattr(source, name)]
    if missing:
        raise RenderError(f"source is not a NoteSource: missing {', '.join(missing)}")


def _check_options(source, sample_rate, attack, release, headroom_db, block_seconds, batch_size,
                   velocity_exponent, morph_steps, cache_mb) -> int:
    for name, value in (("attack", attack), ("release", release), ("headroom_db", headroom_db),
                        ("velocity_exponent", velocity_exponent), ("cache_mb", cache_mb)):
        if not np.isfinite(value) or value < 0:
            raise RenderError(f"{name} must be a finite number >= 0, got {value!r}")
    if not np.isfinite(block_seconds) or block_seconds <= 0:
        raise RenderError(f"block_seconds must be > 0, got {block_seconds!r}")
    if int(batch_size) < 1 or int(morph_steps) < 1:
        raise RenderError(f"batch_size and morph_steps must be >= 1, got {batch_size!r} and {morph_steps!r}")
    rate = int(source.sample_rate if sample_rate is None else sample_rate)
    if rate < 1000 or rate > 384_000:
        raise RenderError(f"sample_rate must be between 1000 and 384000 Hz, got {sample_rate!r}")
    return rate


def _track_curves(source, notes: NoteTable | None, timbres, morph, track_timbres, end_s) -> dict[int, TimbreCurve]:
    """{instrument index: TimbreCurve} for every pitched track (all specs checked if notes is None)."""
    if timbres is not None and morph is not None:
        raise RenderError("give either timbres or morph, not both (use track_timbres for per-track choices)")
    if timbres is None and morph is None:
        timbres = default_timbre(source)
    try:
        if morph is not None:
            defaults = [build_curve(source, morph if isinstance(morph, str) else list(morph), end_s)]
        elif isinstance(timbres, (list, tuple)):
            if not timbres:
                raise RenderError("timbres is an empty list")
            defaults = [build_curve(source, spec, end_s) for spec in timbres]
        else:
            defaults = [build_curve(source, timbres, end_s)]
        overrides = {}
        for index, spec in (track_timbres or {}).items():
            if not str(index).strip().isdigit():
                raise RenderError(f"track_timbres key {index!r} is not an instrument index")
            overrides[int(index)] = build_curve(source, spec, end_s)
    except TimbreError as error:
        raise RenderError(str(error)) from None
    if notes is None:
        return {}
    pitched = [t["index"] for t in notes.tracks if not t["is_drum"]]
    for index in overrides:
        if index not in pitched:
            valid = ", ".join(map(str, pitched))
            raise RenderError(f"track_timbres names instrument {index}, but the pitched instruments are: {valid}")
    return {index: overrides.get(index, defaults[order % len(defaults)]) for order, index in enumerate(pitched)}


def _curve_label(curve: TimbreCurve | None) -> str | None:
    if curve is None:
        return None
    if len(curve.times) == 1:
        return curve.labels[0]
    return ",".join(f"{t:g}:{label}" for t, label in zip(curve.times, curve.labels))
