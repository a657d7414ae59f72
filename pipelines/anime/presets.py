"""Training presets of the anime pipeline (``creative-gan train anime --preset NAME``).

- ``tiny``: a few steps of a very small 64 px DCGAN on 64 procedural faces (tests, smoke runs);
- ``cpu``: a 64 px DCGAN of modest width (G 1.1 M / D 0.7 M parameters) with DiffAugment
  (colour, translation), one-sided label smoothing 0.1 and EMA — the recipe of the shipped
  ``anime-default``;
- ``gpu128``: a full-width 128 px DCGAN with spectral norm in D, hinge loss and stronger DiffAugment.

Each is a dict of :class:`~creative_gan.options.TrainOptions` overrides; ``model`` holds the network
options (:func:`~.networks.build_networks`) plus ``procedural_faces`` / ``procedural_seed`` for the
synthetic corpus used when no ``--data`` is given. Plain data only: loading a release imports no
training code.
"""
from __future__ import annotations

PRESETS: dict[str, dict] = {
    "tiny": {
        "steps": 4, "batch_size": 8, "log_every": 1, "preview_every": 2, "checkpoint_every": 2,
        "monitor_every": 2, "monitor_samples": 8, "snapshot_every": 2, "tensorboard": False,
        "augment": "translation",
        "model": {"image_size": 64, "latent_dim": 16, "base_channels": 4, "procedural_faces": 64},
    },
    "cpu": {
        "steps": 7500, "batch_size": 32, "loss": "non_saturating", "label_smoothing": 0.1,
        "augment": "color,translation", "lr_g": 2e-4, "lr_d": 2e-4,
        "betas_g": [0.5, 0.999], "betas_d": [0.5, 0.999], "ema_decay": 0.999,
        "log_every": 25, "preview_every": 250, "checkpoint_every": 250, "monitor_every": 250,
        "model": {"image_size": 64, "latent_dim": 100, "base_channels": 32, "procedural_faces": 6000},
    },
    "gpu128": {
        "steps": 40000, "batch_size": 64, "loss": "hinge", "augment": "color,translation,cutout",
        "lr_g": 2e-4, "lr_d": 2e-4, "betas_g": [0.0, 0.99], "betas_d": [0.0, 0.99], "ema_decay": 0.999,
        "log_every": 100, "preview_every": 1000, "checkpoint_every": 1000, "monitor_every": 1000,
        "model": {"image_size": 128, "latent_dim": 128, "base_channels": 64, "d_spectral_norm": True,
                  "procedural_faces": 20000},
    },
}

