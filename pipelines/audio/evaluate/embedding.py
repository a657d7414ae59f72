"""A small pitch + instrument-family classifier trained on the real corpus; its penultimate layer is the
embedding the audio Fréchet distance is measured in (GANSynth's recipe: no Inception net for audio here).

Input: a log-frequency spectrogram, one band per semitone (MIDI 20–118), 16 frames over a 4-s note, scaled to
[-1, 1] relative to the note's own peak (so the classifier ignores overall gain). Semitone bands make a pitch
shift a shift along the frequency axis; training shifts whole batches by up to ±2 semitones (labels shifted
alike), which lets the pitch head name pitches an instrument was never seen playing.
"""
from __future__ import annotations

import math
import time
from dataclasses import asdict, dataclass

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from ..constants import FAMILIES, PITCH_MIN, PITCH_MAX, SAMPLE_RATE
from ..dsp.features import semitone_bands
from .metrics import _as_numpy, filterbank_spectrogram

BAND_MIDI_LOW, BAND_MIDI_HIGH = 20, 118     # band centres, one per semitone (118 ≈ 7.5 kHz, below Nyquist)
FEATURE_N_FFT = 4096                         # 256 ms: 3.9-Hz bins resolve the low harmonics
FEATURE_HOP = 4096                           # 256 ms: a 4-s note → 16 frames
FEATURE_RANGE_DB = 80.0                      # dynamic range kept below each note's peak
MAX_PITCH_SHIFT = 2                          # augmentation, semitones


def semitone_filterbank(sr: int = SAMPLE_RATE, n_fft: int = FEATURE_N_FFT) -> np.ndarray:
    """The embedding's bands: :func:`~..dsp.features.semitone_bands` for MIDI 20…118 → ``[99, n_fft // 2 + 1]``."""
    return semitone_bands(sr, n_fft, BAND_MIDI_LOW, BAND_MIDI_HIGH)


def note_features(audio, sr: int = SAMPLE_RATE) -> torch.Tensor:
    """Classifier input: ``audio`` ``[N, T]`` float → ``[N, 1, 99 bands, frames]`` float32 in [-1, 1]
    (0 dB re the note's peak → 1, −80 dB and below → −1; a silent note is all −1)."""
    log_power = torch.from_numpy(filterbank_spectrogram(audio, semitone_filterbank(sr), FEATURE_N_FFT, FEATURE_HOP))
    range_nats = FEATURE_RANGE_DB * math.log(10.0) / 10.0
    peak = log_power.amax(dim=(1, 2), keepdim=True)
    relative = torch.clamp(log_power - peak, min=-range_nats)
    silent = peak <= math.log(1e-4)      # all below the floor: no note to normalise
    features = torch.where(silent, torch.full_like(relative, -1.0), 1.0 + 2.0 * relative / range_nats)
    return features.unsqueeze(1)


@dataclass
class NoteClassifierConfig:
    """Shape of :class:`NoteClassifier`: pitch classes ``pitch_min…pitch_max`` (MIDI), ``num_families``,
    ``width`` (channels of the first conv), ``embedding_dim`` (penultimate size)."""

    pitch_min: int = PITCH_MIN
    pitch_max: int = PITCH_MAX
    num_families: int = len(FAMILIES)
    width: int = 8
    embedding_dim: int = 64

    @property
    def num_pitches(self) -> int:
        return self.pitch_max - self.pitch_min + 1


class NoteClassifier(nn.Module):
    """``features [B, 1, 99, T]`` → ``(pitch_logits [B, num_pitches], family_logits [B, num_families])``;
    :meth:`embed` → ``[B, embedding_dim]`` (the penultimate activations)."""

    def __init__(self, config: NoteClassifierConfig):
        super().__init__()
        self.config = config
        w = config.width
        self.convs = nn.Sequential(
            nn.Conv2d(1, w, 3, padding=1), nn.BatchNorm2d(w), nn.ReLU(inplace=True),
            nn.MaxPool2d((1, 2)),                                  # time only: keep semitone resolution
            nn.Conv2d(w, 2 * w, 3, padding=1), nn.BatchNorm2d(2 * w), nn.ReLU(inplace=True),
            nn.MaxPool2d(2),
            nn.Conv2d(2 * w, 2 * w, 3, padding=1), nn.BatchNorm2d(2 * w), nn.ReLU(inplace=True),
            nn.MaxPool2d(2),
        )
        bands_left = (BAND_MIDI_HIGH - BAND_MIDI_LOW + 1) // 4
        # Frequency positions are flattened, not pooled away: where the harmonics sit *is* the pitch.
        self.project = nn.Sequential(nn.Linear(2 * w * bands_left, config.embedding_dim), nn.ReLU(inplace=True))
        self.pitch_head = nn.Linear(config.embedding_dim, config.num_pitches)
        self.family_head = nn.Linear(config.embedding_dim, config.num_families)

    def embed(self, features: torch.Tensor) -> torch.Tensor:
        hidden = self.convs(features).mean(dim=3)                 # average over time → [B, C, bands / 4]
        return self.project(hidden.flatten(1))

    def forward(self, features: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        embedding = F.dropout(self.embed(features), 0.2, self.training)
        return self.pitch_head(embedding), self.family_head(embedding)


@dataclass
class TrainedClassifier:
    """A trained :class:`NoteClassifier` with its training time (s) and final training-set accuracies."""

    model: NoteClassifier
    train_seconds: float
    train_pitch_accuracy: float
    train_family_accuracy: float


def _shift_bands(features: torch.Tensor, shift: int) -> torch.Tensor:
    """Move every band ``shift`` semitones up (negative: down), filling with silence (−1)."""
    if shift == 0:
        return features
    out = torch.full_like(features, -1.0)
    if shift > 0:
        out[:, :, shift:] = features[:, :, :-shift]
    else:
        out[:, :, :shift] = features[:, :, -shift:]
    return out


def train_note_classifier(audio, pitches, families, sr: int = SAMPLE_RATE,
                          config: NoteClassifierConfig | None = None, epochs: int = 40, batch_size: int = 32,
                          learning_rate: float = 3e-3, seed: int = 0) -> TrainedClassifier:
    """Train on real notes: ``audio`` ``[N, T]``, MIDI ``pitches`` ``[N]``, family indices ``[N]`` (into FAMILIES).

    Deterministic for a given seed and torch thread count (chosen by the entry point); leaves the global torch RNG as it found it. Notes outside
    ``config``'s pitch range are rejected. ~500 notes train in well under a minute on two CPU cores.
    """
    config = config or NoteClassifierConfig()
    pitch_index = torch.as_tensor(_as_numpy(pitches), dtype=torch.long).reshape(-1) - config.pitch_min
    family_index = torch.as_tensor(_as_numpy(families), dtype=torch.long).reshape(-1)
    if ((pitch_index < 0) | (pitch_index >= config.num_pitches)).any():
        raise ValueError(f"pitches must lie in {config.pitch_min}-{config.pitch_max} for this classifier")
    if ((family_index < 0) | (family_index >= config.num_families)).any():
        raise ValueError(f"families must be indices 0-{config.num_families - 1}")
    start = time.perf_counter()
    features = note_features(audio, sr)
    if len(features) != len(pitch_index) or len(features) != len(family_index) or len(features) < 2:
        raise ValueError(f"need ≥ 2 notes with one pitch and family each; got {len(features)} notes, "
                         f"{len(pitch_index)} pitches, {len(family_index)} families")
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        model = NoteClassifier(config)
        optimiser = torch.optim.AdamW(model.parameters(), lr=learning_rate, weight_decay=1e-3)
        steps_per_epoch = math.ceil(len(features) / batch_size)
        schedule = torch.optim.lr_scheduler.OneCycleLR(optimiser, learning_rate, total_steps=epochs * steps_per_epoch)
        generator = torch.Generator().manual_seed(seed)
        model.train()
        for _ in range(epochs):
            order = torch.randperm(len(features), generator=generator)
            for batch in order.split(batch_size):
                if len(batch) < 2:
                    continue          # BatchNorm needs two notes
                shift = int(torch.randint(-MAX_PITCH_SHIFT, MAX_PITCH_SHIFT + 1, (), generator=generator))
                target = pitch_index[batch] + shift
                valid = (target >= 0) & (target < config.num_pitches)
                pitch_logits, family_logits = model(_shift_bands(features[batch], shift))
                loss = F.cross_entropy(family_logits, family_index[batch])
                if valid.any():
                    loss = loss + F.cross_entropy(pitch_logits[valid], target[valid], label_smoothing=0.1)
                optimiser.zero_grad(set_to_none=True)
                loss.backward()
                optimiser.step()
                schedule.step()
    model.eval()
    pitch_acc, family_acc = classifier_accuracy(model, features, pitch_index + config.pitch_min, family_index)
    return TrainedClassifier(model, time.perf_counter() - start, pitch_acc, family_acc)


@torch.no_grad()
def classify_notes(model: NoteClassifier, audio_or_features, sr: int = SAMPLE_RATE,
                   batch_size: int = 256) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Run the classifier: audio ``[N, T]`` (or :func:`note_features` output ``[N, 1, 99, frames]``) →
    ``(predicted MIDI pitch [N] int, predicted family index [N] int, embeddings [N, embedding_dim] float32)``."""
    features = audio_or_features
    if not (isinstance(features, torch.Tensor) and features.ndim == 4):
        features = note_features(audio_or_features, sr)
    model.eval()
    pitch, family, embedding = [], [], []
    for chunk in features.split(batch_size):
        emb = model.embed(chunk)
        pitch.append(model.pitch_head(emb).argmax(1) + model.config.pitch_min)
        family.append(model.family_head(emb).argmax(1))
        embedding.append(emb)
    if not embedding:
        return np.zeros(0, np.int64), np.zeros(0, np.int64), np.zeros((0, model.config.embedding_dim), np.float32)
    return torch.cat(pitch).numpy(), torch.cat(family).numpy(), torch.cat(embedding).numpy()


def classifier_accuracy(model: NoteClassifier, audio_or_features, pitches, families,
                        sr: int = SAMPLE_RATE) -> tuple[float, float]:
    """``(pitch accuracy, family accuracy)`` of the classifier on labelled notes (exact semitone / family)."""
    predicted_pitch, predicted_family, _ = classify_notes(model, audio_or_features, sr)
    pitches, families = np.asarray(_as_numpy(pitches)).reshape(-1), np.asarray(_as_numpy(families)).reshape(-1)
    return float((predicted_pitch == pitches).mean()), float((predicted_family == families).mean())


def classifier_to_tensors(model: NoteClassifier, prefix: str = "classifier.") -> dict[str, torch.Tensor]:
    """Weights and config as a flat ``{name: tensor}`` dict (safetensors-ready; config as an int64 tensor)."""
    tensors = {prefix + name: value.detach().clone().contiguous() for name, value in model.state_dict().items()}
    tensors[prefix + "config"] = torch.tensor(list(asdict(model.config).values()), dtype=torch.int64)
    return tensors


def classifier_from_tensors(tensors: dict[str, torch.Tensor], prefix: str = "classifier.") -> NoteClassifier:
    """Inverse of :func:`classifier_to_tensors`; raises ``KeyError``/``ValueError`` naming what is missing."""
    if prefix + "config" not in tensors:
        raise KeyError(f"no {prefix}config tensor: not a stored note classifier")
    values = [int(v) for v in tensors[prefix + "config"].tolist()]
    names = list(NoteClassifierConfig.__dataclass_fields__)
    if len(values) != len(names):
        raise ValueError(f"{prefix}config holds {len(values)} values, expected {len(names)} ({', '.join(names)})")
    model = NoteClassifier(NoteClassifierConfig(**dict(zip(names, values))))
    state = {name[len(prefix):]: value for name, value in tensors.items()
             if name.startswith(prefix) and name != prefix + "config"}
    model.load_state_dict(state)
    return model.eval()
