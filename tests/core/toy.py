"""A small, real conditional GAN task for trainer tests: 8×8 images of bars, class = bar position.

G and D carry BatchNorm (buffers must sync under DDP and resume) and an auxiliary class head on D
(an objective term), so the tests exercise every path of the trainer's contract.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from creative_gan.options import TrainOptions
from creative_gan.task import GANTask, Objective

NUM_CLASSES = 4


class BarDataset(torch.utils.data.Dataset):
    """256 images ``[1, 8, 8]`` in [-1, 1]: a bright horizontal bar in row band ``label``."""

    def __init__(self, n: int = 256, seed: int = 0):
        g = torch.Generator().manual_seed(seed)
        self.label = torch.randint(0, NUM_CLASSES, (n,), generator=g)
        x = torch.full((n, 1, 8, 8), -1.0)
        for i, c in enumerate(self.label.tolist()):
            x[i, 0, 2 * c:2 * c + 2, :] = 1.0
        self.x = x + 0.05 * torch.randn(x.shape, generator=g)

    def __len__(self):
        return len(self.label)

    def __getitem__(self, i):
        return {"x": self.x[i], "label": self.label[i]}


class ToyGenerator(nn.Module):
    def __init__(self, latent_dim: int = 8):
        super().__init__()
        self.embed = nn.Embedding(NUM_CLASSES, 8)
        self.net = nn.Sequential(nn.Linear(latent_dim + 8, 64), nn.BatchNorm1d(64), nn.ReLU(),
                                 nn.Linear(64, 64), nn.Tanh())

    def forward(self, z, label):
        return self.net(torch.cat([z, self.embed(label)], 1)).view(-1, 1, 8, 8)


class ToyDiscriminator(nn.Module):
    def __init__(self):
        super().__init__()
        self.body = nn.Sequential(nn.Flatten(), nn.Linear(64, 64), nn.LeakyReLU(0.2))
        self.logit = nn.Linear(64, 1)
        self.classes = nn.Linear(64, NUM_CLASSES)
        self.embed = nn.Embedding(NUM_CLASSES, 64)

    def forward(self, x, label):
        h = self.body(x)
        logits = self.logit(h).squeeze(1) + (self.embed(label) * h).sum(1)  # projection D
        return logits, {"class_logits": self.classes(h)}


class ClassObjective(Objective):
    """AC-GAN terms; ``poison_at`` makes the D term NaN once at that D step (for the NaN guard)."""

    def __init__(self, poison_at: int | None = None):
        self.calls, self.poison_at = 0, poison_at

    def d_terms(self, step):
        self.calls += 1
        ce = F.cross_entropy(step.real_out.aux["class_logits"].float(), step.real_cond["label"])
        if self.poison_at is not None and self.calls == self.poison_at:
            ce = ce * float("nan")
        return {"class_ce": ce}

    def g_terms(self, step):
        return {"class_ce": F.cross_entropy(step.fake_out.aux["class_logits"].float(), step.cond["label"])}


def make_task(seed: int = 0, poison_at: int | None = None) -> GANTask:
    torch.manual_seed(seed)
    return GANTask(ToyGenerator(), ToyDiscriminator(), BarDataset(), latent_dim=8,
                   objective=ClassObjective(poison_at), name="toy")


class NoisyBarDataset(BarDataset):
    """Bars whose items also carry their own latent ``noise [8]``: the fake for item i is fixed by i."""

    def __init__(self, n: int = 256, seed: int = 0):
        super().__init__(n, seed)
        self.noise = torch.randn(n, 8, generator=torch.Generator().manual_seed(seed + 1))

    def __getitem__(self, i):
        return {"x": self.x[i], "label": self.label[i], "noise": self.noise[i]}


class PlainGenerator(nn.Module):
    """No BatchNorm, latent from the item (``noise``): every loss is a per-sample mean, so two
    half-batches on two ranks with averaged gradients must equal one full batch on one rank."""

    def __init__(self):
        super().__init__()
        self.embed = nn.Embedding(NUM_CLASSES, 8)
        self.net = nn.Sequential(nn.Linear(16, 64), nn.ReLU(), nn.Linear(64, 64), nn.Tanh())

    def forward(self, z, label, noise):
        return self.net(torch.cat([noise, self.embed(label)], 1)).view(-1, 1, 8, 8)


class PlainDiscriminator(ToyDiscriminator):
    def forward(self, x, label, noise=None):
        return super().forward(x, label)


def make_plain_task(seed: int = 0) -> GANTask:
    """The toy task without batch-coupled parts (for the DDP-equals-one-big-batch test)."""
    torch.manual_seed(seed)
    return GANTask(PlainGenerator(), PlainDiscriminator(), NoisyBarDataset(), latent_dim=8,
                   objective=ClassObjective(), name="toy-plain")


def options(out_dir, **changes) -> TrainOptions:
    base = dict(out_dir=str(out_dir), steps=20, batch_size=32, progress=False, tensorboard=False,
                checkpoint_every=5, log_every=5, preview_every=0, monitor_every=10,
                monitor_samples=16, device="cpu", snapshot_every=5)
    base.update(changes)
    return TrainOptions(**base).validate()


def flat_params(module: nn.Module) -> torch.Tensor:
    return torch.cat([t.detach().reshape(-1).float() for t in module.state_dict().values()])
