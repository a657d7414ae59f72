"""The ``anime`` plugin: a DCGAN for a folder of anime faces (or any face images).

    creative-gan data anime --images DIR [--crop-faces] [--size 64|128] --out corpus/
    creative-gan data anime --procedural 6000 --out corpus/          # synthetic faces (no download)
    creative-gan data anime --inspect corpus/                         # summary + contact sheet PNG
    creative-gan train anime --preset cpu [--data corpus/] --out runs/anime
    creative-gan sample anime --model anime-default --seeds 0-63 -o grid.png [--truncation 0.8]
    creative-gan sample anime --model anime-default --walk 3,17,42 --frames 60 -o walk.gif
    creative-gan evaluate anime --model anime-default [--data corpus/] --json metrics.json

Without ``--data``, training and evaluation use procedural faces (see ``data/procedural.py``).

Layout: ``data/`` (procedural faces, the compact corpus, image-folder import, face cropping),
``networks.py`` (DCGAN), ``pipeline.py`` (the release model: generate, walk), ``media.py`` (GIF/MP4),
``evaluate/`` (the judge network and the scores), ``training/`` (the GAN task), ``presets.py``,
``commands.py`` (the CLI verbs).
"""
from __future__ import annotations

import argparse

from creative_gan.plugin import PipelinePlugin

from .pipeline import AnimePipeline
from .presets import PRESETS


class AnimePlugin(PipelinePlugin):
    """Anime faces: image-folder corpus with face cropping, DCGAN, grids, latent walks."""

    name = "anime"
    description = "anime faces (or any face images): DCGAN at 64/128 px, grids and latent walks"
    presets = PRESETS
    default_preset = "cpu"
    extra_verbs = ("data",)
    demo_builder = "creative_gan.demos.anime:build_anime_demo"
    default_model = "anime-default"

    def add_arguments(self, verb: str, parser: argparse.ArgumentParser) -> None:
        from . import commands

        commands.add_arguments(verb, parser)

    def make_task(self, options, preset: dict, args: argparse.Namespace):
        from .training.task import make_task  # training code is imported only to train

        return make_task(options, preset, args)

    def from_release(self, config: dict, tensors: dict, device) -> AnimePipeline:
        return AnimePipeline.from_release(config, tensors, device)

    def sample(self, pipe: AnimePipeline, seeds: list[int], out: str, args: argparse.Namespace) -> list[str]:
        from . import commands

        return commands.sample(pipe, seeds, out, args)

    def evaluate(self, pipe: AnimePipeline, args: argparse.Namespace) -> dict:
        from . import commands

        return commands.evaluate(pipe, args)

    def run_verb(self, verb: str, args: argparse.Namespace) -> int:
        from . import commands

        return commands.data(args)


PLUGIN = AnimePlugin()
