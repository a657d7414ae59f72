"""Measure a digit generator with a small CNN digit classifier trained on the real train split.

Figures (for generated samples, and as ``real_*`` for the held-out real digits, the reference):

- ``coverage``: how many of the 10 classes the samples hit. A class counts when at least
  ``max(2, 1% of the samples)`` samples are *predicted* (argmax) as that class. A collapsed
  generator scores 1; a healthy one 10.
- ``class_entropy``: entropy in nats of the predicted-class histogram (uniform = ln 10 ≈ 2.303;
  one class = 0).
- ``confident_fraction``: share of samples whose top class probability is ≥ 0.9 (legibility). A
  coarse gauge: the classifier is also ≥ 0.9 sure of ~30% of random smooth blobs, so read it
  beside ``frechet_distance``, which does separate blobs from digits.
- ``frechet_distance``: Fréchet distance (:func:`creative_gan.metrics.frechet_distance_from_stats`)
  between Gaussians fitted to the classifier's penultimate features ``[N, 128]`` of the samples and
  of the real *train* split (what G was trained on). It is biased upwards for small N; compare
  figures computed with similar sample counts.

The classifier is trained deterministically (seeded, ~15 s on one CPU core) once per image size and
process, and cached in memory. Torch's thread count is the caller's choice (the CLI sets it once).
"""
from __future__ import annotations

import math
import time
from dataclasses import dataclass
from functools import lru_cache

import torch
import torch.nn.functional as F
from torch import nn

from creative_gan.metrics import frechet_distance_from_stats, gaussian_stats

from .data import NUM_CLASSES, DigitsDataset, check_image_size

CONFIDENCE_THRESHOLD = 0.9
COVERAGE_MIN_SHARE = 0.01
COVERAGE_MIN_COUNT = 2
FEATURE_DIM = 128


class DigitClassifier(nn.Module):
    """``x [B, 1, S, S] in [-1, 1] -> logits [B, 10]``; ``features(x) -> [B, 128]`` (penultimate).

    Inputs larger than 8×8 are area-averaged down to 8×8 first: the digits carry no more detail
    than that (they are upsampled 8×8 scans), and it keeps training to seconds on a CPU.
    """

    def __init__(self, width: int = 32):
        super().__init__()
        self.body = nn.Sequential(
            nn.Conv2d(1, width, 3, padding=1), nn.ReLU(inplace=True),
            nn.Conv2d(width, width * 2, 3, padding=1), nn.ReLU(inplace=True),
            nn.MaxPool2d(2),                             # 8×8 -> 4×4
            nn.Flatten(),
            nn.Linear(width * 2 * 16, FEATURE_DIM), nn.ReLU(inplace=True),
        )
        self.head = nn.Linear(FEATURE_DIM, NUM_CLASSES)

    @staticmethod
    def to_input(x: torch.Tensor) -> torch.Tensor:
        """``[B, 1, S, S]`` -> ``[B, 1, 8, 8]`` by area averaging (identity at S = 8)."""
        return x if x.shape[-1] == 8 else F.interpolate(x, size=(8, 8), mode="area")

    def features(self, x: torch.Tensor) -> torch.Tensor:
        return self.body(self.to_input(x))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.features(x))


def _shift_batch(x: torch.Tensor, generator: torch.Generator, max_shift: int) -> torch.Tensor:
    """Translate each image ``[B, 1, S, S]`` by up to ``max_shift`` px each way (background fills in)."""
    if max_shift <= 0:
        return x
    size = x.shape[-1]
    padded = F.pad(x, [max_shift] * 4, value=-1.0)[:, 0]                  # [B, S+2m, S+2m]
    offsets = torch.randint(0, 2 * max_shift + 1, (x.shape[0], 2), generator=generator)
    rows = (offsets[:, 0:1] + torch.arange(size))[:, :, None]              # [B, S, 1]
    cols = (offsets[:, 1:2] + torch.arange(size))[:, None, :]              # [B, 1, S]
    return padded[torch.arange(x.shape[0])[:, None, None], rows, cols].unsqueeze(1)


@dataclass
class TrainedClassifier:
    """A trained :class:`DigitClassifier` with its held-out accuracy and training wall time (s)."""

    model: DigitClassifier
    image_size: int
    held_out_accuracy: float
    train_seconds: float


def train_digit_classifier(image_size: int = 16, epochs: int = 40, batch_size: int = 64,
                           max_shift: int = 1, seed: int = 0) -> TrainedClassifier:
    """Train the classifier on the real train split (seeded; global RNG state left untouched)."""
    image_size = check_image_size(image_size)
    train = DigitsDataset(image_size, "train")
    held_out = DigitsDataset(image_size, "held_out")
    start = time.perf_counter()
    inputs = DigitClassifier.to_input(train.images)                      # [N, 1, 8, 8]
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        model = DigitClassifier()
        rng = torch.Generator().manual_seed(seed)
        optimiser = torch.optim.Adam(model.parameters(), lr=2e-3)
        steps_per_epoch = math.ceil(len(train) / batch_size)
        schedule = torch.optim.lr_scheduler.OneCycleLR(optimiser, 2e-3, total_steps=epochs * steps_per_epoch)
        model.train()
        for _ in range(epochs):
            order = torch.randperm(len(train), generator=rng)
            for i in range(0, len(train), batch_size):
                idx = order[i:i + batch_size]
                x = _shift_batch(inputs[idx], rng, max_shift)
                loss = F.cross_entropy(model(x), train.labels[idx])
                optimiser.zero_grad(set_to_none=True)
                loss.backward()
                optimiser.step()
                schedule.step()
    model.eval().requires_grad_(False)
    probs, _ = classify(model, held_out.images)
    accuracy = float((probs.argmax(1) == held_out.labels).float().mean())
    return TrainedClassifier(model, image_size, accuracy, time.perf_counter() - start)


@lru_cache(maxsize=4)
def get_digit_classifier(image_size: int = 16) -> TrainedClassifier:
    """The per-process cached classifier for ``image_size`` (trained on first use)."""
    return train_digit_classifier(image_size)


@torch.no_grad()
def classify(model: DigitClassifier, images: torch.Tensor, batch_size: int = 500) -> tuple[torch.Tensor, torch.Tensor]:
    """``images [N, 1, S, S]`` -> ``(class probabilities [N, 10], features [N, 128])`` on CPU."""
    probs, feats = [], []
    for chunk in images.detach().float().cpu().split(batch_size):
        f = model.features(chunk)
        feats.append(f)
        probs.append(model.head(f).softmax(dim=1))
    return torch.cat(probs), torch.cat(feats)


def class_metrics(probs: torch.Tensor, min_share: float = COVERAGE_MIN_SHARE,
                  min_count: int = COVERAGE_MIN_COUNT,
                  confidence: float = CONFIDENCE_THRESHOLD) -> dict:
    """Coverage, class entropy (nats), confident fraction and class histogram from ``probs [N, 10]``."""
    n = probs.shape[0]
    counts = torch.bincount(probs.argmax(1), minlength=NUM_CLASSES).double()
    shares = counts / max(n, 1)
    threshold = max(min_count, min_share * n)
    nonzero = shares[shares > 0]
    return {
        "coverage": int((counts >= threshold).sum()),
        "class_entropy": float(-(nonzero * nonzero.log()).sum()),
        "confident_fraction": float((probs.max(1).values >= confidence).double().mean()),
        "class_histogram": [round(float(s), 4) for s in shares],
    }


class DigitsEvaluator:
    """Scores images ``[N, 1, S, S]`` in [-1, 1] against the real digits at one image size."""

    def __init__(self, image_size: int = 16):
        self.image_size = check_image_size(image_size)
        self.classifier = get_digit_classifier(self.image_size)
        train = DigitsDataset(self.image_size, "train")
        self.held_out = DigitsDataset(self.image_size, "held_out", with_labels=True)
        _, train_features = classify(self.classifier.model, train.images)
        self.train_stats = gaussian_stats(train_features)          # (mean [128], covariance [128, 128])
        self._reference: dict | None = None

    def evaluate_images(self, images) -> dict:
        """``coverage``, ``class_entropy``, ``confident_fraction``, ``frechet_distance``, ``class_histogram``.

        ``images``: ``[N, 1, S, S]`` in [-1, 1], a numpy array or a tensor.
        """
        images = torch.as_tensor(images)
        if images.ndim != 4 or tuple(images.shape[1:]) != (1, self.image_size, self.image_size):
            raise ValueError(f"expected images [N, 1, {self.image_size}, {self.image_size}], "
                             f"got {list(images.shape)}")
        probs, features = classify(self.classifier.model, images)
        metrics = class_metrics(probs)
        # ridge 0: the figures this evaluator has always reported (1,000 samples give full-rank covariances)
        metrics["frechet_distance"] = frechet_distance_from_stats(*gaussian_stats(features), *self.train_stats,
                                                                  ridge=0.0)
        metrics["num_samples"] = int(images.shape[0])
        return metrics

    def reference(self) -> dict:
        """The same figures for the held-out real digits, keys prefixed ``real_``."""
        if self._reference is None:
            real = self.evaluate_images(self.held_out.images)
            self._reference = {f"real_{k}": v for k, v in real.items()}
            self._reference["classifier_held_out_accuracy"] = round(self.classifier.held_out_accuracy, 4)
        return dict(self._reference)

    def evaluate_pipeline(self, pipe, num_samples: int = 1000, first_seed: int = 0) -> dict:
        """Generate seeds ``first_seed … first_seed+num_samples-1`` with ``pipe`` and score them."""
        images = pipe.generate(seeds=range(first_seed, first_seed + num_samples))
        return {**self.evaluate_images(images), **self.reference(), "first_seed": first_seed}
