"""How smoothly a latent walk moves: frame-to-frame change vs the change between the seeds themselves.

For a model (default: the shipped ``anime-default``) and a walk through seeds (default 3,17,42 at 60
frames, as in the README), prints the mean absolute pixel change between consecutive frames (in
[-1, 1] units), its maximum, and the same change between the walk's consecutive seeds (the reference a
walk replaces); a smooth walk has a ratio max-step / seed-jump far below 1 (about 1 / frames-per-seed
for an even walk). Also compares slerp with a straight linear path (its norm dips mid-way).

    OMP_NUM_THREADS=1 python benchmarks/anime_walk_smoothness.py [--model anime-default] [--seeds 3,17,42]
"""
from __future__ import annotations

import argparse

import numpy as np
import torch

import creative_gan
from creative_gan.cli import parse_seeds
from creative_gan.threads import configure_threads


def step_changes(frames: np.ndarray) -> np.ndarray:
    """Mean absolute change between consecutive frames ``[T, C, H, W]`` -> ``[T-1]``."""
    return np.abs(np.diff(frames, axis=0)).mean(axis=(1, 2, 3))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="anime-default")
    parser.add_argument("--seeds", default="3,17,42")
    parser.add_argument("--frames", type=int, default=60)
    args = parser.parse_args()
    configure_threads(inference=True)
    pipe = creative_gan.load(args.model)
    seeds = parse_seeds(args.seeds)
    frames = pipe.walk(seeds, args.frames)
    ends = pipe.generate(seeds=seeds)
    steps = step_changes(frames)
    jumps = step_changes(ends)
    # linear interpolation between the same latents, as a reference path
    z = pipe.latents_for_seeds(seeds)
    t = torch.linspace(0, len(seeds) - 1, args.frames)
    left = t.floor().clamp(max=len(seeds) - 2).long()
    frac = (t - left).unsqueeze(1)
    linear = pipe.generate(z=(1 - frac) * z[left] + frac * z[left + 1])
    print(f"walk {seeds}, {args.frames} frames, model {args.model}")
    print(f"frame-to-frame change: mean {steps.mean():.4f}, max {steps.max():.4f}  (pixels in [-1, 1])")
    print(f"seed-to-seed change (reference): mean {jumps.mean():.4f}")
    print(f"ratio max step / mean seed jump: {steps.max() / jumps.mean():.3f} "
          f"(even walk: about {1 / ((args.frames - 1) / (len(seeds) - 1)):.3f})")
    print(f"first / last frame equal the seeds' images: {np.allclose(frames[0], ends[0], atol=1e-5)} / "
          f"{np.allclose(frames[-1], ends[-1], atol=1e-5)}")
    mid_norm_slerp = pipe.walk_latents(seeds, args.frames).norm(dim=1).min().item()
    mid_norm_linear = ((1 - frac) * z[left] + frac * z[left + 1]).norm(dim=1).min().item()
    print(f"smallest latent norm on the path: slerp {mid_norm_slerp:.2f}, linear {mid_norm_linear:.2f} "
          f"(typical N(0, I) norm: {pipe.latent_dim ** 0.5:.2f}); linear max step {step_changes(linear).max():.4f}")


if __name__ == "__main__":
    main()
