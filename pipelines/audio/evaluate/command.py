"""``creative-gan evaluate audio``: every figure of a note model beside its real reference, headline first.

    creative-gan evaluate audio --model audio-default --json metrics.json
    creative-gan evaluate audio --model runs/audio/model --data corpora/fluidr3 --heldout corpora/heldout

Printed (and returned) in this order: the living-timbre headline (:data:`.living_scores.HEADLINE`), the note
figures each beside its real reference (:mod:`.evaluation`), the other figures and timings, then one row per
preset and per held-out program (:class:`.living_scores.Row`).
"""
from __future__ import annotations

import argparse
import os
import sys

import numpy as np
import torch

from creative_gan.errors import UsageError


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Options of ``evaluate audio`` (beside the shared ``--model``, ``--json``, ``--device``, ``--seed``)."""
    parser.add_argument("--data", help="NSynth-format corpus to compare against (default: shipped reference)")
    parser.add_argument("--notes-per-pitch", type=int, default=4)
    parser.add_argument("--pitch-step", type=int, default=1, help="evaluate every n-th pitch of the range")
    parser.add_argument("--heldout", metavar="CORPUS",
                        help="NSynth-format corpus of programs the model never saw: fit a timbre to each "
                             "(default: the held-out notes stored with the model)")
    parser.add_argument("--morph-pairs", type=int, default=40,
                        help="preset pairs whose 8-step morph is checked (default: 40, a seeded sample)")
    parser.add_argument("--no-fit", action="store_true", help="skip the held-out timbre fits")
    parser.add_argument("--fit-steps", type=int,
                        help="gradient steps of each held-out timbre fit (default: the fit's own, 150)")


def run(pipe, args) -> dict:
    """The living-timbre figures (decay, sustain movement, log-mel distance, velocity brightness, morphs, held-out
    fits; :mod:`.living_scores`) first, then the five note figures (and their real references) over the
    model's pitch range, then per-preset and per-held-out-program rows.

    Each generated note of the note figures gets its own z (seeds ``seed·10⁶ + i``), so diversity measures the
    latent space, not one instrument. Without ``--data`` the references stored with the model are used.
    """
    from ..data.nsynth import CorpusError, read_corpus
    from .evaluation import evaluate_notes

    if not 2 <= args.notes_per_pitch <= 256:
        raise UsageError("--notes-per-pitch must be between 2 (diversity needs pairs) and 256")
    if args.pitch_step < 1:
        raise UsageError(f"--pitch-step must be at least 1, got {args.pitch_step}")
    if args.morph_pairs < 0:
        raise UsageError(f"--morph-pairs must be 0 or more, got {args.morph_pairs}")
    if args.fit_steps is not None and args.fit_steps < 0:
        raise UsageError(f"--fit-steps must be 0 or more, got {args.fit_steps}")
    lo, hi = pipe.pitch_range
    pitches = list(range(lo, hi + 1, args.pitch_step))
    jobs = {"n_jobs": min(2, os.cpu_count() or 1)}    # pYIN worker processes: asked for here, never by default
    living = _living_reference(pipe, args)             # corpora checked before the long work starts

    # a velocity-conditioned model plays the reference's velocity layers in turn, as the real notes span them
    layers = [100]
    if pipe.has_velocity:
        layers = sorted(int(v) for v in getattr(living, "velocities", [])) or [100]

    def generate(asked: torch.Tensor, seed: int) -> np.ndarray:
        velocities = [layers[i % len(layers)] for i in range(len(asked))] if pipe.has_velocity else None
        return pipe.generate(asked, seed=[seed * 1_000_000 + i for i in range(len(asked))], velocities=velocities)

    if args.data:
        try:
            corpus = read_corpus(args.data, pitch_range=(lo, hi))
        except CorpusError as exc:
            raise UsageError(str(exc)) from None
        pitches = [p for p in pitches if p in corpus.pitch_histogram()]
        if pipe.has_velocity:
            layers[:] = sorted({r.velocity for r in corpus.records})
        if not pitches:
            raise UsageError(f"{args.data}: no notes in this model's pitch range {lo}-{hi}")
        try:
            metrics = evaluate_notes(generate, real_corpus=corpus, pitches=pitches,
                                     n_per_pitch=args.notes_per_pitch, seed=args.seed, **jobs)
        except (CorpusError, ValueError) as exc:       # e.g. a corpus too small to split and train on
            raise UsageError(f"{args.data}: {exc}") from None
    else:
        if not pipe.reference:
            raise UsageError("this model has no stored reference set; pass --data CORPUS")
        try:
            metrics = evaluate_notes(generate, pitches=pitches, n_per_pitch=args.notes_per_pitch,
                                     seed=args.seed, reference=pipe.reference, **jobs)
        except ValueError as exc:
            raise UsageError(f"the model's stored reference set is unusable: {exc}") from None
    if metrics.get("real_frechet_distance"):
        metrics["frechet_ratio"] = metrics["frechet_distance"] / metrics["real_frechet_distance"]
    from .living_scores import HEADLINE, score_living, score_morphs

    if living is None:
        print("creative-gan: note: this model stores no living-timbre reference; pass --data CORPUS for the "
              "per-preset decay, movement, log-mel and velocity figures", file=sys.stderr)
        scores = score_morphs(pipe, args.morph_pairs, args.seed, progress=True)
    else:
        scores = score_living(pipe, living, max_morph_pairs=args.morph_pairs, seed=args.seed,
                              fit=not args.no_fit, progress=True,
                              fit_options={} if args.fit_steps is None else {"steps": args.fit_steps})
    # headline figures first, then the note figures each beside its real reference, then the rest, then rows
    order = [*HEADLINE]
    for key in ("pitch_accuracy", "diversity_ratio", "frechet_distance"):
        order += [key, f"real_{key}"]
    order += ["frechet_ratio"] + [k for k, v in scores.items() if not isinstance(v, dict)]
    for key in ("pitch_entropy", "ndb"):
        order += [key, f"real_{key}"]
    merged = {**metrics, **scores}
    head = {k: merged[k] for k in dict.fromkeys(order) if k in merged}
    rest = {k: v for k, v in merged.items() if k not in head and not isinstance(v, dict)}
    return head | rest | {k: v for k, v in merged.items() if isinstance(v, dict)}


def _living_reference(pipe, args):
    """The real side of the living-timbre figures: from ``--data`` (and ``--heldout``), else the model's stored
    one (its held-out part replaced by ``--heldout``'s); None when there is none."""
    from ..data.nsynth import CorpusError, read_corpus
    from .living import LivingReference, build_living_reference, living_reference_for_corpus

    living = None
    try:
        if args.data:
            tensors = living_reference_for_corpus(read_corpus(args.data))
            living = LivingReference.from_tensors(tensors) if tensors else None
        elif pipe.living:
            living = LivingReference.from_tensors(pipe.living)
    except CorpusError as exc:
        raise UsageError(str(exc)) from None
    except ValueError as exc:
        where = args.data or "the model's stored living-timbre reference"
        raise UsageError(f"{where}: {exc}") from None
    if args.heldout:
        try:
            corpus = read_corpus(args.heldout)
            if living is None:
                tensors = living_reference_for_corpus(None, heldout=corpus)
                return LivingReference.from_tensors(tensors) if tensors else None
            held = build_living_reference(None, pitches=living.pitches, velocities=living.velocities,
                                          heldout=corpus, reference_velocity=living.reference_velocity)
            living = living.with_heldout(held)
        except (CorpusError, ValueError) as exc:
            raise UsageError(f"--heldout {args.heldout}: {exc}") from None
    return living
