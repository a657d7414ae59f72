"""The note GAN's auxiliary losses: AC-GAN pitch classification and MSGAN mode seeking."""
from __future__ import annotations

import torch
import torch.nn.functional as F

from creative_gan.objective import DStep, GStep, Objective

from ..constants import SAMPLE_RATE


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

    def __init__(self, pitch_min: int, family: str, mode_seeking: bool, brightening=None):
        self.pitch_min, self.family, self.mode_seeking = pitch_min, family, mode_seeking
        self.brightening = brightening     # (z, pitch) → per-note velocity brightness slope [B] (tilt models)

    def d_terms(self, step: DStep) -> dict:
        """``pitch_ce`` of D's pitch head on the real batch."""
        return {"pitch_ce": F.cross_entropy(step.real_out.aux["pitch_logits"].float(),
                                            step.real_cond["pitch"] - self.pitch_min)}

    def g_terms(self, step: GStep) -> dict:
        """``pitch_ce`` of D's pitch head on the fakes, plus ``mode_seeking`` over the paired halves; with
        instrument latents also ``reconstruct`` (log-mel L1 in dB of the re-made notes against the real ones)
        ``movement`` and ``envelope`` (see :func:`reconstruction_terms`); for a velocity-tilt G,
        ``velocity_tilt``: the mean brightness slope of the random-z notes."""
        fake, z = step.fake, step.z
        terms = {"pitch_ce": F.cross_entropy(step.fake_out.aux["pitch_logits"].float(),
                                             step.cond["pitch"] - self.pitch_min)}
        rows = int((step.cond["instrument"] >= 0).sum()) if "instrument" in step.cond else 0
        if rows:
            terms.update(reconstruction_terms(fake[:rows], step.real["x"][:rows]))
            fake, z = fake[rows:], z[rows:]
        if self.brightening is not None and z.shape[0]:
            # a sparsity prior on random timbres: louder only brightens where the data insists (most sampled
            # instruments only get louder); the instrument latents answer to the real notes instead
            terms["velocity_tilt"] = self.brightening(z, step.cond["pitch"][rows:]).mean()
        if self.mode_seeking and fake.shape[0] >= 2:
            half = fake.shape[0] // 2
            feats = log_mel(fake) if self.family != "spectral" else fake.float()
            feats = feats.reshape(fake.shape[0], -1)
            out_dist = (feats[:half] - feats[half:2 * half]).abs().mean(1)
            z_dist = (z[:half] - z[half:2 * half]).abs().mean(1)
            terms["mode_seeking"] = 1.0 / ((out_dist / z_dist).mean() + 1e-5)
        return terms


def reconstruction_terms(fake: torch.Tensor, real: torch.Tensor) -> dict:
    """``reconstruct``: mean log-mel L1 (dB) of fake [R, T] against real [R, T]; ``movement``: mean |sustain
    level movement (dB) of fake − of real| (the L1 alone would average vibrato and tremolo away); ``envelope``:
    mean |level (dB) of fake − of real| per frame (decay and release, floored 60 dB under the real peak);
    ``brightness``: mean |ln of the spectral-centroid ratio| over 0.05–1 s (velocity's effect on timbre)."""
    from ..dsp.features import level_db, logmel_db, logmel_l1_db, sustain_movement_db

    real = real.float()
    loss = logmel_l1_db(logmel_db(fake), logmel_db(real)).mean()
    fake_level, real_level = level_db(fake), level_db(real)
    movement = (sustain_movement_db(fake_level) - sustain_movement_db(real_level)).abs().mean()
    # the broadband level curve on its own (decays, release), each floored 60 dB under the real note's peak
    floor = real_level.amax(dim=1, keepdim=True).detach() - 60.0
    envelope = (torch.maximum(fake_level, floor) - torch.maximum(real_level, floor)).abs().mean()
    # power-weighted brightness (what velocity changes, or — for most instruments — must not): the dB-averaged
    # log-mel L1 barely sees a shift of the strongest partials, the centroid does
    from ..evaluate.living import spectral_centroid_hz

    brightness = torch.log((spectral_centroid_hz(fake) + 1.0) / (spectral_centroid_hz(real) + 1.0)).abs().mean()
    return {"reconstruct": loss, "movement": movement, "envelope": envelope, "brightness": brightness}
