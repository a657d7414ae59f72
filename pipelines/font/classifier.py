"""The 62-way character classifier the evaluator scores generated glyphs with.

Trained on real corpus glyphs (small random shifts, so it does not key on exact placement); its
penultimate layer (``[B, 256]``) is the feature space for the Fréchet distance, as GANSynth used its
pitch classifier. Input: glyphs ``[B, 1, S, S]`` in [-1, 1] (ink +1) of any S (resized to 32).
"""
from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from .charset import NUM_CHARS

INPUT_SIZE = 32
FEATURE_DIM = 256


class GlyphClassifier(nn.Module):
    def __init__(self):
        super().__init__()
        self.body = nn.Sequential(
            nn.Conv2d(1, 32, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
            nn.Conv2d(32, 64, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
            nn.Conv2d(64, 128, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
            nn.Flatten(), nn.Linear(128 * 16, FEATURE_DIM), nn.ReLU())
        self.head = nn.Linear(FEATURE_DIM, NUM_CHARS)

    def features(self, x: torch.Tensor) -> torch.Tensor:
        """``[B, 1, S, S]`` → ``[B, 256]``."""
        if x.shape[-1] != INPUT_SIZE:
            x = F.interpolate(x.float(), size=(INPUT_SIZE, INPUT_SIZE), mode="area" if x.shape[-1] > INPUT_SIZE
                              else "bilinear")
        return self.body(x.float())

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.features(x))


def _shift(x: torch.Tensor, rng: torch.Generator, pixels: int = 2) -> torch.Tensor:
    """Random integer translation by up to ``pixels`` (at 32-px scale), paper filled in."""
    dx, dy = (torch.randint(-pixels, pixels + 1, (2,), generator=rng) * max(1, x.shape[-1] // INPUT_SIZE)).tolist()
    return torch.roll(x, shifts=(dy, dx), dims=(2, 3))


def train_classifier(glyphs: np.ndarray, epochs: int = 4, batch_size: int = 256, seed: int = 0,
                     progress: bool = True) -> GlyphClassifier:
    """Fit on ``uint8 [F, 62, S, S]`` real glyphs (ink 255); deterministic for a seed."""
    from tqdm.auto import tqdm

    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        model = GlyphClassifier()
    x = torch.from_numpy(glyphs.reshape(-1, 1, *glyphs.shape[-2:]).astype(np.float32) / 127.5 - 1.0)
    x = F.interpolate(x, size=(INPUT_SIZE, INPUT_SIZE), mode="area") if x.shape[-1] > INPUT_SIZE else x
    y = torch.arange(NUM_CHARS).repeat(glyphs.shape[0])
    rng = torch.Generator().manual_seed(seed)
    optimiser = torch.optim.Adam(model.parameters(), lr=1e-3)
    steps = epochs * ((len(x) + batch_size - 1) // batch_size)
    bar = tqdm(total=steps, desc="training glyph classifier", disable=not progress)
    model.train()
    for _ in range(epochs):
        order = torch.randperm(len(x), generator=rng)
        for start in range(0, len(x), batch_size):
            idx = order[start:start + batch_size]
            loss = F.cross_entropy(model(_shift(x[idx], rng)), y[idx])
            optimiser.zero_grad()
            loss.backward()
            optimiser.step()
            bar.update(1)
    bar.close()
    return model.eval().requires_grad_(False)


@torch.no_grad()
def classify(model: GlyphClassifier, images, batch_size: int = 1024) -> tuple[np.ndarray, np.ndarray]:
    """``[N, 1, S, S]`` in [-1, 1] → (predicted character index ``[N]``, features ``[N, 256]``)."""
    images = torch.as_tensor(np.asarray(images, dtype=np.float32))
    preds, feats = [], []
    for start in range(0, len(images), batch_size):
        f = model.features(images[start:start + batch_size])
        feats.append(f.numpy())
        preds.append(model.head(f).argmax(dim=1).numpy())
    return np.concatenate(preds), np.concatenate(feats)
