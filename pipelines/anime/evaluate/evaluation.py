"""Scoring an anime-faces model against real images, every figure beside its real-vs-real reference.

Real images come from ``--data DIR`` (a corpus) or, for a model trained on procedural faces, from
the procedural generator (the training set is redrawn from the model's recorded seed and count; held-out
faces use other seeds). The evaluator then:

1. trains its judge network on real images (:mod:`.judge`);
2. Fréchet distance and KID of the judge's features (centred and scaled by real split A): samples vs real
   split A, beside real split B vs A (same counts);
3. attribute coverage (corpora with attributes): the share of the real data's hair colour × eye colour
   combinations that at least ``min_count`` samples are judged to have, beside the same for split B;
4. nearest-neighbour distances (RMS per pixel at 32×32, [-1, 1] units) from each sample to the training
   images, beside the same for real images not in the set (procedural) or leave-one-out (a corpus):
   samples that copied training images would sit far below the real reference.
"""
from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F

from creative_gan.errors import UsageError
from creative_gan.metrics import frechet_distance, kernel_inception_distance

from ..data.corpus import AnimeCorpus, to_tensor
from .judge import head_accuracy, judge, train_judge
from ..data.procedural import ATTRIBUTES, render_corpus

COVERAGE_ATTRIBUTES = ("hair_colour", "eye_colour")
#: procedural seeds of the evaluator's held-out real faces (training corpora use small seeds)
HELD_OUT_SEED = 1_000_003


def _real_sets(pipe, data: str | None, num_samples: int, judge_images: int, progress: bool):
    """``(train_images, train_labels | None, attributes, reference_pool, pool_labels, pool_in_training)``."""
    size = pipe.image_size
    if data:
        corpus = AnimeCorpus.from_folder(data, size)
        images = to_tensor(corpus.images, size)
        if len(images) < 20:
            raise UsageError(f"{data}: {len(images)} images are too few to evaluate against (need 20)")
        return images, corpus.labels, corpus.attributes, images, corpus.labels, True
    provenance = pipe.dataset
    if provenance.get("source") != "procedural":
        raise UsageError("this model was not trained on procedural faces: give its corpus with --data DIR")
    draw = int(provenance.get("size", 64))
    train_images, _ = render_corpus(int(provenance.get("count", 6000)), int(provenance.get("procedural_seed", 0)),
                                    draw, progress)
    pool, pool_labels = render_corpus(judge_images + 2 * num_samples, HELD_OUT_SEED, draw, progress)
    attributes = {k: list(v) for k, v in ATTRIBUTES.items()}
    return to_tensor(train_images, size), None, attributes, to_tensor(pool, size), pool_labels, False


def _flat32(x: torch.Tensor) -> torch.Tensor:
    x = x.float()
    if x.shape[-1] != 32:
        x = F.interpolate(x, size=(32, 32), mode="area")
    return x.reshape(len(x), -1)


def nearest_distances(queries: torch.Tensor, bank: torch.Tensor, exclude: torch.Tensor | None = None) -> np.ndarray:
    """RMS-per-pixel L2 distance at 32×32 from each of ``queries [N, 3, S, S]`` to its nearest in ``bank``.

    ``exclude`` (``LongTensor[N]``): for query ``i`` ignore ``bank[exclude[i]]`` (leave-one-out when the
    queries are bank images themselves).
    """
    q, b = _flat32(queries), _flat32(bank)
    b_sq = (b * b).sum(1)
    out = []
    for start in range(0, len(q), 256):
        chunk = q[start:start + 256]
        d2 = (chunk * chunk).sum(1, keepdim=True) + b_sq[None] - 2 * chunk @ b.T
        if exclude is not None:
            d2[torch.arange(len(chunk)), exclude[start:start + 256]] = float("inf")
        out.append(d2.clamp_min(0).min(1).values)
    return (torch.cat(out) / q.shape[1]).sqrt().numpy()


def coverage(probs: dict[str, torch.Tensor], present: set[tuple[int, int]], min_count: int) -> tuple[float, dict]:
    """Share of ``present`` (hair, eye) cells that at least ``min_count`` judged samples fall in."""
    hair = probs[COVERAGE_ATTRIBUTES[0]].argmax(1).tolist()
    eye = probs[COVERAGE_ATTRIBUTES[1]].argmax(1).tolist()
    counts: dict[tuple[int, int], int] = {}
    for cell in zip(hair, eye):
        counts[cell] = counts.get(cell, 0) + 1
    hit = sum(1 for cell in present if counts.get(cell, 0) >= min_count)
    return hit / max(len(present), 1), counts


def evaluate_pipeline(pipe, data: str | None = None, num_samples: int = 1000, first_seed: int = 0,
                      truncation: float = 1.0, judge_images: int = 3000, judge_steps: int = 400,
                      min_count: int = 3, progress: bool = True, judge_net=None) -> dict:
    """Every figure of the module docstring, as a flat plain dict (headline figures first).

    ``judge_net``: an already trained :class:`~.judge.JudgeNet` for this kind of real data (skips
    training one; tests share one between generators).
    """
    if num_samples < 20:
        raise UsageError(f"--num-samples must be at least 20 (got {num_samples})")
    train_images, _, attributes, pool, pool_labels, pool_in_training = _real_sets(
        pipe, data, num_samples, judge_images, progress)
    generator = torch.Generator().manual_seed(12345)
    order = torch.randperm(len(pool), generator=generator)
    if pool_in_training:  # a corpus: the judge trains on all of it; A and B are two disjoint halves
        half = min(num_samples, len(pool) // 2)
        judge_idx, a_idx, b_idx = order, order[:half], order[half:2 * half]
    else:
        judge_idx = order[:judge_images]
        a_idx = order[judge_images:judge_images + num_samples]
        b_idx = order[judge_images + num_samples:judge_images + 2 * num_samples]
    labels = pool_labels[judge_idx.numpy()] if pool_labels is not None else None
    sizes = {name: len(values) for name, values in attributes.items()} if labels is not None else {}
    net = judge_net or train_judge(pool[judge_idx], labels, sizes, steps=judge_steps, progress=progress)

    count = len(a_idx)
    samples = pipe.generate(seeds=range(first_seed, first_seed + count), truncation=truncation, as_tensor=True)
    feat_s, probs_s = judge(net, samples)
    feat_a, _ = judge(net, pool[a_idx])
    feat_b, probs_b = judge(net, pool[b_idx])
    # centre on real split A and divide by its overall RMS spread (one scalar: per-feature scaling would
    # blow up rarely active units): the same map for all three sets keeps KID's cubic kernel in range
    centre = feat_a.mean(0)
    spread = (feat_a - centre).pow(2).mean().sqrt().clamp_min(1e-6)
    feat_s, feat_a, feat_b = ((f - centre) / spread for f in (feat_s, feat_a, feat_b))
    kid, kid_std = kernel_inception_distance(feat_s, feat_a, subset_size=min(100, count))
    kid_ref, _ = kernel_inception_distance(feat_b, feat_a, subset_size=min(100, count))
    metrics: dict = {
        "frechet_distance": frechet_distance(feat_s, feat_a),
        "frechet_distance_real": frechet_distance(feat_b, feat_a),
        "kid": kid, "kid_std": kid_std, "kid_real": kid_ref,
    }
    if labels is not None and all(name in attributes for name in COVERAGE_ATTRIBUTES):
        columns = list(attributes)
        hair_col, eye_col = (columns.index(name) for name in COVERAGE_ATTRIBUTES)
        present = {(int(h), int(e)) for h, e in pool_labels[:, [hair_col, eye_col]]}
        cov, counts = coverage(probs_s, present, min_count)
        cov_ref, _ = coverage(probs_b, present, min_count)
        metrics.update({
            "attribute_coverage": cov, "attribute_coverage_real": cov_ref,
            "attribute_combinations": len(present), "coverage_min_count": min_count,
            "most_common_combination_share": max(counts.values()) / count,
        })
        accuracy = head_accuracy(net, pool[b_idx], pool_labels[b_idx.numpy()])
        metrics.update({f"judge_accuracy_{name}": accuracy[name] for name in COVERAGE_ATTRIBUTES})
    else:
        metrics["attribute_coverage"] = None  # an unlabelled corpus has no attributes to cover
    nn_samples = nearest_distances(samples, train_images)
    # real reference: held-out faces (procedural) or leave-one-out within the corpus
    nn_real = nearest_distances(pool[b_idx], train_images, exclude=b_idx if pool_in_training else None)
    metrics.update({
        "nn_distance_median": float(np.median(nn_samples)),
        "nn_distance_real_median": float(np.median(nn_real)),
        "nn_distance_p05": float(np.percentile(nn_samples, 5)),
        "nn_distance_real_p05": float(np.percentile(nn_real, 5)),
        "num_samples": count, "truncation": truncation, "real_source": "corpus" if data else "procedural",
    })
    return metrics
