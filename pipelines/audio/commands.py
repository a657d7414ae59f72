"""What the audio pipeline's CLI verbs do: data, train (task), sample, evaluate, render."""
from __future__ import annotations

import argparse
import json
import re
import sys
from pathlib import Path

import numpy as np

from creative_gan import fileio
from creative_gan.errors import UsageError

from .constants import PITCH_MAX, PITCH_MIN, SAMPLE_RATE
from .render.limits import DEFAULT_MAX_DURATION_S, DEFAULT_MAX_ENVELOPE_S


def _int_list(text: str, what: str) -> list[int]:
    """``"24-84"``, ``"0,24,40"`` or a mix → ints."""
    values: list[int] = []
    try:
        for part in str(text).split(","):
            part = part.strip()
            if "-" in part:
                lo, hi = (int(v) for v in part.split("-", 1))
                if hi < lo:
                    raise ValueError
                values.extend(range(lo, hi + 1))
            elif part:
                values.append(int(part))
    except ValueError:
        raise UsageError(f"bad {what} {text!r} (use e.g. 24-84 or 0,24,40)") from None
    if not values:
        raise UsageError(f"{what} names nothing")
    return values


def _shipped_presets(name: str = "audio-default") -> tuple[list[str], str | None]:
    """Preset names and default timbre of a shipped model, read from its config.json alone (no weights)."""
    from creative_gan.release import ASSETS

    try:
        config = json.loads((ASSETS / name / "config.json").read_text(encoding="utf-8"))
        return list(config.get("presets", [])), config.get("default_timbre")
    except (OSError, ValueError):
        return [], None


def add_arguments(verb: str, parser: argparse.ArgumentParser) -> None:
    if verb == "data":
        parser.description = ("Build an NSynth-format note corpus from a SoundFont with FluidSynth (needs the "
                              "'fluidsynth' extra: pip install \"creative-gan[fluidsynth]\" and libfluidsynth3), "
                              "or check an existing corpus with --inspect.")
        parser.add_argument("--soundfont", metavar="SF2", help="a .sf2 file (default: Debian's FluidR3_GM.sf2)")
        from .data.gm import DEFAULT_PROGRAMS, DEFAULT_VELOCITIES

        parser.add_argument("--programs", default=",".join(map(str, DEFAULT_PROGRAMS)),
                            help="General MIDI programs, numbers or names, e.g. 0,violin,56 (default: the 30 "
                                 "programs of audio-default, two per pitched GM family)")
        parser.add_argument("--pitches", default=f"{PITCH_MIN}-{PITCH_MAX}",
                            help=f"MIDI pitches, e.g. 24-84 or 48,60,72 (default: {PITCH_MIN}-{PITCH_MAX})")
        parser.add_argument("--velocities", default=",".join(map(str, DEFAULT_VELOCITIES)),
                            help="MIDI velocities 1-127, e.g. 50,100 (default: 40,80,120)")
        parser.add_argument("--source", default="synthetic", choices=["acoustic", "electronic", "synthetic"],
                            help="NSynth source label written for every note (default: synthetic)")
        parser.add_argument("--workers", type=int, help="rendering processes (default: all cores)")
        parser.add_argument("--out", metavar="DIR",
                            help="corpus folder to build; an interrupted build of the same recipe resumes")
        parser.add_argument("--inspect", metavar="DIR", help="validate and describe an NSynth-format folder")
    elif verb == "train":
        parser.add_argument("--families", help="only these instrument families of the corpus (comma list)")
        parser.add_argument("--heldout", metavar="CORPUS",
                            help="NSynth-format corpus of instruments kept out of training: its notes are stored "
                                 "with the release (preset bank models) for evaluate audio's hold-out fit")
    elif verb == "sample":
        parser.add_argument("--pitch", default="60", help="MIDI pitch(es), e.g. 60 or 48,60,72")
        parser.add_argument("--timbre", help="a preset name instead of seeds")
    elif verb == "evaluate":
        from .evaluate.command import add_arguments as evaluate_arguments

        evaluate_arguments(parser)
    elif verb == "render":
        presets, default = _shipped_presets()
        parser.epilog = (f"A timbre is an integer seed (7 or seed:7) or a preset of the model. Presets of "
                         f"audio-default: {', '.join(presets) or '(none)'}; without --timbre/--morph: "
                         f"{default or 'its first preset'}. Another model's presets are listed by its "
                         "error message for an unknown timbre (e.g. --timbre ?).")
        parser.add_argument("midi", help="input .mid file")
        parser.add_argument("-o", "--out", required=True, help="output .wav (or .flac)")
        parser.add_argument("--model", default="audio-default", help="release folder, .zip or shipped name")
        parser.add_argument("--timbre", action="append", default=[],
                            help="seed (7, seed:7) or preset name; repeat for one per track")
        parser.add_argument("--morph", help='timbre anchors over time, e.g. "0:violin,30:seed:7,60:flute"')
        parser.add_argument("--timbre-from", action="append", default=[], metavar="NOTE",
                            help="fit the timbre to a recorded note (note.wav, or note.wav:60 to give its "
                                 "pitch); repeat for notes at other pitches; every track plays it")
        parser.add_argument("--track-timbre", action="append", default=[], metavar="N=T",
                            help="timbre of instrument track N (0-based), e.g. 2=trumpet")
        parser.add_argument("--sample-rate", type=int, help="resample the output, e.g. 44100")
        parser.add_argument("--attack", type=float, default=0.01, help="seconds (default: 0.01)")
        parser.add_argument("--release", type=float, default=0.3, help="seconds (default: 0.3)")
        parser.add_argument("--max-duration", type=float, default=DEFAULT_MAX_DURATION_S, metavar="SECONDS",
                            help="refuse pieces longer than this (default: 10800, 3 hours)")
        parser.add_argument("--max-envelope", type=float, default=DEFAULT_MAX_ENVELOPE_S, metavar="SECONDS",
                            help="refuse a longer --attack or --release (default: 60)")
        parser.add_argument("--json", help="write the render summary here")
        parser.add_argument("--piano-roll", help="PNG picture of the notes")
        parser.add_argument("--spectrogram", help="PNG spectrogram of the result")
        parser.add_argument("--device", help="cpu, cuda, cuda:N, mps or auto (default: auto)")
        parser.add_argument("--no-progress", action="store_true", help="no progress bar")
        from .render.timbre_command import add_fit_arguments

        add_fit_arguments(parser)


def data(args) -> int:
    from .data.nsynth import CorpusError, read_corpus

    if args.inspect:
        try:
            corpus = read_corpus(args.inspect)
            corpus.validate(full=True)
        except CorpusError as exc:
            raise UsageError(str(exc)) from None
        hist = corpus.pitch_histogram()
        print(f"{args.inspect}: {len(corpus)} notes, {len(corpus.instruments())} instruments, "
              f"pitches {min(hist)}-{max(hist)}: valid")
        return 0
    if not args.out:
        raise UsageError("data audio needs --out DIR (to build) or --inspect DIR")
    from .data.soundfont import FluidSynthUnavailable, SoundFontError, build_corpus

    fileio.check_outputs(folders={"--out": args.out})
    if args.workers is not None and args.workers < 1:
        raise UsageError(f"--workers must be at least 1, got {args.workers}")
    try:
        summary = build_corpus(args.soundfont, args.out, programs=args.programs.split(","),
                               pitches=_int_list(args.pitches, "--pitches"),
                               velocities=_int_list(args.velocities, "--velocities"), source=args.source,
                               workers=args.workers)
    except (FluidSynthUnavailable, SoundFontError, CorpusError, ValueError) as exc:
        raise UsageError(str(exc)) from None
    print(json.dumps(summary, indent=2, default=str))
    return 0


def _velocity_choice(model: dict, g_cfg: dict, corpus) -> bool:
    """Whether G and D are conditioned on velocity: ``model.use_velocity`` true / false / "auto" (the default,
    else the generator config's ``use_velocity``): auto means yes when the corpus holds two or more velocities."""
    choice = model.get("use_velocity", g_cfg.get("use_velocity", "auto"))
    if choice == "auto":
        return len({r.velocity for r in corpus.records}) > 1
    if not isinstance(choice, bool):
        raise UsageError(f"model.use_velocity must be true, false or \"auto\", got {choice!r}")
    return choice


def make_task(options, args):
    """Build the :class:`~.task.AudioTask` for ``creative-gan train audio``."""
    from .data.nsynth import CorpusError, NoteDataset, read_corpus
    from .data.recipe import describe_corpus
    from .networks.families import build_networks, layout_for
    from .training.dataset import TrainingNotes
    from .training.objective import NoteObjective
    from .training.task import AudioTask

    model = dict(options.model)
    family = model.get("family", "harmonic")
    if not getattr(args, "data", None):
        raise UsageError("train audio needs --data DIR (an NSynth-format corpus; build one with "
                         "`creative-gan data audio --out DIR`)")
    families = args.families.split(",") if getattr(args, "families", None) else None
    try:
        corpus = read_corpus(args.data, families=families)
    except CorpusError as exc:
        raise UsageError(str(exc)) from None
    heldout = None
    if getattr(args, "heldout", None):
        try:
            heldout = read_corpus(args.heldout)
        except CorpusError as exc:
            raise UsageError(f"--heldout: {exc}") from None
        if {r.instrument for r in heldout.records} & {r.instrument for r in corpus.records}:
            raise UsageError("--heldout shares instruments with --data: held-out instruments must be unseen")
    g_cfg, d_cfg = dict(model["generator"]), dict(model["discriminator"])
    lo, hi = min(r.pitch for r in corpus.records), max(r.pitch for r in corpus.records)
    use_velocity = _velocity_choice(model, g_cfg, corpus)
    g_cfg["use_velocity"] = d_cfg["use_velocity"] = use_velocity       # G and D share the condition
    for cfg in (g_cfg, d_cfg):
        cfg.setdefault("pitch_min", min(lo, PITCH_MIN))
        cfg.setdefault("pitch_max", max(hi, PITCH_MAX))
    try:
        G, D = build_networks(family, g_cfg, d_cfg)
        layout = layout_for(G.config, model["layout"]) if family == "spectral" else None
    except (TypeError, ValueError, RuntimeError, KeyError, ZeroDivisionError) as exc:
        reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise UsageError(f"audio model options do not build a {family} model: {reason}") from None
    notes = NoteDataset(corpus, clip_samples=int(model.get("clip_samples", 0)) or None,
                        progress=options.progress)
    mode_seeking = bool(model.get("mode_seeking", False))
    share = model.get("reconstruct_share", 0.0)
    if not isinstance(share, (int, float)) or not 0.0 <= share < 1.0:
        raise UsageError(f"model.reconstruct_share must be a number in [0, 1), got {share!r}")
    seed_prior = model.get("seed_prior", "normal")
    if seed_prior not in ("normal", "bank") or (seed_prior == "bank" and not model.get("bank")):
        raise UsageError(f"model.seed_prior must be 'normal' or (with model.bank) 'bank', got {seed_prior!r}")
    instruments, ids = None, []
    brightening = G.velocity_brightening if getattr(G, "velocity_tilts", False) else None
    if share > 0:
        from .training.instruments import IgnoreInstrument, InstrumentLatents, instrument_index

        if family == "spectral":
            raise UsageError("model.reconstruct_share needs a waveform family (harmonic or wave), not spectral")
        instruments, ids = instrument_index(notes.instrument)
        G, D = InstrumentLatents(G, len(ids), G.config.latent_dim, seed=options.seed), IgnoreInstrument(D)
    return AudioTask(
        generator=G, discriminator=D, dataset=TrainingNotes(notes, use_velocity, layout, instruments),
        reconstruct_share=float(share), instrument_ids=ids, seed_prior=seed_prior,
        latent_dim=G.config.latent_dim, objective=NoteObjective(G.config.pitch_min, family, mode_seeking, brightening),
        image_like=False,              # mag+IF or waveform: no channel is a colour, no DiffAugment
        name=f"audio-{family}", family=family, g_config=g_cfg,
        corpus=corpus, build_bank=bool(model.get("bank", False)),
        bank_options=dict(model["bank"]) if isinstance(model.get("bank"), dict) else {},
        heldout=heldout, release_extras={"default_timbre": model["default_timbre"]}
        if isinstance(model.get("default_timbre"), str) else {},
        layout=layout, use_velocity=use_velocity, paired_conditions=mode_seeking,
        corpus_info={"path": Path(args.data).resolve().name, "notes": len(corpus),   # no machine paths
                     "description": describe_corpus(args.data, len(corpus), (lo, hi)),
                     "instruments": {str(k): v for k, v in corpus.instruments().items()},
                     "pitch_min": lo, "pitch_max": hi})


def sample(pipe, seeds, out, args) -> list[str]:
    """WAV per (seed, pitch) plus a spectrogram sheet PNG, in folder ``out``."""
    import soundfile as sf

    from .pictures import spectrogram_png

    pitches = _int_list(args.pitch, "--pitch")
    lo, hi = pipe.pitch_range
    bad = [p for p in pitches if not lo <= p <= hi]
    if bad:
        raise UsageError(f"pitch {bad[0]} is outside this model's range {lo}-{hi}")
    out_dir = Path(out)
    if out_dir.suffix:
        raise UsageError(f"{out}: sample audio writes a folder of WAVs; give a folder name")
    fileio.check_outputs(folders={"-o": out_dir})
    timbres = [args.timbre] if args.timbre else seeds
    batches = [pipe.generate(pitches, **({"timbre": t} if args.timbre else {"seed": int(t)}))
               for t in timbres]                      # bad timbres fail before anything is written
    out_dir.mkdir(parents=True, exist_ok=True)
    written, sheet = [], []
    for timbre, notes in zip(timbres, batches):
        name = re.sub(r"[^A-Za-z0-9._-]+", "-", str(args.timbre)) if args.timbre else f"seed{int(timbre):04d}"
        for pitch, note in zip(pitches, notes):
            path = out_dir / f"{name}_pitch{pitch:03d}.wav"
            with fileio.atomic_path(path) as tmp:
                sf.write(str(tmp), np.clip(note, -1, 1), SAMPLE_RATE, subtype="PCM_16", format="WAV")
            written.append(str(path))
            sheet.append(note[: SAMPLE_RATE * 2])
            sheet.append(np.zeros(SAMPLE_RATE // 8, dtype=np.float32))
    png = out_dir / "spectrograms.png"
    spectrogram_png(np.concatenate(sheet), SAMPLE_RATE, str(png))
    written.append(str(png))
    return written


def evaluate(pipe, args) -> dict:
    """``creative-gan evaluate audio``: see :mod:`.evaluate.command`."""
    from .evaluate.command import run

    return run(pipe, args)


def render(args) -> int:
    """``creative-gan render IN.mid -o OUT.wav …``: summary printed and optionally written as JSON.

    Every option, path and limit is checked before the model loads or a note is made; the extra outputs
    (``--json``, ``--piano-roll``, ``--spectrogram``) may not be the WAV itself, the MIDI file or each other.
    """
    from creative_gan.device import select_device
    from creative_gan.release import load

    from .data.midi_notes import RenderError
    from .render.limits import RenderLimits
    from .render.render import render_midi
    from .render.timbre import TimbreError

    from .render.timbre_command import check_fit_arguments, fit_notes, read_notes

    out = Path(args.out)
    fileio.check_outputs(files={"-o": out, "--json": args.json, "--piano-roll": args.piano_roll,
                                "--spectrogram": args.spectrogram}, inputs={"MIDI": args.midi})
    recorded = []
    if args.timbre_from:
        for option, given in (("--timbre", args.timbre), ("--morph", args.morph)):
            if given:
                raise UsageError(f"give --timbre-from or {option}, not both")
        check_fit_arguments(args)
        recorded = read_notes(args.timbre_from)       # unreadable or silent notes fail before the model loads
        for path, _, _ in recorded:
            fileio.check_outputs(files={"-o": out}, inputs={"--timbre-from": path})
    for option, path in (("--piano-roll", args.piano_roll), ("--spectrogram", args.spectrogram)):
        if path and Path(path).suffix.lower() != ".png":
            raise UsageError(f"{option} {path}: pictures are PNG files; give a name ending in .png")
    try:
        limits = RenderLimits(max_duration_s=args.max_duration, max_envelope_s=args.max_envelope)
    except RenderError as exc:
        raise UsageError(str(exc).replace("limit max_duration_s", "--max-duration")
                         .replace("limit max_envelope_s", "--max-envelope")) from None
    track_timbres = {}
    for item in args.track_timbre:
        if "=" not in item:
            raise UsageError(f"--track-timbre {item!r}: expected N=TIMBRE")
        key, value = item.split("=", 1)
        try:
            track_timbres[int(key)] = value
        except ValueError:
            raise UsageError(f"--track-timbre {item!r}: N must be a track number") from None
    device = select_device(args.device)        # "cuda" on a machine without one: said so, before loading
    pipe = load(args.model, device=device)
    if getattr(pipe, "pipeline_name", "") != "audio":
        raise UsageError(f"{args.model} is not an audio model")
    timbres = args.timbre or None
    if recorded:
        z, loss_db, _ = fit_notes(pipe, recorded, args.fit_steps, args.fit_seed, not args.no_progress)
        print(f"{'timbre_fit_db':<20} {loss_db:.2f}")
        timbres = [z]
    try:
        result = render_midi(pipe, args.midi, out_path=out, timbres=timbres, morph=args.morph,
                             track_timbres=track_timbres or None, sample_rate=args.sample_rate,
                             attack=args.attack, release=args.release, progress=not args.no_progress,
                             limits=limits)
    except (RenderError, TimbreError) as exc:
        raise UsageError(str(exc)) from None
    summary = result.summary
    keys = ("notes_rendered", "notes_skipped_drums", "notes_transposed", "duration_s", "render_s",
            "realtime_factor")
    for key in keys:
        value = summary.get(key)
        print(f"{key:<20} {value:.2f}" if isinstance(value, float) else f"{key:<20} {value}")
    print(f"wrote {result.path}")
    if args.piano_roll:
        from .pictures import piano_roll_png

        piano_roll_png(args.midi, args.piano_roll)
    if args.spectrogram:
        from .pictures import spectrogram_png_of_file

        spectrogram_png_of_file(result.path, args.spectrogram)
    if args.json:
        fileio.write_json(args.json, json.loads(json.dumps(summary, default=str)))
    sys.stdout.flush()
    return 0
