"""The evaluator's own network: a small CNN trained on the *real* corpus, whose features score samples.

No Inception weights can be downloaded, so (as GANSynth did with a pitch classifier) the evaluator
trains a network on the real images it compares against:

- corpora with attributes (procedural faces): one softmax head per attribute (hair colour, eye
  colour, …); the same network then *judges* the attributes of generated faces;
- plain image folders (no labels): a self-supervised rotation head (0/90/180/270°, Gidaris et al.
  2018), so its features still describe faces.

Input ``[B, 3, S, S]`` in [-1, 1] (area-resized to 32×32 inside); features ``[B, 128]``.
Training uses light blur/shift augmentation so that slightly soft GAN samples are judged fairly.
"""
from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

INPUT_SIZE = 32
FEATURE_DIM = 128
ROTATION_HEAD = "rotation"


class JudgeNet(nn.Module):
    """``x [B, 3, S, S] -> (features [B, 128], {head: logits [B, classes]})``."""

    def __init__(self, heads: dict[str, int]):
        super().__init__()
        self.trunk = nn.Sequential(
            nn.Conv2d(3, 32, 3, 1, 1), nn.ReLU(inplace=True),
            nn.Conv2d(32, 64, 4, 2, 1), nn.BatchNorm2d(64), nn.ReLU(inplace=True),     # 16×16
            nn.Conv2d(64, 128, 4, 2, 1), nn.BatchNorm2d(128), nn.ReLU(inplace=True),   # 8×8
            nn.Conv2d(128, 128, 4, 2, 1), nn.BatchNorm2d(128), nn.ReLU(inplace=True),  # 4×4
            nn.Flatten(), nn.Linear(128 * 16, FEATURE_DIM), nn.ReLU(inplace=True),
        )
        self.heads = nn.ModuleDict({name: nn.Linear(FEATURE_DIM, n) for name, n in heads.items()})

    @staticmethod
    def prepare(x: torch.Tensor) -> torch.Tensor:
        x = x.float()
        if x.shape[-1] != INPUT_SIZE:
            x = F.interpolate(x, size=(INPUT_SIZE, INPUT_SIZE), mode="area")
        return x

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        features = self.trunk(self.prepare(x))
        return features, {name: head(features) for name, head in self.heads.items()}


def _augment(x: torch.Tensor, rng: torch.Generator) -> torch.Tensor:
    """Random soft blur on half the batch and a random shift of up to 2 px (at 32×32)."""
    blurred = F.avg_pool2d(x, 3, 1, 1, count_include_pad=False)
    pick = (torch.rand(x.shape[0], 1, 1, 1, generator=rng) < 0.5).to(x.dtype)
    x = pick * blurred + (1 - pick) * x
    dy, dx = (int(v) for v in torch.randint(-2, 3, (2,), generator=rng))
    return torch.roll(x, shifts=(dy, dx), dims=(2, 3))


def _rotations(x: torch.Tensor, rng: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
    labels = torch.randint(0, 4, (x.shape[0],), generator=rng)
    rotated = torch.stack([torch.rot90(img, int(k), dims=(1, 2)) for img, k in zip(x, labels)])
    return rotated, labels


def train_judge(images: torch.Tensor, labels: np.ndarray | None, attribute_sizes: dict[str, int],
                epochs: int = 4, batch_size: int = 64, seed: int = 0, progress: bool = True) -> JudgeNet:
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
    optimiser = torch.optim.Adam(net.parameters(), lr=2e-3)
    steps_per_epoch = max(1, len(x_all) // batch_size)
    net.train()
    bar = tqdm(total=epochs * steps_per_epoch, desc="training the judge network", disable=not progress)
    for epoch in range(epochs):
        order = torch.randperm(len(x_all), generator=rng)
        for step in range(steps_per_epoch):
            idx = order[step * batch_size:(step + 1) * batch_size]
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
            bar.update(1)
        for group in optimiser.param_groups:  # a simple step decay: the last epochs settle
            group["lr"] *= 0.6
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
