"""Benchmark: where the audio Fréchet distance comes from — which parts of a note the FD embedding tells apart.

    OMP_NUM_THREADS=2 python benchmarks/frechet_regions.py --model audio-default --corpus corpora/fluidr3_30x61x3

The evaluation's Fréchet distance (``evaluate audio``) embeds each note with the stored classifier: semitone
bands (MIDI 20–118) × 16 frames of 256 ms, 80 dB below the note's own peak. This script rebuilds the reference's
held-out split of the training corpus (the same split ``evaluate`` measured ``real_frechet_distance`` on) and
prints, side by side in one run, the Fréchet distance of

- the held-out real notes (the reference, ≈ the stored ``real_frechet_distance``);
- the model's notes for random z (the seeds ``evaluate`` draws from), at the held-out notes' pitches and velocities;
- each held-out note played by its own instrument's preset (an ideal sampler: the timbre is right by name);
- those preset notes with one region of the embedding input replaced by the real note's (paired): below the
  fundamental, between partials, on partials, the onset frame, the release frames, the held frames.

A region whose swap removes most of the preset-vs-real gap is where the model's notes differ in the eyes of
the metric. Each figure is also printed as a ratio to the real-vs-real one.
"""
from __future__ import annotations

import argparse

import numpy as np
import torch

import creative_gan
from creative_gan.pipelines.audio.data.nsynth import read_corpus
from creative_gan.pipelines.audio.evaluate.embedding import BAND_MIDI_HIGH, BAND_MIDI_LOW, classify_notes, note_features
from creative_gan.pipelines.audio.evaluate.evaluation import RealReference, matched_frechet_distance
from creative_gan.pipelines.audio.render.bank import preset_name


def region_masks(pitch: int, bands: np.ndarray, frames: int) -> dict[str, np.ndarray]:
    """Boolean ``[bands, frames]`` masks of the embedding input's regions for a note at MIDI ``pitch``."""
    partials = pitch + 12 * np.log2(np.arange(1, 65))
    distance = np.abs(bands[:, None] - partials[None]).min(1)              # semitones to the nearest partial
    t = np.arange(frames)
    every_frame, every_band = np.ones(frames, bool), np.ones(len(bands), bool)
    return {
        "below the fundamental": (bands < pitch - 1)[:, None] & every_frame,
        "between partials (< 3 octaves up)": ((distance >= 1) & (bands > pitch) & (bands < pitch + 36))[:, None]
                                              & every_frame,
        "on partials": (distance < 1)[:, None] & every_frame,
        "above 3 octaves": (bands >= pitch + 36)[:, None] & every_frame,
        "onset frame (0-256 ms)": every_band[:, None] & (t == 0),
        "held frames (0.26-3.1 s)": every_band[:, None] & ((t >= 1) & (t < 12)),
        "release frames (3.1-4 s)": every_band[:, None] & (t >= 12),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", default="audio-default")
    parser.add_argument("--corpus", default="corpora/fluidr3_30x61x3",
                        help="the model's training corpus (its reference was built from it)")
    parser.add_argument("--seed", type=int, default=0, help="the reference's split seed (evaluate's default 0)")
    args = parser.parse_args()
    pipe = creative_gan.load(args.model, device="cpu")
    reference = RealReference.from_tensors(pipe.reference)
    lo, hi = pipe.pitch_range
    corpus = read_corpus(args.corpus, pitch_range=(lo, hi))
    _, held = corpus.split(0.2, seed=args.seed, by="note")        # build_real_reference's split
    real = held.load_all()
    pitches = np.array([r.pitch for r in held.records])
    velocities = [int(r.velocity) for r in held.records]
    names = [preset_name(r.instrument_str, int(r.instrument_str.rsplit("_", 1)[-1])) for r in held.records]
    missing = sorted(set(names) - set(pipe.presets))
    if missing:
        raise SystemExit(f"the model has no preset for {', '.join(missing)}: is {args.corpus} its corpus?")
    velocity_arg = velocities if pipe.has_velocity else None
    random_z = pipe.generate(pitches, seed=[1_000_000 + i for i in range(len(held))], velocities=velocity_arg)
    presets = pipe.generate(pitches, z=torch.stack([pipe.presets[n] for n in names]), velocities=velocity_arg)

    def fd(features: np.ndarray) -> float:
        _, _, embedding = classify_notes(reference.classifier, torch.from_numpy(features[:, None]))
        return matched_frechet_distance(reference, embedding)

    real_f, preset_f = note_features(real)[:, 0].numpy(), note_features(presets)[:, 0].numpy()
    real_fd = fd(real_f)
    rows = [("held-out real notes", real_fd),
            ("random z (evaluate's seeds)", fd(note_features(random_z)[:, 0].numpy())),
            ("each note's own instrument preset", fd(preset_f))]
    bands = np.arange(BAND_MIDI_LOW, BAND_MIDI_HIGH + 1)
    masks = [region_masks(int(p), bands, real_f.shape[2]) for p in pitches]
    for region in masks[0]:
        swapped = preset_f.copy()
        for i, m in enumerate(masks):
            swapped[i][m[region]] = real_f[i][m[region]]
        rows.append((f"  preset, {region} from the real note", fd(swapped)))
    print(f"{len(held)} held-out notes; stored real_frechet_distance "
          f"{reference.figures.get('real_frechet_distance', float('nan')):.2f}")
    for label, value in rows:
        print(f"{label:<66} FD {value:6.2f}   {value / real_fd:5.2f}× real")


if __name__ == "__main__":
    main()
