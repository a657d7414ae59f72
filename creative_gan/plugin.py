"""What a pipeline registers under the ``creative_gan.pipelines`` entry-point group.

A third-party package adds a pipeline by exposing a :class:`PipelinePlugin` instance::

    [project.entry-points."creative_gan.pipelines"]
    mypipe = "mypackage.plugin:PLUGIN"
"""
from __future__ import annotations

import argparse
from typing import Any

from .errors import UsageError


class Pipeline:
    """A release model ready to generate; subclasses add ``generate``/``sample``/``render``…

    ``release_config()`` is plain JSON data; ``release_tensors()`` is what goes into
    ``model.safetensors`` (the EMA generator's state, optionally D's under ``discriminator.``).
    """

    pipeline_name: str = ""

    def release_config(self) -> dict:
        raise NotImplementedError

    def release_tensors(self) -> dict:
        raise NotImplementedError

    def to(self, device) -> "Pipeline":
        return self


class PipelinePlugin:
    """A modality the CLI, the Python API and the app can drive."""

    name: str = ""
    description: str = ""
    #: preset name -> overrides for TrainOptions fields and pipeline model options
    presets: dict[str, dict[str, Any]] = {}
    default_preset: str = "quick"
    #: verbs beyond train/sample/evaluate this pipeline answers (e.g. "data", "render", "export")
    extra_verbs: tuple[str, ...] = ()
    #: words of ``creative-gan export <target>`` this pipeline answers besides its own name (audio: "instrument")
    export_targets: tuple[str, ...] = ()
    #: ``"module:function"`` of this pipeline's Gradio tab, ``build_<name>_demo(model)``; None: no tab
    demo_builder: str | None = None
    #: release model the app's tab loads when ``--models`` names none (a shipped name)
    default_model: str | None = None

    def add_arguments(self, verb: str, parser: argparse.ArgumentParser) -> None:
        """Add this pipeline's own options for ``verb`` to ``parser``."""

    def make_task(self, options, preset: dict, args: argparse.Namespace):
        """Build the :class:`~creative_gan.task.GANTask` to train (data from ``args.data``)."""
        raise UsageError(f"pipeline {self.name!r} cannot be trained")

    def from_release(self, config: dict, tensors: dict, device) -> Pipeline:
        """Rebuild the pipeline object from a release folder's config and tensors."""
        raise NotImplementedError

    def evaluate(self, pipe: Pipeline, args: argparse.Namespace) -> dict:
        raise UsageError(f"pipeline {self.name!r} has no evaluator")

    def sample(self, pipe: Pipeline, seeds: list[int], out: str, args: argparse.Namespace) -> list[str]:
        raise UsageError(f"pipeline {self.name!r} cannot sample")

    def run_verb(self, verb: str, args: argparse.Namespace) -> int:
        raise UsageError(f"pipeline {self.name!r} has no verb {verb!r}")
