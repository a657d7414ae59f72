"""What the trainer optimises: an adversarial-loss object plus a pipeline's auxiliary terms.

An :class:`AdversarialLoss` owns D's and G's adversarial terms (audiocraft's idea): the six named
losses are built-in subclasses, and a pipeline may hand the task its own subclass (a relativistic
loss, say). An :class:`Objective` adds the pipeline's terms. Each of its two methods receives one
context object holding everything a term could need::

    class FontObjective(Objective):
        def g_terms(self, step: GStep) -> dict:
            return {"l1": (step.fake - step.real["x"]).abs().mean(),
                    "feat_match": feature_matching_loss(step.real_out.features, step.fake_out.features)}

Terms are returned unweighted; the trainer weights them with ``TrainOptions.loss_weights["G/l1"]``
(default 1.0) and logs them under ``G/l1``.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable

import torch
from torch import nn

from .losses import d_loss, g_loss

Batch = dict[str, torch.Tensor]


@dataclass
class DOutput:
    """D's output on one batch: ``logits [B]`` and the aux dict D returned (empty if none).

    A discriminator that wants feature matching returns ``(logits, {"features": [h1, h2, …]})``.
    """

    logits: torch.Tensor
    aux: dict = field(default_factory=dict)

    @property
    def features(self) -> list[torch.Tensor]:
        """Intermediate feature maps D exposed under ``aux["features"]`` (``[]`` if none)."""
        feats = self.aux.get("features", [])
        return list(feats) if isinstance(feats, (list, tuple)) else [feats]


def split_output(out: Any) -> DOutput:
    """Normalise a discriminator output (``logits`` or ``(logits, aux)``) to a :class:`DOutput`.

    Patch-shaped logits ``[B, …]`` are averaged to ``[B]``.
    """
    if isinstance(out, tuple):
        logits, aux = out
    else:
        logits, aux = out, {}
    return DOutput(logits.reshape(logits.shape[0], -1).mean(dim=1), dict(aux))


@dataclass
class DStep:
    """Context of D's step. ``fake`` is detached; conditions exclude ``"x"``."""

    real: Batch                   # the real batch: {"x": [B, …], <condition>: [B, …]}
    fake: torch.Tensor            # G(z, **fake_cond), detached
    real_cond: Batch
    fake_cond: Batch
    real_out: DOutput             # D(real)
    fake_out: DOutput             # D(fake)


class GStep:
    """Context of G's step: ``real`` batch, ``fake`` (with grad), ``z``, ``cond``, D's outputs.

    ``fake_out`` carries gradients to G. ``real_out`` (D on the real batch, under ``no_grad``) is
    computed on first access only, so objectives that do not use it cost no extra D forward.
    """

    def __init__(self, real: Batch, fake: torch.Tensor, z: torch.Tensor, cond: Batch,
                 fake_out: DOutput, real_forward: Callable[[], DOutput]):
        self.real, self.fake, self.z, self.cond, self.fake_out = real, fake, z, cond, fake_out
        self._real_forward, self._real_out = real_forward, None

    @property
    def real_out(self) -> DOutput:
        if self._real_out is None:
            with torch.no_grad():
                self._real_out = self._real_forward()
        return self._real_out


class Objective:
    """Auxiliary loss terms beyond the adversarial loss; override either method.

    Each returns ``{name: scalar tensor}``, unweighted.
    """

    def d_terms(self, step: DStep) -> dict:
        """Extra terms for D's step (e.g. an AC-GAN classifier head on real samples)."""
        return {}

    def g_terms(self, step: GStep) -> dict:
        """Extra terms for G's step (classifier loss on fakes, feature matching, L1 to a target)."""
        return {}


def feature_matching_loss(real_features: list[torch.Tensor], fake_features: list[torch.Tensor]) -> torch.Tensor:
    """Σ over layers of mean |h_real − h_fake| (MelGAN / HiFi-GAN); reals are treated as constants."""
    if len(real_features) != len(fake_features) or not real_features:
        raise ValueError(f"need matching, non-empty feature lists (got {len(real_features)} real, "
                         f"{len(fake_features)} fake)")
    return sum((r.detach().float() - f.float()).abs().mean() for r, f in zip(real_features, fake_features))


# --------------------------------------------------------------------------------- adversarial losses
class AdversarialLoss:
    """D's and G's adversarial terms for one loss family; subclass to add a new one.

    ``uses_labels``: whether one-sided label smoothing / label noise mean anything for it.
    ``default_regularisers``: regularisers switched on unless the options set them (e.g. WGAN-GP's gp).
    """

    name = "custom"
    uses_labels = False
    default_regularisers: dict[str, float] = {}

    def d_loss(self, real_logits: torch.Tensor, fake_logits: torch.Tensor,
               generator: torch.Generator | None = None) -> torch.Tensor:
        raise NotImplementedError

    def g_loss(self, fake_logits: torch.Tensor, real_logits: torch.Tensor | None = None) -> torch.Tensor:
        raise NotImplementedError

    def after_d_step(self, discriminator: nn.Module) -> None:
        """Hook run after D's optimiser step (weight clipping for the original WGAN)."""

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.name!r})"


class NamedLoss(AdversarialLoss):
    """One of :data:`creative_gan.options.LOSSES`, computed by :mod:`creative_gan.losses`."""

    def __init__(self, name: str, label_smoothing: float = 0.0, label_noise: float = 0.0):
        g_loss(name, torch.zeros(1))  # unknown names raise UsageError here, not at step 1
        self.name, self.label_smoothing, self.label_noise = name, label_smoothing, label_noise
        self.uses_labels = name in ("minimax", "non_saturating", "lsgan")
        self.default_regularisers = {"gp": 10.0} if name == "wgan_gp" else {}

    def d_loss(self, real_logits, fake_logits, generator=None):
        return d_loss(self.name, real_logits, fake_logits, self.label_smoothing, self.label_noise, generator)

    def g_loss(self, fake_logits, real_logits=None):
        return g_loss(self.name, fake_logits)


class WeightClippedWGAN(NamedLoss):
    """The original WGAN: critic weights clipped to ``[-clip, clip]`` after every D step."""

    def __init__(self, clip: float = 0.01):
        super().__init__("wgan")
        self.clip = float(clip)

    @torch.no_grad()
    def after_d_step(self, discriminator: nn.Module) -> None:
        for p in discriminator.parameters():
            p.clamp_(-self.clip, self.clip)


def adversarial_loss(name: str, options=None) -> AdversarialLoss:
    """The built-in loss ``name`` configured from ``options`` (a TrainOptions, or None for defaults)."""
    smoothing = float(getattr(options, "label_smoothing", 0.0))
    noise = float(getattr(options, "label_noise", 0.0))
    if name == "wgan":
        return WeightClippedWGAN(getattr(options, "wgan_clip", 0.01))
    return NamedLoss(name, smoothing, noise)


def ineffective_options(options, loss: AdversarialLoss) -> list[str]:
    """One message per option that is set but does nothing with ``loss`` and the regularisers."""
    messages = []
    for name in ("label_smoothing", "label_noise"):
        if float(getattr(options, name)) > 0 and not loss.uses_labels:
            messages.append(f"{name}={getattr(options, name)} has no effect with loss {loss.name!r} "
                            "(only minimax, non_saturating and lsgan have labels)")
    if float(options.wgan_clip) != 0.01 and not isinstance(loss, WeightClippedWGAN):
        messages.append(f"wgan_clip={options.wgan_clip} has no effect with loss {loss.name!r} (only 'wgan' clips)")
    regularisers = {**loss.default_regularisers, **options.regularisers}
    if int(options.r1_every) != 1 and "r1" not in regularisers:
        messages.append(f"r1_every={options.r1_every} has no effect without the r1 regulariser")
    return messages
