"""Round-trip quality of the spectral note representation on real FluidR3 notes.

    python benchmarks/spectral_roundtrip.py                          # 8 GM programs × 6 pitches, rendered now
    python benchmarks/spectral_roundtrip.py --corpus corpora/fluidr3_30x61x3 --device cuda

For every note it prints, sample-aligned (no shift search):
  - linear SNR (dB) of audio → spec → audio for "gansynth_linear" (our bins: DC kept, Nyquist dropped),
    for the same layout with GANSynth's bins (DC dropped), and for "small" (first second, n_fft 256);
  - mel ("gansynth", 2 × 128 × 1024) inverse spectral convergence ‖|S| − |Ŝ|‖_F / ‖|S|‖_F, both for the
    magnitudes straight out of mel → linear ("mag") and for the STFT of the resynthesised audio ("resyn").
Then medians / minima / maxima and the time per note of each transform on the chosen device.
"""
from __future__ import annotations

import argparse
import dataclasses
import time

import numpy as np
import torch

from creative_gan.pipelines.audio.dsp import spectral
from creative_gan.pipelines.audio.data.gm import gm_name

PROGRAMS = (0, 11, 40, 56, 65, 73, 24, 81)
PITCHES = (24, 36, 48, 60, 72, 84)


def load_notes(args) -> tuple[list[str], torch.Tensor]:
    """Names and audio ``[N, 64000]`` as a corpus stores it (16-bit)."""
    if args.corpus:
        from creative_gan.pipelines.audio.data.nsynth import read_corpus
        corpus = read_corpus(args.corpus, instruments=args.programs, pitch_range=(min(args.pitches), max(args.pitches)))
        keep = [i for i, r in enumerate(corpus) if r.pitch in args.pitches]
        return [corpus[i].note_str for i in keep], torch.from_numpy(corpus.load_all(keep))
    from creative_gan.pipelines.audio.data.soundfont import SoundFontRenderer
    names, audio = [], []
    with SoundFontRenderer(args.soundfont) as renderer:
        for program in args.programs:
            for pitch in args.pitches:
                names.append(f"{gm_name(program)[:18]:18s} {pitch:3d}")
                audio.append(renderer.render(program, pitch, args.velocity))
    return names, torch.from_numpy(np.round(np.stack(audio) * 32767) / 32768).float()


def timed(fn, *xs):
    if xs[0].is_cuda:
        torch.cuda.synchronize()
    start = time.perf_counter()
    out = fn(*xs)
    if xs[0].is_cuda:
        torch.cuda.synchronize()
    return out, time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--corpus", help="an NSynth folder to read instead of rendering")
    parser.add_argument("--soundfont", default=None, help="SoundFont to render (default FluidR3_GM)")
    parser.add_argument("--programs", type=int, nargs="+", default=list(PROGRAMS))
    parser.add_argument("--pitches", type=int, nargs="+", default=list(PITCHES))
    parser.add_argument("--velocity", type=int, default=100)
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    parser.add_argument("--batch", type=int, default=8)
    args = parser.parse_args()

    names, audio = load_notes(args)
    device = torch.device(args.device)
    lin, small, mel = spectral.LAYOUTS["gansynth_linear"], spectral.LAYOUTS["small"], spectral.LAYOUTS["gansynth"]
    gansynth_bins = dataclasses.replace(lin, drop_dc=True)
    cols = {k: [] for k in ("snr", "snr_dc", "snr_small", "sc_mag", "sc_resyn")}
    seconds = {"linear": 0.0, "mel": 0.0}
    for start in range(0, len(audio), args.batch):
        x = audio[start:start + args.batch].to(device)
        round_trip = lambda a, lay: spectral.spec_to_audio(spectral.audio_to_spec(a, lay), lay)
        y, dt = timed(round_trip, x, lin)
        seconds["linear"] += dt
        cols["snr"].append(spectral.snr_db(x, y))
        cols["snr_dc"].append(spectral.snr_db(x, round_trip(x, gansynth_bins)))
        cols["snr_small"].append(spectral.snr_db(x[:, :small.num_samples], round_trip(x[:, :small.num_samples], small)))
        (ym, spec_mel), dt = timed(lambda a: (round_trip(a, mel), spectral.audio_to_spec(a, mel)), x)
        seconds["mel"] += dt
        magnitude = torch.exp(spectral.audio_to_spec(x, lin)[:, 0])
        back = torch.exp(spectral.mel_to_linear(spec_mel, mel)[:, 0])
        cols["sc_mag"].append(torch.linalg.vector_norm(magnitude - back, dim=(1, 2)) / torch.linalg.vector_norm(magnitude, dim=(1, 2)))
        cols["sc_resyn"].append(spectral.spectral_convergence(x, ym, lin))
    cols = {k: torch.cat(v).cpu() for k, v in cols.items()}

    print(f"{'note':28s} {'SNR dB':>7s} {'DC-drop':>8s} {'small':>7s} {'mel SC mag':>11s} {'resyn':>7s}")
    for i, name in enumerate(names):
        print(f"{name:28s} {cols['snr'][i]:7.1f} {cols['snr_dc'][i]:8.1f} {cols['snr_small'][i]:7.1f} "
              f"{cols['sc_mag'][i]:11.3f} {cols['sc_resyn'][i]:7.3f}")
    print(f"\n{len(names)} notes on {device}:")
    for key, label in (("snr", "linear SNR dB (gansynth_linear)"), ("snr_dc", "linear SNR dB, GANSynth DC-drop bins"),
                       ("snr_small", "linear SNR dB (small, 1 s)"), ("sc_mag", "mel inverse SC, magnitudes"),
                       ("sc_resyn", "mel inverse SC, resynthesised")):
        v = cols[key]
        print(f"  {label:40s} median {v.median():8.3f}  min {v.min():8.3f}  max {v.max():8.3f}  mean {v.mean():8.3f}")
    for key, total in seconds.items():
        print(f"  {key} round trip: {1000 * total / len(names):.1f} ms per note")


if __name__ == "__main__":
    main()
