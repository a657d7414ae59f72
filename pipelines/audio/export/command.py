"""``creative-gan export instrument``: the command-line form of :func:`.instrument.export_instrument`.

    creative-gan export instrument --model audio-default --timbre violin -o instruments/violin
    creative-gan export instrument --timbre 7 --pitches 36-96 --every 2 --velocities 30,70,110 -o seed7
    creative-gan export instrument --morph violin,flute -o morph      # CC 1 (mod wheel) sweeps violin -> flute
"""
from __future__ import annotations

import argparse

from creative_gan.errors import UsageError


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Options of ``export instrument``."""
    parser.description = ("Export a learned timbre (or a morph between two) as an SFZ instrument: DIR/NAME.sfz "
                          "and DIR/samples/*.wav, playable in any SFZ sampler (e.g. sfizz).")
    parser.add_argument("-o", "--out", required=True, metavar="DIR", help="instrument folder (created if missing)")
    parser.add_argument("--model", default="audio-default", help="release folder, .zip or shipped name")
    parser.add_argument("--timbre", help="preset name or seed (7, seed:7); default: the model's default timbre")
    parser.add_argument("--morph", metavar="A,B", help="two timbres crossfaded by a MIDI CC instead of --timbre")
    parser.add_argument("--morph-layers", type=int, default=2, metavar="N",
                        help="layers on the morph path A..B (2: A and B; more: slerp steps between)")
    parser.add_argument("--morph-cc", type=int, default=1, metavar="CC",
                        help="MIDI controller that sweeps the morph (default: 1, the mod wheel)")
    parser.add_argument("--pitches", default="21-108", metavar="LO-HI", help="key span (default: 21-108)")
    parser.add_argument("--every", type=int, default=3, metavar="N",
                        help="keys per sample point (default 3: every pitch shift within ±1 semitone)")
    parser.add_argument("--velocities", default="40,80,120", help="velocity layers (default: 40,80,120)")
    parser.add_argument("--name", help="instrument name (default: from the timbre, e.g. violin)")
    parser.add_argument("--loop", default="0.5,2.9", metavar="START,END",
                        help="nominal sustain loop in the generated note, seconds (default: 0.5,2.9)")
    parser.add_argument("--release", type=float, default=0.3, help="ampeg_release seconds (default: 0.3)")
    parser.add_argument("--attack", type=float, default=0.01, help="ampeg_attack seconds (default: 0.01)")
    parser.add_argument("--format", default="24", choices=["24", "float"], help="WAV samples (default: 24-bit)")
    parser.add_argument("--device", help="cpu, cuda, cuda:N, mps or auto (default: auto)")
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")


def _loop(text: str) -> tuple[float, float]:
    try:
        start, end = (float(v) for v in str(text).split(","))
    except ValueError:
        raise UsageError(f"--loop {text!r}: expected START,END seconds, e.g. 0.5,2.9") from None
    return start, end


def run(args) -> int:
    """Check everything, load the model, export, print what was written."""
    from creative_gan import fileio
    from creative_gan.device import select_device
    from creative_gan.release import load

    from .instrument import export_instrument

    if args.timbre is not None and args.morph is not None:
        raise UsageError("give --timbre or --morph A,B, not both")
    loop = _loop(args.loop)
    fileio.check_outputs(folders={"-o": args.out})          # before loading anything
    device = select_device(args.device)
    pipe = load(args.model, device=device)
    if getattr(pipe, "pipeline_name", "") != "audio":
        raise UsageError(f"{args.model} is not an audio model")
    result = export_instrument(pipe, args.out, timbre=args.timbre, morph=args.morph, name=args.name,
                               pitches=args.pitches, every=args.every, velocities=args.velocities, loop=loop,
                               attack=args.attack, release=args.release, morph_layers=args.morph_layers,
                               morph_cc=args.morph_cc, sample_format=args.format, progress=not args.no_progress)
    print(f"regions             {result.regions} ({result.zones} key zones x {result.velocity_layers} velocity "
          f"layers{f' x {result.morph_layers} morph layers' if result.morph_layers > 1 else ''})")
    print(f"samples             {len(result.samples)} files in {result.sfz.parent / 'samples'}")
    print(f"max pitch shift     {result.max_shift} semitone(s)")
    print(f"loop seams          worst flux ratio {result.seam_ratio_max:.2f} (<= 1: within the sustain's own)")
    print(f"wrote {result.sfz}")
    return 0
