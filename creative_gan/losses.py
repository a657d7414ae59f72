"""Adversarial losses by name and the regularisers R1, GP and drift.

Every function takes D's logits as ``[B]`` tensors and returns a scalar (a mean over the batch, so
averaging gradients over equal-sized per-process batches equals one big batch). Computation happens
in float32 even under autocast, because logits near saturation lose the loss in bf16.

Label smoothing (one-sided, the real target becomes ``1 − s``) and label noise (a share of labels
flipped) apply to the losses with targets: minimax, non_saturating, lsgan. Hinge and WGAN have no
labels; the trainer warns when those options are set with them.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F

from .errors import UsageError
from .options import LOSSES


def _targets(logits: torch.Tensor, value: float, noise: float, flip_to: float,
             generator: torch.Generator | None) -> torch.Tensor:
    """Label tensor of ``value`` with a share ``noise`` flipped to ``flip_to`` (label noise)."""
    target = torch.full_like(logits, value)
    if noise > 0:
        flip = torch.rand(logits.shape, generator=generator).to(logits.device) < noise
        target = torch.where(flip, torch.full_like(logits, flip_to), target)
    return target


def d_loss(name: str, real: torch.Tensor, fake: torch.Tensor, label_smoothing: float = 0.0,
           label_noise: float = 0.0, generator: torch.Generator | None = None) -> torch.Tensor:
    """D's adversarial loss. One-sided smoothing moves only the real target (1 → 1 - s)."""
    real, fake = real.float(), fake.float()
    if name in ("minimax", "non_saturating"):
        t_real = _targets(real, 1.0 - label_smoothing, label_noise, 0.0, generator)
        t_fake = _targets(fake, 0.0, label_noise, 1.0 - label_smoothing, generator)
        return (F.binary_cross_entropy_with_logits(real, t_real)
                + F.binary_cross_entropy_with_logits(fake, t_fake))
    if name == "hinge":
        return F.relu(1.0 - real).mean() + F.relu(1.0 + fake).mean()
    if name in ("wgan", "wgan_gp"):
        return fake.mean() - real.mean()
    if name == "lsgan":
        t_real = _targets(real, 1.0 - label_smoothing, label_noise, 0.0, generator)
        t_fake = _targets(fake, 0.0, label_noise, 1.0 - label_smoothing, generator)
        return 0.5 * ((real - t_real) ** 2).mean() + 0.5 * ((fake - t_fake) ** 2).mean()
    raise UsageError(f"unknown loss {name!r} (choose from {', '.join(LOSSES)})")


def g_loss(name: str, fake: torch.Tensor) -> torch.Tensor:
    """G's adversarial loss on D's logits for generated samples."""
    fake = fake.float()
    if name == "minimax":
        # the original saturating objective: minimise log(1 - D(G(z))) = -softplus(logit)
        return -F.softplus(fake).mean()
    if name == "non_saturating":
        return F.softplus(-fake).mean()
    if name in ("hinge", "wgan", "wgan_gp"):
        return -fake.mean()
    if name == "lsgan":
        return 0.5 * ((fake - 1.0) ** 2).mean()
    raise UsageError(f"unknown loss {name!r} (choose from {', '.join(LOSSES)})")


def r1_penalty(real_logits: torch.Tensor, real_x: torch.Tensor) -> torch.Tensor:
    """R1: E‖∇ₓD(x)‖² on real data (Mescheder et al. 2018); ``real_x`` must require grad.

    Convention: the trainer adds ``w · r1_penalty`` for ``regularisers={"r1": w}`` (times
    ``r1_every`` on the lazy steps), i.e. ``w`` multiplies the squared gradient norm directly.
    StyleGAN2's ``γ`` multiplies ``½‖∇‖²``, so StyleGAN's ``γ = 10`` is ``w = 5`` here.
    """
    (grad,) = torch.autograd.grad(real_logits.float().sum(), real_x, create_graph=True)
    return grad.float().pow(2).reshape(grad.shape[0], -1).sum(1).mean()


def gradient_penalty(discriminate, real: torch.Tensor, fake: torch.Tensor,
                     generator: torch.Generator | None = None) -> torch.Tensor:
    """WGAN-GP: E(‖∇D(x̂)‖ - 1)² on random interpolates x̂ of real and fake samples.

    ``discriminate(x) -> logits [B]`` closes over the conditions of the real batch.
    """
    shape = (real.shape[0],) + (1,) * (real.dim() - 1)
    alpha = torch.rand(shape, generator=generator).to(real.device, real.dtype)
    mixed = (alpha * real.detach() + (1 - alpha) * fake.detach()).requires_grad_(True)
    logits = discriminate(mixed)
    (grad,) = torch.autograd.grad(logits.float().sum(), mixed, create_graph=True)
    norm = grad.float().reshape(grad.shape[0], -1).norm(2, dim=1)
    return ((norm - 1.0) ** 2).mean()


def drift_penalty(real_logits: torch.Tensor) -> torch.Tensor:
    """Progressive GAN's drift term E[D(x)²], keeps WGAN critics from wandering off."""
    return real_logits.float().pow(2).mean()
