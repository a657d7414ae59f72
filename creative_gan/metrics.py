"""Distribution distances between feature sets, shared by every pipeline's evaluator.

Features come from a network the pipeline trains on its own real data (no downloaded Inception
weights); always report a figure beside the same figure for two real splits.
"""
from __future__ import annotations

import numpy as np


def _as_array(features) -> np.ndarray:
    """float64 ``[N, D]`` from a numpy array or a (CPU or device) torch tensor."""
    if hasattr(features, "detach"):
        features = features.detach().to("cpu").double().numpy()
    emb = np.asarray(features, dtype=np.float64)
    if emb.ndim != 2 or len(emb) < 2:
        raise ValueError(f"need features [N >= 2, D], got shape {emb.shape}")
    return emb


def gaussian_stats(features) -> tuple[np.ndarray, np.ndarray]:
    """Mean ``[D]`` and covariance ``[D, D]`` (float64, unbiased) of ``features [N >= 2, D]``."""
    emb = _as_array(features)
    return emb.mean(0), np.cov(emb, rowvar=False).reshape(emb.shape[1], emb.shape[1])


def frechet_distance_from_stats(mean_a, cov_a, mean_b, cov_b, ridge: float = 1e-6) -> float:
    """‖μa − μb‖² + tr(Σa + Σb − 2 (Σa^½ Σb Σa^½)^½), ``ridge`` × mean variance added to both diagonals.

    Eigen-based and symmetric at every step (no complex sqrtm residue); the ridge keeps rank-deficient
    covariances (fewer samples than dimensions) well-posed. Result ≥ 0, in squared feature units.
    """
    mean_a, mean_b = np.asarray(mean_a, np.float64), np.asarray(mean_b, np.float64)
    cov_a, cov_b = np.asarray(cov_a, np.float64), np.asarray(cov_b, np.float64)
    dim = len(mean_a)
    eps = ridge * max((np.trace(cov_a) + np.trace(cov_b)) / (2 * dim), 1e-12)
    cov_a, cov_b = cov_a + eps * np.eye(dim), cov_b + eps * np.eye(dim)
    values, vectors = np.linalg.eigh((cov_a + cov_a.T) / 2)
    sqrt_a = (vectors * np.sqrt(np.clip(values, 0, None))) @ vectors.T
    middle = sqrt_a @ cov_b @ sqrt_a
    trace_sqrt = np.sqrt(np.clip(np.linalg.eigvalsh((middle + middle.T) / 2), 0, None)).sum()
    distance = ((mean_a - mean_b) ** 2).sum() + np.trace(cov_a) + np.trace(cov_b) - 2.0 * trace_sqrt
    return float(max(distance, 0.0))


def frechet_distance(features_a, features_b, ridge: float = 1e-6) -> float:
    """Fréchet distance between Gaussians fitted to ``features_a [N, D]`` and ``features_b [M, D]``.

    Biased upwards for small N, M: compare only figures computed with similar sample counts.
    """
    return frechet_distance_from_stats(*gaussian_stats(features_a), *gaussian_stats(features_b), ridge=ridge)


def kernel_inception_distance(features_a, features_b, subsets: int = 10, subset_size: int = 100,
                              seed: int = 0) -> tuple[float, float]:
    """KID (Bińkowski et al. 2018): unbiased MMD² with the cubic kernel (x·y/D + 1)³.

    Averaged over ``subsets`` random subsets of ``min(subset_size, N, M)`` rows; returns (mean, std).
    Unbiased, so small sample counts are fine and two samples of one distribution give ≈ 0.
    """
    a, b = _as_array(features_a), _as_array(features_b)
    if a.shape[1] != b.shape[1]:
        raise ValueError(f"feature sizes differ: {a.shape[1]} vs {b.shape[1]}")
    m = min(subset_size, len(a), len(b))
    dim = a.shape[1]
    rng = np.random.default_rng(seed)
    values = []
    for _ in range(subsets):
        x = a[rng.choice(len(a), m, replace=False)]
        y = b[rng.choice(len(b), m, replace=False)]
        k_xx = (x @ x.T / dim + 1) ** 3
        k_yy = (y @ y.T / dim + 1) ** 3
        k_xy = (x @ y.T / dim + 1) ** 3
        mmd = ((k_xx.sum() - np.trace(k_xx)) / (m * (m - 1))
               + (k_yy.sum() - np.trace(k_yy)) / (m * (m - 1))
               - 2 * k_xy.mean())
        values.append(mmd)
    return float(np.mean(values)), float(np.std(values))
