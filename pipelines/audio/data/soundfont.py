"""Build an NSynth-format note corpus from any SoundFont (.sf2) with FluidSynth.

NSynth protocol: note-on at 0 s, note-off at ``NOTE_OFF_SECONDS`` (3 s), exactly 4 s (64,000 samples) rendered
at 16 kHz; stereo output is mixed to mono (mean of L and R, so panned or stereo-sampled presets keep their
energy). Reverb and chorus are turned OFF: they are shared effect units whose tails would leak from one note
into the next and they colour every note alike, so dry notes are cleaner data. Before every note the synth
is reset to one fixed state (see ``SoundFontRenderer._reset``), so a note renders bit-identically whatever was
rendered before it, and a whole build is reproducible byte for byte with any number of workers.

Audio is fetched with ``fluid_synth_write_float`` (float32, no dither) from the library pyfluidsynth loaded.
Only melodic presets (bank 0 by default) are rendered: NSynth has no drum family. Qualities are left all 0.
Silent notes (a preset with no sample at that key, e.g. FluidR3's tuba above MIDI 83) are not written; a
resumed build renders them again (cheap) rather than keeping a side list.
"""

from __future__ import annotations

import ctypes
import multiprocessing as mp
import os
import time
from pathlib import Path
from typing import Iterable, Sequence

import numpy as np

from creative_gan.errors import CreativeGANError

from ..constants import NOTE_OFF_SECONDS, NOTE_SAMPLES, SAMPLE_RATE, SOURCES
from .gm import gm_family, program_number

SOUNDFONT_PATHS = ("/usr/share/sounds/sf2/FluidR3_GM.sf2", "/usr/share/soundfonts/FluidR3_GM.sf2")
DEFAULT_GAIN = 0.5            # FluidSynth master gain: FluidR3 notes peak 0.02-0.16 at velocity 100, ≤ 0.45 at 127
SILENCE_PEAK = 1e-4           # a note whose |peak| stays below this (−80 dBFS) is "silent" (preset has no sample)
_FLUSH_SAMPLES = 1024         # samples rendered after a kill so that the killed voices are freed
_INSTALL_HINT = 'pip install "creative-gan[fluidsynth]" and apt-get install libfluidsynth3 (or your OS\'s FluidSynth 2 package)'


class SoundFontError(CreativeGANError, ValueError):
    """A SoundFont file is missing, unreadable or lacks a requested preset (one-line message)."""


class FluidSynthUnavailable(CreativeGANError, ImportError):
    """pyfluidsynth or the FluidSynth shared library is not installed."""


def _import_fluidsynth():
    try:
        import fluidsynth
    except (ImportError, OSError) as exc:  # no module, or the module could not find/load libfluidsynth
        raise FluidSynthUnavailable(f"FluidSynth is not available ({exc}); {_INSTALL_HINT}") from None
    if not hasattr(fluidsynth, "Synth") or not hasattr(getattr(fluidsynth, "_fl", None), "fluid_synth_write_float"):
        raise FluidSynthUnavailable(f"the installed 'fluidsynth' module is not pyfluidsynth ≥ 1.3; {_INSTALL_HINT}")
    return fluidsynth


def default_soundfont() -> Path:
    """Path of the FluidR3 General MIDI SoundFont from Debian/Ubuntu's ``fluid-soundfont-gm`` package."""
    for candidate in SOUNDFONT_PATHS:
        if Path(candidate).is_file():
            return Path(candidate)
    raise SoundFontError(f"no default SoundFont found at {' or '.join(SOUNDFONT_PATHS)}; "
                         "apt-get install fluid-soundfont-gm, or pass a .sf2 path")


def check_soundfont(path: str | os.PathLike) -> Path:
    """Raise SoundFontError unless ``path`` is an existing RIFF/sfbk (SoundFont 2) file."""
    path = Path(path)
    if not path.is_file():
        raise SoundFontError(f"{path}: SoundFont file does not exist")
    with open(path, "rb") as f:
        head = f.read(12)
    if len(head) < 12 or head[:4] != b"RIFF" or head[8:12] != b"sfbk":
        raise SoundFontError(f"{path}: not a SoundFont 2 file (no RIFF/sfbk header)")
    return path


class SoundFontRenderer:
    """One FluidSynth instance with one SoundFont loaded (load once, render many notes).

    ``render(program, pitch, velocity)`` → float32 ``[NOTE_SAMPLES]`` mono audio at ``SAMPLE_RATE`` Hz.
    """

    def __init__(self, soundfont: str | os.PathLike | None = None, gain: float = DEFAULT_GAIN):
        fluidsynth = _import_fluidsynth()
        self.path = check_soundfont(soundfont if soundfont is not None else default_soundfont())
        self._synth = fluidsynth.Synth(gain=float(gain), samplerate=float(SAMPLE_RATE), channels=16,
                                       **{"synth.reverb.active": 0, "synth.chorus.active": 0})
        self._sfid = self._synth.sfload(str(self.path))
        if self._sfid < 0:
            self._synth.delete()
            raise SoundFontError(f"{self.path}: FluidSynth could not load this SoundFont")
        self._write_float = fluidsynth._fl.fluid_synth_write_float
        self._write_float.argtypes = [ctypes.c_void_p, ctypes.c_int, ctypes.c_void_p, ctypes.c_int, ctypes.c_int,
                                      ctypes.c_void_p, ctypes.c_int, ctypes.c_int]
        self._write_float.restype = ctypes.c_int
        # A throw-away chord primes the voice slots a note can use (see _reset); any melodic preset will do.
        self._prime_program = next((p for p in range(128) if self._synth.program_select(0, self._sfid, 0, p) == 0), None)
        self._reset()

    def _samples(self, n: int) -> np.ndarray:
        """Render ``n`` frames; float32 ``[n, 2]`` (interleaved L/R written in place)."""
        buf = np.zeros((n, 2), np.float32)
        ptr = buf.ctypes.data
        self._write_float(self._synth.synth, n, ptr, 0, 2, ptr, 1, 2)
        return buf

    def _silence_all(self) -> None:
        # Order matters: a system reset issued after all-sounds-off cancels the kill (FluidSynth 2.3 drops the
        # queued voice-off) and the previous note's release tail then leaks into the next render.
        self._synth.system_reset()      # controllers (sustain, bend, volume) and programs back to defaults
        self._synth.all_sounds_off(0)   # kills voices at once, release phase included
        self._samples(_FLUSH_SAMPLES)

    def _reset(self) -> None:
        """Return the synth to one fixed state so that a note renders identically whatever came before.

        FluidSynth keeps a per-voice-slot output gain that the next voice in that slot ramps from during its
        first 64-sample block; left alone, a note's first block would depend on the previously rendered note.
        Playing the same throw-away chord (64 keys, enough slots for any layered preset) before every note
        leaves those slots in the same state each time, so renders are bit-identical in any order.
        """
        self._silence_all()
        if self._prime_program is not None:
            self._synth.program_select(0, self._sfid, 0, self._prime_program)
            for key in range(36, 100):
                self._synth.noteon(0, key, 100)
            self._samples(128)
            self._silence_all()

    def preset_name(self, program: int, bank: int = 0) -> str | None:
        """The SoundFont's name for a preset, or None when it has none."""
        return self._synth.sfpreset_name(self._sfid, bank, program)

    def render(self, program: int, pitch: int, velocity: int = 100, bank: int = 0) -> np.ndarray:
        """One note by the NSynth protocol: float32 ``[NOTE_SAMPLES]``, note-off at 3 s, 16 kHz mono."""
        if not (0 <= pitch <= 127 and 1 <= velocity <= 127):
            raise ValueError(f"pitch must be 0-127 and velocity 1-127, got {pitch}/{velocity}")
        self._reset()
        if self._synth.program_select(0, self._sfid, bank, program) != 0:
            raise SoundFontError(f"{self.path}: no preset for bank {bank} program {program}")
        off = int(round(NOTE_OFF_SECONDS * SAMPLE_RATE))
        self._synth.noteon(0, pitch, velocity)
        held = self._samples(off)
        self._synth.noteoff(0, pitch)
        tail = self._samples(NOTE_SAMPLES - off)
        return np.concatenate([held, tail]).mean(axis=1)

    def close(self) -> None:
        if self._synth is not None:
            self._synth.delete()
            self._synth = None

    def __enter__(self) -> "SoundFontRenderer":
        return self

    def __exit__(self, *exc) -> None:
        self.close()


# --- parallel build ----------------------------------------------------------------------------------------
_WORKER: SoundFontRenderer | None = None


def _worker_init(soundfont: str, gain: float) -> None:
    global _WORKER
    _WORKER = SoundFontRenderer(soundfont, gain)   # the SoundFont is loaded once per worker process


def _render_job(job: tuple[int, int, int, tuple[int, ...]], renderer: SoundFontRenderer | None = None):
    """Render one (bank, program, pitch, velocities) job → list of (program, pitch, velocity, audio or None)."""
    renderer = renderer or _WORKER
    bank, program, pitch, velocities = job
    out = []
    for velocity in velocities:
        try:
            out.append((program, pitch, velocity, renderer.render(program, pitch, velocity, bank)))
        except SoundFontError:
            out.append((program, pitch, velocity, None))   # preset missing: reported, not fatal
    return out


def build_corpus(soundfont: str | os.PathLike | None, out_dir: str | os.PathLike,
                 programs: Sequence[int | str] = (0,), pitches: Iterable[int] = range(24, 85),
                 velocities: Iterable[int] = (100,), source: str = "synthetic", workers: int | None = None,
                 progress: bool = True, gain: float = DEFAULT_GAIN, bank: int = 0) -> dict:
    """Render every (program, pitch, velocity) note of a SoundFont into an NSynth folder ``out_dir``.

    ``soundfont`` None → :func:`default_soundfont`. Programs are 0-127 or GM names ("violin"); the instrument
    id is the program number, the family comes from :mod:`gm`, ``instrument_str`` is
    ``<family>_<source>_<program:03d>``. Notes already in ``out_dir`` are skipped (resume); a folder built
    from another SoundFont or program set is refused (``corpus.json`` records the recipe); notes whose peak
    is below ``SILENCE_PEAK`` are not written and are counted. ``workers`` processes (default: all cores)
    each load the SoundFont once. Returns a summary dict of counts, paths and timings.
    """
    from .nsynth import CorpusWriter, make_note_str   # torch-free until here, so workers start light
    from .recipe import check_recipe, soundfont_identity, write_recipe

    t0 = time.perf_counter()
    _import_fluidsynth()
    sf_path = check_soundfont(soundfont if soundfont is not None else default_soundfont())
    if source not in SOURCES:
        raise ValueError(f"source must be one of {SOURCES}, got {source!r}")
    programs = list(dict.fromkeys(program_number(p) for p in programs))
    pitches, velocities = sorted(set(pitches)), sorted(set(velocities))
    if not programs or not pitches or not velocities:
        raise ValueError("build_corpus needs at least one program, pitch and velocity")
    if not all(0 <= p <= 127 for p in pitches) or not all(1 <= v <= 127 for v in velocities):
        raise ValueError(f"pitches must be 0-127 and velocities 1-127, got {pitches} / {velocities}")

    # the recipe is checked before anything is written and recorded before the first note (see .recipe)
    recipe = {"soundfont": soundfont_identity(sf_path), "programs": sorted(programs), "source": source,
              "bank": int(bank), "gain": float(gain), "pitches": pitches, "velocities": velocities,
              "sample_rate": SAMPLE_RATE, "note_samples": NOTE_SAMPLES, "note_off_seconds": NOTE_OFF_SECONDS}
    check_recipe(out_dir, recipe)
    writer = CorpusWriter(out_dir)
    write_recipe(writer.root, recipe)
    key = {(g, p, v): make_note_str(gm_family(g), source, g, p, v) for g in programs for p in pitches for v in velocities}
    jobs = []
    for g in programs:
        for p in pitches:
            todo = tuple(v for v in velocities if key[g, p, v] not in writer)
            if todo:
                jobs.append((bank, g, p, todo))
    pending = sum(len(j[3]) for j in jobs)
    summary = dict(out_dir=str(writer.root), soundfont=str(sf_path), notes_requested=len(key),
                   notes_existing=len(key) - pending, notes_written=0, notes_silent=0, silent=[],
                   programs_missing=[], notes_clipped=0, workers=0, seconds=0.0)
    workers = max(1, min(workers or os.cpu_count() or 1, len(jobs)))
    pool = local = None
    try:
        if jobs and workers > 1:
            # spawn, never fork: FluidSynth loads SoundFonts with OpenMP, and a child forked from a process
            # whose OpenMP pool is running (torch's, or an earlier in-process build's) deadlocks in sfload
            pool = mp.get_context("spawn").Pool(workers, _worker_init, (str(sf_path), gain))
            # ordered imap: notes are written (and numbered) in job order, so a build is reproducible
            results = pool.imap(_render_job, jobs, chunksize=max(1, len(jobs) // (workers * 8)))
        elif jobs:
            local = SoundFontRenderer(sf_path, gain)
            results = (_render_job(job, local) for job in jobs)
        else:
            results = iter(())
        summary["workers"] = workers if jobs else 0
        from tqdm.auto import tqdm
        clipped_before = writer.clipped_notes
        with tqdm(total=pending, unit="note", desc=f"rendering {sf_path.name}", disable=not progress) as bar:
            for batch in results:
                for program, pitch, velocity, audio in batch:
                    if audio is None:
                        if program not in summary["programs_missing"]:
                            summary["programs_missing"].append(program)
                    elif np.abs(audio).max() < SILENCE_PEAK:
                        summary["notes_silent"] += 1
                        summary["silent"].append(key[program, pitch, velocity])
                    else:
                        writer.add(audio, pitch=pitch, velocity=velocity, instrument=program,
                                   family=gm_family(program), source=source)
                        summary["notes_written"] += 1
                    bar.update(1)
        summary["notes_clipped"] = writer.clipped_notes - clipped_before
    finally:
        if pool is not None:
            pool.terminate()
            pool.join()
        if local is not None:
            local.close()
        writer.close()
    summary["silent"].sort()
    summary["programs_missing"].sort()
    summary["notes_in_corpus"] = len(writer)
    summary["seconds"] = round(time.perf_counter() - t0, 3)
    return summary
