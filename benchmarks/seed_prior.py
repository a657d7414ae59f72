"""Benchmark: what a model's seeds should play — the Fréchet distance and diversity of each seed prior, side by side.

    OMP_NUM_THREADS=1 python benchmarks/seed_prior.py --model audio-default

``evaluate audio``'s note figures (its stored reference: 244 notes for diversity and pitch, 1,110 for the
Fréchet distance, velocities 40/80/120 in turn) for the same weights under several ways of turning a seed into a
timbre z, in one run:

- ``normal``: z ~ N(0, I) (a release without seed anchors);
- ``preset-gaussian``: z ~ a Gaussian fitted to the model's presets (mean, covariance + 1e-3·I);
- ``anchor-blend``: the slerp at t ~ U(0, 1) between two different presets (what a release with seed anchors
  plays, :meth:`AudioPipeline.latent_for_seed`);
- ``anchor-blend+noise``: the same plus 0.3 · N(0, I).

Printed per prior: Fréchet distance and its ratio to the real-vs-real figure, diversity ratio, pitch accuracy.
The samples are drawn here with their own generators (the same for every prior), so the ``anchor-blend`` row is
the shipped prior on other draws than ``evaluate``'s.
"""
from __future__ import annotations

import argparse

import numpy as np
import torch

import creative_gan
from creative_gan.layers import slerp
from creative_gan.pipelines.audio.evaluate.evaluation import evaluate_notes


def prior_latents(kind: str, presets: torch.Tensor, n: int, seed: int) -> torch.Tensor | None:
    """``[n, D]`` latents of one prior (None: N(0, I) through the model's own seeds)."""
    generator = torch.Generator().manual_seed(seed)
    dim = presets.shape[1]
    if kind == "normal":
        return None
    if kind == "preset-gaussian":
        chol = torch.linalg.cholesky(torch.cov(presets.T) + 1e-3 * torch.eye(dim))
        return presets.mean(0) + torch.randn(n, dim, generator=generator) @ chol.T
    first = torch.randint(len(presets), (n,), generator=generator)
    second = (first + 1 + torch.randint(len(presets) - 1, (n,), generator=generator)) % len(presets)
    z = slerp(presets[first], presets[second], torch.rand(n, generator=generator))
    if kind == "anchor-blend+noise":
        z = z + 0.3 * torch.randn(n, dim, generator=generator)
    return z


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", default="audio-default")
    parser.add_argument("--priors", default="normal,preset-gaussian,anchor-blend,anchor-blend+noise")
    args = parser.parse_args()
    pipe = creative_gan.load(args.model, device="cpu")
    if len(pipe.presets) < 2 or not pipe.reference:
        raise SystemExit(f"{args.model}: needs a preset bank and a stored reference")
    presets = torch.stack([pipe.presets[name] for name in sorted(pipe.presets)])
    layers = [40, 80, 120] if pipe.has_velocity else None
    lo, hi = pipe.pitch_range
    print(f"{args.model}: {len(presets)} presets; evaluate's note figures per seed prior")
    print(f"{'prior':<20} {'FD':>7} {'× real':>7} {'diversity':>10} {'pitch':>6}")
    for kind in args.priors.split(","):
        def generate(asked: torch.Tensor, seed: int) -> np.ndarray:
            velocities = [layers[i % 3] for i in range(len(asked))] if layers else None
            z = prior_latents(kind, presets, len(asked), seed)
            if z is None:
                return pipe.generate(asked, z=torch.stack([torch.randn(pipe.latent_dim, generator=torch.Generator()
                                                                       .manual_seed(seed * 1_000_000 + i))
                                                           for i in range(len(asked))]), velocities=velocities)
            return pipe.generate(asked, z=z, velocities=velocities)

        m = evaluate_notes(generate, pitches=range(lo, hi + 1), n_per_pitch=4, seed=0, reference=pipe.reference,
                           n_jobs=1)
        real = m["real_frechet_distance"]
        print(f"{kind:<20} {m['frechet_distance']:7.2f} {m['frechet_distance'] / real:7.2f} "
              f"{m['diversity_ratio']:10.3f} {m['pitch_accuracy']:6.3f}", flush=True)


if __name__ == "__main__":
    main()
