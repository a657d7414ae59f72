"""What the audio pipeline's CLI verbs do: data, train (task), sample, evaluate, render."""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np
import torch

from creative_gan.errors import UsageError

from .constants import PITCH_MAX, PITCH_MIN, SAMPLE_RATE


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


def add_arguments(verb: str, parser: argparse.ArgumentParser) -> None:
    if verb == "data":
        parser.add_argument("--soundfont", help="a .sf2 file (default: Debian's FluidR3_GM.sf2)")
        parser.add_argument("--programs", default="0,11,24,40,56,65,73,81",
                            help="General MIDI programs, numbers or names (default: 8 families)")
        parser.add_argument("--pitches", default=f"{PITCH_MIN}-{PITCH_MAX}")
        parser.add_argument("--velocities", default="100")
        parser.add_argument("--source", default="synthetic", choices=["acoustic", "electronic", "synthetic"])
        parser.add_argument("--workers", type=int, help="processes (default: all cores)")
        parser.add_argument("--out", help="corpus folder to build (resumes if it exists)")
        parser.add_argument("--inspect", metavar="DIR", help="validate and describe an NSynth-format folder")
    elif verb == "train":
        parser.add_argument("--families", help="only these instrument families of the corpus (comma list)")
    elif verb == "sample":
        parser.add_argument("--pitch", default="60", help="MIDI pitch(es), e.g. 60 or 48,60,72")
        parser.add_argument("--timbre", help="a preset name instead of seeds")
    elif verb == "evaluate":
        parser.add_argument("--data", help="NSynth-format corpus to compare against (default: shipped reference)")
        parser.add_argument("--notes-per-pitch", type=int, default=4)
        parser.add_argument("--pitch-step", type=int, default=1, help="evaluate every n-th pitch of the range")
    elif verb == "render":
        parser.add_argument("midi", help="input .mid file")
        parser.add_argument("-o", "--out", required=True, help="output .wav (or .flac)")
        parser.add_argument("--model", default="audio-default", help="release folder, .zip or shipped name")
        parser.add_argument("--timbre", action="append", default=[], help="seed or preset (repeat: one per track)")
        parser.add_argument("--morph", help='timbre anchors over time, e.g. "0:violin,30:seed:7,60:flute"')
        parser.add_argument("--track-timbre", action="append", default=[], metavar="N=T",
                            help="timbre of instrument track N (0-based), e.g. 2=trumpet")
        parser.add_argument("--sample-rate", type=int, help="resample the output, e.g. 44100")
        parser.add_argument("--attack", type=float, default=0.01, help="seconds")
        parser.add_argument("--release", type=float, default=0.3, help="seconds")
        parser.add_argument("--json", help="write the render summary here")
        parser.add_argument("--piano-roll", help="PNG picture of the notes")
        parser.add_argument("--spectrogram", help="PNG spectrogram of the result")
        parser.add_argument("--device")
        parser.add_argument("--no-progress", action="store_true")


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

    try:
        summary = build_corpus(args.soundfont, args.out, programs=args.programs.split(","),
                               pitches=_int_list(args.pitches, "--pitches"),
                               velocities=_int_list(args.velocities, "--velocities"), source=args.source,
                               workers=args.workers)
    except (FluidSynthUnavailable, SoundFontError) as exc:
        raise UsageError(str(exc)) from None
    print(json.dumps(summary, indent=2, default=str))
    return 0


def make_task(options, args):
    """Build the :class:`~.task.AudioTask` for ``creative-gan train audio``."""
    from .data.nsynth import CorpusError, NoteDataset, read_corpus
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
    g_cfg, d_cfg = dict(model["generator"]), dict(model["discriminator"])
    lo, hi = min(r.pitch for r in corpus.records), max(r.pitch for r in corpus.records)
    for cfg in (g_cfg, d_cfg):
        cfg.setdefault("pitch_min", min(lo, PITCH_MIN))
        cfg.setdefault("pitch_max", max(hi, PITCH_MAX))
    G, D = build_networks(family, g_cfg, d_cfg)
    layout = layout_for(G.config, model["layout"]) if family == "spectral" else None
    notes = NoteDataset(corpus, clip_samples=int(model.get("clip_samples", 0)) or None,
                        progress=options.progress)
    use_velocity = bool(g_cfg.get("use_velocity", False))
    mode_seeking = bool(model.get("mode_seeking", False))
    return AudioTask(
        generator=G, discriminator=D, dataset=TrainingNotes(notes, use_velocity, layout),
        latent_dim=G.config.latent_dim, objective=NoteObjective(G.config.pitch_min, family, mode_seeking),
        image_like=False,              # mag+IF or waveform: no channel is a colour, no DiffAugment
        name=f"audio-{family}", family=family, g_config=g_cfg,
        corpus=corpus, build_bank=bool(model.get("bank", False)),
        layout=layout, use_velocity=use_velocity, paired_conditions=mode_seeking,
        corpus_info={"path": str(args.data), "notes": len(corpus),
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
    out_dir.mkdir(parents=True, exist_ok=True)
    written, sheet = [], []
    timbres = [args.timbre] if args.timbre else seeds
    for timbre in timbres:
        kwargs = {"timbre": timbre} if args.timbre else {"seed": int(timbre)}
        notes = pipe.generate_notes(pitches, **kwargs)
        for pitch, note in zip(pitches, notes):
            name = f"{args.timbre}" if args.timbre else f"seed{int(timbre):04d}"
            path = out_dir / f"{name}_pitch{pitch:03d}.wav"
            sf.write(str(path), np.clip(note, -1, 1), SAMPLE_RATE, subtype="PCM_16")
            written.append(str(path))
            sheet.append(note[: SAMPLE_RATE * 2])
            sheet.append(np.zeros(SAMPLE_RATE // 8, dtype=np.float32))
    png = out_dir / "spectrograms.png"
    spectrogram_png(np.concatenate(sheet), SAMPLE_RATE, str(png))
    written.append(str(png))
    return written


def evaluate(pipe, args) -> dict:
    """All five figures (and their real references) over the model's pitch range.

    Each generated note gets its own z (seeds ``seed·10⁶ + i``), so diversity measures the latent
    space, not one instrument. Without ``--data`` the reference stored with the model is used.
    """
    from .evaluate.evaluation import evaluate_notes
    from .data.nsynth import CorpusError, read_corpus

    if args.notes_per_pitch < 2:
        raise UsageError("--notes-per-pitch must be at least 2 (diversity needs pairs)")
    lo, hi = pipe.pitch_range
    pitches = list(range(lo, hi + 1, max(1, args.pitch_step)))

    def generate(asked: torch.Tensor, seed: int) -> np.ndarray:
        z = torch.stack([pipe.latent_for_seed(seed * 1_000_000 + i) for i in range(len(asked))])
        return pipe.generate(asked, z=z)

    if args.data:
        try:
            corpus = read_corpus(args.data, pitch_range=(lo, hi))
        except CorpusError as exc:
            raise UsageError(str(exc)) from None
        pitches = [p for p in pitches if p in corpus.pitch_histogram()]
        if not pitches:
            raise UsageError(f"{args.data}: no notes in this model's pitch range {lo}-{hi}")
        metrics = evaluate_notes(generate, real_corpus=corpus, pitches=pitches,
                                 n_per_pitch=args.notes_per_pitch, seed=args.seed)
    else:
        if not pipe.reference:
            raise UsageError("this model has no stored reference set; pass --data CORPUS")
        metrics = evaluate_notes(generate, pitches=pitches, n_per_pitch=args.notes_per_pitch,
                                 seed=args.seed, reference=pipe.reference)
    # the five headline figures first, each followed by its real reference
    head = {}
    for key in ("pitch_accuracy", "pitch_entropy", "ndb", "frechet_distance", "diversity_ratio"):
        for name in (key, f"real_{key}"):
            if name in metrics:
                head[name] = metrics[name]
    return head | {k: v for k, v in metrics.items() if k not in head}


def render(args) -> int:
    """``creative-gan render IN.mid -o OUT.wav …``: summary printed and optionally written as JSON."""
    from creative_gan.release import load

    from .data.midi_notes import RenderError
    from .render.render import render_midi
    from .render.timbre import TimbreError

    out = Path(args.out)
    if not out.parent.is_dir():
        raise UsageError(f"{out}: folder {out.parent} does not exist")
    if args.json and not Path(args.json).parent.is_dir():
        raise UsageError(f"{args.json}: folder {Path(args.json).parent} does not exist")
    pipe = load(args.model, device=args.device)
    if getattr(pipe, "pipeline_name", "") != "audio":
        raise UsageError(f"{args.model} is not an audio model")
    track_timbres = {}
    for item in args.track_timbre:
        if "=" not in item:
            raise UsageError(f"--track-timbre {item!r}: expected N=TIMBRE")
        key, value = item.split("=", 1)
        try:
            track_timbres[int(key)] = value
        except ValueError:
            raise UsageError(f"--track-timbre {item!r}: N must be a track number") from None
    try:
        result = render_midi(pipe, args.midi, out_path=out, timbres=args.timbre or None, morph=args.morph,
                             track_timbres=track_timbres or None, sample_rate=args.sample_rate,
                             attack=args.attack, release=args.release, progress=not args.no_progress)
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
        import soundfile as sf

        from .pictures import spectrogram_png

        audio, sr = sf.read(str(result.path), dtype="float32")
        spectrogram_png(audio if audio.ndim == 1 else audio.mean(1), sr, args.spectrogram)
    if args.json:
        from creative_gan.cli import write_json

        write_json(json.loads(json.dumps(summary, default=str)), args.json)
    sys.stdout.flush()
    return 0
