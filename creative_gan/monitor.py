"""Mode-collapse monitor: how spread out G's samples are, relative to real data.

``diversity_ratio`` = mean pairwise distance between features of generated samples divided by the
same figure for a real batch. Near 1: as varied as the data; near 0: every z gives the same output.
"""
from __future__ import annotations

import torch


def mean_pairwise_distance(features: torch.Tensor) -> float:
    """Mean Euclidean distance over all distinct pairs of rows of ``features [N, F]``."""
    f = features.float().reshape(features.shape[0], -1)
    if f.shape[0] < 2:
        return 0.0
    d = torch.cdist(f, f)
    n = f.shape[0]
    return float(d.sum() / (n * (n - 1)))


class CollapseMonitor:
    """Compares G's sample spread against a fixed real batch's; warns under ``threshold``."""

    def __init__(self, real_features: torch.Tensor, threshold: float = 0.2):
        self.real_spread = max(mean_pairwise_distance(real_features), 1e-12)
        self.threshold = threshold
        self.warned = False

    def ratio(self, fake_features: torch.Tensor) -> float:
        return mean_pairwise_distance(fake_features) / self.real_spread

    def collapsed(self, ratio: float) -> bool:
        return ratio < self.threshold
