"""Loading training batches: the compact anime corpus (one .npy + index) vs decoding a PNG folder.

Both sides hold the same N procedural faces: once as a folder of PNG files (what people bring), once as
the corpus ``creative-gan data anime`` writes. Each side builds random batches of 64 as
``FloatTensor[64, 3, 64, 64]`` in [-1, 1]; rounds alternate so drifting machine load hits both alike.
Prints batches/s of each and the ratio (corpus / folder).

    OMP_NUM_THREADS=1 python benchmarks/anime_corpus_load.py [--images 1000] [--rounds 3]
"""
from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np
import torch
from PIL import Image

from creative_gan.pipelines.anime.data.corpus import AnimeCorpus
from creative_gan.pipelines.anime.data.folder import build_folder_corpus
from creative_gan.pipelines.anime.data.procedural import render_corpus
from creative_gan.threads import configure_threads

BATCH = 64


def folder_batches(paths: list[Path], batches: int, rng: np.random.Generator) -> float:
    """Seconds to decode ``batches`` random batches from PNG files (the reference)."""
    start = time.perf_counter()
    for _ in range(batches):
        pick = rng.choice(len(paths), BATCH, replace=False)
        arrays = [np.asarray(Image.open(paths[i]).convert("RGB")) for i in pick]
        x = torch.from_numpy(np.stack(arrays)).permute(0, 3, 1, 2).float() / 127.5 - 1
        assert x.shape == (BATCH, 3, 64, 64)
    return time.perf_counter() - start


def corpus_batches(folder: Path, batches: int, rng: np.random.Generator) -> float:
    """Seconds to open the compact corpus and fetch ``batches`` random batches."""
    start = time.perf_counter()
    corpus = AnimeCorpus.from_folder(folder, 64)
    for _ in range(batches):
        x = corpus.get_batch(rng.choice(len(corpus), BATCH, replace=False))["x"]
        assert x.shape == (BATCH, 3, 64, 64)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", type=int, default=1000)
    parser.add_argument("--batches", type=int, default=30)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    configure_threads(inference=True)
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        images, _ = render_corpus(args.images, seed=0, progress=False)
        (root / "png").mkdir()
        paths = []
        for i, image in enumerate(images):
            paths.append(root / "png" / f"{i:05d}.png")
            Image.fromarray(image).save(paths[-1])
        build_folder_corpus(root / "png", root / "corpus", size=64, progress=False)
        folder_s, corpus_s = [], []
        for r in range(args.rounds):
            folder_s.append(folder_batches(paths, args.batches, np.random.default_rng(r)))
            corpus_s.append(corpus_batches(root / "corpus", args.batches, np.random.default_rng(r)))
    folder_rate = args.batches / statistics.median(folder_s)
    corpus_rate = args.batches / statistics.median(corpus_s)
    print(f"PNG folder (reference): {folder_rate:8.1f} batches/s")
    print(f"compact corpus:         {corpus_rate:8.1f} batches/s (open + fetch)")
    print(f"ratio corpus / folder:  {corpus_rate / folder_rate:8.2f}x")


if __name__ == "__main__":
    main()
