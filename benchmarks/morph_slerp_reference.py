"""Benchmark: the renderer's morphs with the core slerp against Shoemake's formula (the audio package's former copy).

    python benchmarks/morph_slerp_reference.py [--model audio-default]

Morph midpoints (t = 0.25, 0.5, 0.75) between every pair of the model's presets, at MIDI 48, 60 and 72: how far
the latents and the notes move when Shoemake's slerp on raw vectors is replaced by creative_gan.layers.slerp
(great-circle direction, linearly interpolated norm). The note distance is in MFCC-statistics units, printed
beside the distance one morph step (1/256 of an interval) makes and the distance between presets.
"""
from __future__ import annotations

import argparse
import itertools
import math

import numpy as np
import torch

import creative_gan
from creative_gan.layers import slerp
from creative_gan.pipelines.audio.evaluate.metrics import mfcc_stats, pitch_accuracy
from creative_gan.threads import configure_threads


def shoemake_slerp(a: torch.Tensor, b: torch.Tensor, t) -> torch.Tensor:
    """Spherical interpolation of a [D] and b [D] at t (float or Tensor [N]) -> [D] or [N, D].

    Shoemake's formula on the raw vectors (norms interpolate smoothly, equal norms are preserved, which keeps
    Gaussian latents in the shell a GAN was trained on). Nearly parallel vectors fall back to lerp (the
    formula divides by sin(angle) ~ 0); antiparallel ones have no unique great circle, so we turn through a
    fixed perpendicular direction, deterministic for the same pair.
    """
    a, b = a.double(), b.double()
    scalar = not isinstance(t, torch.Tensor) or t.dim() == 0
    t = torch.as_tensor(t, dtype=torch.float64).reshape(-1, 1)
    na, nb = a.norm(), b.norm()
    if na < 1e-12 or nb < 1e-12:
        out = (1 - t) * a + t * b
    else:
        cos = torch.clamp(torch.dot(a / na, b / nb), -1.0, 1.0)
        omega = torch.arccos(cos)
        if 1 - cos < 1e-7:                      # (nearly) identical directions
            out = (1 - t) * a + t * b
        elif 1 + cos < 1e-7:                    # antiparallel: rotate through a perpendicular axis
            perp = _perpendicular(a / na)
            radius = (1 - t) * na + t * nb
            out = radius * (torch.cos(math.pi * t) * (a / na) + torch.sin(math.pi * t) * perp)
        else:
            s = torch.sin(omega)
            out = (torch.sin((1 - t) * omega) / s) * a + (torch.sin(t * omega) / s) * b
    out = out.float()
    return out[0] if scalar else out


def _perpendicular(unit: torch.Tensor) -> torch.Tensor:
    """A unit vector orthogonal to `unit` [D] (Gram-Schmidt on the least aligned basis vector)."""
    if unit.numel() == 1:                       # 1-D space: no perpendicular exists, lerp through 0 instead
        return torch.zeros_like(unit)
    basis = torch.zeros_like(unit)
    basis[int(torch.argmin(unit.abs()))] = 1.0
    perp = basis - torch.dot(basis, unit) * unit
    return perp / perp.norm()


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="audio-default")
    args = parser.parse_args(argv)
    configure_threads(inference=True)
    pipe = creative_gan.load(args.model)
    names = sorted(pipe.presets)
    pitches, ts = [48, 60, 72], [0.25, 0.5, 0.75]
    reference, core, step = [], [], []
    for a, b in itertools.combinations(names, 2):
        za, zb = pipe.presets[a], pipe.presets[b]
        for t in ts:
            reference.append(shoemake_slerp(za, zb, t))
            core.append(slerp(za, zb, t))
            step.append(slerp(za, zb, t + 1 / 256))
    rel = [float((x - y).norm() / x.norm()) for x, y in zip(reference, core)]
    print(f"{len(reference)} morph points between {len(names)} presets, at MIDI {pitches}")
    print(f"latent change |shoemake - core| / |shoemake|: mean {np.mean(rel):.4f}, max {np.max(rel):.4f}")

    def notes(latents):
        asked = [p for _ in latents for p in pitches]
        return pipe.generate(asked, z=torch.stack([z for z in latents for _ in pitches])), np.array(asked)

    (old, asked), (new, _), (moved, _) = notes(reference), notes(core), notes(step)
    emb_old, emb_new, emb_step = mfcc_stats(old), mfcc_stats(new), mfcc_stats(moved)
    scale = np.concatenate([emb_old, emb_new]).std(0) + 1e-6
    swap = np.linalg.norm((emb_old - emb_new) / scale, axis=1).mean()
    one_step = np.linalg.norm((emb_new - emb_step) / scale, axis=1).mean()
    presets = mfcc_stats(pipe.generate([p for _ in names for p in pitches],
                                       z=torch.stack([pipe.presets[n] for n in names for _ in pitches])))
    between = np.mean([np.linalg.norm((presets[i] - presets[j]) / scale)
                       for i, j in itertools.combinations(range(len(presets)), 2) if i % 3 == j % 3])
    print(f"note change (MFCC statistics, std units): swap {swap:.3f}; one morph step {one_step:.3f}; "
          f"between presets {between:.3f}; swap / between presets = {swap / between:.3f}")
    level = np.sqrt((new ** 2).mean(1)).mean() / np.sqrt((old ** 2).mean(1)).mean()
    print(f"RMS level core / shoemake: {level:.4f}")
    print(f"pitch accuracy: shoemake {pitch_accuracy(old, asked).accuracy:.3f}, "
          f"core {pitch_accuracy(new, asked).accuracy:.3f} ({len(asked)} notes)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
