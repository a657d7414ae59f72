"""Give a trained harmonic model frequency vibrato, fitted to the pitch movement of its corpus's real notes.

    python examples/fit_vibrato.py --model audio-default --corpus corpora/fluidr3_30x61x3 -o runs/audio-vibrato

Every preset named after a corpus instrument plays that instrument's notes at ``--pitches`` (velocity 80);
the vibrato head is fitted so that their pitch movement (cents, pYIN over 0.6–2.5 s) matches the real notes'
(:mod:`creative_gan.pipelines.audio.training.vibrato`). Printed per instrument: real, before and after. The
model is written as a new release folder (nothing else in it changes); the shipped audio-default was made so.
"""
from __future__ import annotations

import argparse
import time

import numpy as np
import torch

import creative_gan
from creative_gan.pipelines.audio.data.nsynth import read_corpus
from creative_gan.pipelines.audio.render.bank import preset_name
from creative_gan.pipelines.audio.training.vibrato import fit_vibrato, with_vibrato
from creative_gan.release import load_parts, save


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", default="audio-default")
    parser.add_argument("--corpus", default="corpora/fluidr3_30x61x3")
    parser.add_argument("--pitches", default="36,48,60,72,84")
    parser.add_argument("--velocity", type=int, default=80)
    parser.add_argument("--max-cents", type=float, default=25.0)
    parser.add_argument("-o", "--out", required=True)
    parser.add_argument("--picture", help="also draw pitch tracks (real, before, after) of a few presets here")
    parser.add_argument("--picture-presets", default="violin,alto-sax,flute,trumpet,marimba,electric-bass-finger")
    args = parser.parse_args()
    started = time.perf_counter()
    pipe = with_vibrato(creative_gan.load(args.model, device="cpu"), args.max_cents)
    wanted = {int(p) for p in args.pitches.split(",")}
    corpus = read_corpus(args.corpus)
    rows = [i for i, r in enumerate(corpus.records) if r.pitch in wanted and r.velocity == args.velocity]
    corpus = corpus.subset(rows)
    names = [preset_name(r.instrument_str, int(r.instrument_str.rsplit("_", 1)[-1])) for r in corpus.records]
    keep = [i for i, n in enumerate(names) if n in pipe.presets]
    corpus, names = corpus.subset(keep), [names[i] for i in keep]
    pitches = np.array([r.pitch for r in corpus.records])
    latents = torch.stack([pipe.presets[n] for n in names])
    shown = [n for n in args.picture_presets.split(",") if n in names] if args.picture else []
    before = {n: pipe.generate([60], timbre=n, velocities=[args.velocity])[0] for n in shown}
    fit = fit_vibrato(pipe, corpus.load_all(), pitches, latents, velocity=args.velocity)
    print(f"tracker: {fit.gain:.3f} cents of movement per cent of depth, "
          f"median floor {np.nanmedian(fit.floor):.2f} cents")
    print(f"{'preset':<24} {'real':>6} {'before':>7} {'after':>6}   (pitch movement, cents std, mean over pitches)")
    for name in sorted(set(names)):
        rows = [i for i, n in enumerate(names) if n == name]
        print(f"{name:<24} {np.nanmean(fit.real[rows]):6.2f} {np.nanmean(fit.before[rows]):7.2f} "
              f"{np.nanmean(fit.after[rows]):6.2f}")
    print(f"{'all':<24} {np.nanmean(fit.real):6.2f} {np.nanmean(fit.before):7.2f} {np.nanmean(fit.after):6.2f}")
    config, _ = load_parts(args.model)
    provenance = dict(config.get("provenance", {}))
    provenance["vibrato"] = {"corpus": config.get("corpus", {}).get("path"), "pitches": sorted(wanted),
                             "velocity": args.velocity, "notes": len(names),
                             "real_cents": round(float(np.nanmean(fit.real)), 3),
                             "model_cents": round(float(np.nanmean(fit.after)), 3),
                             "seconds": round(time.perf_counter() - started, 1)}
    save(pipe, args.out, provenance)
    print(f"wrote {args.out}")
    if shown:
        draw_tracks(pipe, corpus, names, shown, before, args.velocity, args.picture)


def draw_tracks(pipe, corpus, names, shown, before, velocity, path) -> None:
    """Pitch tracks at MIDI 60 over the held part: real (black), before (grey), after (red)."""
    from creative_gan.pipelines.audio.pictures import pitch_tracks_png
    from creative_gan.pipelines.audio.training.vibrato import HELD_SECONDS, pitch_track_cents

    rows = []
    for name in shown:
        real = [i for i, (n, r) in enumerate(zip(names, corpus.records)) if n == name and r.pitch == 60]
        if not real:
            continue
        after = pipe.generate([60], timbre=name, velocities=[velocity])[0]
        rows.append((name, [(pitch_track_cents(corpus.load_audio(real[0]), 60), (0, 0, 0)),
                            (pitch_track_cents(before[name], 60), (150, 150, 150)),
                            (pitch_track_cents(after, 60), (210, 40, 40))]))
    pitch_tracks_png(rows, path, seconds=HELD_SECONDS[1] - HELD_SECONDS[0])
    print(f"wrote {path} (black: FluidR3, grey: before, red: with vibrato)")


if __name__ == "__main__":
    main()
