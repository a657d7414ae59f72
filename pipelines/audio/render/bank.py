"""The preset bank: named timbres fitted to a corpus's instruments by inversion.

For every instrument of the training corpus, one z is fitted to that instrument's real notes at several
pitches and velocities at once (:func:`.invert.fit_timbre`: log-mel L1 in dB over whole 4-s notes, release
included) and named after the instrument ("violin", "trumpet", …). Names describe the sound because the sound
was fitted to them. The fitting pitches (40, 52, 64, 76) differ from those `evaluate audio` compares presets
at (36, 48, 60, 72), so that figure is not measured on the notes a preset was fitted to.
"""
from __future__ import annotations

import re

import torch
from tqdm.auto import tqdm

BANK_PITCHES = (40, 52, 64, 76)
BANK_VELOCITIES = (40, 80, 120)


def preset_name(instrument_str: str, program: int | None) -> str:
    """A short lowercase name: the GM program name when the id is a GM program, else the instrument string."""
    if program is not None and 0 <= program < 128:
        from ..data.gm import gm_name

        name = gm_name(program)
    else:
        name = instrument_str
    name = name.lower()
    return re.sub(r"[^a-z0-9]+", "-", name).strip("-") or f"instrument-{program}"


def build_bank(pipe, corpus, seed: int = 0, progress: bool = True, init: dict | None = None, steps: int = 40,
               restarts: int = 4, keep: int = 2) -> dict[str, torch.Tensor]:
    """``{name: z}`` — for each corpus instrument, z fitted to its notes at the bank pitches and velocities.

    ``init`` maps an instrument id to extra starting latents ``[C, D]`` (e.g. the instrument latents learned in
    training). The random starts and the descent are seeded, so the same model and corpus give the same bank.
    """
    from .invert import fit_timbre

    lo, hi = pipe.pitch_range
    available = sorted(p for p in corpus.pitch_histogram() if lo <= p <= hi)
    if not available:
        return {}
    pitches = sorted({min(available, key=lambda a: (abs(a - p), a)) for p in BANK_PITCHES})
    notes: dict[int, list[tuple[int, int, int]]] = {}
    for i, rec in enumerate(corpus.records):
        if rec.pitch in pitches:
            notes.setdefault(rec.instrument, []).append((i, rec.pitch, rec.velocity))
    names = corpus.instruments()
    bank: dict[str, torch.Tensor] = {}
    for inst in tqdm(sorted(notes), desc="preset bank (fit)", disable=not progress):
        rows = [r for r in notes[inst] if r[2] in BANK_VELOCITIES] or notes[inst]
        audio = [corpus.load_audio(i) for i, _, _ in rows]
        start = None if init is None or inst not in init else init[inst]
        z = fit_timbre(pipe, audio, [p for _, p, _ in rows], [v for _, _, v in rows], steps=steps,
                       restarts=restarts, keep=keep, seed=seed + inst, init=start,
                       clip_samples=min(len(a) for a in audio), use_presets=False)
        name = preset_name(names.get(inst, str(inst)), inst)
        while name in bank:
            name += "-2"
        bank[name] = z.clone()
    return bank
