"""Training glue for the note GAN: networks by family, the training view of a corpus, the objective.

Families: ``harmonic`` (controls → additive synth, judged on log-mel), ``spectral`` (GANSynth-style
mag+IF image), ``wave`` (WaveGAN-style 1-D). Each trains through the shared trainer with the same
conditioning: ``G(z, pitch[, velocity])`` and ``D(x, pitch[, velocity])``.
"""
from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from creative_gan.task import GANTask, Objective

from .constants import SAMPLE_RATE
from .networks_harmonic import (HarmonicGenerator, HarmonicGeneratorConfig, MelDiscriminator,
                                MelDiscriminatorConfig)
from .networks_spectral import (SpectralDiscriminator, SpectralDiscriminatorConfig, SpectralGenerator,
                                SpectralGeneratorConfig)
from .networks_wave import WaveDiscriminator, WaveDiscriminatorConfig, WaveGenerator, WaveGeneratorConfig
from .spectral import SpectralLayout, audio_to_spec, normalize

FAMILIES = {
    "harmonic": (HarmonicGenerator, HarmonicGeneratorConfig, MelDiscriminator, MelDiscriminatorConfig),
    "spectral": (SpectralGenerator, SpectralGeneratorConfig, SpectralDiscriminator, SpectralDiscriminatorConfig),
    "wave": (WaveGenerator, WaveGeneratorConfig, WaveDiscriminator, WaveDiscriminatorConfig),
}


def layout_for(g_config: SpectralGeneratorConfig, layout: dict) -> SpectralLayout:
    """The spectral layout whose frames × bins match a spectral generator's output."""
    lay = SpectralLayout(**layout)
    if (lay.n_frames, lay.n_bins) != (g_config.num_frames, g_config.num_bins):
        raise ValueError(f"layout {lay.n_frames}x{lay.n_bins} does not match the generator's "
                         f"{g_config.num_frames}x{g_config.num_bins}")
    return lay


def build_generator(family: str, g_config: dict) -> torch.nn.Module:
    g_cls, g_cfg_cls, _, _ = FAMILIES[family]
    return g_cls(g_cfg_cls(**g_config))


def build_networks(family: str, g_config: dict, d_config: dict):
    """(G, D) of a family from plain config dicts (as stored in presets and release configs)."""
    if family not in FAMILIES:
        raise ValueError(f"unknown audio model family {family!r} (choose from {', '.join(FAMILIES)})")
    _, _, d_cls, d_cfg_cls = FAMILIES[family]
    return build_generator(family, g_config), d_cls(d_cfg_cls(**d_config))


class TrainingNotes(torch.utils.data.Dataset):
    """The trainer's view of a :class:`~.nsynth.NoteDataset`: ``{"x", "pitch"[, "velocity"]}`` only.

    ``x`` is audio ``[T]`` for harmonic/wave models, or the normalised spectrogram ``[2, F, K]`` of
    the same clip for spectral models (computed once, kept in memory).
    """

    def __init__(self, notes, use_velocity: bool = False, layout: SpectralLayout | None = None):
        self.notes, self.use_velocity, self.layout = notes, use_velocity, layout
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
        return batch

    def __getitem__(self, i):
        return {k: v[0] for k, v in self.get_batch([i]).items()}


def log_mel(audio: torch.Tensor, n_mels: int = 48) -> torch.Tensor:
    """Coarse log-mel ``[B, n_mels, frames]`` of audio ``[B, T]`` (16 kHz) for distances between notes."""
    import torchaudio

    key = (audio.device, n_mels)
    if key not in _MEL_CACHE:
        _MEL_CACHE[key] = torchaudio.transforms.MelSpectrogram(
            SAMPLE_RATE, n_fft=1024, hop_length=512, n_mels=n_mels, f_min=30.0).to(audio.device)
    with torch.autocast(audio.device.type, enabled=False):
        return torch.log(_MEL_CACHE[key](audio.float()) + 1e-4)


_MEL_CACHE: dict = {}


class NoteObjective(Objective):
    """AC-GAN pitch classification (GANSynth) plus an optional mode-seeking term (MSGAN).

    ``pitch_ce`` on real notes trains D's pitch head; on fakes it pushes G to sound its pitch.
    ``mode_seeking`` = 1 / (‖feat(G(z₁)) − feat(G(z₂))‖ / ‖z₁ − z₂‖): fakes come in pairs that share
    a pitch (see :meth:`AudioTask.sample_condition`), so distinct z must give distinct timbres.
    """

    def __init__(self, pitch_min: int, family: str, mode_seeking: bool):
        self.pitch_min, self.family, self.mode_seeking = pitch_min, family, mode_seeking

    def d_terms(self, real_aux, fake_aux, real_cond, fake_cond):
        return {"pitch_ce": F.cross_entropy(real_aux["pitch_logits"].float(),
                                            real_cond["pitch"] - self.pitch_min)}

    def g_terms(self, fake, z, cond, fake_aux):
        terms = {"pitch_ce": F.cross_entropy(fake_aux["pitch_logits"].float(), cond["pitch"] - self.pitch_min)}
        if self.mode_seeking and fake.shape[0] >= 2:
            half = fake.shape[0] // 2
            feats = log_mel(fake) if self.family != "spectral" else fake.float()
            feats = feats.reshape(fake.shape[0], -1)
            out_dist = (feats[:half] - feats[half:2 * half]).abs().mean(1)
            z_dist = (z[:half] - z[half:2 * half]).abs().mean(1)
            terms["mode_seeking"] = 1.0 / ((out_dist / z_dist).mean() + 1e-5)
        return terms


@dataclasses.dataclass
class AudioTask(GANTask):
    """A :class:`GANTask` for note GANs; knows how to preview and release its generator."""

    family: str = "harmonic"
    g_config: dict = dataclasses.field(default_factory=dict)
    layout: SpectralLayout | None = None
    use_velocity: bool = False
    corpus_info: dict = dataclasses.field(default_factory=dict)
    paired_conditions: bool = False
    release_extras: dict = dataclasses.field(default_factory=dict)
    corpus: object = None              # the training corpus (for the preset bank and reference set)
    build_bank: bool = False           # attach a preset bank + evaluation reference at release

    def sample_condition(self, real, generator, device):
        pitch = real["pitch"]
        if self.paired_conditions and pitch.shape[0] >= 2:  # halves share pitches (mode seeking)
            half = pitch.shape[0] // 2
            pitch = torch.cat([pitch[:half], pitch[:half], pitch[2 * half:]])
        cond = {"pitch": pitch}
        if self.use_velocity:
            velocity = real["velocity"]
            if self.paired_conditions and velocity.shape[0] >= 2:
                velocity = torch.cat([velocity[:half], velocity[:half], velocity[2 * half:]])
            cond["velocity"] = velocity
        return cond

    def features(self, x):
        if self.family == "spectral":
            return x.reshape(x.shape[0], -1).float()
        return log_mel(x).mean(dim=2)

    def to_audio(self, x: torch.Tensor) -> torch.Tensor:
        from .spectral import denormalize, spec_to_audio

        if self.family == "spectral":
            return spec_to_audio(denormalize(x.float()), self.layout)
        return x.float()

    def preview(self, generator, z, cond, path: Path):
        from .pictures import spectrogram_png
        import soundfile as sf

        n = min(8, z.shape[0])
        audio = self.to_audio(generator(z[:n], **{k: v[:n] for k, v in cond.items()})).cpu().numpy()
        gap = np.zeros(SAMPLE_RATE // 4, dtype=np.float32)
        strip = np.concatenate([np.concatenate([a, gap]) for a in audio])
        peak = max(float(np.abs(strip).max()), 1e-6)
        sf.write(str(path) + ".wav", (strip / peak * 0.9).astype(np.float32), SAMPLE_RATE, subtype="PCM_16")
        spectrogram_png(strip, SAMPLE_RATE, str(path) + ".png")
        return [Path(str(path) + ".wav"), Path(str(path) + ".png")]

    def release(self, generator_ema, provenance):
        from .pipeline import AudioPipeline

        import copy

        layout = dataclasses.asdict(self.layout) if self.layout is not None else None
        pipe = AudioPipeline(self.family, self.g_config, copy.deepcopy(generator_ema), layout=layout,
                             corpus_info=self.corpus_info, **self.release_extras)
        if self.build_bank and self.corpus is not None:
            from .bank import build_bank
            from .evaluation import build_reference

            lo, hi = pipe.pitch_range
            pitches = [p for p in self.corpus.pitch_histogram() if lo <= p <= hi]
            pipe.presets = build_bank(pipe, self.corpus)
            pipe.reference = build_reference(self.corpus, pitches)
        return pipe
