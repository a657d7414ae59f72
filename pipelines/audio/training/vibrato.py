"""Frequency vibrato for a trained harmonic model, fitted to the pitch movement of real notes.

The log-mel discriminator and losses cannot see a few cents of pitch movement (a 64-band mel at 16 ms is far
too coarse), so adversarial training never learns vibrato. It is measured instead: :func:`pitch_movement_cents`
tracks each note's pitch over its held part (pYIN, 1-cent resolution) and returns the spread in cents.
:func:`fit_vibrato` then regresses a vibrato model's ``vibrato_head`` — the only parameters it changes — on the
real notes' movement, instrument by instrument: the per-note code of each preset at each pitch is asked for
the depth whose rendered movement matches the real notes' (the tracker's own floor and its smoothing
calibrated on the model's notes, so both sides are measured alike). Random z get the depth of their code.

    >>> movement = pitch_movement_cents(notes, pitches)                 # [N] cents, nan where unvoiced
    >>> report = fit_vibrato(pipe, notes, pitches, latents)             # pipe.generator gains vibrato
"""
from __future__ import annotations

import dataclasses

import numpy as np
import torch

from ..constants import SAMPLE_RATE

#: the held part of a note that is tracked (s): after the attack and the vibrato's fade-in, before note-off
HELD_SECONDS = (0.6, 2.5)
#: pYIN frame (64 ms: short enough to follow a 7-Hz vibrato, long enough for MIDI 24's 33-ms period)
FRAME = 1024
HOP = 256
#: depth (cents) the tracker is calibrated with on the model's own notes
CALIBRATION_CENTS = 10.0
#: a note whose vibrato-free render already moves this much (cents) cannot be measured: it gets none
TRACKABLE_CENTS = 2.0
#: smallest target depth (cents): the logit of 0 is −∞
MIN_CENTS = 0.2
#: ridge strength, as a share of the codes' mean variance (keeps random z between the instruments' depths)
RIDGE = 0.1


def pitch_track_cents(note, pitch: int, sr: int = SAMPLE_RATE) -> np.ndarray:
    """The tracked pitch of one note ``[T]`` over :data:`HELD_SECONDS`, in cents from its median, every 16 ms
    (NaN where unvoiced). The search spans ±1.5 semitones around MIDI ``pitch`` and lets the pitch move
    3 octaves/s at most (a 25-cent vibrato at 7 Hz moves ≈ 0.9): 100× faster than pYIN's default search."""
    import librosa

    note = np.asarray(note.detach().cpu() if torch.is_tensor(note) else note, dtype=np.float32).reshape(-1)
    start, end = (int(s * sr) for s in HELD_SECONDS)
    f0, _, _ = librosa.pyin(note[start:end], fmin=librosa.midi_to_hz(int(pitch) - 1.5),
                            fmax=librosa.midi_to_hz(int(pitch) + 1.5), sr=sr, frame_length=FRAME,
                            hop_length=HOP, resolution=0.01, max_transition_rate=3.0)
    voiced = np.isfinite(f0)
    if not voiced.any():
        return f0
    return 1200 * np.log2(f0 / np.median(f0[voiced]))


def pitch_movement_cents(audio, pitches, sr: int = SAMPLE_RATE) -> np.ndarray:
    """Standard deviation (cents) of each note's :func:`pitch_track_cents`; ``audio`` [N, T], ``pitches`` [N]
    MIDI. NaN for a note with under 10 voiced frames."""
    out = np.full(len(audio), np.nan)
    for i, (note, pitch) in enumerate(zip(audio, np.asarray(pitches).reshape(-1))):
        track = pitch_track_cents(note, int(pitch), sr)
        track = track[np.isfinite(track)]
        if len(track) >= 10:
            out[i] = float(np.std(track))
    return out


@dataclasses.dataclass
class VibratoFit:
    """What :func:`fit_vibrato` measured: real and model movement (cents) per note before and after."""

    real: np.ndarray
    before: np.ndarray
    after: np.ndarray
    target_cents: np.ndarray
    gain: float                 # measured movement per cent of depth (the tracker's view of a sine)
    floor: np.ndarray           # movement the tracker reports for each model note without vibrato


def with_vibrato(pipe, max_cents: float = 25.0):
    """The pipeline with its harmonic generator rebuilt with ``vibrato=True`` (every trained weight kept, the
    new ``vibrato_head`` at its near-zero start) and its config updated, so a saved release keeps it."""
    from ..networks.harmonic import HarmonicGenerator, HarmonicGeneratorConfig

    if pipe.family != "harmonic":
        raise ValueError(f"vibrato is a harmonic-model option; this model is {pipe.family!r}")
    old = pipe.generator
    if not old.config.modulation:
        raise ValueError("vibrato rides the modulation LFO: this model was trained without modulation")
    config = dataclasses.replace(old.config, vibrato=True, max_vibrato_cents=float(max_cents))
    generator = HarmonicGenerator(config)
    missing, unexpected = generator.load_state_dict(old.state_dict(), strict=False)
    if unexpected or any(not k.startswith("vibrato_head.") for k in missing):
        raise ValueError(f"weights do not fit a vibrato model: missing {missing}, unexpected {unexpected}")
    pipe.generator = generator.to(pipe.device).eval().requires_grad_(False)
    pipe.g_config = {**pipe.g_config, "vibrato": True, "max_vibrato_cents": float(max_cents)}
    return pipe


def fit_vibrato(pipe, real_notes, pitches, latents, velocity: int = 80) -> VibratoFit:
    """Fit the vibrato head of ``pipe``'s generator (a vibrato model: see :func:`with_vibrato`) so that the
    notes of ``latents`` [N, D] at ``pitches`` [N] move in pitch as ``real_notes`` [N, T] do (16 kHz).

    The target depth of note i is √(real² − floor_i²) / gain (movements add in quadrature): ``floor_i`` is what
    the tracker reports for the model's own note i without vibrato, ``gain`` what it reports per cent of depth
    (the model's notes at :data:`CALIBRATION_CENTS`). Where the floor is :data:`TRACKABLE_CENTS` or more
    (bells, drums: an inharmonic or fast-decaying note has no steady pitch to follow) the target is no vibrato.
    Only ``vibrato_head`` changes: ridge regression (:data:`RIDGE`) of the depth's logit on the per-note codes.
    """
    G = pipe.generator
    if not getattr(G.config, "vibrato", False):
        raise ValueError("the generator has no vibrato head: build it with with_vibrato(pipe) first")
    pitches = torch.as_tensor(np.asarray(pitches), dtype=torch.long).reshape(-1)
    latents = torch.as_tensor(latents, dtype=torch.float32).reshape(len(pitches), -1)
    velocities = [int(velocity)] * len(pitches)
    real = pitch_movement_cents(real_notes, pitches.numpy())
    head = G.vibrato_head
    saved = {k: v.clone() for k, v in head.state_dict().items()}

    def movement(depth_bias: float | None = None) -> np.ndarray:
        if depth_bias is not None:      # every note at one depth: weights 0, bias = logit(depth / max)
            head.weight.data.zero_()
            head.bias.data.fill_(depth_bias)
        notes = pipe.generate(pitches, z=latents, velocities=velocities if pipe.has_velocity else None)
        return pitch_movement_cents(notes, pitches.numpy())

    share = CALIBRATION_CENTS / G.config.max_vibrato_cents
    with torch.no_grad():
        before = movement()
        floor = movement(-30.0)                                  # each note's own tracker floor, no vibrato
        calibrated = movement(float(np.log(share / (1 - share))))
        head.load_state_dict(saved)
    # movements add in quadrature (independent wobbles): depth = √(real² − floor²) / gain
    gain = float(np.nanmedian(np.sqrt(np.clip(calibrated ** 2 - floor ** 2, 0, None)))) / CALIBRATION_CENTS
    if not gain > 0:
        raise ValueError(f"the pitch tracker saw no vibrato at {CALIBRATION_CENTS:g} cents (gain {gain:.3f})")
    target = np.sqrt(np.clip(real ** 2 - floor ** 2, 0, None)) / gain
    target = np.where(floor < TRACKABLE_CENTS, target, 0.0)     # bells, drums: the tracker cannot tell
    target = np.clip(target, MIN_CENTS, 0.95 * G.config.max_vibrato_cents)
    known = np.isfinite(target)
    if not known.any():
        raise ValueError("no real note had a trackable pitch over its held part")

    # a linear head on the per-note code: ridge regression of the depth's logit (closed form, no step size)
    with torch.no_grad():
        vel = torch.full((int(known.sum()),), int(velocity), device=pipe.device) if pipe.has_velocity else None
        code = G._note_code(latents[known].to(pipe.device), pitches[known].to(pipe.device), vel)[0].double()
        share = torch.as_tensor(target[known] / G.config.max_vibrato_cents, dtype=torch.float64,
                                device=code.device)
        logit = torch.log(share / (1 - share))
        mean, centre = code.mean(0), logit.mean()
        x = code - mean
        gram = x.T @ x
        ridge = RIDGE * float(torch.trace(gram)) / gram.shape[0] + 1e-9
        weight = torch.linalg.solve(gram + ridge * torch.eye(gram.shape[0], dtype=gram.dtype, device=gram.device),
                                    x.T @ (logit - centre))
        head.weight.copy_(weight[None].to(head.weight.dtype))
        head.bias.fill_(float(centre - mean @ weight))
        after = movement()
    return VibratoFit(real, before, after, target, gain, floor)
