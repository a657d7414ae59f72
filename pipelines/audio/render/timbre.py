"""Timbres for the MIDI renderer: timbre specs and morph curves (slerp between latent vectors).

A *timbre* is a latent vector z [latent_dim] of a note generator. Users name one with a *spec*:
an integer seed (``17``, ``"17"``, ``"seed:17"``), a preset name from ``source.presets``, or an explicit
vector. A *morph* is a list of (time in seconds, spec) anchors; between neighbouring anchors z follows
the spherical interpolation (:func:`creative_gan.layers.slerp`) of their vectors, before the first / after the last it is constant.
As in GANSynth, each note takes the z of the curve at its onset time and keeps it for its whole length.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Protocol, Sequence, Union, runtime_checkable

import numpy as np
import torch

from creative_gan.layers import slerp

TimbreSpec = Union[int, str, torch.Tensor, np.ndarray]
MORPH_STEPS = 256   # morph positions are quantised to 1/256 of an anchor interval (see TimbreCurve.keys_at)


@runtime_checkable
class NoteSource(Protocol):
    """What the renderer needs from a note generator (a GANSynth/WaveGAN pipeline or a test synth)."""

    sample_rate: int                     # Hz
    note_samples: int                    # samples per generated note (64000 = 4 s, note-off at 3 s)
    pitch_range: tuple[int, int]         # inclusive MIDI pitch range the model knows
    latent_dim: int
    has_velocity: bool                   # velocity is a generation condition
    presets: dict[str, torch.Tensor]     # name -> z [latent_dim]

    def latent_for_seed(self, seed: int) -> torch.Tensor:
        """Deterministic z [latent_dim] for an integer seed."""

    def synthesize(self, pitches: torch.Tensor, z: torch.Tensor, velocities: torch.Tensor | None = None,
                 num_samples: int | None = None) -> torch.Tensor:
        """pitches LongTensor [N], z [N, latent_dim], velocities LongTensor [N] or None
        -> float32 audio [N, num_samples or note_samples] in [-1, 1] at sample_rate."""


class TimbreError(ValueError):
    """A timbre spec or morph string that cannot be resolved; the message is one line for the user."""


def _as_latent(source: NoteSource, z, what: str) -> torch.Tensor:
    """Any tensor-like -> float32 CPU vector [latent_dim], or TimbreError."""
    z = torch.as_tensor(np.asarray(z.detach().cpu() if isinstance(z, torch.Tensor) else z),
                        dtype=torch.float32).reshape(-1)
    if z.numel() != source.latent_dim:
        raise TimbreError(f"{what} has {z.numel()} values but the model's latent_dim is {source.latent_dim}")
    if not torch.isfinite(z).all():
        raise TimbreError(f"{what} contains NaN or infinite values")
    return z


def available_timbres(source: NoteSource) -> str:
    """One line listing what a spec may be, for error messages."""
    names = ", ".join(sorted(source.presets)) if source.presets else "(none)"
    return f"available presets: {names}; or an integer seed such as 17 or seed:17"


def resolve_timbre(source: NoteSource, spec: TimbreSpec) -> torch.Tensor:
    """Timbre spec -> z [latent_dim] float32 on CPU.

    Precedence for strings: an exact preset name wins, then ``"<int>"`` / ``"seed:<int>"`` as a seed, so a
    preset may be called "17" if someone really wants that.
    """
    if isinstance(spec, (torch.Tensor, np.ndarray)):
        return _as_latent(source, spec, "timbre vector")
    if isinstance(spec, bool):      # bool is an int subclass; True as a seed is surely a mistake
        raise TimbreError(f"timbre {spec!r} is not a seed or preset; {available_timbres(source)}")
    if isinstance(spec, (int, np.integer)):
        return _seed_latent(source, int(spec))
    if not isinstance(spec, str):
        raise TimbreError(f"timbre must be a seed, preset name or vector, got {type(spec).__name__}")
    text = spec.strip()
    if text in source.presets:
        return _as_latent(source, source.presets[text], f"preset {text!r}")
    seed_text = text[5:].strip() if text.lower().startswith("seed:") else text
    if seed_text.isdigit():
        return _seed_latent(source, int(seed_text))
    raise TimbreError(f"unknown timbre {text!r}: {available_timbres(source)}")


MAX_SEED = 2 ** 63 - 1     # torch.Generator.manual_seed's range


def _seed_latent(source: NoteSource, seed: int) -> torch.Tensor:
    if not 0 <= seed <= MAX_SEED:
        shown = str(seed) if len(str(seed)) <= 24 else f"{str(seed)[:20]}..."
        raise TimbreError(f"timbre seed must be between 0 and 2^63-1, got {shown}")
    return _as_latent(source, source.latent_for_seed(seed), f"latent for seed {seed}")


def parse_morph(morph: str | Sequence) -> list[tuple[float | None, TimbreSpec]]:
    """Morph string or list -> anchors [(time_s or None, spec)], sorted by time.

    ``"0:bright,30:seed:4,60:warm"`` gives timed anchors (the time is the text before the first colon, so
    ``seed:4`` survives); ``"bright,warm"`` (no times) gives untimed anchors that the renderer spreads evenly
    over the piece. A list may hold ``(time, spec)`` pairs or bare specs. Times and untimed anchors cannot
    be mixed; times must be finite, >= 0 and distinct (they are sorted here, any order is accepted).
    """
    if isinstance(morph, str):
        items = [part.strip() for part in morph.split(",")]
        if not morph.strip() or any(not part for part in items):
            raise TimbreError(f"morph {morph!r} has an empty anchor; expected e.g. '0:bright,30:17,60:warm'")
        anchors = [_split_anchor_text(part) for part in items]
    else:
        anchors = []
        for item in morph:
            if isinstance(item, (tuple, list)) and len(item) == 2:
                anchors.append((_parse_time(item[0], item), item[1]))
            elif isinstance(item, str):             # "30:warm" items, e.g. from a CLI list
                anchors.append(_split_anchor_text(item.strip()))
            else:
                anchors.append((None, item))
    if not anchors:
        raise TimbreError("morph needs at least one anchor, e.g. '0:bright,30:17'")
    timed = [t is not None for t, _ in anchors]
    if any(timed) and not all(timed):
        raise TimbreError("morph anchors must all have times ('0:a,30:b') or none ('a,b')")
    if all(timed):
        anchors.sort(key=lambda a: a[0])
        times = [t for t, _ in anchors]
        for earlier, later in zip(times, times[1:]):
            if later == earlier:
                raise TimbreError(f"morph has two anchors at {later:g} s; times must be distinct")
    return anchors


def _split_anchor_text(part: str) -> tuple[float | None, str]:
    head, sep, tail = part.partition(":")
    if not sep:                           # "7" is seed 7, "warm" a preset: no time without a colon
        return None, part
    try:                                  # "30:warm" is timed; "seed:4" or a preset like "pad:warm" is not
        float(head)
    except ValueError:
        return None, part
    return _parse_time(head.strip(), part), tail.strip()


def _parse_time(value, anchor) -> float:
    try:
        t = float(value)
    except (TypeError, ValueError):
        raise TimbreError(f"morph anchor {anchor!r}: time {value!r} is not a number of seconds") from None
    if not math.isfinite(t) or t < 0:
        raise TimbreError(f"morph anchor {anchor!r}: time must be finite and >= 0 seconds")
    return t


@dataclass(frozen=True)
class TimbreCurve:
    """z as a function of time: anchors at `times` [K] seconds (increasing) with `latents` [K, D]."""

    times: np.ndarray
    latents: torch.Tensor
    labels: tuple[str, ...]

    @classmethod
    def constant(cls, z: torch.Tensor, label: str = "") -> "TimbreCurve":
        return cls(np.zeros(1), z.reshape(1, -1).float(), (label,))

    def keys_at(self, times_s: np.ndarray, steps: int = MORPH_STEPS) -> tuple[np.ndarray, np.ndarray]:
        """Quantised curve positions for onset times [N] s -> (segment [N] int64, step [N] int64).

        z = slerp(latents[segment], latents[segment + 1], step / steps); step 0 means exactly an anchor.
        Quantising to 1/steps of an interval lets nearby notes share one z, so the note cache hits (a 30-s
        interval moves in 0.12-s steps at 256, far below what an ear notices in a timbre morph).
        """
        times_s = np.asarray(times_s, dtype=np.float64)
        k = len(self.times)
        if k == 1:
            zeros = np.zeros(times_s.shape, dtype=np.int64)
            return zeros, zeros.copy()
        seg = np.clip(np.searchsorted(self.times, times_s, side="right") - 1, 0, k - 2)
        width = self.times[seg + 1] - self.times[seg]
        frac = np.clip((times_s - self.times[seg]) / width, 0.0, 1.0)
        step = np.rint(frac * steps).astype(np.int64)
        # a position that rounds to the end of its interval is the next anchor: one key for one z
        at_end = step >= steps
        seg = np.where(at_end, seg + 1, seg).astype(np.int64)
        step = np.where(at_end, 0, step)
        return seg, step

    def latent_for_key(self, segment: int, step: int, steps: int = MORPH_STEPS) -> torch.Tensor:
        """z [D] at a quantised position from keys_at."""
        return self.latents_for_keys(np.array([segment]), np.array([step]), steps)[0]

    def latents_for_keys(self, segments: np.ndarray, step_of: np.ndarray, steps: int = MORPH_STEPS) -> torch.Tensor:
        """z [G, D] at quantised positions [G] from keys_at, in one batched slerp (a piece has thousands)."""
        segments = torch.as_tensor(np.asarray(segments, dtype=np.int64))
        step_of = torch.as_tensor(np.asarray(step_of, dtype=np.int64))
        start = self.latents[segments]
        if len(self.latents) == 1:
            return start.clone()
        end = self.latents[(segments + 1).clamp(max=len(self.latents) - 1)]
        moved = slerp(start, end, step_of.to(start.dtype) / steps)
        return torch.where((step_of == 0)[:, None], start, moved)     # step 0 is exactly the anchor

    def latents_at(self, times_s, steps: int | None = None) -> torch.Tensor:
        """z [N, D] at times [N] seconds; exact slerp if steps is None, else quantised as in keys_at."""
        times_s = np.atleast_1d(np.asarray(times_s, dtype=np.float64))
        if steps is not None:
            seg, step = self.keys_at(times_s, steps)
            return self.latents_for_keys(seg, step, steps)
        if len(self.times) == 1:
            return self.latents[0].expand(len(times_s), -1).clone()
        seg = np.clip(np.searchsorted(self.times, times_s, side="right") - 1, 0, len(self.times) - 2)
        frac = np.clip((times_s - self.times[seg]) / (self.times[seg + 1] - self.times[seg]), 0.0, 1.0)
        return torch.stack([slerp(self.latents[s], self.latents[s + 1], float(f)) for s, f in zip(seg, frac)])


def build_curve(source: NoteSource, morph: str | Sequence | TimbreSpec, end_s: float = 0.0) -> TimbreCurve:
    """A spec or morph -> TimbreCurve. Untimed anchors are spread evenly over [0, end_s] seconds."""
    if isinstance(morph, str) and morph.strip() in source.presets:
        return TimbreCurve.constant(resolve_timbre(source, morph), morph.strip())
    if isinstance(morph, str) and ("," in morph or _split_anchor_text(morph.strip())[0] is not None):
        anchors = parse_morph(morph)
    elif isinstance(morph, (list, tuple)):
        anchors = parse_morph(morph)
    else:
        return TimbreCurve.constant(resolve_timbre(source, morph), _label(morph))
    latents = torch.stack([resolve_timbre(source, spec) for _, spec in anchors])
    if anchors[0][0] is None:
        k = len(anchors)
        times = np.linspace(0.0, max(end_s, 0.0), k) if k > 1 else np.zeros(1)
        if k > 1 and end_s <= 0:    # nothing to spread over: the first anchor holds
            return TimbreCurve.constant(latents[0], _label(anchors[0][1]))
    else:
        times = np.array([t for t, _ in anchors], dtype=np.float64)
    return TimbreCurve(times, latents, tuple(_label(spec) for _, spec in anchors))


def _label(spec) -> str:
    return "vector" if isinstance(spec, (torch.Tensor, np.ndarray)) else str(spec)


def timbre_from_audio(source: NoteSource, audio, pitch: int, steps: int = 200, lr: float = 0.05,
                      velocity: int = 100, init_seed: int = 0) -> torch.Tensor:
    """Find a z [latent_dim] whose note at `pitch` sounds like `audio` [T] (float, at source.sample_rate).

    Optimises a multi-resolution log-magnitude STFT loss (n_fft 2048/1024/512/256) through
    ``source.synthesize`` with Adam (lr, `steps` iterations), from the z of `init_seed`. This needs a
    *differentiable* source: synthesize must be built from torch ops that keep the autograd graph (a plain
    PyTorch generator is; one that runs under no_grad, or through numpy/an exported graph, is not, and
    this raises TimbreError). Phase is ignored on purpose: a GAN's phase for a given z is arbitrary.
    """
    target = torch.as_tensor(np.asarray(audio), dtype=torch.float32).reshape(-1)
    n = min(len(target), source.note_samples)
    if n < 1024:
        raise TimbreError("timbre_from_audio needs at least 1024 samples of audio")
    device = source_device(source)
    target = target[:n].to(device)
    z = source.latent_for_seed(init_seed).detach().float().reshape(1, -1).to(device).requires_grad_(True)
    pitches = torch.tensor([int(pitch)], dtype=torch.long, device=device)
    vel = torch.tensor([int(velocity)], dtype=torch.long, device=device) if source.has_velocity else None
    # Adam by hand for one vector: torch.optim's first use imports its compile machinery (seconds)
    first_moment, second_moment = torch.zeros_like(z), torch.zeros_like(z)
    ffts = [n_fft for n_fft in (2048, 1024, 512, 256) if n_fft <= n]
    target_specs = [_log_mag(target, n_fft) for n_fft in ffts]
    best, best_loss = z.detach().clone(), float("inf")
    for step in range(1, steps + 1):
        z.grad = None
        audio_z = source.synthesize(pitches, z, vel, num_samples=n)[0, :n]
        if not audio_z.requires_grad:
            raise TimbreError("timbre_from_audio needs a differentiable source (synthesize returned no gradient)")
        loss = sum((_log_mag(audio_z, n_fft) - spec).abs().mean() for n_fft, spec in zip(ffts, target_specs))
        if loss.item() < best_loss:
            best_loss, best = loss.item(), z.detach().clone()
        loss.backward()
        with torch.no_grad():
            first_moment.mul_(0.9).add_(z.grad, alpha=0.1)
            second_moment.mul_(0.999).addcmul_(z.grad, z.grad, value=0.001)
            update = (first_moment / (1 - 0.9 ** step)) / ((second_moment / (1 - 0.999 ** step)).sqrt() + 1e-8)
            z.sub_(lr * update)
    return best.reshape(-1).cpu()


def _log_mag(x: torch.Tensor, n_fft: int) -> torch.Tensor:
    window = torch.hann_window(n_fft, device=x.device)
    spec = torch.stft(x, n_fft, hop_length=n_fft // 4, window=window, return_complex=True).abs()
    return torch.log(spec + 1e-5)


def default_timbre(source: NoteSource) -> TimbreSpec:
    """The timbre used when none is given: ``source.default_timbre`` if it has one (a release model's is
    fixed in its config), else the first preset by sorted name, else seed 0. Never the order of a dict."""
    chosen = getattr(source, "default_timbre", None)
    if chosen is not None:
        return chosen
    return sorted(source.presets)[0] if source.presets else 0


def source_device(source: NoteSource) -> torch.device:
    """The device a source computes on: its `device` attribute, else where its presets live, else CPU."""
    device = getattr(source, "device", None)
    if device is not None:
        return torch.device(device)
    for z in source.presets.values():
        return z.device
    return torch.device("cpu")
