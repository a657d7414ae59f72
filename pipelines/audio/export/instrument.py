"""Export a learned timbre (or a morph between two) as an SFZ sampler instrument any DAW or sampler can play.

    >>> pipe = creative_gan.load("audio-default")
    >>> result = pipe.export_instrument("out/violin", timbre="violin")        # out/violin/violin.sfz + samples/
    >>> result = pipe.export_instrument("out/m", morph=("violin", "flute"))   # CC 1 sweeps violin -> flute

One note per (key zone, velocity layer) is made by the same note generator the MIDI renderer uses (keys
outside the model's range by whole-octave moves, as ``render`` does), given a click-free sustain loop
(:mod:`.loops`), and written as a 24-bit (or float) WAV; the ``.sfz`` maps every key of the span and
every velocity 1-127 exactly once per morph layer (:mod:`.mapping`, :mod:`.sfz`). A model that does not
condition on velocity makes the same note at every velocity, so its velocity layers share one file.
Everything is checked before any work; files appear only when all of them are complete.
"""
from __future__ import annotations

import os
import re
import shutil
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
from tqdm.auto import tqdm

from creative_gan import fileio
from creative_gan.errors import ReleaseError, UsageError
from creative_gan.layers import slerp

from ..render.timbre import TimbreError, default_timbre, resolve_timbre, source_device
from .loops import LoopedSample, build_looped_sample
from .mapping import check_every, key_zones, parse_pitch_span, parse_velocities, velocity_layers
from .sfz import SAMPLE_FOLDER, Region, morph_crossfades, sfz_text
from .wavloop import add_loop_chunk

SAMPLE_FORMATS = {"24": "PCM_24", "float": "FLOAT"}
MAX_MORPH_LAYERS = 9


@dataclass
class InstrumentResult:
    """What was written: ``sfz`` path, sample paths (unique files), region count, loop statistics."""

    sfz: Path
    samples: list[Path]
    regions: int
    zones: int
    velocity_layers: int
    morph_layers: int
    max_shift: int                       # semitones, the largest pitch shift any key needs
    loop_match_min: float                # worst normalised correlation at a loop seam (before the crossfade)
    seam_ratio_max: float                # worst seam spectral flux / the sustain's own largest flux (<= 1: clean)
    summary: dict = field(default_factory=dict)


def instrument_name(timbre, morph) -> str:
    """A file-name-safe instrument name from the timbre spec(s): ``violin``, ``seed-7``, ``violin-to-flute``."""
    specs = [timbre] if morph is None else list(morph)
    words = [re.sub(r"[^A-Za-z0-9]+", "-", str(s).strip()).strip("-").lower() or "timbre" for s in specs]
    return "-to-".join(words)


def morph_specs(morph) -> list:
    """``"A,B"`` or ``(A, B)`` -> [A, B] (strings stripped); other lengths are reported by the caller."""
    if isinstance(morph, str):
        return [part.strip() for part in morph.split(",")]
    try:
        return [m.strip() if isinstance(m, str) else m for m in morph]
    except TypeError:
        raise UsageError(f"morph needs two timbres A,B (e.g. violin,flute), got {morph!r}") from None


def _check_name(name: str) -> str:
    if not isinstance(name, str) or not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9._-]{0,99}", name):
        raise UsageError(f"instrument name {name!r}: use 1-100 letters, digits, '.', '_' or '-' (no spaces, "
                         "no folders)")
    return name


def _check_seconds(loop, release, attack, crossfade, sample_rate, note_samples) -> tuple[int, int]:
    for what, value in (("release", release), ("attack", attack), ("crossfade", crossfade)):
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not np.isfinite(value) or value < 0:
            raise UsageError(f"{what} must be a finite number of seconds >= 0, got {value!r}")
    if release > 60 or attack > 60:
        raise UsageError("attack and release must be at most 60 seconds")
    try:
        start_s, end_s = (float(v) for v in loop)
    except (TypeError, ValueError):
        raise UsageError(f"loop must be (start_s, end_s) seconds, got {loop!r}") from None
    clip_s = note_samples / sample_rate
    if not (np.isfinite(start_s) and np.isfinite(end_s) and 0 < start_s and end_s - start_s >= 0.2
            and end_s <= clip_s):
        raise UsageError(f"loop ({start_s:g}, {end_s:g}) s must satisfy 0 < start, start + 0.2 <= end <= "
                         f"{clip_s:g} s (the generated note's length)")
    return int(round(start_s * sample_rate)), int(round(end_s * sample_rate))


def _timbre_layers(source, timbre, morph, morph_layers: int) -> list[tuple[str, torch.Tensor]]:
    """[(label, z [D])]: the one timbre, or ``morph_layers`` points of the slerp path from A to B."""
    try:
        if morph is None:
            return [(str(timbre), resolve_timbre(source, timbre))]
        morph = morph_specs(morph)
        if len(morph) != 2 or any(isinstance(m, str) and not m for m in morph):
            raise UsageError(f"morph needs two timbres A,B (e.g. violin,flute), got {morph!r}")
        a, b = (resolve_timbre(source, spec) for spec in morph)
    except TimbreError as error:
        raise UsageError(str(error)) from None
    if isinstance(morph_layers, bool) or not isinstance(morph_layers, int) or \
            not 2 <= morph_layers <= MAX_MORPH_LAYERS:
        raise UsageError(f"morph layers must be a whole number in 2-{MAX_MORPH_LAYERS}, got {morph_layers!r}")
    labels = [str(morph[0])] + [f"{i}/{morph_layers - 1}" for i in range(1, morph_layers - 1)] + [str(morph[1])]
    return [(labels[i], a if i == 0 else b if i == morph_layers - 1 else
             slerp(a, b, torch.tensor(i / (morph_layers - 1))).float()) for i in range(morph_layers)]


def _synthesize(source, pitches: list[int], z: torch.Tensor, velocities, num_samples: int,
                batch_size: int = 32) -> np.ndarray:
    """Notes ``[N, num_samples]`` float32 from ``source.synthesize`` (the renderer's entry point)."""
    device = source_device(source)
    out = []
    for first in range(0, len(pitches), batch_size):
        part = slice(first, first + batch_size)
        p = torch.tensor(pitches[part], dtype=torch.long, device=device)
        v = None if velocities is None else torch.tensor(velocities[part], dtype=torch.long, device=device)
        with torch.inference_mode():
            audio = source.synthesize(p, z.reshape(1, -1).expand(len(p), -1).to(device), v, num_samples=num_samples)
        audio = audio.detach().float().cpu().numpy().reshape(len(p), -1)
        if audio.shape[1] < num_samples:
            audio = np.pad(audio, ((0, 0), (0, num_samples - audio.shape[1])))
        out.append(audio[:, :num_samples])
    notes = np.concatenate(out)
    if not np.isfinite(notes).all():
        raise ReleaseError("the model generated NaN or infinite samples: its weights are broken")
    return notes


def export_instrument(source, out_dir, timbre=None, *, morph=None, name: str | None = None, pitches="21-108",
                      every: int = 3, velocities="40,80,120", loop=(0.5, 2.9), attack: float = 0.01,
                      release: float = 0.3, crossfade: float = 0.2, morph_layers: int = 2, morph_cc: int = 1,
                      sample_format: str = "24", progress: bool = True) -> InstrumentResult:
    """Write ``out_dir/NAME.sfz`` and ``out_dir/samples/NAME_*.wav`` for a timbre of ``source`` (a NoteSource).

    timbre: preset name or seed (``"violin"``, ``7``, ``"seed:7"``; default: the source's default timbre);
    morph: two timbres ``"A,B"`` / ``(A, B)`` instead, written as ``morph_layers`` layers (A, slerp steps, B)
    crossfaded by MIDI CC ``morph_cc`` (0: A, 127: B). pitches: key span ``"21-108"`` (keys outside the
    model's range are made by octave moves, as the renderer does); every: keys per sample point (3 keeps
    every pitch shift within ±1 semitone); velocities: layer velocities (1-127). loop: nominal sustain loop
    (start_s, end_s) inside the generated note (the renderer's default 0.5-2.9 s); samples are ``end_s`` long
    plus one loop period. attack/release: seconds (``ampeg_attack``/``ampeg_release``); crossfade: seconds
    of the baked loop seam. sample_format: ``"24"`` (PCM 24-bit) or ``"float"``. UsageError for bad input,
    before any work; on any failure nothing new is left in ``out_dir``.
    """
    import soundfile as sf

    sr, clip_samples = int(source.sample_rate), int(source.note_samples)
    low, high = parse_pitch_span(pitches)
    every = check_every(every)
    layers = velocity_layers(parse_velocities(velocities))
    loop_start, loop_end = _check_seconds(loop, release, attack, crossfade, sr, clip_samples)
    if sample_format not in SAMPLE_FORMATS:
        raise UsageError(f"sample format {sample_format!r}: choose 24 or float")
    if isinstance(morph_cc, bool) or not isinstance(morph_cc, int) or not 1 <= morph_cc <= 119:
        raise UsageError(f"morph CC must be a controller number 1-119, got {morph_cc!r}")
    if morph is not None and timbre is not None:
        raise UsageError("give a timbre or a morph A,B, not both")
    if morph is None and timbre is None:
        timbre = default_timbre(source)
    timbres = _timbre_layers(source, timbre, morph, morph_layers)
    morph = None if morph is None else morph_specs(morph)          # [A, B], checked above
    name = _check_name(name if name is not None else instrument_name(timbre, morph))
    out_dir = Path(out_dir).expanduser()
    fileio.check_outputs(folders={"output folder": out_dir})
    sfz_path = out_dir / f"{name}.sfz"
    if sfz_path.is_dir() or (out_dir / SAMPLE_FOLDER).is_file():
        raise UsageError(f"{sfz_path if sfz_path.is_dir() else out_dir / SAMPLE_FOLDER}: is in the way "
                         "(a folder named like the instrument file, or a file named samples)")

    zones = key_zones(low, high, every, tuple(source.pitch_range))
    by_velocity = bool(getattr(source, "has_velocity", False))
    crossfades = morph_crossfades(len(timbres), morph_cc) if len(timbres) > 1 else [None]
    notes_needed = len(timbres) * len(zones) * (len(layers) if by_velocity else 1)
    bar = tqdm(total=notes_needed, unit="note", desc="export instrument", disable=not progress, leave=False)
    samples: dict[str, LoopedSample] = {}
    keycenters: dict[str, int] = {}                         # file -> pitch_keycenter (the WAV's root key)
    regions: list[Region] = []
    for t, (label, z) in enumerate(timbres):
        prefix = name if len(timbres) == 1 else f"{name}_L{t}"
        takes = [(layer.velocity if by_velocity else None) for layer in layers]
        for velocity in dict.fromkeys(takes):                 # distinct, in order
            pitches_t = [zone.model_pitch for zone in zones]
            notes = _synthesize(source, pitches_t, z, None if velocity is None else [velocity] * len(zones),
                                loop_end + 1)
            if velocity is not None:   # the player's (v/127)² gain brings the layer back to the model's own level
                notes = notes * np.float32((127.0 / velocity) ** 2)
            for zone, note in zip(zones, notes):
                file = f"{prefix}_{zone.center:03d}" + ("" if velocity is None else f"_v{velocity:03d}") + ".wav"
                samples[file] = build_looped_sample(note, loop_start, loop_end, sr, crossfade_s=crossfade)
                keycenters[file] = zone.center
            bar.update(len(zones))
        for zone in zones:
            for layer, velocity in zip(layers, takes):
                file = f"{prefix}_{zone.center:03d}" + ("" if velocity is None else f"_v{velocity:03d}") + ".wav"
                take = samples[file]
                regions.append(Region(file, zone.lokey, zone.hikey, zone.center, layer.lovel, layer.hivel,
                                      take.loop_start, take.loop_end, attack, release, crossfades[t]))
    bar.close()

    peak = max(float(np.max(np.abs(s.audio))) for s in samples.values())
    gain = 1.0 if sample_format == "float" or peak <= 0.999 else 0.999 / peak   # one gain: levels stay relative
    spec = f"{morph[0]} -> {morph[1]} ({len(timbres)} layers on CC {morph_cc})" if morph is not None else str(timbre)
    comments = [f"{name}: the timbre {spec} of a creative_gan note model, as an SFZ instrument",
                f"keys {low}-{high}, one sample every {every} keys (pitch shift at most "
                f"{max(z.max_shift for z in zones)} semitone(s)), velocity layers "
                f"{','.join(str(layer.velocity) for layer in layers)}, {sr} Hz",
                ("velocity sets the gain (velocity/127)^2 within each layer; each layer's samples are stored "
                 "at (127/layer velocity)^2 so that a layer sounds at its own velocity as the model made it"
                 if by_velocity else "velocity sets the gain (velocity/127)^2, as the creative-gan renderer "
                 "does; this model makes the same note at every velocity")]
    if len(timbres) > 1:
        comments.append("morph layers on CC %d: " % morph_cc + ", ".join(
            f"{label} at {c.in_hi if c.in_hi is not None else c.out_lo}" for (label, _), c in zip(timbres, crossfades)))
    if gain != 1.0:
        comments.append(f"samples scaled by {20 * np.log10(gain):.2f} dB to fit 24-bit")
    text = sfz_text(regions, comments, morph_cc=morph_cc if len(timbres) > 1 else None,
                    morph_label=instrument_name(None, morph) if morph is not None else None)
    written = _write_all(out_dir, sfz_path, text, samples, keycenters, gain, sr, SAMPLE_FORMATS[sample_format], sf)
    matches = [s.match for s in samples.values()]
    ratios = [s.seam_ratio for s in samples.values() if np.isfinite(s.seam_ratio)]
    return InstrumentResult(sfz_path, written, len(regions), len(zones), len(layers), len(timbres),
                            max(z.max_shift for z in zones), float(min(matches)),
                            float(max(ratios)) if ratios else float("nan"),
                            {"name": name, "keys": [low, high], "every": every, "sample_rate": sr,
                             "files": len(written), "peak_gain_db": float(20 * np.log10(gain))})


def _write_all(out_dir: Path, sfz_path: Path, text: str, samples: dict[str, LoopedSample], keycenters: dict,
               gain: float, sr: int, subtype: str, sf) -> list[Path]:
    """Write every sample (with its loop and root key in a ``smpl`` chunk as well) into a hidden staging
    folder, then move them into ``samples/`` and write the .sfz last (atomically); on any failure (Ctrl-C and
    SIGTERM included) remove everything this call created."""
    created: list[Path] = []                  # new files and folders, removed again on failure
    made_dir = not out_dir.exists()
    out_dir.mkdir(parents=True, exist_ok=True)
    staging = fileio.temp_name(out_dir / sfz_path.stem)
    fileio.remove_stale_temps(out_dir / sfz_path.stem)
    try:
        staging.mkdir()
        for file, take in samples.items():
            audio = take.audio * np.float32(gain)
            sf.write(str(staging / file), np.clip(audio, -1.0, 1.0) if subtype != "FLOAT" else audio, sr,
                     subtype=subtype, format="WAV")
            add_loop_chunk(staging / file, sr, keycenters[file], take.loop_start, take.loop_end)
        folder = out_dir / SAMPLE_FOLDER
        if not folder.exists():
            folder.mkdir()
            os.chmod(folder, fileio.dir_mode())
            created.append(folder)
        final = []
        for file in samples:
            target = folder / file
            if not target.exists():
                created.append(target)
            os.chmod(staging / file, fileio.file_mode())
            os.replace(staging / file, target)
            final.append(target)
        fileio.write_text(sfz_path, text)
    except BaseException:
        for path in reversed(created):
            if path.is_dir():
                shutil.rmtree(path, ignore_errors=True)
            else:
                path.unlink(missing_ok=True)
        if made_dir:
            shutil.rmtree(out_dir, ignore_errors=True)
        raise
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    if made_dir:
        os.chmod(out_dir, fileio.dir_mode())
    return final
