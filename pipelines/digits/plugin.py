"""The ``digits`` plugin: the classic MNIST-style GAN case study on scikit-learn's bundled digits.

    creative-gan train digits --preset quick --out runs/digits
    creative-gan evaluate digits --model runs/digits/model --json metrics.json
    creative-gan sample digits --model runs/digits/model --seeds 0-63 -o grid.png

Presets: ``quick`` (DCGAN, 16×16, a few minutes on a laptop CPU), ``vanilla`` (the one-hidden-layer
MLP with the original minimax loss and a plain N(0, I) latent: the classic case study), ``dcgan``
(the quick recipe, longer), ``tiny`` (a few steps, for tests). Data always comes from scikit-learn; there is
no ``--data``.
"""
from __future__ import annotations

import argparse
from pathlib import Path

import torch

from creative_gan.errors import UsageError
from creative_gan.images import save_grid, save_images
from creative_gan.plugin import PipelinePlugin

from .networks import LatentPrior, LatentPriorConfig, build_networks, check_architecture
from .pipeline import DigitsPipeline

DCGAN_16 = {"arch": "dcgan", "image_size": 16, "latent_dim": 100, "base_channels": 64}
#: a mixture-of-Gaussians latent prior: the unconditional G learns to give separate modes separate
#: digits; with plain N(0, I) about a third of the samples are in-between shapes (see evaluate.py)
MIXTURE_PRIOR = {"latent_modes": 20, "latent_spread": 0.5}

PRESETS: dict[str, dict] = {
    # DCGAN at 16×16 with DiffAugment translation (1,437 training images: D overfits without it)
    # and the mixture prior: coverage 10 / entropy ≥ 0.95·ln10 / confident ≥ 0.8 in ~4–5 CPU minutes
    "quick": {
        "steps": 3000, "batch_size": 64, "loss": "non_saturating", "augment": "translation",
        "lr_g": 2e-4, "lr_d": 2e-4, "betas_g": [0.5, 0.999], "betas_d": [0.5, 0.999],
        "ema_decay": 0.999, "log_every": 50, "preview_every": 500, "checkpoint_every": 500,
        "monitor_every": 250, "model": {**DCGAN_16, **MIXTURE_PRIOR},
    },
    # the vanilla GAN case study: z 100 -> 128 -> 16·16, D 16·16 -> 128 -> 1, original minimax loss
    "vanilla": {
        "steps": 4000, "batch_size": 64, "loss": "minimax",
        "lr_g": 2e-4, "lr_d": 2e-4, "betas_g": [0.5, 0.999], "betas_d": [0.5, 0.999],
        "ema_decay": 0.999, "log_every": 50, "preview_every": 1000, "checkpoint_every": 1000,
        "monitor_every": 250,
        "model": {"arch": "mlp", "image_size": 16, "latent_dim": 100, "hidden_dim": 128},
    },
    # the quick recipe trained ~2.7× longer (about 12 CPU minutes; add --image-size 32 on a GPU)
    "dcgan": {
        "steps": 8000, "batch_size": 64, "loss": "non_saturating", "augment": "translation",
        "lr_g": 2e-4, "lr_d": 2e-4, "betas_g": [0.5, 0.999], "betas_d": [0.5, 0.999],
        "ema_decay": 0.999, "log_every": 50, "preview_every": 1000, "checkpoint_every": 1000,
        "monitor_every": 500, "model": {**DCGAN_16, **MIXTURE_PRIOR},
    },
    # a handful of steps on a small DCGAN: exercises every phase in seconds (tests, smoke runs)
    "tiny": {
        "steps": 4, "batch_size": 16, "log_every": 1, "preview_every": 2, "checkpoint_every": 2,
        "monitor_every": 2, "monitor_samples": 16, "snapshot_every": 2, "tensorboard": False,
        "model": {"arch": "dcgan", "image_size": 16, "latent_dim": 16, "base_channels": 8},
    },
}

#: largest nearest-neighbour enlargement ``sample`` accepts (a 64-digit grid at 64x is ~50 MB of PNG)
MAX_UPSCALE = 64
#: model-option keys that describe the data rather than the networks
DATA_KEYS = ("held_out_fraction", "split_seed")
#: model-option keys of the latent prior -> LatentPriorConfig fields
PRIOR_KEYS = {"latent_modes": "modes", "latent_spread": "spread", "latent_prior_seed": "seed"}


def _model_options(options, preset: dict, args: argparse.Namespace) -> dict:
    """The network options: preset ``model`` < ``options.model`` (``--set model.x=…``) < ``--arch``."""
    model = {**dict(preset.get("model", {})), **dict(options.model)}
    arch = getattr(args, "arch", None)
    if arch and arch != model.get("arch"):
        # switching architecture drops the other architecture's width options
        model = {k: v for k, v in model.items() if k in ("latent_dim", "image_size", *DATA_KEYS, *PRIOR_KEYS)}
        model["arch"] = arch
    if getattr(args, "image_size", None):
        model["image_size"] = args.image_size
    model.setdefault("arch", "dcgan")
    model.setdefault("image_size", 16)
    return model


class DigitsPlugin(PipelinePlugin):
    """scikit-learn digits: vanilla MLP GAN vs DCGAN, with a classifier-based evaluator."""

    name = "digits"
    description = "8×8 handwritten digits from scikit-learn (upsampled): vanilla GAN vs DCGAN"
    presets = PRESETS
    default_preset = "quick"
    demo_builder = "creative_gan.demos.digits:build_digits_demo"
    default_model = "digits-default"

    def add_arguments(self, verb: str, parser: argparse.ArgumentParser) -> None:
        if verb == "train":
            parser.add_argument("--arch", choices=("mlp", "dcgan"),
                                help="network architecture (default: the preset's)")
            parser.add_argument("--image-size", type=int, choices=(8, 16, 32),
                                help="training resolution in pixels (default: the preset's)")
        elif verb == "evaluate":
            parser.add_argument("--num-samples", type=int, default=1000,
                                help="generated samples to score (seeds SEED … SEED+N-1; default 1000)")
        elif verb == "sample":
            parser.add_argument("--upscale", type=int, default=4,
                                help="nearest-neighbour enlargement of each digit (default 4)")
            parser.add_argument("--nrow", type=int, help="digits per grid row (default: square)")

    def make_task(self, options, preset: dict, args: argparse.Namespace):
        """A :class:`~.task.DigitsTask` (training code is imported here, not when a model loads)."""
        from .data import DigitsDataset, check_image_size
        from .task import DigitsTask

        if getattr(args, "data", None):
            raise UsageError("digits takes no --data: it trains on scikit-learn's bundled digits")
        model = _model_options(options, preset, args)
        arch = check_architecture(model["arch"])
        image_size = check_image_size(model["image_size"])
        data_options = {k: model[k] for k in DATA_KEYS if k in model}
        network_options = {k: v for k, v in model.items() if k not in ("arch", *DATA_KEYS, *PRIOR_KEYS)}
        # make_task runs before the trainer seeds anything: seed the initial weights here
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(options.seed)
            generator, discriminator = build_networks(arch, network_options)
        dataset = DigitsDataset(image_size, "train", **data_options)
        prior = LatentPrior(LatentPriorConfig(latent_dim=generator.config.latent_dim,
                                              **{PRIOR_KEYS[k]: model[k] for k in PRIOR_KEYS if k in model}))
        return DigitsTask(generator=generator, discriminator=discriminator, dataset=dataset,
                          latent_dim=generator.config.latent_dim, image_like=True,
                          architecture=arch, model_options=model, prior=prior)

    def from_release(self, config: dict, tensors: dict, device) -> DigitsPipeline:
        return DigitsPipeline.from_release(config, tensors, device)

    def evaluate(self, pipe: DigitsPipeline, args: argparse.Namespace) -> dict:
        """Classifier-based figures for ``--num-samples`` seeded samples beside held-out real digits."""
        from .evaluate import DigitsEvaluator

        num_samples = int(getattr(args, "num_samples", 1000) or 1000)
        if num_samples < 10:
            raise UsageError(f"--num-samples must be at least 10 (got {num_samples})")
        evaluator = DigitsEvaluator(pipe.image_size)
        metrics = evaluator.evaluate_pipeline(pipe, num_samples, first_seed=int(getattr(args, "seed", 0) or 0))
        return {"architecture": pipe.architecture, "image_size": pipe.image_size, **metrics}

    def sample(self, pipe: DigitsPipeline, seeds: list[int], out: str, args: argparse.Namespace) -> list[str]:
        """``out`` ending in ``.png``: one grid; otherwise a folder of ``seed_<k>.png`` plus ``grid.png``."""
        upscale = int(getattr(args, "upscale", 4) or 4)
        if not 1 <= upscale <= MAX_UPSCALE:
            raise UsageError(f"--upscale must be between 1 and {MAX_UPSCALE} (got {upscale})")
        nrow = getattr(args, "nrow", None)
        images = pipe.generate(seeds=seeds)
        target = Path(out)
        if target.suffix.lower() == ".png":
            return [str(save_grid(images, target, nrow=nrow, upscale=upscale))]
        if target.exists() and not target.is_dir():
            raise UsageError(f"{out}: exists and is not a folder (give a folder or a .png path)")
        written = save_images(images, target, [f"seed_{s:05d}" for s in seeds], upscale=upscale)
        written.append(save_grid(images, target / "grid.png", nrow=nrow, upscale=upscale))
        return [str(p) for p in written]


PLUGIN = DigitsPlugin()
