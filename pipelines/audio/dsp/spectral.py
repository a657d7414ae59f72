"""GANSynth's spectral note representation: log-magnitude + instantaneous frequency, linear or mel, in torch.

A note ``[B, T]`` (16 kHz, T = ``layout.num_samples``) becomes ``[B, 2, n_frames, n_bins]``: channel 0 the
log-magnitude ``log(|X| + EPS)``, channel 1 the instantaneous frequency (IF) — the frame-to-frame difference
of the STFT phase divided by π and wrapped to [-1, 1] (frame 0 holds the phase itself / π). The inverse takes
the cumulative sum of IF·π back to a phase and overlap-adds the inverse FFTs.

Framing follows GANSynth (magenta/models/gansynth/lib/specgrams_helper.py): the audio is zero-padded by
``(n_fft - hop) / 2`` on the left and up to ``(n_frames - 1) * hop + n_fft`` on the right and frames are
Hann-windowed, so 64,000 samples with n_fft 2048 / hop 512 give exactly 128 frames × 1024 bins. Two deliberate
differences, both measured on FluidR3 notes (benchmarks/spectral_roundtrip.py):

- The presets drop the *Nyquist* bin, not GANSynth's DC bin (``drop_dc=False``). Synth notes carry DC and
  sub-16-Hz offsets (FluidR3's saw lead: -4e-3); dropping DC caps the linear round trip at 19 dB SNR on those
  notes (median 51 dB); dropping Nyquist keeps ≥ 87 dB on all 488 notes of an 8-program corpus (float32
  limits). ``drop_dc=True`` gives GANSynth's bins.
- Phases are measured from the frame centre (bin k multiplied by (-1)^k, i.e. zero-phase windowing), so the
  bins of one partial share a phase instead of alternating by π. Linear round trips are unaffected; the mel
  average of frame-0 phases becomes meaningful (mel spectral convergence, median of 16 notes: 0.18 → 0.12).

The STFT is divided by the window sum, so ``|X| <= max|x| <= 1``: log-magnitudes lie in ``[log EPS, 0]`` for
any audio in [-1, 1], which is what the fixed normalisation below relies on.

Mel layouts (GANSynth's best, "IF-Mel") map the linear bins to as many mel bands with a triangular HTK-mel
filterbank whose narrow low bands are widened to 1.5 FFT bins (GANSynth's ``linear_to_mel_weight_matrix``).
Band power = the band's weighted mean of |X|²; band IF = the magnitude-weighted *circular* mean of the bins'
IF (where GANSynth averages unwrapped phases: the circular mean is robust at the ±1 wrap and stays in [-1, 1]
by construction). The way back uses GANSynth's normalised transpose (each linear bin a weighted mean of the
mel bands covering it), so mel → linear is a smoothing, not an exact inverse: see ``spectral_convergence``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import lru_cache

import numpy as np
import torch
import torch.nn.functional as F

from ..constants import NOTE_SAMPLES, SAMPLE_RATE

EPS = 1e-6                    # log floor; ≈ 4x the 16-bit quantisation noise per bin at n_fft 2048, so nothing audible
LOG_MAG_MIN = math.log(EPS)   # -13.82: the exact minimum of channel 0
LOG_MAG_MAX = 0.0             # exact maximum: |X| <= max|x| <= 1 once the STFT is divided by the window sum


@dataclass(frozen=True)
class SpectralLayout:
    """Shape and framing of a spectral representation. Output ``[B, 2, n_frames, n_bins]``.

    ``n_fft`` / hop in samples; ``n_bins`` ≤ n_fft/2 linear bins kept (= mel bands when ``mel``), from bin 0
    upwards, or from bin 1 when ``drop_dc`` (GANSynth); ``num_samples`` the audio length T at ``sample_rate`` Hz.
    """

    n_fft: int
    hop: int
    n_bins: int
    n_frames: int
    mel: bool
    num_samples: int
    sample_rate: int = SAMPLE_RATE
    drop_dc: bool = False

    def __post_init__(self):
        if self.n_fft % self.hop or self.n_fft // self.hop < 2:
            raise ValueError(f"hop {self.hop} must divide n_fft {self.n_fft} at least twice (overlap-add)")
        if not 1 <= self.n_bins <= self.n_fft // 2:
            raise ValueError(f"n_bins must be 1..{self.n_fft // 2} for n_fft {self.n_fft}, got {self.n_bins}")
        # every audio sample must be covered by as many frames as in the steady state, or iSTFT is ill-posed
        if self.pad_right < self.n_fft - self.hop - self.pad_left:
            raise ValueError(f"{self.n_frames} frames of hop {self.hop} do not cover {self.num_samples} samples")

    @property
    def shape(self) -> tuple[int, int, int]:
        return (2, self.n_frames, self.n_bins)

    @property
    def first_bin(self) -> int:
        return 1 if self.drop_dc else 0

    @property
    def pad_left(self) -> int:
        return (self.n_fft - self.hop) // 2

    @property
    def pad_right(self) -> int:
        return (self.n_frames - 1) * self.hop + self.n_fft - self.num_samples - self.pad_left


LAYOUTS: dict[str, SpectralLayout] = {
    # GANSynth's IF-Mel: 4-s notes → 2 × 128 frames × 1024 mel bands
    "gansynth": SpectralLayout(2048, 512, 1024, 128, True, NOTE_SAMPLES),
    "gansynth_linear": SpectralLayout(2048, 512, 1024, 128, False, NOTE_SAMPLES),
    # quick preset: the first second (attack + sustain) → 2 × 128 × 128, 62.5-Hz bins. No mel twin: at this
    # resolution every mel band below ~1 kHz is a widened copy of one FFT bin (measured SC 0.22 median, 0.66 max)
    "small": SpectralLayout(256, 128, 128, 128, False, SAMPLE_RATE),
}


def get_layout(layout: str | SpectralLayout) -> SpectralLayout:
    """A layout by name (key of LAYOUTS) or the layout itself."""
    if isinstance(layout, SpectralLayout):
        return layout
    if layout not in LAYOUTS:
        raise ValueError(f"unknown spectral layout {layout!r}; known: {', '.join(LAYOUTS)}")
    return LAYOUTS[layout]


_TENSOR_CACHE: dict = {}


def _cached(key, device, build) -> torch.Tensor:
    """Constant tensors (window, mel matrices) built once per (key, device)."""
    k = (key, str(device))
    if k not in _TENSOR_CACHE:
        _TENSOR_CACHE[k] = build().to(device)
    return _TENSOR_CACHE[k]


def _window(layout: SpectralLayout, device) -> torch.Tensor:
    return _cached(("hann", layout.n_fft), device, lambda: torch.hann_window(layout.n_fft, periodic=True))


def _centre_sign(lay: SpectralLayout, device) -> torch.Tensor:
    """(-1)^k for the kept bins: moves the phase reference from the frame start to the frame centre."""
    return _cached(("sign", lay), device,
                   lambda: 1.0 - 2.0 * (torch.arange(lay.first_bin, lay.first_bin + lay.n_bins) % 2).float())


def stft(audio: torch.Tensor, layout: str | SpectralLayout) -> torch.Tensor:
    """Complex STFT / window sum, centre-referenced phase: ``[B, T]`` → complex64 ``[B, n_frames, n_bins]``."""
    lay = get_layout(layout)
    if audio.shape[-1] != lay.num_samples:
        raise ValueError(f"audio has {audio.shape[-1]} samples, layout expects {lay.num_samples}")
    win = _window(lay, audio.device)
    padded = F.pad(audio.float(), (lay.pad_left, lay.pad_right))
    frames = padded.unfold(-1, lay.n_fft, lay.hop) * win            # [B, n_frames, n_fft]
    kept = torch.fft.rfft(frames, dim=-1)[..., lay.first_bin:lay.first_bin + lay.n_bins]
    return kept * (_centre_sign(lay, audio.device) / win.sum())


def istft(spec: torch.Tensor, layout: str | SpectralLayout) -> torch.Tensor:
    """Least-squares inverse of :func:`stft` (windowed overlap-add ÷ Σ window²): complex ``[B, F, K]`` → ``[B, T]``."""
    lay = get_layout(layout)
    win = _window(lay, spec.device)
    full = torch.zeros(*spec.shape[:-1], lay.n_fft // 2 + 1, dtype=torch.complex64, device=spec.device)
    full[..., lay.first_bin:lay.first_bin + lay.n_bins] = spec * _centre_sign(lay, spec.device)
    frames = torch.fft.irfft(full * win.sum(), n=lay.n_fft, dim=-1) * win   # [B, F, n_fft]
    length = (lay.n_frames - 1) * lay.hop + lay.n_fft
    fold = lambda x: F.fold(x.transpose(1, 2), (1, length), (1, lay.n_fft), stride=(1, lay.hop))[:, 0, 0]
    env = _cached(("env", lay), spec.device,
                  lambda: fold((win.cpu() ** 2).expand(1, lay.n_frames, lay.n_fft).contiguous()))
    keep = slice(lay.pad_left, lay.pad_left + lay.num_samples)
    return fold(frames)[:, keep] / env[:, keep]     # crop first: the envelope is 0 at the padded edge


def _wrap(phase: torch.Tensor) -> torch.Tensor:
    """Wrap radians to [-π, π)."""
    return torch.remainder(phase + math.pi, 2 * math.pi) - math.pi


@lru_cache(maxsize=None)
def mel_matrices(layout: SpectralLayout) -> tuple[np.ndarray, np.ndarray]:
    """``(to_mel [n_bins, n_bins], to_linear [n_bins, n_bins])`` float32, rows of both sum to 1.

    ``to_mel[m, i]``: weight of linear bin i in mel band m (GANSynth's triangles, HTK mel, 0 Hz to the top
    kept bin, bands narrower than 1.5 FFT bins widened); ``to_linear`` is GANSynth's normalised transpose.
    """
    n = layout.n_bins
    freqs = np.arange(layout.first_bin, layout.first_bin + n) * layout.sample_rate / layout.n_fft   # Hz
    mel = lambda f: 1127.0 * np.log1p(np.asarray(f) / 700.0)
    hz = lambda m: 700.0 * np.expm1(np.asarray(m) / 1127.0)
    edges = np.linspace(0.0, mel(freqs[-1]), n + 2)
    lower, center, upper = edges[:-2].copy(), edges[1:-1], edges[2:].copy()
    min_width = 1.5 * layout.sample_rate / layout.n_fft                          # GANSynth's freq_th
    narrow = hz(upper) - hz(lower) < min_width
    # widen to ±min_width/2 Hz around the centre, in mel (GANSynth uses the same asinh-form expression)
    half = 1127.0 * np.arcsinh(0.5 * min_width / (hz(center) + 700.0))
    lower[narrow], upper[narrow] = center[narrow] - half[narrow], center[narrow] + half[narrow]
    f = freqs[:, None]
    lo, c, up = hz(lower)[None], hz(center)[None], hz(upper)[None]
    weights = np.maximum(0.0, np.minimum((f - lo) / (c - lo), (up - f) / (up - c)))   # [lin, mel]
    for j in np.flatnonzero(weights.sum(1) == 0):   # bins no band reaches (the top bin): nearest band
        weights[j, np.argmin(np.abs(hz(center) - freqs[j]))] = 1.0
    for m in np.flatnonzero(weights.sum(0) == 0):   # bands between two bins: nearest bin
        weights[np.argmin(np.abs(freqs - hz(center[m]))), m] = 1.0
    band_mass = weights.sum(0)                                                     # c_m
    to_mel = (weights / band_mass).T
    to_linear = weights * band_mass
    to_linear /= to_linear.sum(1, keepdims=True)
    return to_mel.astype(np.float32), to_linear.astype(np.float32)


def _mel_tensor(layout: SpectralLayout, which: int, device) -> torch.Tensor:
    return _cached(("mel", which, layout), device, lambda: torch.from_numpy(mel_matrices(layout)[which]))


def _project(mag: torch.Tensor, inst_freq: torch.Tensor, matrix: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Map (|X|, IF) ``[B, F, K]`` through a row-stochastic matrix ``[K', K]``: power mean and weighted circular IF mean."""
    with torch.autocast(mag.device.type, enabled=False):   # bf16 sums of 1024 bins would blur the phases
        mag, inst_freq = mag.float(), inst_freq.float()
        power = torch.einsum("bfk,mk->bfm", mag ** 2, matrix)
        phasor = torch.polar(mag, inst_freq * math.pi)
        summed = torch.complex(torch.einsum("bfk,mk->bfm", phasor.real, matrix),
                               torch.einsum("bfk,mk->bfm", phasor.imag, matrix))
        return power.clamp_min(0).sqrt(), torch.angle(summed) / math.pi


def _check_spec(spec: torch.Tensor, lay: SpectralLayout) -> torch.Tensor:
    if spec.dim() != 4 or tuple(spec.shape[1:]) != lay.shape:
        raise ValueError(f"spectrogram shape {tuple(spec.shape)} does not match [B, *{lay.shape}] of the layout")
    return spec.float()


def linear_to_mel(spec: torch.Tensor, layout: str | SpectralLayout = "gansynth") -> torch.Tensor:
    """Linear ``[B, 2, F, K]`` (log-magnitude, IF) → mel ``[B, 2, F, K]`` with the layout's filterbank."""
    lay = get_layout(layout)
    spec = _check_spec(spec, lay)
    mag, inst_freq = _project((torch.exp(spec[:, 0]) - EPS).clamp_min(0), spec[:, 1], _mel_tensor(lay, 0, spec.device))
    return torch.stack([torch.log(mag + EPS), inst_freq], dim=1)


def mel_to_linear(spec: torch.Tensor, layout: str | SpectralLayout = "gansynth") -> torch.Tensor:
    """Mel ``[B, 2, F, K]`` → linear ``[B, 2, F, K]`` through the normalised transpose (a smoothing)."""
    lay = get_layout(layout)
    spec = _check_spec(spec, lay)
    mag, inst_freq = _project((torch.exp(spec[:, 0]) - EPS).clamp_min(0), spec[:, 1], _mel_tensor(lay, 1, spec.device))
    return torch.stack([torch.log(mag + EPS), inst_freq], dim=1)


def audio_to_spec(audio: torch.Tensor, layout: str | SpectralLayout = "gansynth") -> torch.Tensor:
    """Audio ``[B, T]`` (or ``[T]``) in [-1, 1] → ``[B, 2, n_frames, n_bins]``: log-magnitude, IF in [-1, 1]."""
    lay = get_layout(layout)
    squeeze = audio.dim() == 1
    x = stft(audio[None] if squeeze else audio, lay)
    phase = torch.angle(x)
    inst_freq = torch.cat([phase[:, :1], _wrap(phase[:, 1:] - phase[:, :-1])], dim=1) / math.pi
    spec = torch.stack([torch.log(x.abs() + EPS), inst_freq], dim=1)
    if lay.mel:
        spec = linear_to_mel(spec, lay)
    return spec[0] if squeeze else spec


def spec_to_audio(spec: torch.Tensor, layout: str | SpectralLayout = "gansynth") -> torch.Tensor:
    """Inverse of :func:`audio_to_spec`: ``[B, 2, n_frames, n_bins]`` (or unbatched) → audio ``[B, T]``."""
    lay = get_layout(layout)
    squeeze = spec.dim() == 3
    spec = _check_spec(spec[None] if squeeze else spec, lay)
    if lay.mel:
        spec = mel_to_linear(spec, lay)
    mag = (torch.exp(spec[:, 0]) - EPS).clamp_min(0)
    # cumulative phase in float64: sums of 128+ frames near ±π would lose ~1e-5 rad in float32
    phase = torch.cumsum(spec[:, 1].double() * math.pi, dim=1)
    audio = istft(torch.polar(mag, _wrap(phase).float()), lay)
    return audio[0] if squeeze else audio


def normalize(spec: torch.Tensor) -> torch.Tensor:
    """Fixed affine map of a spectrogram ``[..., 2, F, K]`` into [-1, 1] (for a tanh generator).

    Log-magnitude: [LOG_MAG_MIN, LOG_MAG_MAX] = [log 1e-6, 0] → [-1, 1]. Both ends are exact bounds (the EPS
    floor; |X| ≤ 1 for audio in [-1, 1]), so no real note is ever clipped. Measured on the FluidR3 corpus
    (8 GM programs × MIDI 24-84, velocity 100, gain 0.5): log-magnitudes span -13.82 … -2.92, median -13.4
    (linear) / -12.7 (mel), 99th percentile -6.2 / -5.3, i.e. normalised [-1, 0.58]; louder corpora (velocity
    127, NSynth) use more of the top. IF is already in [-1, 1] and passes unchanged.
    Values are clamped, so generator outputs are safe to :func:`denormalize`.
    """
    logmag = (spec[..., 0, :, :] - LOG_MAG_MIN) / (LOG_MAG_MAX - LOG_MAG_MIN) * 2.0 - 1.0
    return torch.stack([logmag, spec[..., 1, :, :]], dim=-3).clamp(-1.0, 1.0)


def denormalize(spec: torch.Tensor) -> torch.Tensor:
    """Inverse of :func:`normalize` (inputs clamped to [-1, 1] first)."""
    spec = spec.clamp(-1.0, 1.0)
    logmag = (spec[..., 0, :, :] + 1.0) * 0.5 * (LOG_MAG_MAX - LOG_MAG_MIN) + LOG_MAG_MIN
    return torch.stack([logmag, spec[..., 1, :, :]], dim=-3)


def snr_db(reference: torch.Tensor, estimate: torch.Tensor) -> torch.Tensor:
    """Sample-aligned signal-to-noise ratio in dB per item: ``[B, T]`` × 2 → ``[B]``."""
    noise = (reference - estimate).pow(2).sum(-1)
    return 10.0 * torch.log10(reference.pow(2).sum(-1) / noise.clamp_min(1e-20))


def spectral_convergence(reference: torch.Tensor, estimate: torch.Tensor,
                         layout: str | SpectralLayout = "gansynth_linear") -> torch.Tensor:
    """‖|S| − |Ŝ|‖_F / ‖|S|‖_F per item of the linear STFTs of two signals ``[B, T]`` → ``[B]`` (0 = identical)."""
    lay = get_layout(layout)
    ref, est = stft(reference, lay).abs(), stft(estimate, lay).abs()
    return torch.linalg.vector_norm(ref - est, dim=(-2, -1)) / torch.linalg.vector_norm(ref, dim=(-2, -1)).clamp_min(1e-20)
