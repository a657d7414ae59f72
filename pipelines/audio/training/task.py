"""The note GAN as a :class:`~creative_gan.task.GANTask`: paired conditions, features, previews, release.

Families (``harmonic``, ``spectral``, ``wave``, see :mod:`..networks.families`) all train through the
shared trainer with the same conditioning: ``G(z, pitch[, velocity])`` and ``D(x, pitch[, velocity])``.
"""
from __future__ import annotations

import copy
import dataclasses
from pathlib import Path

import numpy as np
import torch

from creative_gan import fileio
from creative_gan.task import GANTask

from ..constants import SAMPLE_RATE
from ..dsp.spectral import SpectralLayout, denormalize, spec_to_audio
from ..pipeline import AudioPipeline
from .objective import log_mel


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
    reconstruct_share: float = 0.0     # share of each fake batch drawn from instrument latents (see instruments.py)
    bank_options: dict = dataclasses.field(default_factory=dict)    # build_bank keywords (steps, restarts, keep)
    heldout: object = None             # a corpus of instruments kept out of training (stored for evaluation)
    instrument_ids: list = dataclasses.field(default_factory=list)   # latent index → corpus instrument id
    seed_prior: str = "normal"         # "bank": seeds blend two of the bank's instruments (see AudioPipeline)

    def sample_condition(self, real, generator, device):
        """The real batch's pitch (and velocity); with instrument latents, see :meth:`_reconstruct_condition`.
        With mode seeking the halves share their conditions pairwise."""
        if "instrument" in real:
            return self._reconstruct_condition(real)
        return {key: self._paired(real[key], 0) for key in self._condition_keys()}

    def _condition_keys(self) -> list[str]:
        return ["pitch"] + (["velocity"] if self.use_velocity else [])

    def _paired(self, value: torch.Tensor, start: int) -> torch.Tensor:
        """``value`` with rows [start + h, start + 2h) copied from [start, start + h), h = half of the rows from
        ``start`` on (mode seeking: pairs of fakes share a condition); unchanged without mode seeking."""
        half = (value.shape[0] - start) // 2
        if not self.paired_conditions or half < 1:
            return value
        value = value.clone()
        value[start + half:start + 2 * half] = value[start:start + half]
        return value

    def reconstruct_rows(self, batch: int) -> int:
        """How many leading rows of a fake batch re-make real notes from instrument latents."""
        return int(round(batch * self.reconstruct_share))

    def _reconstruct_condition(self, real) -> dict:
        """Rows [0, r): the real notes' instrument, pitch, velocity (to be re-made); rows [r, B): random z,
        in pairs sharing a pitch (and velocity) for mode seeking."""
        batch = real["pitch"].shape[0]
        rows = self.reconstruct_rows(batch)
        instrument = real["instrument"].clone()
        instrument[rows:] = -1
        return {**{key: self._paired(real[key], rows) for key in self._condition_keys()}, "instrument": instrument}

    def features(self, x):
        if self.family == "spectral":
            return x.reshape(x.shape[0], -1).float()
        return log_mel(x).mean(dim=2)

    def to_audio(self, x: torch.Tensor) -> torch.Tensor:
        if self.family == "spectral":
            return spec_to_audio(denormalize(x.float()), self.layout)
        return x.float()

    def preview(self, generator, z, cond, path: Path):
        from ..pictures import spectrogram_png
        import soundfile as sf

        n = min(8, z.shape[0])
        audio = self.to_audio(generator(z[:n], **{k: v[:n] for k, v in cond.items()})).cpu().numpy()
        gap = np.zeros(SAMPLE_RATE // 4, dtype=np.float32)
        strip = np.concatenate([np.concatenate([a, gap]) for a in audio])
        peak = max(float(np.abs(strip).max()), 1e-6)
        with fileio.atomic_path(str(path) + ".wav") as tmp:
            sf.write(str(tmp), (strip / peak * 0.9).astype(np.float32), SAMPLE_RATE, subtype="PCM_16", format="WAV")
        spectrogram_png(strip, SAMPLE_RATE, str(path) + ".png")
        return [Path(str(path) + ".wav"), Path(str(path) + ".png")]

    def release(self, generator_ema, provenance):
        if self.corpus_info.get("description"):
            provenance.setdefault("corpus", self.corpus_info["description"])       # saved with the release
        layout = dataclasses.asdict(self.layout) if self.layout is not None else None
        learned = getattr(generator_ema, "latents", None)
        generator_ema = getattr(generator_ema, "generator", generator_ema)   # drop the instrument latents
        pipe = AudioPipeline(self.family, self.g_config, copy.deepcopy(generator_ema), layout=layout,
                             corpus_info=self.corpus_info, **self.release_extras)
        if self.build_bank and self.corpus is not None:
            from ..evaluate.evaluation import build_reference
            from ..render.bank import build_bank

            lo, hi = pipe.pitch_range
            pitches = [p for p in self.corpus.pitch_histogram() if lo <= p <= hi]
            init = None
            if learned is not None and len(self.instrument_ids) == learned.shape[0]:
                init = {inst: learned[i].detach().cpu()[None] for i, inst in enumerate(self.instrument_ids)}
            pipe.presets = build_bank(pipe, self.corpus, init=init, **self.bank_options)
            pipe.reference = build_reference(self.corpus, pitches)
            from ..evaluate.living import living_reference_for_corpus

            pipe.living = living_reference_for_corpus(self.corpus, self.heldout)   # real side of the living figures
            if self.seed_prior == "bank" and len(pipe.presets) >= 2:
                pipe.seed_anchors = torch.stack([pipe.presets[name] for name in sorted(pipe.presets)])
        return pipe
