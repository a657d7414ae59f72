"""The trainer's batch stream: seeded per-rank epochs, resumable mid-epoch, optional loader workers.

In-memory datasets that define ``get_batch(indices)`` are sliced directly on the training thread
(the fast path: no collation, no processes). Other datasets (image folders that decode JPEGs, crop
faces …) go through a ``DataLoader`` with ``num_workers`` worker processes, pinned memory on CUDA
and persistent workers, so decoding overlaps the GPU's work.

Either way the order of samples depends only on ``(seed, epoch, rank, world)``: the stream's
position (``epoch``, ``position`` in the epoch) is what a checkpoint stores, and batches a worker
had prefetched but the trainer had not used are simply read again after a resume.
"""
from __future__ import annotations

from typing import Iterator

import torch
from torch.utils.data import DataLoader, Dataset, DistributedSampler, default_collate

from .errors import UsageError

Batch = dict[str, torch.Tensor]


class _EpochBatches:
    """Batch sampler over the rest of the stream's current epoch (read when iteration starts)."""

    def __init__(self, stream: "BatchStream"):
        self.stream = stream

    def __iter__(self) -> Iterator[list[int]]:
        indices, size = self.stream.epoch_indices(), self.stream.batch_size
        for start in range(self.stream.position, len(indices) - size + 1, size):
            yield indices[start:start + size]

    def __len__(self) -> int:
        indices = self.stream.epoch_indices()
        return max(0, (len(indices) - self.stream.position) // self.stream.batch_size)


class BatchStream:
    """Endless batches of ``batch_size`` items for this rank; ``epoch``/``position`` say where it is.

    Args:
        dataset: items ``{"x": Tensor, <condition>: Tensor}``; optional ``get_batch(indices) -> Batch``.
        num_workers: loader processes for datasets without ``get_batch`` (0 = read in this process).
        pin_memory: page-locked host batches (set when training on CUDA).
    """

    def __init__(self, dataset: Dataset, batch_size: int, seed: int, rank: int = 0, world: int = 1,
                 num_workers: int = 0, pin_memory: bool = False):
        self.dataset, self.batch_size = dataset, int(batch_size)
        self.sampler = DistributedSampler(dataset, num_replicas=world, rank=rank, shuffle=True,
                                          seed=seed, drop_last=True)
        if len(self.sampler) < self.batch_size:
            raise UsageError(f"dataset has {len(dataset)} items, fewer than one batch of "
                             f"{self.batch_size} per process")
        self.epoch = self.position = 0
        self._indices: list[int] | None = None
        self._iterator = None
        self.loader = None
        if num_workers < 0:
            raise UsageError(f"num_workers must be at least 0 (got {num_workers})")
        if num_workers > 0 and not hasattr(dataset, "get_batch"):
            self.loader = DataLoader(dataset, batch_sampler=_EpochBatches(self), num_workers=num_workers,
                                     pin_memory=pin_memory, persistent_workers=True)

    def epoch_indices(self) -> list[int]:
        """This rank's shuffled indices for the current epoch."""
        if self._indices is None:
            self.sampler.set_epoch(self.epoch)
            self._indices = list(self.sampler)
        return self._indices

    def fetch(self, indices: list[int]) -> Batch:
        """Collate the items ``indices`` on this thread (previews, monitor, the no-worker path)."""
        if hasattr(self.dataset, "get_batch"):
            return self.dataset.get_batch(indices)
        return default_collate([self.dataset[i] for i in indices])

    def next(self) -> Batch:
        """The next batch (CPU tensors), moving to the next epoch when this one is used up."""
        while True:
            if self.loader is not None:
                if self._iterator is None:
                    self._iterator = iter(self.loader)
                batch = next(self._iterator, None)
                if batch is not None:
                    self.position += self.batch_size
                    return batch
            else:
                indices = self.epoch_indices()
                if self.position + self.batch_size <= len(indices):
                    batch = indices[self.position:self.position + self.batch_size]
                    self.position += self.batch_size
                    return self.fetch(batch)
            self.epoch, self.position, self._indices, self._iterator = self.epoch + 1, 0, None, None

    def seek(self, epoch: int, position: int) -> None:
        """Continue from ``position`` items into ``epoch`` (after a resume or a rollback)."""
        self.epoch, self.position, self._indices, self._iterator = int(epoch), int(position), None, None

    def close(self) -> None:
        """Stop loader workers (they would otherwise live until the stream is garbage-collected)."""
        self._iterator = None
        if self.loader is not None:
            self.loader = None
