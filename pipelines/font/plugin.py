"""The ``font`` plugin: glyph corpus from font files, attribute-conditioned glyph GAN, font export.

    creative-gan data font --out corpus/fonts                 # system fonts → glyphs + attributes
    creative-gan train font --data corpus/fonts --preset cpu --out runs/font
    creative-gan export font --model font-default --attr weight=0.8 --family-name Mine -o mine.otf
    creative-gan evaluate font --model font-default --json metrics.json

Presets: ``cpu`` (32-px glyphs, about 33 min on one CPU thread), ``gpu`` (64-px glyphs, what font-default is
trained with), ``tiny`` (seconds; tests).
"""
from __future__ import annotations

import argparse

import torch

from creative_gan.errors import UsageError
from creative_gan.plugin import PipelinePlugin

from .attributes import ATTRIBUTES

_WEIGHTS = {"G/l1": 50.0, "G/char_ce": 1.0, "G/attr_mse": 10.0, "D/char_ce": 1.0, "D/attr_mse": 10.0}

PRESETS: dict[str, dict] = {
    # 32-px glyphs, FiLM generator, projection D with character and attribute heads; 6,000 steps in 33 min on one
    # thread of a 2-core CPU (char_accuracy 0.976, export IoU 0.979 — see README)
    "cpu": {
        "steps": 6000, "batch_size": 64, "loss": "non_saturating", "lr_g": 5e-4, "lr_d": 2e-4,
        "betas_g": [0.5, 0.99], "betas_d": [0.5, 0.99], "ema_decay": 0.998, "ema_warmup_steps": 500,
        "loss_weights": dict(_WEIGHTS), "log_every": 50, "preview_every": 500, "checkpoint_every": 250,
        "monitor_every": 0, "model": {"image_size": 32, "base_channels": 128, "d_channels": 16,
                                      "latent_dim": 32, "style_dim": 128},
    },
    # what font-default is trained with: 64-px glyphs, wider networks (minutes on one GPU; hours on a CPU)
    "gpu": {
        "steps": 20000, "batch_size": 128, "loss": "non_saturating", "lr_g": 3e-4, "lr_d": 2e-4,
        "betas_g": [0.5, 0.99], "betas_d": [0.5, 0.99], "ema_decay": 0.999, "ema_warmup_steps": 1000,
        "loss_weights": dict(_WEIGHTS), "log_every": 100, "preview_every": 2000, "checkpoint_every": 2000,
        "monitor_every": 0, "tensorboard": False,
        "model": {"image_size": 64, "base_channels": 256, "min_channels": 32, "d_channels": 32,
                  "latent_dim": 32, "style_dim": 256, "char_dim": 64},
    },
    # a handful of steps on 16-px glyphs: exercises every phase in seconds
    "tiny": {
        "steps": 4, "batch_size": 16, "log_every": 1, "preview_every": 2, "checkpoint_every": 2,
        "monitor_every": 0, "snapshot_every": 2, "tensorboard": False, "loss_weights": dict(_WEIGHTS),
        "model": {"image_size": 16, "base_channels": 32, "min_channels": 8, "d_channels": 8,
                  "latent_dim": 8, "style_dim": 32, "char_dim": 16},
    },
}


def parse_attrs(items: list[str] | None) -> dict[str, float]:
    """``["weight=0.8", "slant=0.3"]`` → ``{"weight": 0.8, "slant": 0.3}`` (one error line otherwise)."""
    out = {}
    for item in items or []:
        for part in item.split(","):
            if not part.strip():
                continue
            name, sep, value = part.partition("=")
            name = name.strip().replace("-", "_")
            if not sep or name not in ATTRIBUTES:
                raise UsageError(f"--attr {part!r}: expected NAME=VALUE with NAME one of {', '.join(ATTRIBUTES)}")
            try:
                out[name] = float(value)
            except ValueError:
                raise UsageError(f"--attr {part!r}: {value!r} is not a number") from None
    return out


class FontPlugin(PipelinePlugin):
    name = "font"
    description = "fonts from attributes: glyph corpus from font files, glyph GAN, OTF/TTF/UFO export"
    presets = PRESETS
    default_preset = "cpu"
    extra_verbs = ("data", "export")
    demo_builder = "creative_gan.demos.font:build_font_demo"
    default_model = "font-default"

    def add_arguments(self, verb: str, parser: argparse.ArgumentParser) -> None:
        if verb == "data":
            parser.add_argument("--fonts", action="append", metavar="DIR",
                                help="font file or folder to scan (repeatable; default: the system's font folders)")
            parser.add_argument("--size", type=int, default=64, help="glyph image size in pixels (default 64)")
            parser.add_argument("--held-out", action="store_true",
                                help="keep only the Computer Modern / Latin Modern / STIX families")
            parser.add_argument("--out", required=True, help="corpus folder to write")
            parser.add_argument("--no-progress", action="store_true")
        elif verb == "export":
            parser.add_argument("--model", required=True, help="release folder, .zip or shipped name")
            parser.add_argument("--attr", action="append", metavar="NAME=VALUE",
                                help=f"attribute in [0, 1] ({', '.join(ATTRIBUTES)}); repeatable")
            parser.add_argument("--like", help="start from this face's attributes (a face name or a font file)")
            parser.add_argument("--seed", type=int, default=0)
            parser.add_argument("--family-name", required=True)
            parser.add_argument("-o", "--out", required=True, help="font file to write: .otf, .ttf or .ufo")
            parser.add_argument("--specimen", help="also write a PNG specimen sheet here")
            parser.add_argument("--device")
        elif verb == "evaluate":
            parser.add_argument("--data", help="training corpus folder (default: built from the system fonts)")
            parser.add_argument("--held-out-data", help="held-out corpus folder (default: built from the "
                                "system's Latin Modern / STIX fonts)")
            parser.add_argument("--num-fonts", type=int, default=40,
                                help="generated alphabets per check: free ones, and per attribute for "
                                "the attribute check (default 40)")
        elif verb == "sample":
            parser.add_argument("--attr", action="append", metavar="NAME=VALUE")
            parser.add_argument("--like")

    def make_task(self, options, preset: dict, args: argparse.Namespace):
        from .corpus import GlyphCorpus
        from .networks import build_networks
        from .task import FontObjective, FontTask, GlyphDataset

        if not getattr(args, "data", None):
            raise UsageError("train font needs --data CORPUS (build one with `creative-gan data font --out DIR`)")
        model = {**dict(preset.get("model", {})), **dict(options.model)}
        corpus = GlyphCorpus(args.data)
        try:
            with torch.random.fork_rng(devices=[]):
                torch.manual_seed(options.seed)
                generator, discriminator = build_networks(model)
        except (TypeError, ValueError) as exc:
            raise UsageError(f"bad font model options: {exc}") from None
        dataset = GlyphDataset(corpus, generator.config.image_size)
        return FontTask(generator=generator, discriminator=discriminator, dataset=dataset,
                        latent_dim=generator.config.latent_dim, objective=FontObjective(),
                        image_like=True, model_options=model)

    def from_release(self, config: dict, tensors: dict, device):
        from .pipeline import FontPipeline

        return FontPipeline.from_release(config, tensors, device)

    def sample(self, pipe, seeds: list[int], out: str, args: argparse.Namespace) -> list[str]:
        """A glyph sheet PNG: one row per seed (all 62 glyphs)."""
        from .sheets import save_alphabet_sheet

        attrs = pipe.attributes(like=getattr(args, "like", None), **parse_attrs(getattr(args, "attr", None)))
        glyphs = pipe.generate([attrs] * len(seeds), seeds)
        return [str(save_alphabet_sheet(glyphs, out))]

    def evaluate(self, pipe, args: argparse.Namespace) -> dict:
        from .evaluate import evaluate_font

        return evaluate_font(pipe, data=getattr(args, "data", None),
                             held_out_data=getattr(args, "held_out_data", None),
                             num_fonts=int(args.num_fonts), sweep_fonts=int(args.num_fonts),
                             seed=int(args.seed or 0))

    def run_verb(self, verb: str, args: argparse.Namespace) -> int:
        if verb == "data":
            from .corpus import build_corpus

            summary = build_corpus(args.out, args.fonts, size=args.size, held_out=args.held_out,
                                   progress=not args.no_progress)
            print(f"{summary['num_faces']} faces at {summary['size']} px -> {args.out}")
            for reason, count in summary["skipped"].items():
                print(f"skipped {count:4d}  {reason}")
            for key, value in summary["table_agreement"].items():
                print(f"spearman {key:<28} {value:.3f}")
            return 0
        if verb == "export":
            from creative_gan.release import load

            pipe = load(args.model, device=args.device)
            if pipe.pipeline_name != "font":
                raise UsageError(f"{args.model} is a {pipe.pipeline_name!r} model, not a font model")
            report = pipe.export(args.out, family_name=args.family_name, seed=args.seed, like=args.like,
                                 specimen=args.specimen, **parse_attrs(args.attr))
            print(f"wrote {report['path']} ({report['glyphs']} glyphs, weight class {report['weight_class']}"
                  f"{', italic' if report['italic'] else ''})")
            if args.specimen:
                print(f"wrote {args.specimen}")
            return 0
        return super().run_verb(verb, args)


PLUGIN = FontPlugin()
