"""Training options: every knob the shared trainer has, as one plain dataclass.

Presets are dicts of overrides for these fields; ``options.json`` in a run directory is ``asdict``.
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any

from .errors import UsageError

LOSSES = ("minimax", "non_saturating", "hinge", "wgan", "wgan_gp", "lsgan")
REGULARISERS = ("r1", "gp", "drift")


@dataclass
class TrainOptions:
    """Knobs of :class:`creative_gan.trainer.Trainer` (units in the names; steps count G updates)."""

    out_dir: str = "runs/default"
    steps: int = 1000
    batch_size: int = 64
    seed: int = 0
    # objective
    loss: str = "non_saturating"
    regularisers: dict[str, float] = field(default_factory=dict)  # name -> weight, e.g. {"r1": 10}
    # (r1 weight w adds w·E‖∇D(x)‖² on reals: StyleGAN's γ is w = γ/2; see creative_gan.losses)
    r1_every: int = 1                      # lazy R1: applied every N D steps, weight scaled by N
    loss_weights: dict[str, float] = field(default_factory=dict)  # "D/pitch_ce" -> 10.0
    label_smoothing: float = 0.0           # one-sided: real target 1 - s
    label_noise: float = 0.0               # probability of flipping a real/fake label in D's step
    wgan_clip: float = 0.01                # weight clipping for loss "wgan"
    n_critic: int = 1                      # D steps per G step
    # optimisers (TTUR: separate rates and betas)
    lr_g: float = 2e-4
    lr_d: float = 2e-4
    betas_g: tuple[float, float] = (0.5, 0.999)
    betas_d: tuple[float, float] = (0.5, 0.999)
    # EMA of G
    ema_decay: float = 0.999
    ema_warmup: bool = True                # decay ramps up, reaching ema_decay at step ema_warmup_steps
    ema_warmup_steps: int = 1000           # (see creative_gan.ema); the shadow uses ema_decay from then on
    # augmentation inside D's forward (DiffAugment policies)
    augment: str = ""                      # e.g. "color,translation,cutout"
    augment_p: float = 1.0
    # hardware
    device: str = "auto"
    amp: bool = True                       # bf16 autocast on CUDA (ignored elsewhere)
    channels_last: bool = True             # on CUDA, for image-like tasks
    compile: bool = False
    num_workers: int = 0                   # DataLoader workers for datasets without get_batch
    # logging / checkpoints
    log_every: int = 10
    preview_every: int = 500
    checkpoint_every: int = 500
    monitor_every: int = 250               # mode-collapse monitor (0 = off)
    monitor_samples: int = 64
    collapse_threshold: float = 0.2        # warn when fake/real diversity ratio falls below this
    tensorboard: bool = True
    progress: bool = True
    # NaN/inf guard
    snapshot_every: int = 50               # in-memory last-good snapshot interval (steps)
    max_nan_retries: int = 3               # consecutive rollbacks before giving up
    nan_lr_factor: float = 0.5             # learning rates are scaled by this after a rollback
    # pipeline-specific model options (network sizes etc.), passed through untouched
    model: dict[str, Any] = field(default_factory=dict)

    def validate(self) -> "TrainOptions":
        """Raise :class:`UsageError` (one line) for values the trainer cannot honour."""
        if self.loss not in LOSSES:
            raise UsageError(f"unknown loss {self.loss!r} (choose from {', '.join(LOSSES)})")
        for name in self.regularisers:
            if name not in REGULARISERS:
                raise UsageError(f"unknown regulariser {name!r} (choose from {', '.join(REGULARISERS)})")
        for name in ("steps", "batch_size", "n_critic", "r1_every", "log_every"):
            if int(getattr(self, name)) < 1:
                raise UsageError(f"{name} must be at least 1 (got {getattr(self, name)})")
        if not 0.0 <= self.label_smoothing < 0.5:
            raise UsageError("label_smoothing must be in [0, 0.5)")
        if not 0.0 <= self.label_noise < 0.5:
            raise UsageError("label_noise must be in [0, 0.5)")
        if not 0.0 <= self.ema_decay < 1.0:
            raise UsageError("ema_decay must be in [0, 1)")
        if not 0.0 <= self.augment_p <= 1.0:
            raise UsageError("augment_p must be in [0, 1]")
        self.betas_g, self.betas_d = tuple(self.betas_g), tuple(self.betas_d)
        return self

    @classmethod
    def from_dict(cls, values: dict[str, Any]) -> "TrainOptions":
        """Build from a dict (preset, options.json); unknown keys are an error naming them."""
        names = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(values) - names)
        if unknown:
            raise UsageError(f"unknown training option(s): {', '.join(unknown)}")
        return cls(**values).validate()

    def replace(self, **changes: Any) -> "TrainOptions":
        return dataclasses.replace(self, **changes).validate()

    def to_dict(self) -> dict[str, Any]:
        out = dataclasses.asdict(self)
        out["betas_g"], out["betas_d"] = list(self.betas_g), list(self.betas_d)
        return out
