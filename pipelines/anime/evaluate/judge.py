"""The evaluator's own network: a small CNN trained on the *real* corpus, whose features score samples.

No Inception weights can be downloaded, so (as GANSynth did with a pitch classifier) the evaluator
trains a network on the real images it compares against:

- corpora with attributes (procedural faces): one softmax head per attribute (hair colour, eye
  colour, …); the same network then *judges* the attributes of generated faces;
- plain image folders (no labels): a self-supervised rotation head (0/90/180/270°, Gidaris et al.
  2018), so its features still describe faces.

Input ``[B, 3, S, S]`` in [-1, 1] (resized to 64×64 inside: eye colours need the pixels); features ``[B, 128]``.
Training uses light blur/shift augmentation so that slightly soft GAN samples are judged fairly.
"""
from __future__ import annotations

import math

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

INPUT_SIZE = 64
FEATURE_DIM = 128
EYE_ROWS = (24, 48)
ROTATION_HEAD = "rotation"


class JudgeNet(nn.Module):
    """``x [B, 3, S, S] -> (features [B, 128], {head: logits [B, classes]})``."""

    def __init__(self, heads: dict[str, int]):
        super().__init__()
        self.trunk = nn.Sequential(
            nn.Conv2d(3, 16, 4, 2, 1), nn.LeakyReLU(0.2, inplace=True),                   # 32×32
            nn.Conv2d(16, 32, 4, 2, 1), nn.BatchNorm2d(32), nn.LeakyReLU(0.2, inplace=True),   # 16×16
            nn.Conv2d(32, 64, 4, 2, 1), nn.BatchNorm2d(64), nn.LeakyReLU(0.2, inplace=True),   # 8×8
            nn.Conv2d(64, 64, 4, 2, 1), nn.BatchNorm2d(64), nn.LeakyReLU(0.2, inplace=True),   # 4×4
            nn.Flatten(),
        )
        # a full-resolution look at the band where eyes sit in a face crop (rows 24–47 of 64): small
        # details such as iris colour are averaged away by the strided trunk
        self.eye_band = nn.Sequential(
            nn.Conv2d(3, 16, 3, 1, 1), nn.LeakyReLU(0.2, inplace=True),
            nn.Conv2d(16, 32, 4, 2, 1), nn.BatchNorm2d(32), nn.LeakyReLU(0.2, inplace=True),   # 12×32
            nn.Conv2d(32, 64, 4, 2, 1), nn.BatchNorm2d(64), nn.LeakyReLU(0.2, inplace=True),   # 6×16
            nn.AdaptiveMaxPool2d(1), nn.Flatten(),
        )
        self.project = nn.Sequential(nn.Linear(64 * 16 + 64, FEATURE_DIM), nn.ReLU(inplace=True))
        self.heads = nn.ModuleDict({name: nn.Linear(FEATURE_DIM, n) for name, n in heads.items()})

    @staticmethod
    def prepare(x: torch.Tensor) -> torch.Tensor:
        x = x.float()
        if x.shape[-1] != INPUT_SIZE:
            mode = "area" if x.shape[-1] > INPUT_SIZE else "bilinear"
            x = F.interpolate(x, size=(INPUT_SIZE, INPUT_SIZE), mode=mode)
        return x

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        x = self.prepare(x)
        features = self.project(torch.cat([self.trunk(x), self.eye_band(x[:, :, EYE_ROWS[0]:EYE_ROWS[1]])], dim=1))
        return features, {name: head(features) for name, head in self.heads.items()}


def _augment(x: torch.Tensor, rng: torch.Generator) -> torch.Tensor:
    """Random soft blur on a third of the batch and a random shift of up to 3 px (at 64×64)."""
    blurred = F.avg_pool2d(x, 3, 1, 1, count_include_pad=False)
    pick = (torch.rand(x.shape[0], 1, 1, 1, generator=rng) < 0.33).to(x.dtype)
    x = pick * blurred + (1 - pick) * x
    dy, dx = (int(v) for v in torch.randint(-3, 4, (2,), generator=rng))
    return torch.roll(x, shifts=(dy, dx), dims=(2, 3))


def _rotations(x: torch.Tensor, rng: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
    labels = torch.randint(0, 4, (x.shape[0],), generator=rng)
    rotated = torch.stack([torch.rot90(img, int(k), dims=(1, 2)) for img, k in zip(x, labels)])
    return rotated, labels


def train_judge(images: torch.Tensor, labels: np.ndarray | None, attribute_sizes: dict[str, int],
                steps: int = 600, batch_size: int = 64, seed: int = 0, progress: bool = True) -> JudgeNet:
    """Train a :class:`JudgeNet` on ``images [N, 3, S, S]`` in [-1, 1].

    ``labels int64 [N, A]`` with ``attribute_sizes`` (name -> classes, in column order) trains the
    attribute heads; ``labels=None`` trains the rotation head instead. Deterministic for a seed.
    """
    from tqdm.auto import tqdm

    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        heads = dict(attribute_sizes) if labels is not None else {ROTATION_HEAD: 4}
        net = JudgeNet(heads)
    x_all = JudgeNet.prepare(images)
    y_all = torch.as_tensor(labels, dtype=torch.long) if labels is not None else None
    rng = torch.Generator().manual_seed(seed)
    batch_size = min(batch_size, len(x_all))
    optimiser = torch.optim.Adam(net.parameters(), lr=3e-3)
    warmup = max(1, steps // 10)  # a short linear warm-up, then a cosine decay to zero

    def rate(step: int) -> float:
        return min(1.0, (step + 1) / warmup) * 0.5 * (1 + math.cos(math.pi * min(step, steps) / max(steps, 1)))

    schedule = torch.optim.lr_scheduler.LambdaLR(optimiser, rate)
    net.train()
    bar = tqdm(total=steps, desc="training the judge network", disable=not progress)
    order, position = torch.randperm(len(x_all), generator=rng), 0
    for _ in range(steps):
        if position + batch_size > len(order):
            order, position = torch.randperm(len(x_all), generator=rng), 0
        idx = order[position:position + batch_size]
        position += batch_size
        x = _augment(x_all[idx], rng)
        if y_all is None:
            x, rot = _rotations(x, rng)
            targets = {ROTATION_HEAD: rot}
        else:
            targets = {name: y_all[idx, i] for i, name in enumerate(heads)}
        _, logits = net(x)
        loss = sum(F.cross_entropy(logits[name], targets[name]) for name in heads)
        optimiser.zero_grad(set_to_none=True)
        loss.backward()
        optimiser.step()
        schedule.step()
        bar.update(1)
    bar.close()
    return net.eval().requires_grad_(False)


@torch.no_grad()
def judge(net: JudgeNet, images: torch.Tensor, batch_size: int = 256) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
    """``(features [N, 128], {head: probabilities [N, classes]})`` for ``images [N, 3, S, S]``."""
    feats, probs = [], {name: [] for name in net.heads}
    for chunk in torch.as_tensor(images).split(batch_size):
        f, logits = net(chunk)
        feats.append(f)
        for name, value in logits.items():
            probs[name].append(value.softmax(dim=1))
    return torch.cat(feats), {name: torch.cat(v) for name, v in probs.items()}


@torch.no_grad()
def head_accuracy(net: JudgeNet, images: torch.Tensor, labels: np.ndarray) -> dict[str, float]:
    """Per-attribute accuracy of the judge on labelled images (to show it can be trusted)."""
    _, probs = judge(net, images)
    y = torch.as_tensor(labels)
    return {name: float((p.argmax(1) == y[:, i]).float().mean()) for i, (name, p) in enumerate(probs.items())}
