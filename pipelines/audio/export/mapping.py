"""Where each sample of an exported instrument sits: key zones (sample points) and velocity layers.

A key zone is a run of adjacent MIDI keys played from one sample, recorded at the zone's centre key and
pitch-shifted for its neighbours. Zones tile the requested span without gaps or overlaps. Keys outside
the model's pitch range are made, as the MIDI renderer makes them, by moving them whole octaves into the
range: a zone never mixes keys with different octave moves, so every key of a zone sounds exactly what
``render`` gives for it (shifted at most ``(every - 1) // 2 + (every - 1) % 2`` semitones: 1 for every=3).
"""
from __future__ import annotations

from dataclasses import dataclass

from creative_gan.errors import UsageError

from ..data.midi_notes import move_into_range

MAX_VELOCITY_LAYERS = 16
MAX_EVERY = 12


@dataclass(frozen=True)
class KeyZone:
    """Keys ``lokey..hikey`` (inclusive MIDI numbers) played from one sample recorded at ``center``.

    ``model_pitch`` is the pitch the generator makes for ``center`` (``center`` moved by whole octaves into
    the model's range); the sample is mapped with ``pitch_keycenter = center``, so key k sounds
    ``model_pitch + (k - center)``, exactly what the renderer plays for key k.
    """

    lokey: int
    hikey: int
    center: int
    model_pitch: int

    @property
    def max_shift(self) -> int:
        """Largest pitch shift in semitones any key of this zone needs."""
        return max(self.center - self.lokey, self.hikey - self.center)


@dataclass(frozen=True)
class VelocityLayer:
    """Velocities ``lovel..hivel`` (inclusive, 1-127) played from samples made at ``velocity``."""

    lovel: int
    hivel: int
    velocity: int


def parse_pitch_span(pitches) -> tuple[int, int]:
    """``"21-108"``, ``(21, 108)`` or ``"60"`` -> (low, high) MIDI keys, 0 <= low <= high <= 127; UsageError."""
    text = pitches
    if isinstance(pitches, (tuple, list)):
        if len(pitches) != 2:
            raise UsageError(f"pitches must be (low, high), got {pitches!r}")
        values = list(pitches)
    else:
        text = str(pitches).strip()
        parts = text.split("-", 1) if "-" in text[1:] else [text]
        values = [p.strip() for p in parts]
    try:
        numbers = [_whole(v) for v in values]
    except (ValueError, TypeError, OverflowError):
        raise UsageError(f"bad pitch range {text!r} (use e.g. 21-108: MIDI keys 0-127)") from None
    low, high = (numbers[0], numbers[0]) if len(numbers) == 1 else numbers
    if not 0 <= low <= high <= 127:
        raise UsageError(f"bad pitch range {text!r}: need 0 <= low <= high <= 127 (e.g. 21-108)")
    return low, high


def parse_velocities(velocities) -> list[int]:
    """``"40,80,120"`` or ``[40, 80, 120]`` -> sorted distinct velocities in 1..127; UsageError."""
    items = str(velocities).split(",") if isinstance(velocities, str) else list(velocities)
    try:
        values = [_whole(v) for v in items]
    except (ValueError, TypeError, OverflowError):
        raise UsageError(f"bad velocities {velocities!r} (use e.g. 40,80,120: MIDI velocities 1-127)") from None
    if not values:
        raise UsageError("velocities names no velocity (use e.g. 40,80,120)")
    if any(not 1 <= v <= 127 for v in values):
        raise UsageError(f"bad velocities {velocities!r}: each must lie in 1-127")
    if len(set(values)) != len(values):
        raise UsageError(f"bad velocities {velocities!r}: a velocity is named twice")
    if len(values) > MAX_VELOCITY_LAYERS:
        raise UsageError(f"at most {MAX_VELOCITY_LAYERS} velocity layers, got {len(values)}")
    return sorted(values)


def check_every(every) -> int:
    """Keys per sample point, 1..12; UsageError otherwise."""
    try:
        value = _whole(every)
    except (ValueError, TypeError, OverflowError):
        raise UsageError(f"--every must be a whole number of keys, got {every!r}") from None
    if not 1 <= value <= MAX_EVERY:
        raise UsageError(f"--every must lie in 1-{MAX_EVERY} keys per sample, got {value}")
    return value


def key_zones(low: int, high: int, every: int, model_range: tuple[int, int]) -> list[KeyZone]:
    """Zones tiling ``low..high``: runs of keys with one octave move, cut into groups of ``every`` keys from
    the bottom (the top group of a run may be shorter); each group's centre is its middle key."""
    keys = list(range(low, high + 1))
    sounding = move_into_range(keys, *model_range).tolist()
    runs: list[list[int]] = []
    for key, pitch in zip(keys, sounding):
        if runs and pitch - key == sounding[runs[-1][0] - low] - runs[-1][0]:
            runs[-1].append(key)
        else:
            runs.append([key])
    zones = []
    for run in runs:
        for start in range(0, len(run), every):
            group = run[start:start + every]
            center = group[(len(group) - 1) // 2]
            zones.append(KeyZone(group[0], group[-1], center, int(sounding[center - low])))
    return zones


def velocity_layers(velocities: list[int]) -> list[VelocityLayer]:
    """Layers tiling 1..127: each velocity owns the range up to the midpoint between it and its neighbours."""
    layers, lovel = [], 1
    for i, velocity in enumerate(velocities):
        hivel = 127 if i == len(velocities) - 1 else (velocity + velocities[i + 1]) // 2
        layers.append(VelocityLayer(lovel, hivel, velocity))
        lovel = hivel + 1
    return layers


def _whole(value) -> int:
    """An int from 7, 7.0 or "7"; ValueError for 7.5, "x", True, NaN."""
    if isinstance(value, bool):
        raise ValueError(value)
    if isinstance(value, str):
        return int(value.strip())
    as_float = float(value)
    if as_float != int(as_float):
        raise ValueError(value)
    return int(as_float)
