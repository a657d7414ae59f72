"""Pieces of training state handling: in-memory snapshots, RNG capture, cross-rank syncing.

Gradients are averaged across torchrun ranks with one flat all-reduce per optimiser step instead
of wrapping the networks in ``DistributedDataParallel``: GAN phases (D frozen during G's step,
auxiliary heads used by one phase only, double backward for R1/GP) trip DDP's reducer, while an
explicit average after ``backward()`` is exact and keeps every rank's weights identical.
"""
from __future__ import annotations

import copy

import torch
import torch.distributed as dist
from torch import nn
from torch._utils import _flatten_dense_tensors, _unflatten_dense_tensors


def average_gradients(module: nn.Module, world: int) -> None:
    """All-reduce (mean) the gradients of ``module``; parameters without a gradient count as 0."""
    if world <= 1:
        return
    params = [p for p in module.parameters() if p.requires_grad]
    for p in params:
        if p.grad is None:
            p.grad = torch.zeros_like(p)
    grads = [p.grad for p in params]
    flat = _flatten_dense_tensors(grads)
    dist.all_reduce(flat)
    flat /= world
    for grad, synced in zip(grads, _unflatten_dense_tensors(flat, grads)):
        grad.copy_(synced)


def broadcast_module(module: nn.Module, buffers_only: bool = False) -> None:
    """Copy rank 0's parameters (and buffers such as BatchNorm statistics) to every rank."""
    tensors = list(module.buffers()) if buffers_only else list(module.parameters()) + list(module.buffers())
    with torch.no_grad():
        for t in tensors:
            dist.broadcast(t.data, src=0)


def _rng_state(latent_rng: torch.Generator) -> dict:
    state = {"torch": torch.get_rng_state(), "latent": latent_rng.get_state()}
    if torch.cuda.is_available() and torch.cuda.is_initialized():
        state["cuda"] = torch.cuda.get_rng_state()
    return state


def gather_rng(latent_rng: torch.Generator, world: int) -> list[dict]:
    """Every rank's RNG states, in rank order (so a resumed DDP run replays the same streams)."""
    mine = _rng_state(latent_rng)
    if world <= 1:
        return [mine]
    everyone: list = [None] * world
    dist.all_gather_object(everyone, mine)
    return everyone


def restore_rng(states: list[dict], rank: int, latent_rng: torch.Generator) -> None:
    mine = states[rank]
    torch.set_rng_state(mine["torch"].cpu())
    latent_rng.set_state(mine["latent"].cpu())
    if "cuda" in mine and torch.cuda.is_available():
        torch.cuda.set_rng_state(mine["cuda"].cpu())


def _cpu_copy(state):
    return {k: (v.detach().to("cpu", copy=True) if torch.is_tensor(v) else copy.deepcopy(v))
            for k, v in state.items()}


class Snapshot:
    """Last known-good weights and optimiser states, held in memory for the NaN guard."""

    def __init__(self, step: int, parts: dict):
        self.step, self.parts = step, parts

    @classmethod
    def take(cls, trainer) -> "Snapshot":
        return cls(trainer.step, {
            "G": _cpu_copy(trainer.G.state_dict()),
            "D": _cpu_copy(trainer.D.state_dict()),
            "EMA": _cpu_copy(trainer.ema.state_dict()),
            "opt_g": copy.deepcopy(trainer.opt_g.state_dict()),
            "opt_d": copy.deepcopy(trainer.opt_d.state_dict()),
        })

    def restore(self, trainer) -> None:
        trainer.G.load_state_dict(self.parts["G"])
        trainer.D.load_state_dict(self.parts["D"])
        trainer.ema.load_state_dict(self.parts["EMA"])
        trainer.opt_g.load_state_dict(copy.deepcopy(self.parts["opt_g"]))
        trainer.opt_d.load_state_dict(copy.deepcopy(self.parts["opt_d"]))
        trainer.step = self.step
