"""Benchmark: a timbre fitted to ONE recorded note against every shipped preset, per held-out instrument.

    OMP_NUM_THREADS=1 python benchmarks/timbre_fit.py --model audio-default --corpus corpora/fluidr3_heldout4

For each instrument of an NSynth-format corpus (programs the model never trained on), the note at
``--fit-pitch`` / ``--velocity`` is given to :meth:`AudioPipeline.timbre_from_audio` exactly as
``render --timbre-from note.wav`` gives it (file path, pitch detected, velocity read from its level). Then the
fitted timbre and every preset play ``--pitches`` at ``--velocity`` and each is scored by the mean log-mel L1 (dB, first 3 s,
:func:`logmel_l1_db` at the real notes' level) to that instrument's real notes there. Printed: per instrument
the fit's distance, the best preset's, their ratio, the fit's detected pitch and seconds; then the share of
instruments where the fit beats every preset. The reference is the preset bank of the same model, measured in
the same process.

A second set of programs the model never saw (oboe, bassoon, trombone, clavinet, xylophone, church organ,
harmonica, steel guitar, ocarina; contrabass has no note at 60 and is skipped), so that a change tuned on the
four of ``fluidr3_heldout4`` can be checked on instruments it was not tuned on:

    creative-gan data audio --out corpora/fluidr3_val10 --programs 7,13,19,22,25,43,57,68,70,79 \
        --pitches 36,48,60,72 --velocities 80
    OMP_NUM_THREADS=2 python benchmarks/timbre_fit.py --corpus corpora/fluidr3_val10
"""
from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np
import soundfile as sf
import torch

import creative_gan
from creative_gan.pipelines.audio.dsp.features import logmel_db, logmel_l1_db
from creative_gan.pipelines.audio.render.recording import detect_pitch, read_note

CLIP = 48_000     # 3 s at 16 kHz: the held note up to note-off


def distance_db(pipe, z: torch.Tensor, real: np.ndarray, pitches: list[int], velocity: int,
                match_level: bool = False) -> float:
    """Mean log-mel L1 (dB) between the model's notes for ``z`` and ``real`` [P, CLIP] at ``pitches``; with
    ``match_level`` each generated note is first scaled to its real note's power (timbre only, no gain)."""
    fake = pipe.generate(pitches, z=z, velocities=[velocity] * len(pitches) if pipe.has_velocity else None,
                         num_samples=CLIP, as_tensor=True)
    real = torch.from_numpy(real)
    if match_level:
        fake = fake * (real.pow(2).mean(1, keepdim=True) / fake.pow(2).mean(1, keepdim=True).clamp_min(1e-20)).sqrt()
    return float(logmel_l1_db(logmel_db(fake), logmel_db(real)).mean())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", default="audio-default")
    parser.add_argument("--corpus", default="corpora/fluidr3_heldout4")
    parser.add_argument("--fit-pitch", type=int, default=60)
    parser.add_argument("--pitches", default="36,48,60,72")
    parser.add_argument("--velocity", type=int, default=80)
    parser.add_argument("--steps", type=int, default=150)
    parser.add_argument("--fit-velocity", type=int, default=None,
                        help="velocity the recording is taken to have (default: estimated from its level, as "
                             "render --timbre-from does)")
    parser.add_argument("--level", default="nearest", help="the fit's level mode (nearest, shape, exact)")
    parser.add_argument("--anchor", type=float, default=None,
                        help="anchor weight of the fit (default: the user-facing fits', invert.ANCHOR_WEIGHT; 0: none)")
    parser.add_argument("--lr", type=float, default=None, help="the fit's first learning rate (default: its own)")
    parser.add_argument("--match-level", action="store_true",
                        help="score timbre alone: scale every generated note to its real note's power first "
                             "(a recording's gain is arbitrary, so the fit's level is a guess)")
    parser.add_argument("--json", help="also write the rows here")
    args = parser.parse_args()
    pipe = creative_gan.load(args.model, device="cpu")
    pitches = [int(p) for p in args.pitches.split(",")]
    audio = Path(args.corpus) / "audio"
    instruments = sorted({p.name.rsplit("-", 2)[0] for p in audio.glob("*.wav")})
    rows = []
    for name in instruments:
        missing = [p for p in [*pitches, args.fit_pitch]
                   if not (audio / f"{name}-{p:03d}-{args.velocity:03d}.wav").exists()]
        if missing:     # e.g. a program that is silent at some pitch (the corpus builder drops silent notes)
            print(f"{name:<28} skipped: no note at {', '.join(map(str, missing))} velocity {args.velocity}")
            continue
        real = np.stack([sf.read(str(audio / f"{name}-{p:03d}-{args.velocity:03d}.wav"), dtype="float32")[0][:CLIP]
                         for p in pitches])
        note = audio / f"{name}-{args.fit_pitch:03d}-{args.velocity:03d}.wav"
        start = time.perf_counter()
        detected = detect_pitch(read_note(note), pipe.sample_rate, str(note))
        options = {k: v for k, v in (("anchor", args.anchor), ("lr", args.lr)) if v is not None}
        z = pipe.timbre_from_audio(str(note), steps=args.steps, level=args.level, velocity=args.fit_velocity,
                                   **options)
        seconds = time.perf_counter() - start
        fitted = distance_db(pipe, z, real, pitches, args.velocity, args.match_level)
        presets = {k: distance_db(pipe, v, real, pitches, args.velocity, args.match_level)
                   for k, v in pipe.presets.items()}
        best = min(presets, key=presets.get)
        rows.append({"instrument": name, "fit_db": fitted, "best_preset": best, "best_preset_db": presets[best],
                     "ratio": fitted / presets[best], "detected_pitch": detected, "fit_seconds": seconds})
        print(f"{name:<28} fit {fitted:5.2f} dB   best preset {best:<22} {presets[best]:5.2f} dB   "
              f"ratio {fitted / presets[best]:.2f}   pitch {detected} (file {args.fit_pitch})   {seconds:.0f} s",
              flush=True)
    share = np.mean([r["fit_db"] < r["best_preset_db"] for r in rows])
    print(f"fit beats every preset for {share:.0%} of {len(rows)} instruments "
          f"(mean fit {np.mean([r['fit_db'] for r in rows]):.2f} dB, "
          f"mean best preset {np.mean([r['best_preset_db'] for r in rows]):.2f} dB)")
    if args.json:
        Path(args.json).write_text(json.dumps(rows, indent=2) + "\n")


if __name__ == "__main__":
    main()
