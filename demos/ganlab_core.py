"""A GAN on 2-D points, small enough to train live and to draw: the GAN Lab tab's model.

Targets (points in roughly [-2.5, 2.5]²): a ring or a grid of Gaussians, two moons, a spiral. G maps
z ~ N(0, I) [B, 2] through a small MLP to points [B, 2]; D maps points to one logit [B]. Losses and
regularisers are the shared ones of :mod:`creative_gan.losses`, so what a student sees here is what the
pipelines train with. :meth:`GANLab.picture` draws D's surface, real and generated points and G's
gradient field as an RGB array.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from creative_gan.errors import UsageError
from creative_gan.losses import d_loss, g_loss, gradient_penalty, r1_penalty

TARGETS = ("ring", "grid", "two moons", "spiral")
LOSSES = ("non_saturating", "minimax", "hinge", "wgan_gp", "lsgan")
REGULARISERS = ("none", "r1", "gp")
VIEW = 3.0                      # the picture shows [-VIEW, VIEW]²
WGAN_GP_WEIGHT = 10.0           # WGAN-GP always carries its gradient penalty


def sample_target(name: str, n: int, generator: torch.Generator) -> torch.Tensor:
    """``n`` points ``[n, 2]`` of the named target distribution."""
    if name == "ring":                                         # 8 Gaussians on a circle of radius 2
        k = torch.randint(0, 8, (n,), generator=generator).float()
        angle = 2 * math.pi * k / 8
        centre = torch.stack([2 * torch.cos(angle), 2 * torch.sin(angle)], 1)
        return centre + 0.08 * torch.randn(n, 2, generator=generator)
    if name == "grid":                                         # 5x5 Gaussians, spacing 1
        idx = torch.randint(0, 5, (n, 2), generator=generator).float()
        return (idx - 2.0) + 0.05 * torch.randn(n, 2, generator=generator)
    if name == "two moons":
        t = math.pi * torch.rand(n, generator=generator)
        upper = torch.rand(n, generator=generator) < 0.5
        x = torch.where(upper, torch.cos(t), 1 - torch.cos(t))
        y = torch.where(upper, torch.sin(t), 0.5 - torch.sin(t))
        points = torch.stack([x - 0.5, y - 0.25], 1) * 1.6
        return points + 0.06 * torch.randn(n, 2, generator=generator)
    if name == "spiral":
        t = torch.sqrt(torch.rand(n, generator=generator)) * 3 * math.pi
        points = torch.stack([t * torch.cos(t), t * torch.sin(t)], 1) / (3 * math.pi) * 2.4
        return points + 0.05 * torch.randn(n, 2, generator=generator)
    raise UsageError(f"unknown target {name!r} (choose from {', '.join(TARGETS)})")


def mlp(inputs: int, outputs: int, hidden: int = 128, layers: int = 3) -> nn.Sequential:
    """``layers`` linear layers with LeakyReLU(0.2) between them."""
    sizes = [inputs] + [hidden] * (layers - 1) + [outputs]
    modules: list[nn.Module] = []
    for i, (a, b) in enumerate(zip(sizes, sizes[1:])):
        modules.append(nn.Linear(a, b))
        if i < len(sizes) - 2:
            modules.append(nn.LeakyReLU(0.2))
    return nn.Sequential(*modules)


@dataclass(frozen=True)
class LabSettings:
    """What the student picks. Learning rates are Adam's; ``reg_weight`` scales R1 or GP."""

    target: str = "ring"
    loss: str = "non_saturating"
    regulariser: str = "none"
    reg_weight: float = 1.0
    lr_g: float = 1e-3
    lr_d: float = 1e-3
    seed: int = 0
    batch_size: int = 256

    def checked(self) -> "LabSettings":
        if self.target not in TARGETS:
            raise UsageError(f"unknown target {self.target!r} (choose from {', '.join(TARGETS)})")
        if self.loss not in LOSSES:
            raise UsageError(f"unknown loss {self.loss!r} (choose from {', '.join(LOSSES)})")
        if self.regulariser not in REGULARISERS:
            raise UsageError(f"unknown regulariser {self.regulariser!r} (choose from {', '.join(REGULARISERS)})")
        for name in ("lr_g", "lr_d"):
            value = getattr(self, name)
            if not (isinstance(value, (int, float)) and math.isfinite(value) and 0 < value <= 0.1):
                raise UsageError(f"learning rate {name[-1].upper()} must be > 0 and <= 0.1 (got {value})")
        if not (math.isfinite(self.reg_weight) and 0 <= self.reg_weight <= 1000):
            raise UsageError(f"regulariser weight must be between 0 and 1000 (got {self.reg_weight})")
        if not (isinstance(self.seed, int) and self.seed >= 0):
            raise UsageError(f"seed must be a whole number >= 0 (got {self.seed})")
        return self


class GANLab:
    """A live 2-D GAN: ``step(n)`` trains, ``picture()`` draws. Same settings and seed → same run."""

    def __init__(self, settings: LabSettings):
        self.settings = settings.checked()
        self.rng = torch.Generator().manual_seed(settings.seed)
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(settings.seed)
            self.G, self.D = mlp(2, 2), mlp(2, 1)
        self.opt_g = torch.optim.Adam(self.G.parameters(), lr=settings.lr_g, betas=(0.5, 0.9))
        self.opt_d = torch.optim.Adam(self.D.parameters(), lr=settings.lr_d, betas=(0.5, 0.9))
        self.steps = 0
        self.history: list[tuple[float, float]] = []               # (D loss, G loss) per step
        self.fixed_z = torch.randn(512, 2, generator=self.rng)
        self.real_view = sample_target(settings.target, 512, self.rng)

    def update(self, settings: LabSettings) -> "GANLab":
        """Apply new settings: new learning rates / weights in place; a new target, loss or seed starts over."""
        settings = settings.checked()
        if (settings.target, settings.loss, settings.seed) != (self.settings.target, self.settings.loss,
                                                                 self.settings.seed):
            return GANLab(settings)
        for group in self.opt_g.param_groups:
            group["lr"] = settings.lr_g
        for group in self.opt_d.param_groups:
            group["lr"] = settings.lr_d
        self.settings = settings
        return self

    def _logits(self, x: torch.Tensor) -> torch.Tensor:
        return self.D(x).reshape(-1)

    def step(self, n: int = 1) -> None:
        """``n`` training steps (one D step then one G step each) on fresh batches."""
        s = self.settings
        for _ in range(int(n)):
            real = sample_target(s.target, s.batch_size, self.rng)
            z = torch.randn(s.batch_size, 2, generator=self.rng)
            fake = self.G(z)
            real_in = real.requires_grad_(s.regulariser == "r1")
            real_logits = self._logits(real_in)
            loss_d = d_loss(s.loss, real_logits, self._logits(fake.detach()))
            if s.loss == "wgan_gp":
                loss_d = loss_d + WGAN_GP_WEIGHT * gradient_penalty(self._logits, real, fake, self.rng)
            if s.regulariser == "r1" and s.reg_weight > 0:
                loss_d = loss_d + 0.5 * s.reg_weight * r1_penalty(real_logits, real_in)
            elif s.regulariser == "gp" and s.reg_weight > 0:
                loss_d = loss_d + s.reg_weight * gradient_penalty(self._logits, real, fake, self.rng)
            self.opt_d.zero_grad(set_to_none=True)
            loss_d.backward()
            self.opt_d.step()
            self.D.requires_grad_(False)
            loss_g = g_loss(s.loss, self._logits(fake))
            self.opt_g.zero_grad(set_to_none=True)
            loss_g.backward()
            self.opt_g.step()
            self.D.requires_grad_(True)
            self.steps += 1
            self.history.append((float(loss_d.detach()), float(loss_g.detach())))

    @torch.no_grad()
    def generated(self) -> np.ndarray:
        """G's points for the lab's fixed latents ``[512, 2]``."""
        return self.G(self.fixed_z).numpy()

    def status(self) -> str:
        """One line: step count and the mean losses of the last 20 steps."""
        if not self.history:
            return f"step 0 · {self.settings.target} · {self.settings.loss}"
        recent = np.array(self.history[-20:])
        return (f"step {self.steps} · {self.settings.target} · {self.settings.loss} · "
                f"D loss {recent[:, 0].mean():.3f} · G loss {recent[:, 1].mean():.3f}")

    def surface(self, size: int = 120) -> np.ndarray:
        """D's view of the plane ``[size, size]`` in [0, 1] (row 0 at the top, y = +VIEW)."""
        axis = torch.linspace(-VIEW, VIEW, size)
        yy, xx = torch.meshgrid(-axis, axis, indexing="ij")
        with torch.no_grad():
            logits = self._logits(torch.stack([xx.reshape(-1), yy.reshape(-1)], 1)).reshape(size, size)
        if self.settings.loss in ("non_saturating", "minimax"):
            return torch.sigmoid(logits).numpy()
        centred = (logits - logits.median()) / (logits.std() + 1e-6)   # critics have no fixed scale
        return (0.5 + 0.5 * torch.tanh(centred)).numpy()

    def gradient_field(self, count: int = 17) -> tuple[np.ndarray, np.ndarray]:
        """Grid points ``[count², 2]`` and the direction G's loss pushes a generated point there ``[count², 2]``."""
        axis = torch.linspace(-VIEW * 0.9, VIEW * 0.9, count)
        yy, xx = torch.meshgrid(axis, axis, indexing="ij")
        points = torch.stack([xx.reshape(-1), yy.reshape(-1)], 1).requires_grad_(True)
        self.D.requires_grad_(False)
        loss = g_loss(self.settings.loss, self._logits(points)) * points.shape[0]
        (grad,) = torch.autograd.grad(loss, points)
        self.D.requires_grad_(True)
        return points.detach().numpy(), (-grad).numpy()

    def picture(self, size: int = 480) -> np.ndarray:
        """RGB ``[size, size, 3]`` uint8: D's surface, G's gradient field (yellow), real (white), generated (orange)."""
        from .plots import draw_lab

        return draw_lab(self.surface(), self.real_view.numpy(), self.generated(), *self.gradient_field(),
                        view=VIEW, size=size)


def lab_settings(target: str, loss: str, regulariser: str, reg_weight, lr_g, lr_d, seed) -> LabSettings:
    """Checked settings from the page's raw values (numbers may arrive as floats, strings or None)."""
    def number(value, what):
        try:
            return float(value)
        except (TypeError, ValueError):
            raise UsageError(f"{what} {value!r} is not a number") from None

    seed_value = number(seed, "seed")
    if not seed_value.is_integer():
        raise UsageError(f"seed must be a whole number >= 0 (got {seed})")
    return LabSettings(target=target, loss=loss, regulariser=regulariser or "none",
                       reg_weight=number(reg_weight, "regulariser weight"),
                       lr_g=number(lr_g, "learning rate G"), lr_d=number(lr_d, "learning rate D"),
                       seed=int(seed_value)).checked()


def lab_for(lab: GANLab | None, settings: LabSettings) -> GANLab:
    """Keep training ``lab`` when only rates/weights/regulariser changed; a new lab otherwise."""
    return GANLab(settings) if lab is None else lab.update(settings)
