"""The trainer's view of a note corpus: batches of ``{"x", "pitch"[, "velocity"][, "instrument"]}`` in memory."""
from __future__ import annotations

import torch

from ..dsp.spectral import SpectralLayout, audio_to_spec, normalize


class TrainingNotes(torch.utils.data.Dataset):
    """The trainer's view of a :class:`~..data.nsynth.NoteDataset`: ``{"x", "pitch"[, "velocity"]}`` only.

    ``x`` is audio ``[T]`` for harmonic/wave models, or the normalised spectrogram ``[2, F, K]`` of
    the same clip for spectral models (computed once, kept in memory).
    """

    def __init__(self, notes, use_velocity: bool = False, layout: SpectralLayout | None = None,
                 instrument_index: torch.Tensor | None = None):
        self.notes, self.use_velocity, self.layout = notes, use_velocity, layout
        self.instrument_index = instrument_index      # [N] contiguous instrument index, or None
        self.spec = None
        if layout is not None:
            audio = notes.audio[:, :layout.num_samples].float() / 32768.0
            self.spec = torch.cat([normalize(audio_to_spec(chunk, layout))
                                   for chunk in audio.split(64)])

    def __len__(self):
        return len(self.notes)

    def get_batch(self, indices) -> dict:
        idx = torch.as_tensor(indices, dtype=torch.long)
        x = self.spec[idx] if self.spec is not None else self.notes.audio[idx].float() / 32768.0
        batch = {"x": x, "pitch": self.notes.pitch[idx]}
        if self.use_velocity:
            batch["velocity"] = self.notes.velocity[idx]
        if self.instrument_index is not None:
            batch["instrument"] = self.instrument_index[idx]
        return batch

    def __getitem__(self, i):
        return {k: v[0] for k, v in self.get_batch([i]).items()}
