"""The preset bank: named timbres found in a trained model's latent space.

For every instrument of the training corpus, many candidate seeds are rendered at a few pitches and
the seed whose MFCC-statistics embedding lies nearest that instrument's real notes becomes the
preset, named after the instrument ("violin", "trumpet", …). Names describe the sound because the
sound was chosen to match them.
"""
from __future__ import annotations

import re

import numpy as np
import torch
from tqdm.auto import tqdm

from ..evaluate.metrics import mfcc_stats

BANK_PITCHES = (40, 52, 64, 76)


def preset_name(instrument_str: str, program: int | None) -> str:
    """A short lowercase name: the GM program name when the id is a GM program, else the instrument string."""
    if program is not None and 0 <= program < 128:
        from ..data.gm import gm_name

        name = gm_name(program)
    else:
        name = instrument_str
    name = name.lower()
    return re.sub(r"[^a-z0-9]+", "-", name).strip("-") or f"instrument-{program}"


def build_bank(pipe, corpus, candidates: int = 128, seed: int = 0, progress: bool = True) -> dict[str, torch.Tensor]:
    """``{name: z}`` — for each corpus instrument, the candidate z whose notes sound most like it."""
    lo, hi = pipe.pitch_range
    available = set(corpus.pitch_histogram())
    pitches = [p for p in BANK_PITCHES if lo <= p <= hi and p in available] or sorted(available)[:4]
    # real side: mean embedding per instrument over the bank pitches
    real: dict[int, list[np.ndarray]] = {}
    for i, rec in enumerate(corpus.records):
        if rec.pitch in pitches:
            real.setdefault(rec.instrument, []).append(corpus.load_audio(i))
    if not real:
        return {}
    inst_ids = sorted(real)
    real_emb = {k: mfcc_stats(np.stack(v)) for k, v in real.items()}
    every = np.concatenate(list(real_emb.values()))
    mean, std = every.mean(0), every.std(0) + 1e-6
    targets = np.stack([((real_emb[k] - mean) / std).mean(0) for k in inst_ids])          # [I, 40]
    # fake side: each candidate seed at every bank pitch
    seeds = [seed * 100_000 + 7_919 * c for c in range(candidates)]
    z = torch.stack([pipe.latent_for_seed(s) for s in seeds])                                # [C, D]
    emb = []
    for c in tqdm(range(candidates), desc="preset bank", disable=not progress):
        notes = pipe.generate(pitches, z=z[c])
        emb.append(((mfcc_stats(notes) - mean) / std).mean(0))
    emb = np.stack(emb)                                                                       # [C, 40]
    dist = ((emb[None] - targets[:, None]) ** 2).sum(-1)                                      # [I, C]
    names = corpus.instruments()
    bank, used = {}, set()
    for row, inst in enumerate(inst_ids):
        order = np.argsort(dist[row])
        pick = next(int(c) for c in order if int(c) not in used)  # distinct z per preset
        used.add(pick)
        name = preset_name(names.get(inst, str(inst)), inst)
        while name in bank:
            name += "-2"
        bank[name] = z[pick].clone()
    return bank
