"""Shared, modality-agnostic network layers: pixel norm, equalised learning rate, minibatch stddev, slerp.

Every layer here works on plain tensors of any modality (images [B, C, H, W], spectrograms [B, C, T, F],
audio features [B, C, T]); the pipelines build their networks from them. Nothing here knows about training.
"""
from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn
# re-exported so networks write `from creative_gan.layers import spectral_norm` (the parametrization version:
# deep-copies and state_dicts cleanly)
from torch.nn.utils.parametrizations import spectral_norm

from .errors import UsageError

__all__ = [
    "PixelNorm", "EqualizedLinear", "EqualizedConv1d", "EqualizedConv2d", "MinibatchStdDev",
    "spectral_norm", "slerp", "LatentSlerp", "count_parameters", "label_one_hot", "check_label_range",
]


class PixelNorm(nn.Module):
    """Normalise each position's feature vector to unit RMS (ProGAN): x / sqrt(mean_c x² + eps); [B, C, ...] → same."""

    def __init__(self, eps: float = 1e-8):
        super().__init__()
        self.eps = eps

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x * torch.rsqrt(x.pow(2).mean(dim=1, keepdim=True) + self.eps)


class EqualizedLinear(nn.Module):
    """Linear layer with equalised learning rate: weights stored N(0, 1/lr) and scaled by gain·lr/√fan_in at run time.

    [..., in_features] → [..., out_features]. `lr_multiplier` < 1 slows the layer (StyleGAN mapping nets).
    """

    def __init__(self, in_features: int, out_features: int, bias: bool = True, gain: float = math.sqrt(2.0),
                 lr_multiplier: float = 1.0, bias_init: float = 0.0):
        super().__init__()
        self.weight = nn.Parameter(torch.randn(out_features, in_features) / lr_multiplier)
        self.bias = nn.Parameter(torch.full((out_features,), float(bias_init) / lr_multiplier)) if bias else None
        self.weight_scale = gain * lr_multiplier / math.sqrt(in_features)
        self.lr_multiplier = lr_multiplier

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        bias = None if self.bias is None else self.bias * self.lr_multiplier
        return F.linear(x, self.weight * self.weight_scale, bias)

    def extra_repr(self) -> str:
        return f"in_features={self.weight.shape[1]}, out_features={self.weight.shape[0]}, bias={self.bias is not None}"


class _EqualizedConv(nn.Module):
    """Shared body of the equalised convolutions: N(0, 1) weights scaled by gain/√(C_in·kernel volume) at run time."""

    conv_fn = None
    dims = 0

    def __init__(self, in_channels: int, out_channels: int, kernel_size: int, stride: int = 1,
                 padding: int | str = 0, bias: bool = True, gain: float = math.sqrt(2.0)):
        super().__init__()
        shape = (out_channels, in_channels) + (kernel_size,) * self.dims
        self.weight = nn.Parameter(torch.randn(shape))
        self.bias = nn.Parameter(torch.zeros(out_channels)) if bias else None
        self.weight_scale = gain / math.sqrt(in_channels * kernel_size ** self.dims)
        self.stride, self.padding = stride, padding

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return type(self).conv_fn(x, self.weight * self.weight_scale, self.bias, stride=self.stride,
                                  padding=self.padding)

    def extra_repr(self) -> str:
        out_c, in_c, k = self.weight.shape[:3]
        return f"{in_c}, {out_c}, kernel_size={k}, stride={self.stride}, padding={self.padding}"


class EqualizedConv1d(_EqualizedConv):
    """1-D convolution with equalised learning rate; [B, C_in, T] → [B, C_out, T']."""

    conv_fn = staticmethod(F.conv1d)
    dims = 1


class EqualizedConv2d(_EqualizedConv):
    """2-D convolution with equalised learning rate; [B, C_in, H, W] → [B, C_out, H', W']."""

    conv_fn = staticmethod(F.conv2d)
    dims = 2


class MinibatchStdDev(nn.Module):
    """Append the across-group standard deviation as extra feature maps (ProGAN/StyleGAN2); [B, C, ...] → [B, C+n, ...].

    Groups of `group_size` samples (the largest divisor of B not above it, so any batch size works) share one
    statistic per channel group: the mean over features and positions of the per-position std across the group.
    `num_channels` splits C into that many channel groups (one appended map each).
    """

    def __init__(self, group_size: int = 4, num_channels: int = 1, eps: float = 1e-8):
        super().__init__()
        self.group_size, self.num_channels, self.eps = group_size, num_channels, eps

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        batch, channels, *spatial = x.shape
        group = min(self.group_size, batch)
        while batch % group:
            group -= 1
        n = self.num_channels
        if channels % n:
            raise ValueError(f"MinibatchStdDev: {channels} channels do not split into {n} groups")
        y = x.reshape(group, batch // group, n, channels // n, *spatial).float()
        y = (y - y.mean(dim=0)).pow(2).mean(dim=0).add(self.eps).sqrt()   # [B/G, n, C/n, ...]
        y = y.flatten(2).mean(dim=2)                                         # [B/G, n]
        y = y.reshape(batch // group, n, *([1] * len(spatial))).repeat(group, 1, *spatial)
        return torch.cat([x, y.to(x.dtype)], dim=1)

    def extra_repr(self) -> str:
        return f"group_size={self.group_size}, num_channels={self.num_channels}"


def slerp(a: torch.Tensor, b: torch.Tensor, t: torch.Tensor | float, eps: float = 1e-6) -> torch.Tensor:
    """Spherical interpolation from `a` (t=0) to `b` (t=1) along the last dim; a, b [..., D], t scalar or [...].

    t may also be [..., 1]. The direction moves along the great circle and the norm is interpolated linearly, so
    Gaussian latents keep a typical norm. Identical (or nearly) directions fall back to linear interpolation; antiparallel ones (no unique
    great circle) turn through a fixed direction orthogonal to `a`. Zero vectors interpolate linearly.
    """
    a, b = torch.broadcast_tensors(a, b)
    t = torch.as_tensor(t, dtype=a.dtype, device=a.device)
    if t.dim() == a.dim() - 1 and a.dim() > 0:
        t = t.unsqueeze(-1)
    norm_a, norm_b = a.norm(dim=-1, keepdim=True), b.norm(dim=-1, keepdim=True)
    unit_a, unit_b = a / norm_a.clamp_min(eps), b / norm_b.clamp_min(eps)
    cos = (unit_a * unit_b).sum(-1, keepdim=True).clamp(-1.0, 1.0)
    # an orthogonal partner for each `a`: b's component orthogonal to a, or (antiparallel) a fixed helper axis
    ortho = unit_b - cos * unit_a
    helper = torch.zeros_like(unit_a)
    helper[..., 0] = 1.0
    helper = torch.where(unit_a[..., :1].abs() > 0.9, torch.roll(helper, 1, dims=-1), helper)
    helper = helper - (helper * unit_a).sum(-1, keepdim=True) * unit_a
    antiparallel = cos < -1.0 + 1e-4
    ortho = torch.where(antiparallel, helper, ortho)
    ortho = ortho / ortho.norm(dim=-1, keepdim=True).clamp_min(1e-12)
    angle = torch.where(antiparallel, torch.full_like(cos, math.pi), torch.acos(cos))
    direction = torch.cos(t * angle) * unit_a + torch.sin(t * angle) * ortho
    norm = (1 - t) * norm_a + t * norm_b
    spherical = direction * norm
    linear = (1 - t) * a + t * b
    use_linear = (cos > 1.0 - 1e-6) | (norm_a < eps) | (norm_b < eps)
    return torch.where(use_linear, linear, spherical)


class LatentSlerp(nn.Module):
    """Piecewise-slerp path through latent anchors: anchors [N, D] at `times` [N] (seconds, increasing) → z(t).

    forward(t [...]) → [..., D]. Times before the first / after the last anchor hold that anchor, and a single
    anchor is a constant path (no "need at least two anchors" failure).
    """

    def __init__(self, anchors: torch.Tensor, times: torch.Tensor | None = None):
        super().__init__()
        anchors = torch.as_tensor(anchors, dtype=torch.float32)
        if anchors.dim() != 2 or anchors.shape[0] == 0:
            raise UsageError(f"LatentSlerp needs anchors shaped [N ≥ 1, D], got {tuple(anchors.shape)}")
        times = torch.arange(anchors.shape[0], dtype=torch.float64) if times is None else \
            torch.as_tensor(times, dtype=torch.float64)
        if times.shape != anchors.shape[:1] or (times.numel() > 1 and not bool((times[1:] > times[:-1]).all())):
            raise UsageError("LatentSlerp times must be strictly increasing, one per anchor")
        self.register_buffer("anchors", anchors)
        self.register_buffer("times", times)

    def forward(self, t: torch.Tensor | float) -> torch.Tensor:
        t = torch.as_tensor(t, dtype=torch.float64, device=self.times.device)
        if self.anchors.shape[0] == 1:
            return self.anchors[0].expand(*t.shape, -1).clone()
        t = t.clamp(self.times[0], self.times[-1])
        right = torch.searchsorted(self.times, t.contiguous(), right=True).clamp(1, len(self.times) - 1)
        left = right - 1
        frac = ((t - self.times[left]) / (self.times[right] - self.times[left])).to(self.anchors.dtype)
        return slerp(self.anchors[left], self.anchors[right], frac)


def dcgan_generator_stack(latent_dim: int, base_channels: int, num_upsamplings: int,
                          out_channels: int) -> nn.Sequential:
    """Radford's DCGAN generator body: ``[B, latent_dim, 1, 1] -> [B, out_channels, 4·2^(u-1)·2, …]`` in [-1, 1].

    A 1×1 → 4×4 transposed convolution, then ``num_upsamplings - 1`` stride-2 ConvTranspose + BatchNorm
    + ReLU blocks halving the channels (``base_channels · 2^(u-1)`` at 4×4), then a stride-2 transposed
    convolution to ``out_channels`` and tanh: the output side is ``4 · 2^num_upsamplings`` pixels.
    """
    channels = base_channels * 2 ** (num_upsamplings - 1)
    layers: list[nn.Module] = [
        nn.ConvTranspose2d(latent_dim, channels, 4, 1, 0, bias=False),  # 1×1 -> 4×4
        nn.BatchNorm2d(channels), nn.ReLU(inplace=True),
    ]
    for _ in range(num_upsamplings - 1):
        layers += [nn.ConvTranspose2d(channels, channels // 2, 4, 2, 1, bias=False),
                   nn.BatchNorm2d(channels // 2), nn.ReLU(inplace=True)]
        channels //= 2
    layers += [nn.ConvTranspose2d(channels, out_channels, 4, 2, 1), nn.Tanh()]
    return nn.Sequential(*layers)


def init_dcgan_weights(module: nn.Module) -> None:
    """DCGAN initialisation: conv weights ~ N(0, 0.02), BatchNorm scale ~ N(1, 0.02), biases 0.

    Spectrally normalised convolutions (old-style ``weight_orig``) get the same draw on their raw weight.
    """
    for m in module.modules():
        if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d)):
            weight = m.weight_orig if hasattr(m, "weight_orig") else m.weight
            nn.init.normal_(weight, 0.0, 0.02)
            if m.bias is not None:
                nn.init.zeros_(m.bias)
        elif isinstance(m, nn.BatchNorm2d):
            nn.init.normal_(m.weight, 1.0, 0.02)
            nn.init.zeros_(m.bias)


def count_parameters(module: nn.Module, trainable_only: bool = True) -> int:
    """Number of scalar parameters in `module` (only those with requires_grad unless trainable_only=False)."""
    return sum(p.numel() for p in module.parameters() if p.requires_grad or not trainable_only)


def check_label_range(labels: torch.Tensor, minimum: int, maximum: int, name: str = "pitch") -> None:
    """Raise UsageError unless every integer label lies in [minimum, maximum] (inclusive)."""
    if labels.numel() == 0:
        return
    low, high = int(labels.min()), int(labels.max())
    if low < minimum or high > maximum:
        raise UsageError(f"{name} out of range: got {low}..{high}, the model covers {minimum}..{maximum}")


def label_one_hot(labels: torch.Tensor, minimum: int, maximum: int, name: str = "pitch") -> torch.Tensor:
    """One-hot code of integer labels in [minimum, maximum]: LongTensor [B] → float [B, maximum - minimum + 1]."""
    labels = torch.as_tensor(labels)
    check_label_range(labels, minimum, maximum, name)
    return F.one_hot(labels.long() - minimum, maximum - minimum + 1).float()
