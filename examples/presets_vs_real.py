"""Spectrograms of a model's presets beside the real notes they are named after (look before you trust a number).

    python examples/presets_vs_real.py --model audio-default --data corpora/fluidr3_30x61x3 -o docs/audio_presets.png
    python examples/presets_vs_real.py --data corpora/fluidr3_30x61x3 --pitch 72 --velocities 40,120 \
        --presets trumpet,alto-sax,french-horn,acoustic-grand-piano,violin -o docs/audio_velocity.png

Top row of each pair: the real note (FluidR3, the corpus), bottom row: the preset's note at the same pitch and
velocity (one pair of rows per velocity); 4-s notes, note-off at 3 s, log-mel 0–8 kHz, 80 dB range.
"""
from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw

import creative_gan
from creative_gan.pipelines.audio.data.nsynth import read_corpus
from creative_gan.pipelines.audio.pictures import spectrogram_png

PRESETS = ("acoustic-grand-piano", "acoustic-guitar-nylon", "vibraphone", "violin", "trumpet", "flute")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="audio-default")
    parser.add_argument("--data", required=True, help="the NSynth-format corpus the presets are named after")
    parser.add_argument("--pitch", type=int, default=48)
    parser.add_argument("--velocities", default="80", help="comma list: one pair of rows each")
    parser.add_argument("--presets", default=",".join(PRESETS), help="comma list of preset names")
    parser.add_argument("-o", "--out", default="audio_presets.png")
    args = parser.parse_args()
    pipe, corpus = creative_gan.load(args.model), read_corpus(args.data)
    gap = np.zeros(pipe.sample_rate // 4, dtype=np.float32)
    names = [n.strip() for n in args.presets.split(",") if n.strip()]
    velocities = [int(v) for v in args.velocities.split(",")]
    strips = []
    for velocity in velocities:
        real_strip, model_strip = [], []
        for name in names:
            index = next((i for i, r in enumerate(corpus.records) if r.pitch == args.pitch
                          and r.velocity == velocity and pipe_name(r.instrument) == name), None)
            if index is None:
                raise SystemExit(f"{args.data}: no note of {name} at MIDI {args.pitch}, velocity {velocity}")
            real = corpus.load_audio(index)
            fake = pipe.generate([args.pitch], timbre=name, velocities=velocity)[0]
            real_strip += [real, gap]
            model_strip += [fake, gap]
        strips += [(f"real (FluidR3), velocity {velocity}", real_strip),
                   (f"{args.model} presets, velocity {velocity}", model_strip)]
    with tempfile.TemporaryDirectory() as tmp:
        rows = []
        for label, strip in strips:
            path = Path(tmp) / f"{len(rows)}.png"
            spectrogram_png(np.concatenate(strip), pipe.sample_rate, path)
            rows.append((label, Image.open(path).convert("RGB")))
        width = rows[0][1].width
        sheet = Image.new("RGB", (width, sum(r.height + 18 for _, r in rows) + 18), "white")
        draw, y = ImageDraw.Draw(sheet), 0
        draw.text((4, y + 2), "   ".join(names) + f"   (MIDI {args.pitch})", fill="black")
        y += 18
        for label, image in rows:
            draw.text((4, y + 2), label, fill="black")
            sheet.paste(image, (0, y + 18))
            y += image.height + 18
        sheet.save(args.out)
    print(args.out)


def pipe_name(program: int) -> str:
    from creative_gan.pipelines.audio.render.bank import preset_name

    return preset_name("", program)


if __name__ == "__main__":
    main()
