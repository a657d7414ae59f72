"""Benchmark: an exported SFZ instrument against the renderer it comes from, and its loops against naive loops.

    OMP_NUM_THREADS=1 python benchmarks/sfz_export.py [--model audio-default] [--timbre violin] [--out DIR]

Prints, each beside its reference measured in the same process:
- export time for keys 21-108 (every 3, velocities 40,80,120) beside generating its notes alone;
- loop seams: worst and median seam/sustain spectral-flux ratio of the exported loops, over every preset and
  every 4th pitch, beside naive loops (the nominal 0.5-2.9 s region looped as is); <= 1 is click-free;
- ode_to_joy through the SFZ (the tests' player) vs `render`: chroma agreement and log-mel L1, beside the
  same figures for `render` with another timbre (what "a different sound" scores);
- the morph instrument's CC sweep: log-mel distance to A at CC 0, 32, 64, 96, 127 (should rise).
Writes DIR/sfz_long_note.png: the spectrogram of a 6-s held note played from the SFZ (four loop repeats).
"""
from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests" / "pipelines" / "audio"))

from sfz_player import SfzPlayer, chroma_agreement, log_mel_l1, seam_flux  # noqa: E402


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="audio-default")
    parser.add_argument("--timbre", default="violin")
    parser.add_argument("--other", default="flute", help="the reference 'different' timbre")
    parser.add_argument("--out", default=None, help="folder for the instruments and the PNG (default: temp)")
    args = parser.parse_args(argv)

    import creative_gan
    from creative_gan.pipelines.audio.export.instrument import export_instrument
    from creative_gan.pipelines.audio.export.loops import build_looped_sample
    from creative_gan.pipelines.audio.export.mapping import key_zones
    from creative_gan.pipelines.audio.pictures import spectrogram_png
    from creative_gan.threads import configure_threads

    configure_threads(inference=True)
    out = Path(args.out or tempfile.mkdtemp(prefix="sfz-bench-"))
    out.mkdir(parents=True, exist_ok=True)
    pipe = creative_gan.load(args.model)
    sr = pipe.sample_rate
    midi = ROOT / "examples" / "ode_to_joy.mid"

    tick = time.perf_counter()
    result = export_instrument(pipe, out / args.timbre, timbre=args.timbre, progress=False)
    export_s = time.perf_counter() - tick
    tick = time.perf_counter()
    pipe.generate([z.model_pitch for z in key_zones(21, 108, 3, pipe.pitch_range)], timbre=args.timbre,
                  num_samples=int(2.9 * sr) + 1)
    generate_s = time.perf_counter() - tick
    rendered = pipe.render_midi(midi, timbres=args.timbre, progress=False).audio
    print(f"export 21-108 x3 layers : {export_s:6.2f} s for {result.regions} regions / {len(result.samples)} files"
          f"   (generating those {result.zones} notes alone: {generate_s:.2f} s; ratio {export_s / generate_s:.1f})")

    seams, naive = [], []
    pitches = list(range(pipe.pitch_range[0], pipe.pitch_range[1] + 1, 4))
    loop_start, loop_end = int(0.5 * sr), int(2.9 * sr)
    for name in sorted(pipe.presets):
        notes = pipe.generate(pitches, timbre=name, num_samples=loop_end + 1)
        for clip in notes:
            take = build_looped_sample(clip, loop_start, loop_end, sr)
            seam, sustain = seam_flux(take.audio, take.loop_start, take.loop_end)
            seams.append(seam / sustain)
            plain = np.concatenate([clip[:loop_end], clip[loop_start:loop_end]]).astype(np.float32)
            seam, sustain = seam_flux(plain, loop_end, len(plain) - 1)
            naive.append(seam / sustain)
    seams, naive = np.array(seams), np.array(naive)
    print(f"loop seam flux / sustain : exported max {seams.max():.3f} median {np.median(seams):.3f} "
          f"(<= 1: {np.mean(seams <= 1):.1%} of {len(seams)})   naive max {naive.max():.3f} median "
          f"{np.median(naive):.3f} (<= 1: {np.mean(naive <= 1):.1%})")

    played = SfzPlayer(result.sfz).play_midi(midi)
    other = pipe.render_midi(midi, timbres=args.other, progress=False).audio
    print(f"ode_to_joy SFZ vs render : chroma {chroma_agreement(played, rendered, sr):.4f}, log-mel L1 "
          f"{log_mel_l1(played, rendered, sr):.2f} dB   (render {args.other} vs {args.timbre}: chroma "
          f"{chroma_agreement(other, rendered, sr):.4f}, log-mel L1 {log_mel_l1(other, rendered, sr):.2f} dB)")

    morph = export_instrument(pipe, out / "morph", morph=(args.timbre, args.other), pitches="48-72", every=6,
                              velocities="100", progress=False)
    player = SfzPlayer(morph.sfz)
    sweep = {cc: np.concatenate([player.play_note(k, 100, sr, {1: cc}) for k in (52, 60, 67)])
             for cc in (0, 32, 64, 96, 127)}
    distances = [log_mel_l1(sweep[cc], sweep[0], sr) for cc in sweep]
    print("morph CC 0/32/64/96/127  : log-mel L1 to A " + " / ".join(f"{d:.2f}" for d in distances) + " dB")

    held = SfzPlayer(result.sfz).play_note(60, 100, 6 * sr)
    png = spectrogram_png(held / max(float(np.abs(held).max()), 1e-9), sr, out / "sfz_long_note.png",
                          width=900, height=256)
    print(f"wrote {png}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
