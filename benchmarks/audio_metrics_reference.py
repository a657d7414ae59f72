"""Real-vs-real reference figures of the audio evaluation on an NSynth-format corpus, with timings.

Prints what a generator's figures should be read against: pYIN pitch accuracy of every real note (and the
notes it gets wrong), NDB and classifier Fréchet distance of a held-out split against the train split,
the diversity ratio of half the real notes against all, the classifier's held-out accuracies, and how fast
each part runs. ``--baselines`` also scores three stand-in generators through :func:`evaluate_notes`'s path:
held-out-like real notes (replays), in-tune sine waves, and one instrument repeated (mode collapse).

    python benchmarks/audio_metrics_reference.py corpora/fluidr3_30x61x3 [--pitches 24-84] [--baselines]
    python benchmarks/audio_metrics_reference.py CORPUS --save-reference ref.safetensors
"""
from __future__ import annotations

import argparse
import time

import numpy as np
import torch

from creative_gan.pipelines.audio.evaluate.evaluation import build_real_reference, score_generated
from creative_gan.pipelines.audio.data.nsynth import read_corpus


def _pitch_range(text: str) -> range:
    low, _, high = text.partition("-")
    return range(int(low), int(high or low) + 1)


def _baselines(corpus, reference, n_jobs):
    """Score stand-in generators: real replays, sine waves, one instrument for every z."""
    pitches = np.array([r.pitch for r in corpus.records])
    instruments = np.array([r.instrument for r in corpus.records])
    chosen = [i for p in sorted(set(pitches)) for i in np.flatnonzero(pitches == p)[:4]]
    replay = corpus.load_all(chosen)
    t = np.arange(replay.shape[1]) / 16000.0
    sines = np.stack([0.3 * np.sin(2 * np.pi * 440.0 * 2 ** ((pitches[i] - 69) / 12) * t) * (t < 3.0)
                      for i in chosen]).astype(np.float32)
    first = instruments[chosen[0]]
    collapse_idx = [int(np.flatnonzero((pitches == pitches[i]) & (instruments == first))[0])
                    if ((pitches == pitches[i]) & (instruments == first)).any() else i for i in chosen]
    collapsed = corpus.load_all(collapse_idx)
    stand_ins = (("real replay, first 4 instr.", replay), ("sine waves", sines),
                 ("one instrument (collapse)", collapsed))
    for name, audio in stand_ins:
        s = score_generated(audio, pitches[chosen], reference, n_jobs=n_jobs)
        print(f"  {name:27s} pitch {s['pitch_accuracy']:.3f}  entropy {s['pitch_entropy']:.2f}  "
              f"NDB {s['ndb']:3d} ({s['ndb_fraction']:.2f})  FD {s['frechet_distance']:8.2f}  "
              f"diversity {s['diversity_ratio']:.2f}  classifier pitch {s['classifier_pitch_accuracy']:.3f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("corpus", help="NSynth-format corpus (creative-gan data audio --out DIR)")
    parser.add_argument("--pitches", type=_pitch_range, default=range(24, 85), help="MIDI range, e.g. 24-84")
    parser.add_argument("--held-out", type=float, default=0.2, help="held-out fraction per instrument")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--jobs", type=int, default=None, help="pYIN worker processes (default 2)")
    parser.add_argument("--baselines", action="store_true", help="also score stand-in generators")
    parser.add_argument("--save-reference", default=None, help="write the reference as safetensors here")
    args = parser.parse_args()

    corpus = read_corpus(args.corpus, pitch_range=(args.pitches.start, args.pitches.stop - 1))
    print(f"{corpus!r}, pitches {args.pitches.start}-{args.pitches.stop - 1}")
    started = time.perf_counter()
    reference = build_real_reference(corpus, args.pitches, args.seed, held_out_fraction=args.held_out,
                                     pitch_notes="all", n_jobs=args.jobs)
    total = time.perf_counter() - started
    f = reference.figures
    print(f"real notes: {f['num_real_train']:.0f} train, {f['num_real_held_out']:.0f} held out; "
          f"NDB k = {f['ndb_k']:.0f}")
    print(f"pitch accuracy (pYIN, all {f['num_real_pitch_notes']:.0f} real notes): {f['real_pitch_accuracy']:.3f}"
          f"   pitch entropy {f['real_pitch_entropy']:.3f} nats")
    print(f"NDB held-out vs train: {f['real_ndb']:.0f} of {f['ndb_k']:.0f} ({f['real_ndb_fraction']:.3f})")
    print(f"Fréchet distance held-out vs train (classifier embedding): {f['real_frechet_distance']:.3f}")
    print(f"diversity ratio, half the real notes vs all: {f['real_diversity_ratio']:.3f}")
    print(f"classifier held-out accuracy: pitch {f['real_classifier_pitch_accuracy']:.3f}, "
          f"family {f['real_classifier_family_accuracy']:.3f}")
    rate = f["num_real_pitch_notes"] / f["real_pitch_seconds"]
    print(f"timings: load {f['real_load_seconds']:.1f} s, spectra+MFCC+k-means {f['real_features_seconds']:.1f} s, "
          f"classifier training {f['classifier_train_seconds']:.1f} s, pYIN {f['real_pitch_seconds']:.1f} s "
          f"({rate:.1f} notes/s), total {total:.1f} s")

    result, records = reference.details["pitch_result"], reference.details["pitch_records"]
    wrong = [(r.instrument_str, r.pitch, round(float(d), 1))
             for r, d, ok in zip(records, result.detected, result.correct) if not ok]
    print(f"pYIN misses ({len(wrong)}): (instrument, asked pitch, detected pitch)")
    for item in wrong:
        print("  ", item)
    if args.baselines:
        print("stand-in generators (4 notes per pitch):")
        _baselines(corpus, reference, args.jobs)
    if args.save_reference:
        from safetensors.torch import save_file
        tensors = reference.to_tensors()
        save_file(tensors, args.save_reference)
        size = sum(t.numel() * t.element_size() for t in tensors.values())
        print(f"reference written to {args.save_reference} ({size / 1e6:.2f} MB of tensors)")


if __name__ == "__main__":
    torch.manual_seed(0)
    main()
