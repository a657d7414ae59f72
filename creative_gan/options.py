"""Training options: every knob the shared trainer has, as one plain dataclass.

Presets are dicts of overrides for these fields; ``options.json`` in a run directory is ``asdict``.
"""
from __future__ import annotations

import dataclasses
import math
import numbers
import typing
from dataclasses import dataclass, field
from typing import Any

from .errors import UsageError

LOSSES = ("minimax", "non_saturating", "hinge", "wgan", "wgan_gp", "lsgan")
REGULARISERS = ("r1", "gp", "drift")
#: inclusive bounds of every numeric option (None: unbounded on that side); "(" marks an open lower bound
RANGES: dict[str, tuple] = {
    "steps": (1, 10**9), "batch_size": (1, 65_536), "seed": (0, 2**32 - 1),
    "r1_every": (1, 10**6), "n_critic": (1, 100), "log_every": (1, 10**9),
    "preview_every": (0, 10**9), "checkpoint_every": (0, 10**9), "monitor_every": (0, 10**9),
    "monitor_samples": (2, 100_000), "snapshot_every": (1, 10**9), "max_nan_retries": (0, 1000),
    "label_smoothing": (0.0, 0.49), "label_noise": (0.0, 0.49), "wgan_clip": ("(", 0.0, 100.0),
    "lr_g": ("(", 0.0, 10.0), "lr_d": ("(", 0.0, 10.0), "betas_g": (0.0, 0.9999), "betas_d": (0.0, 0.9999),
    "ema_decay": (0.0, 0.999999), "ema_warmup_steps": (0, 10**9), "num_workers": (0, 256),
    "augment_p": (0.0, 1.0), "collapse_threshold": (0.0, 100.0),
    "nan_lr_factor": ("(", 0.0, 1.0), "regularisers": (0.0, 1e6), "loss_weights": (-1e6, 1e6),
}


def _describe(value) -> str:
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


def _number(name: str, value, kind: type):
    """``value`` as ``kind`` (int or float) within ``RANGES[name]``, or a UsageError naming ``name``."""
    if kind is int:  # numbers.Integral admits numpy integers; 1.5, 1e30 and "3" are refused
        if isinstance(value, bool) or not isinstance(value, numbers.Integral):
            raise UsageError(f"{name} must be a whole number (got {_describe(value)})")
        value = int(value)
    else:
        if isinstance(value, bool) or not isinstance(value, numbers.Real):
            raise UsageError(f"{name} must be a number (got {_describe(value)})")
        value = float(value)
        if not math.isfinite(value):
            raise UsageError(f"{name} must be a finite number (got {_describe(value)})")
    bounds = RANGES.get(name)
    if bounds:
        open_low = bounds[0] == "("
        low, high = bounds[1:] if open_low else bounds
        if (value <= low if open_low else value < low) or value > high:
            left = "(" if open_low else "["
            raise UsageError(f"{name} must be in {left}{low}, {high}] (got {_describe(value)})")
    return value


def _checked(name: str, value, hint):
    """``value`` converted to the field's declared type, or a UsageError naming the option."""
    origin, args = typing.get_origin(hint), typing.get_args(hint)
    if hint is bool:
        if not isinstance(value, bool):
            raise UsageError(f"{name} must be true or false (got {_describe(value)})")
        return value
    if hint in (int, float):
        return _number(name, value, hint)
    if hint is str:
        if not isinstance(value, str):
            raise UsageError(f"{name} must be text (got {_describe(value)})")
        return value
    if origin is tuple:  # tuple[float, float]
        if not isinstance(value, (list, tuple)) or len(value) != len(args):
            raise UsageError(f"{name} must be a list of {len(args)} numbers, e.g. [0.5, 0.999] "
                             f"(got {_describe(value)})")
        return tuple(_number(name, v, kind) for v, kind in zip(value, args))
    if origin is dict:
        if not isinstance(value, dict):
            raise UsageError(f"{name} must be a mapping, e.g. {{\"key\": 1}} (got {_describe(value)})")
        if args and args[1] is float:
            return {str(k): _number(name, v, float) for k, v in value.items()}
        return dict(value)
    return value



@dataclass
class TrainOptions:
    """Knobs of :class:`creative_gan.trainer.Trainer` (units in the names; steps count G updates)."""

    out_dir: str = "runs/default"
    preset: str = ""                       # the named preset these options started from (the CLI records it)
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
        """Raise :class:`UsageError` (one line naming the option) for values the trainer cannot honour.

        Every field is checked against its declared type (an ``int`` field refuses ``1.5`` and
        ``1e30``; floats must be finite) and its range (see ``RANGES``).
        """
        hints = typing.get_type_hints(type(self))
        for f in dataclasses.fields(self):
            setattr(self, f.name, _checked(f.name, getattr(self, f.name), hints[f.name]))
        if self.loss not in LOSSES:
            raise UsageError(f"unknown loss {self.loss!r} (choose from {', '.join(LOSSES)})")
        for name in self.regularisers:
            if name not in REGULARISERS:
                raise UsageError(f"unknown regulariser {name!r} (choose from {', '.join(REGULARISERS)})")
        if not self.out_dir.strip():
            raise UsageError("out_dir must name a folder")
        return self

    @classmethod
    def from_dict(cls, values: dict[str, Any]) -> "TrainOptions":
        """Build from a dict (preset, options.json); unknown keys are an error naming them."""
        if not isinstance(values, dict):
            raise UsageError(f"training options must be a mapping, not {type(values).__name__}")
        names = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(map(str, values)) - names)
        if unknown:
            raise UsageError(f"unknown training option(s): {', '.join(unknown)}")
        return cls(**values).validate()

    def replace(self, **changes: Any) -> "TrainOptions":
        return dataclasses.replace(self, **changes).validate()

    def to_dict(self) -> dict[str, Any]:
        out = dataclasses.asdict(self)
        out["betas_g"], out["betas_d"] = list(self.betas_g), list(self.betas_d)
        return out
