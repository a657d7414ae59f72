"""Score a model's presets against a :class:`~.living.LivingReference`: do they decay, breathe, answer velocity,
morph smoothly and sound like the instruments they are named after?

Every preset whose name is a program of the reference (``acoustic-grand-piano`` ↔ GM program 0) plays the
reference pitches (36/48/60/72) at each reference velocity (40/80/120; 4-s notes, note-off at 3 s). Figures:

==================================  ===============================================================================
``decay_mismatch_db``               mean |decay(preset note) − decay(real note)| at the reference velocity (80)
``sustain_movement_ratio``          mean sustain movement of the preset notes ÷ that of the real notes
``logmel_l1_db``                    mean log-mel L1 (dB) between each preset note and the real note
``velocity_brightness_sign_share``  share of (preset, pitch) pairs whose centroid change 40→120 has the real
                                    note's sign; a change under ``SIGN_DEAD_BAND`` (1 %) of the centroid is sign 0
``velocity_brightening_share``      the same share over the pairs whose real notes brighten only (where the data
                                    is mostly velocity-flat, as FluidR3 is, a velocity-blind model scores high on
                                    the sign share; this one it fails)
``morph_monotonic_share``           share of preset pairs (all, or a seeded sample of ``MAX_MORPH_PAIRS``) whose
                                    ``MORPH_STEPS``-point slerp at pitch 60 moves monotonically: log-mel L1 to A's
                                    note never falls, to B's never rises, by more than ``MORPH_TOLERANCE_DB``
                                    (0.25 dB) a step, and both change by more than that overall
``heldout_fit_*``                   per held-out program: log-mel L1 over all reference pitches of a timbre
                                    fitted to its one real note nearest pitch 60 (``render.invert.fit_timbre``,
                                    anchored as ``render --timbre-from`` is, at the note's known velocity and
                                    level) vs that of the nearest preset
==================================  ===============================================================================
"""
from __future__ import annotations

import itertools
import time

import numpy as np
import torch
from tqdm.auto import tqdm

from creative_gan.layers import slerp

from ..dsp.features import logmel_db, logmel_l1_db
from .living import LivingReference, note_descriptors

SIGN_DEAD_BAND = 0.01
MORPH_STEPS = 8
MORPH_TOLERANCE_DB = 0.25
MAX_MORPH_PAIRS = 40
MORPH_PITCH = 60

HEADLINE = ("decay_mismatch_db", "sustain_movement_ratio", "logmel_l1_db", "velocity_brightness_sign_share",
            "morph_monotonic_share")


class Row(dict):
    """One table row: a dict of figures (JSON sees a dict) that prints as one readable line."""

    def __init__(self, layout: str, **values):
        super().__init__(values)
        self._layout = layout

    def __str__(self) -> str:
        shown = {k: (f"{v:.2f}" if isinstance(v, float) else v) for k, v in self.items()}
        return self._layout.format(**shown)

    def __format__(self, spec: str) -> str:
        return format(str(self), spec)


def brightness_sign(centroid_low, centroid_high, dead_band: float = SIGN_DEAD_BAND) -> np.ndarray:
    """Sign (−1, 0, +1) of the centroid change low → high velocity; 0 when the change is under ``dead_band`` of
    the pair's mean centroid (NaN in, NaN out)."""
    low, high = np.asarray(centroid_low, np.float64), np.asarray(centroid_high, np.float64)
    change = (high - low) / np.maximum(0.5 * (high + low), 1e-9)
    sign = np.where(np.abs(change) < dead_band, 0.0, np.sign(change))
    return np.where(np.isfinite(change), sign, np.nan)


def sign_share(model_signs, real_signs) -> float:
    """Share of pairs with a known real sign where the model's sign equals it (NaN if none)."""
    model_signs, real_signs = np.asarray(model_signs, np.float64), np.asarray(real_signs, np.float64)
    known = np.isfinite(real_signs)
    return float((model_signs[known] == real_signs[known]).mean()) if known.any() else float("nan")


def morph_is_monotone(to_start, to_end, tolerance_db: float = MORPH_TOLERANCE_DB) -> bool:
    """True when the distances along a morph to its start never fall and to its end never rise by more than
    ``tolerance_db`` from one step to the next, and each changes by more than ``tolerance_db`` overall (a morph
    between two alike notes does not count) (``[S]`` each)."""
    to_start, to_end = np.asarray(to_start, np.float64), np.asarray(to_end, np.float64)
    rises, falls = np.diff(to_start), np.diff(to_end)
    steady = (rises >= -tolerance_db).all() and (falls <= tolerance_db).all()
    return bool(steady and to_start[-1] - to_start[0] > tolerance_db and to_end[0] - to_end[-1] > tolerance_db)


def morph_pairs(names: list[str], max_pairs: int = MAX_MORPH_PAIRS, seed: int = 0) -> list[tuple[str, str]]:
    """All unordered pairs of ``names`` (sorted), or a seeded sample of ``max_pairs`` of them."""
    pairs = list(itertools.combinations(sorted(names), 2))
    if len(pairs) <= max_pairs:
        return pairs
    pick = np.random.default_rng(seed).choice(len(pairs), max_pairs, replace=False)
    return [pairs[i] for i in sorted(pick)]


def render_notes(pipe, z: torch.Tensor, pitches, velocities) -> torch.Tensor:
    """``[N, note_samples]`` float32 notes of latents ``z [N, D]`` at ``pitches``/``velocities`` ``[N]``."""
    with torch.inference_mode():
        return pipe.synthesize(torch.as_tensor(pitches).long(), z.float(), torch.as_tensor(velocities).long())


def _nanmean(values) -> float:
    values = np.asarray(values, np.float64)
    return float(np.nanmean(values)) if np.isfinite(values).any() else float("nan")


def _l1(fake_db: torch.Tensor, real_db: np.ndarray) -> np.ndarray:
    """[N] log-mel L1 (dB); NaN where the real note is missing."""
    real = torch.from_numpy(np.nan_to_num(real_db.astype(np.float32), nan=-100.0))
    out = logmel_l1_db(fake_db, real).numpy().astype(np.float64)
    return np.where(np.isnan(real_db).any(axis=(-2, -1)), np.nan, out)


def score_living(pipe, reference: LivingReference, max_morph_pairs: int = MAX_MORPH_PAIRS, seed: int = 0,
                 fit: bool = True, fit_options: dict | None = None, progress: bool = False) -> dict:
    """All living-timbre figures of ``pipe`` against ``reference``: the :data:`HEADLINE` five, their model and
    real means, counts, and one :class:`Row` per preset (``preset:NAME``) and held-out program (``heldout:NAME``).
    Figures that cannot be measured (no preset named like a reference program, one velocity) are NaN."""
    started = time.perf_counter()
    lo, hi = pipe.pitch_range
    keep = [i for i, p in enumerate(reference.pitches) if lo <= p <= hi]
    pitches = reference.pitches[keep]
    velocities = reference.velocities            # a model without velocity plays every velocity alike
    vr = reference.velocity_row
    P, V = len(pitches), len(velocities)
    names = sorted(pipe.presets) if P else []     # the presets played: all of them, if any pitch is in range
    desc, preset_db = {}, None
    if names:                                     # every preset × pitch × velocity
        z = torch.stack([pipe.presets[n].float().reshape(-1) for n in names])
        grid_pitch = np.tile(np.repeat(pitches, V), len(names))
        notes = render_notes(pipe, z.repeat_interleave(P * V, 0), grid_pitch, np.tile(velocities, len(names) * P))
        desc = {k: v.reshape(len(names), P, V, *v.shape[1:]) for k, v in note_descriptors(notes, grid_pitch).items()}
        with torch.no_grad():
            preset_db = logmel_db(notes.reshape(len(names), P, V, -1)[:, :, vr].reshape(len(names) * P, -1))
        preset_db = preset_db.reshape(len(names), P, *preset_db.shape[1:])          # [presets, P, 64, F]

    rd = {k: v[:, keep] for k, v in reference.descriptors.items()}
    out: dict = {}
    rows: dict = {}
    decay_gap, move_m, move_r, l1s, hnr_m, hnr_r, signs_m, signs_r, loud_m, loud_r = ([] for _ in range(10))
    for j, name in enumerate(names):
        i = next((i for i, n in enumerate(reference.names) if n == name and not reference.heldout[i]), None)
        if i is None:
            continue
        d_m, d_r = desc["decay_db"][j, :, vr], rd["decay_db"][i, :, vr]
        m_m, m_r = desc["movement_db"][j, :, vr], rd["movement_db"][i, :, vr]
        h_m, h_r = desc["hnr_db"][j, :, vr], rd["hnr_db"][i, :, vr]
        l1 = _l1(preset_db[j], reference.logmel[i][keep])
        decay_gap.append(np.abs(d_m - d_r)), move_m.append(m_m), move_r.append(m_r), l1s.append(l1)
        hnr_m.append(h_m), hnr_r.append(h_r)
        row = dict(decay_db=_nanmean(d_m), real_decay_db=_nanmean(d_r), movement_db=_nanmean(m_m),
                   real_movement_db=_nanmean(m_r), logmel_l1_db=_nanmean(l1), hnr_db=_nanmean(h_m),
                   real_hnr_db=_nanmean(h_r))
        layout = ("decay {decay_db:>6} / {real_decay_db:>6} dB   movement {movement_db} / {real_movement_db} dB   "
                  "log-mel L1 {logmel_l1_db:>5} dB   HNR {hnr_db:>5} / {real_hnr_db:>5} dB")
        if V >= 2:                                  # lowest → highest velocity
            s_m = brightness_sign(desc["centroid_hz"][j, :, 0], desc["centroid_hz"][j, :, -1])
            s_r = brightness_sign(rd["centroid_hz"][i, :, 0], rd["centroid_hz"][i, :, -1])
            signs_m.append(s_m), signs_r.append(s_r)
            loud_m.append(desc["loudness_db"][j, :, -1] - desc["loudness_db"][j, :, 0])
            loud_r.append(rd["loudness_db"][i, :, -1] - rd["loudness_db"][i, :, 0])
            row["velocity_sign_matches"] = f"{int((s_m == s_r).sum())}/{int(np.isfinite(s_r).sum())}"
            layout += "   velocity signs {velocity_sign_matches}"
        rows[f"preset:{name}"] = Row(layout + "   (model / real)", **row)

    flat = lambda parts: np.concatenate(parts) if parts else np.zeros(0)        # noqa: E731
    out["decay_mismatch_db"] = _nanmean(flat(decay_gap))
    mean_m, mean_r = _nanmean(flat(move_m)), _nanmean(flat(move_r))
    out["sustain_movement_ratio"] = mean_m / mean_r if mean_r > 0 else float("nan")
    out["logmel_l1_db"] = _nanmean(flat(l1s))
    real_signs = flat(signs_r)
    out["velocity_brightness_sign_share"] = sign_share(flat(signs_m), real_signs)
    out.update(score_morphs(pipe, max_morph_pairs, seed, reference.reference_velocity, progress))
    out.update({"sustain_movement_db": mean_m, "real_sustain_movement_db": mean_r,
                "hnr_db": _nanmean(flat(hnr_m)), "real_hnr_db": _nanmean(flat(hnr_r)),
                "loudness_change_db": _nanmean(flat(loud_m)), "real_loudness_change_db": _nanmean(flat(loud_r)),
                "velocity_brightening_share": sign_share(flat(signs_m)[real_signs > 0], real_signs[real_signs > 0]),
                "velocity_pairs": int(np.isfinite(real_signs).sum()),
                "real_velocity_brightening_pairs": int((real_signs > 0).sum()),
                "living_presets_matched": len(l1s), "living_presets": len(pipe.presets)})
    if fit:
        out.update(_heldout(pipe, reference, keep, names, preset_db, fit_options or {}, progress, rows))
    out["living_seconds"] = time.perf_counter() - started
    return out | rows


def score_morphs(pipe, max_pairs: int = MAX_MORPH_PAIRS, seed: int = 0, velocity: int = 80,
                 progress: bool = False) -> dict:
    """``morph_monotonic_share`` and ``morph_pairs`` over seeded pairs of ``pipe.presets`` at pitch 60 (or the
    range's middle) and ``velocity``."""
    pairs = morph_pairs(list(pipe.presets), max_pairs, seed)
    if not pairs:
        return {"morph_monotonic_share": float("nan"), "morph_pairs": 0}
    lo, hi = pipe.pitch_range
    pitch = MORPH_PITCH if lo <= MORPH_PITCH <= hi else (lo + hi) // 2
    t = torch.linspace(0.0, 1.0, MORPH_STEPS)
    passed = 0
    for a, b in tqdm(pairs, desc="morphs", disable=not progress, leave=False):
        za, zb = pipe.presets[a].float().reshape(-1), pipe.presets[b].float().reshape(-1)
        z = slerp(za.expand(MORPH_STEPS, -1), zb.expand(MORPH_STEPS, -1), t)
        z[0], z[-1] = za, zb
        with torch.no_grad():
            mel = logmel_db(render_notes(pipe, z, [pitch] * MORPH_STEPS, [velocity] * MORPH_STEPS))
            to_a = logmel_l1_db(mel, mel[:1].expand_as(mel)).numpy()
            to_b = logmel_l1_db(mel, mel[-1:].expand_as(mel)).numpy()
        passed += morph_is_monotone(to_a, to_b)
    return {"morph_monotonic_share": passed / len(pairs), "morph_pairs": len(pairs)}


def _heldout(pipe, reference, keep, names, preset_db, fit_options, progress, rows) -> dict:
    """Fit a timbre to each held-out program's stored note at pitch 60 and score it, and every preset, on all the
    program's stored notes (log-mel L1 at the reference velocity)."""
    held = np.flatnonzero(reference.heldout)
    if not len(held) or not reference.heldout_audio.shape[0]:
        return {}
    from ..render.invert import ANCHOR_WEIGHT, fit_timbre

    fits, nearest, beats = [], [], []
    for h, i in enumerate(tqdm(held, desc="held-out timbre fits", disable=not progress, leave=False)):
        present = np.flatnonzero(~np.isnan(reference.logmel[i][keep]).any(axis=(-2, -1)))
        if not len(present):
            continue
        audio = reference.heldout_audio[h][keep][present].astype(np.float32) / 32768.0
        pitches = reference.pitches[keep][present]
        velocity = [reference.reference_velocity] * len(present)
        one = int(np.argmin(np.abs(pitches - MORPH_PITCH)))          # fit to one note, as --timbre-from does
        z = fit_timbre(pipe, audio[one:one + 1], pitches[one:one + 1], velocity[:1],
                       **{"anchor": ANCHOR_WEIGHT, **fit_options})
        with torch.no_grad():
            fit_db = logmel_db(render_notes(pipe, z.expand(len(present), -1), pitches, velocity))
        real_db = reference.logmel[i][keep][present]
        fit_l1 = _nanmean(_l1(fit_db, real_db))
        preset_l1 = [_nanmean(_l1(preset_db[j][present], real_db)) for j in range(len(names))]
        best = int(np.argmin(preset_l1)) if names else -1
        near = preset_l1[best] if names else float("nan")
        fits.append(fit_l1), nearest.append(near), beats.append(fit_l1 < near)
        rows[f"heldout:{reference.names[i]}"] = Row(
            "log-mel L1 of a fitted timbre {fit_logmel_l1_db:>5} dB   of the nearest preset "
            "{nearest_preset_logmel_l1_db:>5} dB ({nearest_preset})", fit_logmel_l1_db=fit_l1,
            nearest_preset_logmel_l1_db=near,
            nearest_preset=names[best] if names else "none")
    if not fits:
        return {}
    return {"heldout_fit_logmel_l1_db": _nanmean(fits), "heldout_nearest_preset_logmel_l1_db": _nanmean(nearest),
            "heldout_fit_beats_presets_share": float(np.mean(beats)), "heldout_programs": len(fits)}
