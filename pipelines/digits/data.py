"""scikit-learn's bundled 8×8 digits as a torch dataset: 1,797 images, upsampled, scaled to [-1, 1].

No downloads: :func:`sklearn.datasets.load_digits` reads a file shipped inside scikit-learn.
Images are upsampled bilinearly from 8×8 to ``image_size`` (8, 16 or 32) and mapped from the
original 0–16 ink scale to [-1, 1] (-1 = background, +1 = full ink).

The train / held-out split is a seeded permutation, so every process (trainer, evaluator, tests)
agrees on which digits the generator saw.
"""
from __future__ import annotations

from functools import lru_cache

import numpy as np
import torch
import torch.nn.functional as F
from torch.utils.data import Dataset

from creative_gan.errors import UsageError

IMAGE_SIZES = (8, 16, 32)
NUM_CLASSES = 10
SOURCE = "sklearn.datasets.load_digits (UCI optical recognition of handwritten digits, 8x8, values 0-16)"
DEFAULT_HELD_OUT_FRACTION = 0.2
DEFAULT_SPLIT_SEED = 0
SPLITS = ("train", "held_out", "all")


@lru_cache(maxsize=1)
def load_digit_arrays() -> tuple[np.ndarray, np.ndarray]:
    """The raw digits: ``(images float32 [1797, 8, 8] in 0–16, labels int64 [1797])``."""
    from sklearn.datasets import load_digits

    bunch = load_digits()
    images = np.asarray(bunch.images, dtype=np.float32)
    labels = np.asarray(bunch.target, dtype=np.int64)
    images.setflags(write=False)
    labels.setflags(write=False)
    return images, labels


def check_image_size(image_size: int) -> int:
    """Return ``image_size`` as an int, or raise :class:`UsageError` if it is not 8, 16 or 32."""
    if int(image_size) not in IMAGE_SIZES:
        raise UsageError(f"digits image_size must be one of {IMAGE_SIZES} (got {image_size})")
    return int(image_size)


def prepare_images(images_0_16: np.ndarray | torch.Tensor, image_size: int) -> torch.Tensor:
    """Raw 8×8 digits ``[N, 8, 8]`` (0–16) -> ``FloatTensor[N, 1, S, S]`` in [-1, 1]."""
    image_size = check_image_size(image_size)
    x = torch.tensor(np.asarray(images_0_16), dtype=torch.float32).reshape(-1, 1, 8, 8)  # a copy
    x = x / 8.0 - 1.0
    if image_size != 8:
        x = F.interpolate(x, size=(image_size, image_size), mode="bilinear", align_corners=False)
    return x.clamp_(-1.0, 1.0).contiguous()


@lru_cache(maxsize=8)
def _all_images(image_size: int) -> torch.Tensor:
    """Every digit at ``image_size``, cached per process: ``[1797, 1, S, S]``."""
    images, _ = load_digit_arrays()
    return prepare_images(images, image_size)


def split_indices(num_items: int, held_out_fraction: float = DEFAULT_HELD_OUT_FRACTION,
                  seed: int = DEFAULT_SPLIT_SEED) -> tuple[np.ndarray, np.ndarray]:
    """Split ``range(num_items)`` into sorted ``(train, held_out)`` index arrays by a seeded permutation."""
    if not 0.0 < held_out_fraction < 1.0:
        raise UsageError(f"held_out_fraction must be in (0, 1) (got {held_out_fraction})")
    order = np.random.default_rng(seed).permutation(num_items)
    num_held_out = int(round(num_items * held_out_fraction))
    return np.sort(order[num_held_out:]), np.sort(order[:num_held_out])


class DigitsDataset(Dataset):
    """The digits (one split) as ``{"x": FloatTensor[1, S, S] in [-1, 1]}`` items.

    ``with_labels=False`` (the default, used for training the unconditional GAN) yields only
    ``"x"``, so the trainer hands no condition to G or D. ``with_labels=True`` adds
    ``"label": LongTensor[]`` (0–9) for evaluation; the labels are also always on ``.labels``.

    Attributes:
        images: ``FloatTensor[N, 1, S, S]`` in [-1, 1] (the whole split, in memory).
        labels: ``LongTensor[N]``.
        indices: positions of this split's items in ``load_digits()`` order.
    """

    def __init__(self, image_size: int = 16, split: str = "train", with_labels: bool = False,
                 held_out_fraction: float = DEFAULT_HELD_OUT_FRACTION, split_seed: int = DEFAULT_SPLIT_SEED):
        if split not in SPLITS:
            raise UsageError(f"digits split must be one of {SPLITS} (got {split!r})")
        self.image_size = check_image_size(image_size)
        self.split = split
        self.with_labels = with_labels
        self.held_out_fraction = float(held_out_fraction)
        self.split_seed = int(split_seed)
        _, labels = load_digit_arrays()
        if split == "all":
            indices = np.arange(len(labels))
        else:
            train, held_out = split_indices(len(labels), held_out_fraction, split_seed)
            indices = train if split == "train" else held_out
        self.indices = indices
        index_tensor = torch.as_tensor(indices, dtype=torch.long)
        self.images = _all_images(self.image_size).index_select(0, index_tensor)
        self.labels = torch.as_tensor(labels[indices], dtype=torch.long)

    def __len__(self) -> int:
        return len(self.indices)

    def __getitem__(self, i: int) -> dict[str, torch.Tensor]:
        item = {"x": self.images[i]}
        if self.with_labels:
            item["label"] = self.labels[i]
        return item

    def get_batch(self, indices) -> dict[str, torch.Tensor]:
        """Fast path: ``{"x": [B, 1, S, S]}`` (+ ``"label": [B]`` when ``with_labels``) for ``indices``."""
        index_tensor = torch.as_tensor(np.asarray(indices), dtype=torch.long).reshape(-1)
        batch = {"x": self.images.index_select(0, index_tensor)}
        if self.with_labels:
            batch["label"] = self.labels.index_select(0, index_tensor)
        return batch

    def provenance(self) -> dict:
        """Plain-JSON description of this data for release configs and model cards."""
        return {
            "dataset": "sklearn-digits",
            "source": SOURCE,
            "split": self.split,
            "num_images": len(self),
            "image_size": self.image_size,
            "held_out_fraction": self.held_out_fraction,
            "split_seed": self.split_seed,
            "preprocessing": "x/8-1 (0-16 ink -> [-1,1]), bilinear upsample from 8x8",
        }
