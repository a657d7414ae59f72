"""Exponential moving average of the generator's weights (used for sampling and release).

After each G step: ``shadow ← d·shadow + (1 − d)·G`` with ``d = decay_at(step)``.

Warmup: early on the average would be dominated by the random initialisation, so the decay ramps
up as ``d(s) = min(decay, (1 + s) / (k + s))`` with ``k`` chosen so that ``d`` reaches ``decay``
exactly at step ``warmup_steps`` (``k = (1 + W) / decay − W``). With ``decay = 0.999`` and
``W = 1000`` that is d(0) ≈ 0.50, d(10) ≈ 0.92, d(100) ≈ 0.99, d(1000) = 0.999. (The earlier
``(1 + s) / (10 + s)`` ramp reached 0.999 only after ~9,000 steps.) BatchNorm buffers are copied,
not averaged.
"""
from __future__ import annotations

import copy

import torch
from torch import nn


class EMA:
    """Keeps ``shadow`` = EMA of ``model``'s parameters; buffers (BatchNorm stats) are copied.

    Args:
        decay: the stated decay, reached at step ``warmup_steps`` and held from then on.
        warmup: ramp the decay up (see the module docstring); False uses ``decay`` from step 0.
        warmup_steps: G steps until the ramp reaches ``decay`` (≥ 1).
    """

    def __init__(self, model: nn.Module, decay: float = 0.999, warmup: bool = True, warmup_steps: int = 1000):
        if not 0.0 <= decay < 1.0:
            raise ValueError(f"EMA decay must be in [0, 1) (got {decay})")
        self.decay = float(decay)
        self.warmup = warmup
        self.warmup_steps = max(1, int(warmup_steps))
        self.shadow = copy.deepcopy(model).eval().requires_grad_(False)

    def decay_at(self, step: int) -> float:
        """The decay used by the update after G step ``step`` (0-based)."""
        if not self.warmup or self.decay == 0.0 or step >= self.warmup_steps:
            return self.decay
        w = self.warmup_steps
        k = (1.0 + w) / self.decay - w
        return min(self.decay, (1.0 + step) / (k + step))

    @torch.no_grad()
    def update(self, model: nn.Module, step: int) -> float:
        """Blend ``model`` into the shadow; returns the decay used."""
        decay = self.decay_at(step)
        ema_params = [p for p in self.shadow.parameters()]
        params = [p.detach() for p in model.parameters()]
        if ema_params:
            torch._foreach_lerp_(ema_params, params, 1.0 - decay)
        for ema_b, b in zip(self.shadow.buffers(), model.buffers()):
            ema_b.copy_(b)
        return decay

    def state_dict(self) -> dict:
        return self.shadow.state_dict()

    def load_state_dict(self, state: dict) -> None:
        self.shadow.load_state_dict(state)
