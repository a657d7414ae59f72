"""The ``audio`` pipeline as the CLI and the registry see it (entry point ``creative_gan.pipelines``)."""
from __future__ import annotations

import argparse

from creative_gan.errors import UsageError
from creative_gan.plugin import PipelinePlugin

from .presets import PRESETS


class AudioPlugin(PipelinePlugin):
    name = "audio"
    description = "pitch-conditioned note GAN (harmonic, GANSynth-style spectral, WaveGAN-style) and MIDI renderer"
    presets = PRESETS
    default_preset = "small"
    extra_verbs = ("data", "render", "export", "timbre")
    #: what ``creative-gan export <target>`` this pipeline writes
    export_targets = ("instrument",)
    demo_builder = "creative_gan.demos.audio:build_audio_demo"
    default_model = "audio-default"

    def add_arguments(self, verb: str, parser: argparse.ArgumentParser) -> None:
        if verb == "export":
            from .export import command

            return command.add_arguments(parser)
        if verb == "timbre":
            from .render import timbre_command

            return timbre_command.add_arguments(parser)
        from . import commands

        commands.add_arguments(verb, parser)

    def make_task(self, options, preset, args):
        from .commands import make_task

        return make_task(options, args)

    def from_release(self, config, tensors, device):
        from .pipeline import AudioPipeline

        return AudioPipeline.from_release(config, tensors, device)

    def evaluate(self, pipe, args):
        from .commands import evaluate

        return evaluate(pipe, args)

    def sample(self, pipe, seeds, out, args):
        from .commands import sample

        return sample(pipe, seeds, out, args)

    def run_verb(self, verb, args):
        from . import commands

        if verb == "data":
            return commands.data(args)
        if verb == "render":
            return commands.render(args)
        if verb == "export":
            from .export import command

            return command.run(args)
        if verb == "timbre":
            from .render import timbre_command

            return timbre_command.run(args)
        raise UsageError(f"pipeline 'audio' has no verb {verb!r}")


PLUGIN = AudioPlugin()
