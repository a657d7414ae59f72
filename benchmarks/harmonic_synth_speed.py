"""CPU speed of batched harmonic-G inference: ms per note at 1 s and 4 s, beside a naive DDSP-style reference.

The reference renders the same controls the textbook way — amplitudes upsampled to audio rate, phase by cumsum,
sin of every partial at every sample ([B, K, T]) — so the printed ratio is what the frame-wise matrix-product
synth buys. Run: `python benchmarks/harmonic_synth_speed.py [--threads 1] [--batch 64]`.
"""
from __future__ import annotations

import argparse
import math
import time

import torch
import torch.nn.functional as F

from creative_gan.layers import count_parameters
from creative_gan.pipelines.audio.networks.harmonic import HarmonicGenerator, HarmonicGeneratorConfig


def naive_harmonics(f0: torch.Tensor, amplitudes: torch.Tensor, hop_size: int, num_samples: int,
                    sample_rate: int, chunk: int = 8) -> torch.Tensor:
    """Reference additive synth: f0 [B] Hz, amplitudes [B, F, K] → [B, num_samples] (per-sample sin of all partials)."""
    outputs = []
    k = torch.arange(1, amplitudes.shape[-1] + 1, dtype=torch.float32)
    for start in range(0, f0.shape[0], chunk):        # chunks keep the [b, K, T] tensors within memory
        amp = amplitudes[start:start + chunk].transpose(1, 2)                                  # [b, K, F]
        amp = F.interpolate(amp, size=(amp.shape[-1] - 1) * hop_size + 1, mode="linear", align_corners=True)
        amp = amp[..., :num_samples]
        freqs = f0[start:start + chunk, None].float() * k                                      # [b, K]
        amp = amp * (freqs < sample_rate / 2)[..., None]
        phase = torch.cumsum((2 * math.pi / sample_rate) * freqs[..., None].expand(-1, -1, num_samples), dim=-1)
        outputs.append((amp * torch.sin(phase)).sum(dim=1))
    return torch.cat(outputs)


def best_of(fn, repeats: int, cpu: bool = False) -> float:
    """Fastest time (s) of `repeats` calls after one warm-up: wall clock, or this process's CPU time if `cpu`
    (steadier on a machine shared with other jobs)."""
    clock = time.process_time if cpu else time.perf_counter
    fn()
    times = []
    for _ in range(repeats):
        start = clock()
        fn()
        times.append(clock() - start)
    return min(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batch", type=int, default=64)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--seconds", type=float, nargs="+", default=[1.0, 4.0])
    parser.add_argument("--tiny", action="store_true", help="time the tiny test preset instead of the default")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    config = HarmonicGeneratorConfig.tiny() if args.tiny else HarmonicGeneratorConfig()
    G = HarmonicGenerator(config).eval()
    z = torch.randn(args.batch, config.latent_dim)
    pitches = torch.randint(config.pitch_min, config.pitch_max + 1, (args.batch,))
    print(f"harmonic G: {count_parameters(G):,} parameters, {config.num_harmonics} harmonics, "
          f"{config.num_noise_bands} noise bands, hop {config.hop_size}; batch {args.batch}, "
          f"{args.threads} thread(s), pitches {config.pitch_min}-{config.pitch_max} at random")
    header = ("note", "G total", "G cpu", "controls", "synth", "naive ref", "ratio", "x realtime")
    print("".join(f"{h:>11}" for h in header))
    with torch.no_grad():
        for seconds in args.seconds:
            n = int(round(seconds * config.sample_rate))
            c = G.controls(z, pitches, num_samples=n)
            total = best_of(lambda: G(z, pitches, num_samples=n), args.repeats)
            total_cpu = best_of(lambda: G(z, pitches, num_samples=n), args.repeats, cpu=True)
            controls = best_of(lambda: G.controls(z, pitches, num_samples=n), args.repeats)
            synth = best_of(lambda: G.synth.render_harmonics(c["f0"], c["harmonic_amplitudes"], c["inharmonicity"],
                                                             c["amplitude"].shape[1]), args.repeats)
            naive = best_of(lambda: naive_harmonics(c["f0"], c["harmonic_amplitudes"], config.hop_size, n,
                                                    config.sample_rate), max(1, args.repeats // 2))
            per_note = lambda s: f"{s * 1000 / args.batch:.2f}ms"   # noqa: E731
            row = (f"{seconds:.1f}s", per_note(total), per_note(total_cpu), per_note(controls), per_note(synth), per_note(naive),
                   f"{naive / synth:.1f}x", f"{seconds * args.batch / total:.0f}x")
            print("".join(f"{cell:>11}" for cell in row))
    print("per note, wall clock unless marked cpu; synth = harmonic part only (what the naive reference does);\n"
          "ratio = naive / synth; x realtime = seconds of audio rendered per wall-clock second")


if __name__ == "__main__":
    main()
