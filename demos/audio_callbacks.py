"""The audio tab's work as plain functions: render a MIDI file, play one note, play a timbre morph, fit a
timbre to a recorded note.

Each takes the loaded :class:`~creative_gan.pipelines.audio.pipeline.AudioPipeline` and plain values (paths,
strings, numbers, table rows) and returns plain values: audio as ``(sample_rate, int16 [T])``, pictures as
PNG paths, a one-line summary. Bad input raises :class:`~creative_gan.errors.UsageError` with one line.
"""
from __future__ import annotations

import copy
import math
import random
import time
from pathlib import Path

import numpy as np
import torch

from creative_gan.errors import UsageError
from creative_gan.layers import slerp

from .common import check_midi_upload, example_midis, output_path, to_int16

FORMATS = {"WAV": ".wav", "FLAC": ".flac"}
#: seconds of each note in an explorer morph row (the 4-s note cut there with a 0.1-s fade)
MORPH_NOTE_SECONDS = 1.0


def session_pipe(pipe, mine: dict | None):
    """``pipe`` as one browser session sees it: the model's presets plus ``mine`` (``{name: z}``, the timbres this
    session fitted). A shallow copy: the shared model, and every other session, stay as they were."""
    view = copy.copy(pipe)
    view.presets = dict(sorted({**pipe.presets, **(mine or {})}.items()))
    return view


def timbre_choices(pipe) -> list[str]:
    """Preset names (sorted), then two seed examples: what the timbre dropdowns offer."""
    return sorted(pipe.presets) + ["seed:0", "seed:1"]


def default_timbre(pipe) -> str:
    """The fixed default timbre: the first preset by name, else seed 0."""
    return sorted(pipe.presets)[0] if pipe.presets else "seed:0"


def random_timbre(rng: random.Random | None = None) -> str:
    """A fresh seed spec ``seed:<n>`` (n < 1,000,000) for the random-timbre buttons."""
    return f"seed:{(rng or random.SystemRandom()).randrange(1_000_000)}"


def check_timbre(pipe, spec, what: str = "timbre") -> str:
    """A timbre spec string the model resolves; UsageError (one line) otherwise."""
    from creative_gan.pipelines.audio.render.timbre import TimbreError, resolve_timbre

    text = "" if spec is None else str(spec).strip()
    if not text:
        raise UsageError(f"{what} is empty: pick a preset or type seed:N")
    try:
        resolve_timbre(pipe, text)
    except TimbreError as exc:
        raise UsageError(f"{what}: {exc}") from None
    return text


def choose_midi(example: str | None, upload: str | None) -> Path:
    """The MIDI file to render: an upload wins over the example picked from the list."""
    if upload:
        return check_midi_upload(upload)
    examples = example_midis()
    if example in examples:
        return examples[example]
    if example:
        raise UsageError(f"unknown example {example!r} (choose from {', '.join(examples)})")
    raise UsageError("choose an example or upload a MIDI file first")


def track_rows(example: str | None, upload: str | None) -> list[list]:
    """Rows ``[track index, name, notes, timbre ""]`` of the chosen MIDI file's tracks (drums marked)."""
    from creative_gan.pipelines.audio.data.midi_notes import RenderError, load_midi

    path = choose_midi(example, upload)
    try:
        pm = load_midi(path)
    except RenderError as exc:
        raise UsageError(str(exc)) from None
    rows = []
    for index, inst in enumerate(pm.instruments):
        name = (inst.name or f"track {index}").strip() + (" (drums: skipped)" if inst.is_drum else "")
        rows.append([index, name, len(inst.notes), ""])
    return rows


def morph_anchors(pipe, rows) -> list[tuple[float, str]]:
    """Timeline rows ``[[time_s, timbre], …]`` -> sorted anchors; blank rows are ignored."""
    anchors = []
    for row in rows or []:
        cells = list(row) + ["", ""]
        time_cell, spec = cells[0], "" if cells[1] is None else str(cells[1]).strip()
        if (time_cell is None or str(time_cell).strip() == "") and not spec:
            continue
        try:
            time_s = float(time_cell)
        except (TypeError, ValueError):
            raise UsageError(f"morph timeline: time {time_cell!r} is not a number of seconds") from None
        if not math.isfinite(time_s) or time_s < 0:
            raise UsageError(f"morph timeline: time {time_s:g} must be a finite number of seconds >= 0")
        anchors.append((time_s, check_timbre(pipe, spec, f"morph timeline at {time_s:g} s")))
    times = [t for t, _ in anchors]
    if len(set(times)) != len(times):
        raise UsageError("morph timeline: two rows have the same time")
    return sorted(anchors)


def track_timbres(pipe, rows) -> dict[int, str]:
    """Track table rows ``[index, name, notes, timbre]`` -> ``{index: spec or morph}`` for non-blank cells."""
    chosen = {}
    for row in rows or []:
        cells = list(row) + ["", "", "", ""]
        spec = "" if cells[3] is None else str(cells[3]).strip()
        if not spec:
            continue
        try:
            index = int(float(cells[0]))
        except (TypeError, ValueError):
            raise UsageError(f"track table: track index {cells[0]!r} is not a number") from None
        if ":" in spec and spec.split(":", 1)[0].strip().replace(".", "", 1).isdigit():
            from creative_gan.pipelines.audio.render.timbre import TimbreError, build_curve

            try:                                    # "0:violin,10:flute": a morph for this track
                build_curve(pipe, spec)
            except TimbreError as exc:
                raise UsageError(f"track {index}: {exc}") from None
        else:
            check_timbre(pipe, spec, f"track {index}")
        chosen[index] = spec
    return chosen


def render_piece(pipe, example: str | None, upload: str | None, timbre: str, use_morph: bool,
                 morph_rows, track_table, file_format: str = "WAV", progress: bool = False):
    """Render the chosen MIDI file.

    Returns ``((sample_rate, int16 [T]), piano_roll.png, spectrogram.png, download path, summary line)``.
    Timbre: the morph timeline when ``use_morph`` (and it has rows), else ``timbre`` for the whole piece;
    non-blank cells of the track table override per track.
    """
    from creative_gan.pipelines.audio.data.midi_notes import RenderError
    from creative_gan.pipelines.audio.pictures import piano_roll_png, spectrogram_png
    from creative_gan.pipelines.audio.render.timbre import TimbreError

    if file_format not in FORMATS:
        raise UsageError(f"unknown download format {file_format!r} (choose from {', '.join(FORMATS)})")
    midi = choose_midi(example, upload)
    anchors = morph_anchors(pipe, morph_rows) if use_morph else []
    per_track = track_timbres(pipe, track_table)
    piece = None if anchors else check_timbre(pipe, timbre, "piece timbre")
    import warnings

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")          # drum / transposition notes are summarised below
            result = pipe.render_midi(midi, timbres=piece, morph=anchors or None,
                                      track_timbres=per_track or None, progress=progress)
    except (RenderError, TimbreError) as exc:
        raise UsageError(str(exc)) from None
    audio, rate = result.audio, result.sample_rate
    stem = Path(midi).stem
    download = output_path(stem, FORMATS[file_format])
    import soundfile as sf

    pcm = to_int16(audio)                            # the player and the download hold the same samples
    sf.write(download, pcm, rate, subtype="PCM_16", format=file_format)
    roll = piano_roll_png(midi, output_path(f"{stem}-piano-roll", ".png"), width=900, height=300)
    spectrum = spectrogram_png(audio, rate, output_path(f"{stem}-spectrogram", ".png"), width=900, height=200)
    s = result.summary
    summary = (f"{s['notes_rendered']} notes, {s['duration_s']:.1f} s rendered in {s['render_s']:.2f} s "
               f"({s['realtime_factor']:.0f}x real time); drums skipped: {s['notes_skipped_drums']}, "
               f"notes moved into range: {s['notes_transposed']}")
    return (rate, pcm), str(roll), str(spectrum), str(download), summary


def _check_pitch(pipe, pitch) -> int:
    lo, hi = pipe.pitch_range
    try:
        value = int(round(float(pitch)))
    except (TypeError, ValueError):
        raise UsageError(f"pitch {pitch!r} is not a MIDI note number") from None
    if not lo <= value <= hi:
        raise UsageError(f"pitch {value} is outside this model's range {lo}-{hi}")
    return value


def velocity_label(pipe) -> str:
    """The velocity slider's label: a model without velocity conditioning hears velocity as gain only."""
    return "Velocity" if pipe.has_velocity else "Velocity (as gain only)"


def check_velocity(velocity) -> int:
    """A MIDI velocity 1-127 from the slider (a whole number); UsageError (one line) otherwise."""
    try:
        value = float(velocity)
    except (TypeError, ValueError):
        raise UsageError(f"velocity {velocity!r} is not a number") from None
    if not math.isfinite(value) or value != round(value) or not 1 <= value <= 127:
        raise UsageError(f"velocity must be a whole number from 1 to 127 (got {velocity!r})")
    return int(value)


def velocity_notes(pipe, pitches, z, velocity, num_samples: int | None = None) -> tuple[np.ndarray, str]:
    """Notes ``[N, T]`` float32 at MIDI ``velocity`` (1-127), levelled for listening, and a phrase saying how.

    A velocity-conditioned model (``pipe.has_velocity``) plays them at ``velocity`` and at 127; one gain puts
    the louder of the two sets at peak 0.9 and the notes at ``velocity`` are returned, so a soft note sounds as
    much softer (and as much darker, where the model learned that) as the model makes it. A model without
    velocity conditioning plays them peak-normalised to 0.9 times the MIDI gain ``(velocity/127)²``, the gain
    the renderer gives such models.
    ``z`` ``[N, D]``.
    """
    velocity = check_velocity(velocity)
    count = len(pitches)
    if pipe.has_velocity:
        both = pipe.generate(list(pitches) * 2, z=torch.cat([z, z]), velocities=[velocity] * count + [127] * count,
                             num_samples=num_samples)
        peak = float(np.abs(both).max())
        notes = both[:count] * (0.9 / peak if peak > 0 else 1.0)
        return notes.astype(np.float32), f"velocity {velocity} (level relative to velocity 127)"
    notes = pipe.generate(list(pitches), z=z, num_samples=num_samples)
    peak = float(np.abs(notes).max())
    gain = (velocity / 127) ** 2
    notes = notes * ((0.9 / peak if peak > 0 else 1.0) * gain)
    return notes.astype(np.float32), (f"velocity {velocity} as gain only ({20 * math.log10(gain):+.1f} dB; "
                                      "this model has no velocity conditioning)")


def play_note(pipe, pitch, timbre: str, velocity=100):
    """One 4-s note at MIDI ``velocity``: ``((sample_rate, int16 [64000]), "generated in N ms")``."""
    from creative_gan.pipelines.audio.render.timbre import resolve_timbre

    value = _check_pitch(pipe, pitch)
    spec = check_timbre(pipe, timbre)
    started = time.perf_counter()
    notes, how = velocity_notes(pipe, [value], resolve_timbre(pipe, spec).float().reshape(1, -1), velocity)
    elapsed_ms = (time.perf_counter() - started) * 1000
    return (pipe.sample_rate, to_int16(notes[0])), f"MIDI {value} as {spec}, {how}: generated in {elapsed_ms:.0f} ms"


def morph_row(pipe, pitch, timbre_a: str, timbre_b: str, count=8, velocity=100):
    """``count`` notes at ``pitch`` and MIDI ``velocity`` whose timbre moves from A to B (slerp of their
    latents), one per second.

    Returns ``((sample_rate, int16 [count·sr]), summary line)``.
    """
    from creative_gan.pipelines.audio.render.timbre import resolve_timbre

    value = _check_pitch(pipe, pitch)
    try:
        count = int(count)
    except (TypeError, ValueError):
        raise UsageError(f"number of notes {count!r} is not a whole number") from None
    if not 2 <= count <= 32:
        raise UsageError(f"number of notes must be between 2 and 32 (got {count})")
    a = resolve_timbre(pipe, check_timbre(pipe, timbre_a, "timbre A"))
    b = resolve_timbre(pipe, check_timbre(pipe, timbre_b, "timbre B"))
    steps = torch.linspace(0.0, 1.0, count)
    latents = slerp(a.expand(count, -1), b.expand(count, -1), steps)               # [count, D]
    length = int(MORPH_NOTE_SECONDS * pipe.sample_rate)
    notes, how = velocity_notes(pipe, [value] * count, latents, velocity, num_samples=length)   # [count, length]
    fade = np.ones(length, np.float32)
    tail = int(0.1 * pipe.sample_rate)
    fade[-tail:] = np.linspace(1.0, 0.0, tail, dtype=np.float32)
    row = (notes * fade).reshape(-1)
    summary = f"{count} notes at MIDI {value}, {how}: {timbre_a.strip()} → {timbre_b.strip()}"
    return (pipe.sample_rate, to_int16(row)), summary


#: Adam steps of the app's timbre fit (the CLI's default is 150): a few seconds for one note
FIT_STEPS = 100
#: formats the recording upload offers (soundfile reads them; anything else is refused by content)
RECORDING_TYPES = [".wav", ".flac", ".ogg"]


def parse_pitch(text) -> int | None:
    """The fit's pitch box: empty → ``None`` (detect it), a MIDI number (``57``) or a note name (``A3``)."""
    value = "" if text is None else str(text).strip()
    if not value:
        return None
    try:
        number = float(value)
    except ValueError:
        import pretty_midi

        try:
            return int(pretty_midi.note_name_to_number(value))
        except (ValueError, KeyError, IndexError):
            raise UsageError(f"pitch {value!r} is not a MIDI note number (57) or note name (A3); "
                             "leave it empty to detect it") from None
    if not math.isfinite(number) or number != round(number):
        raise UsageError(f"pitch {value!r} is not a whole MIDI note number")
    return int(number)


def fit_recording(pipe, path, pitch="", name: str = "my-timbre", *, protected=(), steps: int = FIT_STEPS,
                  progress: bool = False):
    """Fit a timbre to a recorded note and keep it as preset ``name`` (replacing an earlier fit of that name).

    ``path``: the uploaded audio file (WAV, FLAC, OGG); ``pitch``: the pitch box (see :func:`parse_pitch`);
    ``protected``: preset names that may not be replaced (the model's own). Returns
    ``((sample_rate, int16 [64000]) the model's note in the fitted timbre at the recording's pitch,
    (sample_rate, int16 [≤ 64000]) the recording (mono, 16 kHz, from its onset), info line, preset name)``;
    both peak at 0.9 so they compare by timbre, not loudness.
    """
    from creative_gan.pipelines.audio.pipeline import check_preset_name
    from creative_gan.pipelines.audio.render.recording import load_notes

    if path is None or not str(path).strip():
        raise UsageError("upload a recording of one note first (WAV, FLAC or OGG)")
    name = check_preset_name(str(name or "").strip())
    if name in set(protected):
        raise UsageError(f"{name!r} is one of the model's own presets; give your timbre another name")
    given = parse_pitch(pitch)
    path = Path(path)
    started = time.perf_counter()
    try:          # messages name the upload by its file name, not the server's temp folder
        notes, pitches = load_notes(pipe, str(path), given)
        z, loss_db = pipe.timbre_from_audio(str(path), pitch=pitches[0], steps=steps, progress=progress,
                                            return_loss=True)
    except UsageError as exc:
        raise UsageError(str(exc).replace(str(path), path.name)) from None
    pipe.add_preset(name, z, replace=True)
    elapsed = time.perf_counter() - started
    fitted = pipe.generate([pitches[0]], z=z)[0]
    original = notes[0][: pipe.note_samples]

    def level(x):
        peak = float(np.abs(x).max())
        return to_int16(x / peak * 0.9 if peak > 0 else x)

    found = "given" if given is not None else "detected"
    info = (f"**{name}**: MIDI {pitches[0]} ({found}); log-mel distance to your note {loss_db:.1f} dB after "
            f"{steps} steps ({elapsed:.0f} s). It is now a preset in every timbre list of this tab, for this "
            "browser session.")
    return (pipe.sample_rate, level(fitted)), (pipe.sample_rate, level(original)), info, name

