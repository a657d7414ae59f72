"""Timbre by inversion: the latent z whose notes sound most like some real notes.

One z is fitted to several notes at once (a recording of an instrument at a few pitches), under the
log-mel L1 distance every "sounds like the instrument" figure uses (:func:`..dsp.features.logmel_l1_db`,
dB, mean over notes):

1. *multi-start* — ``restarts`` random z (seeded) and every preset z of the model are scored without
   gradients; the ``keep`` best go on;
2. *descent* — Adam on those z together (one batch), learning rate on a cosine from ``lr`` to
   ``lr / 20``; the best z each start ever reached is kept.

*Anchors* (``anchor > 0``; the user-facing fits use :data:`ANCHOR_WEIGHT`): a few notes say nothing about the
instrument far from their pitches, and a z fitted to one note alone drifts wherever that note pulls it — it
overfits, and plays other pitches worse than the preset it started from. So each start is also rendered at
:func:`anchor_pitches` (±10 and ±19 semitones from the given notes, none within 4 of them) and the descent pays
``anchor`` × the log-mel L1 between the moving z's notes there and its start's: the timbre changes where the
recording speaks and keeps its start's behaviour elsewhere. The starts are then compared by fit + change
(L1 to the notes + L1 to its own start at the anchors, at equal weight), so a start that had to travel far to
explain the note loses to a nearer one that explains it almost as well.

The generators pixel-normalise z, so only its direction matters: the search moves a free vector ``w`` and
feeds the generator ``z = w · √D / ‖w‖`` (unit RMS, the norm a ``randn`` z has), which is what is returned.
The generator runs in eval mode with its parameters frozen (both restored afterwards), so nothing but z
moves. The same arguments give the same z (seeded starts, deterministic eval-mode synthesis).

    >>> fit = fit_timbre_loss(pipe, [note48, note60], [48, 60])      # fit.z [D], fit.loss_db
    >>> z = fit_timbre(pipe, notes, pitches)                          # z alone
"""
from __future__ import annotations

import contextlib
import math
from typing import NamedTuple, Sequence

import numpy as np
import torch
from tqdm.auto import tqdm

from creative_gan.errors import UsageError

from ..dsp.features import logmel_db, logmel_l1_db

#: shortest clip the fit compares (s): a few log-mel frames of the held note
MIN_CLIP_SECONDS = 0.25
#: final learning rate as a share of the first (cosine schedule)
LR_END_SHARE = 0.05
#: samples rendered at once while scoring (bounds the memory of a fit's forward and backward passes)
CHUNK_SAMPLES = 400_000
#: how the fit takes the real notes' loudness (see fit_timbre_loss)
LEVELS = ("exact", "shape", "nearest")
#: anchor weight of the user-facing fits (``render --timbre-from``, ``timbre add``, ``timbre_from_audio``)
ANCHOR_WEIGHT = 0.4
#: anchors sit this many semitones from each given note, and no nearer than ANCHOR_GAP to any of them
ANCHOR_OFFSETS = (-19, -10, 10, 19)
ANCHOR_GAP = 4
#: velocities a recording's level is matched against when its velocity is not given (``velocities="auto"``)
VELOCITY_GRID = tuple(range(30, 128, 10)) + (127,)


class TimbreFit(NamedTuple):
    """Result of :func:`fit_timbre_loss`: ``z`` float32 ``[latent_dim]`` on CPU (norm √D) and ``loss_db``, the mean
    log-mel L1 (dB) between the fitted notes and the given ones over the compared clip."""

    z: torch.Tensor
    loss_db: float


def fit_timbre(pipe, notes, pitches, velocities=None, *, steps: int = 150, restarts: int = 8, seed: int = 0,
               progress: bool = False, return_loss: bool = False, **options):
    """z ``[latent_dim]`` float32 on CPU whose notes best match ``notes``, or ``(z, loss_db)`` if ``return_loss``;
    see :func:`fit_timbre_loss` for the arguments."""
    fit = fit_timbre_loss(pipe, notes, pitches, velocities, steps=steps, restarts=restarts, seed=seed,
                          progress=progress, **options)
    return fit if return_loss else fit.z


def fit_timbre_loss(pipe, notes, pitches, velocities=None, *, steps: int = 150, restarts: int = 8, seed: int = 0,
                    progress: bool = False, clip_seconds: float = 3.0, clip_samples: int | None = None,
                    keep: int = 3, lr: float = 0.25, init=None, use_presets: bool = True,
                    level: str = "exact", anchor: float = 0.0) -> TimbreFit:
    """Fit one timbre to real notes.

    ``pipe``: an audio pipeline (``synthesize``, ``latent_dim``, ``sample_rate``, ``pitch_range``, ``presets``,
    ``generator``). ``notes``: N mono float arrays at ``pipe.sample_rate`` (a list, lengths may differ, or
    ``[N, T]``), each starting at its onset; ``pitches`` ``[N]`` MIDI; ``velocities`` ``[N]``, one int or None
    (the model's default, 100). The first ``clip_samples`` (else ``clip_seconds``; at most the shortest note)
    are compared. Starts: ``restarts`` seeded random z, the rows of ``init`` ``[C, D]`` and (``use_presets``)
    the model's presets; the ``keep`` best get ``steps`` Adam updates each. ``level``: how loud each real note
    is taken to be — ``"exact"`` as given (notes from the model's own corpus); ``"shape"`` at the level of the
    generated note, step by step (loudness ignored); ``"nearest"`` as given if the model's notes from the
    starts at that pitch reach that level, else the nearest level they reach (recordings, whose gain is
    arbitrary: a very loud or quiet take does not drag the timbre to the model's loudest or quietest).
    ``velocities="auto"``: a recording's velocity is unknown, and a timbre fitted at the wrong one is off
    at every other (too loud or quiet, too bright or dark): the velocity is taken as the one of
    :data:`VELOCITY_GRID` at which the best-matching starts (by spectral shape) play nearest the recording's
    level (:func:`estimate_velocity`); models without velocity ignore it.
    ``anchor``: weight of the pull towards each start's own notes at :func:`anchor_pitches` (0: none; see the
    module docstring). ``loss_db`` is the fit to the given notes alone.

    Cost: one forward+backward of ``keep × N`` notes of the clip length per step (in chunks of about
    400,000 samples, so memory stays bounded), plus one forward of every start.
    """
    if level not in LEVELS:
        raise UsageError(f"level must be one of {', '.join(LEVELS)}, got {level!r}")
    if steps < 0 or restarts < 0 or keep < 1:
        raise UsageError(f"steps and restarts must be >= 0 and keep >= 1 (got {steps}, {restarts}, {keep})")
    if not (math.isfinite(anchor) and anchor >= 0):
        raise UsageError(f"anchor must be a finite weight >= 0, got {anchor}")
    device = torch.device(getattr(pipe, "device", "cpu"))
    length = int(clip_samples) if clip_samples is not None else int(round(clip_seconds * pipe.sample_rate))
    auto_velocity = isinstance(velocities, str)
    if auto_velocity and velocities != "auto":
        raise UsageError(f"velocities must be MIDI velocities, None or 'auto', got {velocities!r}")
    real, pitch_t, vel_t = _targets(pipe, notes, pitches, None if auto_velocity else velocities, length)
    dim = int(pipe.latent_dim)
    starts = [torch.randn(restarts, dim, generator=torch.Generator().manual_seed(int(seed)))]
    if init is not None:
        extra = torch.as_tensor(init, dtype=torch.float32).detach().cpu().reshape(-1, dim)
        if not bool(torch.isfinite(extra).all()) or bool((extra.norm(dim=1) == 0).any()):
            raise UsageError("init latents must be finite and non-zero")
        starts.append(extra)
    if use_presets and getattr(pipe, "presets", None):
        starts.append(torch.stack([pipe.presets[name].float().reshape(-1).cpu() for name in sorted(pipe.presets)]))
    candidates = torch.cat(starts)
    if len(candidates) == 0:
        raise UsageError("nothing to start the timbre fit from: give restarts >= 1")
    with _frozen(getattr(pipe, "generator", None)):
        if auto_velocity and getattr(pipe, "has_velocity", False):
            # judged by the presets (fitted to real notes at their real levels) when there are any: a random
            # z's loudness says nothing about the data's velocity scale
            judges = starts[-1] if use_presets and getattr(pipe, "presets", None) else candidates
            shape = _Scorer(pipe, real, pitch_t, None, True, device)
            order = torch.argsort(torch.cat([shape(part)[0] for part in judges.split(8)]), stable=True)
            vel_t = torch.full_like(pitch_t, estimate_velocity(pipe, real, pitch_t, judges[order[:keep]]))
        score = _Scorer(pipe, real, pitch_t, vel_t, level == "shape", device)
        if level == "nearest":
            score.move_into_reach(candidates)
        scores = torch.cat([score(part)[0] for part in candidates.split(8)])
        order = torch.argsort(scores, stable=True)[: min(keep, len(candidates))]
        w = candidates[order].clone()
        if anchor > 0 and steps:
            score.anchor_to(w, anchor_pitches(pitch_t, pipe.pitch_range), anchor)
        best_w, best_loss = w.clone(), scores[order].clone()
        best_pick = best_loss.clone()             # the starts' comparison: fit + change (both 0-change at start)
        first, second = torch.zeros_like(w), torch.zeros_like(w)
        for step in tqdm(range(1, steps + 1), desc="timbre fit", disable=not progress, leave=False):
            loss, grad = score(w, with_grad=True)
            _keep_best(w, loss, best_w, best_loss, score.pick_score(), best_pick)
            rate = lr * (LR_END_SHARE + (1 - LR_END_SHARE) * 0.5 * (1 + math.cos(math.pi * (step - 1) / steps)))
            # Adam by hand (one small batch of vectors): torch.optim's first use costs seconds of imports
            first.mul_(0.9).add_(grad, alpha=0.1)
            second.mul_(0.999).addcmul_(grad, grad, value=0.001)
            update = (first / (1 - 0.9 ** step)) / ((second / (1 - 0.999 ** step)).sqrt() + 1e-8)
            w = w - rate * update
        if steps:
            _keep_best(w, score(w)[0], best_w, best_loss, score.pick_score(), best_pick)
        pick = int(torch.argmin(best_pick))
        fit_db = float(score.fit(best_w[pick:pick + 1])[0][0]) if score.anchors else float(best_loss[pick])
    return TimbreFit(_on_sphere(best_w[pick:pick + 1])[0], fit_db)


@torch.no_grad()
def estimate_velocity(pipe, real: torch.Tensor, pitches: torch.Tensor, starts: torch.Tensor,
                      grid: Sequence[int] = VELOCITY_GRID) -> int:
    """The velocity of :data:`VELOCITY_GRID` at which the notes of ``starts`` [K, D] (timbres that already sound
    like ``real`` [N, T]) come nearest the real notes' level: mean |dB difference| over starts and notes."""
    real_db = 10 * torch.log10(real.double().pow(2).mean(1) + 1e-12)                       # [N]
    k, n = starts.shape[0], len(pitches)
    errors = []
    for velocity in grid:
        notes = pipe.synthesize(pitches.repeat(k), _on_sphere(starts).repeat_interleave(n, 0),
                                torch.full((k * n,), int(velocity), dtype=torch.long), num_samples=real.shape[1])
        fake_db = 10 * torch.log10(notes.double().pow(2).mean(1) + 1e-12).reshape(k, n)
        errors.append(float((fake_db - real_db[None]).abs().mean()))
    return int(grid[int(np.argmin(errors))])


def anchor_pitches(pitches, pitch_range: tuple[int, int]) -> list[int]:
    """MIDI pitches where an anchored fit holds each start's notes: :data:`ANCHOR_OFFSETS` semitones from each
    given pitch, inside ``pitch_range``, none within :data:`ANCHOR_GAP` of a given pitch (notes that span the
    range leave none: the recording itself speaks everywhere)."""
    given = sorted({int(p) for p in np.asarray(pitches).reshape(-1)})
    lo, hi = pitch_range
    return sorted({p + d for p in given for d in ANCHOR_OFFSETS
                   if lo <= p + d <= hi and all(abs(p + d - q) > ANCHOR_GAP for q in given)})


def _on_sphere(w: torch.Tensor) -> torch.Tensor:
    """Rows of ``w`` [K, D] scaled to norm √D (unit RMS): the z the generator is given."""
    return w * (math.sqrt(w.shape[1]) / w.norm(dim=1, keepdim=True).clamp_min(1e-8))


class _Scorer:
    """Mean log-mel L1 (dB) over the notes for each of K vectors ``w`` [K, D] (CPU), optionally with its gradient;
    the (vector, note) pairs are rendered in chunks, so memory does not grow with K × N."""

    def __init__(self, pipe, real: torch.Tensor, pitches: torch.Tensor, velocities, match_level: bool, device):
        self.pipe, self.pitches, self.velocities, self.match_level = pipe, pitches, velocities, match_level
        self.length = real.shape[1]
        self.real = real.to(device)                                                 # [N, T]
        self.real_db = logmel_db(self.real)                                         # [N, mels, frames]
        self.real_power = self.real.pow(2).mean(1)                                  # [N]
        self.chunk = max(1, min(64, CHUNK_SAMPLES // self.length))
        self.anchors, self.anchor_weight, self.anchor_db = [], 0.0, None
        self.last_fit, self.last_change = None, None

    def anchor_to(self, starts: torch.Tensor, pitches: list[int], weight: float) -> None:
        """From now on the vectors scored are ``starts`` [K, D] moving: each also pays ``weight`` × the log-mel
        L1 between its notes at ``pitches`` and those of its own start (rendered here, once)."""
        self.anchors, self.anchor_weight = list(pitches), float(weight)
        if not self.anchors:
            return
        pitch = torch.tensor(self.anchors, dtype=torch.long)
        with torch.no_grad():                                                       # [K, A, mels, frames]
            self.anchor_db = torch.stack([logmel_db(self._render_at(_on_sphere(row[None]).expand(len(pitch), -1),
                                                                    pitch)) for row in starts])

    def pick_score(self) -> torch.Tensor:
        """[K] fit + change (equal weights) of the vectors last scored: how the starts are compared."""
        return self.last_fit if self.last_change is None else self.last_fit + self.last_change

    def __call__(self, w: torch.Tensor, with_grad: bool = False) -> tuple[torch.Tensor, torch.Tensor | None]:
        fit, grad = self.fit(w, with_grad)
        self.last_fit, self.last_change = fit, None
        if not self.anchors:
            return fit, grad
        change, change_grad = self._change(w, with_grad)
        self.last_change = change
        total = fit + self.anchor_weight * change
        return total, None if grad is None else grad + self.anchor_weight * change_grad

    def _change(self, w: torch.Tensor, with_grad: bool) -> tuple[torch.Tensor, torch.Tensor | None]:
        """[K] mean log-mel L1 (dB) of each vector's notes at the anchors to its start's, and its gradient."""
        pitch = torch.tensor(self.anchors, dtype=torch.long)
        change, grad = torch.zeros(w.shape[0]), torch.zeros_like(w) if with_grad else None
        for k in range(w.shape[0]):
            row = w[k:k + 1].detach().requires_grad_(with_grad)
            with torch.set_grad_enabled(with_grad):
                notes = self._render_at(_on_sphere(row).expand(len(pitch), -1), pitch)
                loss = logmel_l1_db(logmel_db(notes), self.anchor_db[k]).mean().cpu()
            if with_grad:
                grad[k] = torch.autograd.grad(loss, row)[0][0]
            change[k] = float(loss.detach())
        return change, grad

    def _render_at(self, z: torch.Tensor, pitch: torch.Tensor) -> torch.Tensor:
        vel = None if self.velocities is None else self.velocities[:1].expand(len(pitch))
        return self.pipe.synthesize(pitch, z, vel, num_samples=self.length).to(self.real_db.device)

    def fit(self, w: torch.Tensor, with_grad: bool = False) -> tuple[torch.Tensor, torch.Tensor | None]:
        """[K] mean log-mel L1 (dB) of each vector's notes to the given ones (no anchors), and its gradient."""
        k, n = w.shape[0], len(self.pitches)
        which = torch.arange(k).repeat_interleave(n)                                  # pair -> vector
        note = torch.arange(n).repeat(k)                                              # pair -> note
        total, grad = torch.zeros(k), torch.zeros_like(w) if with_grad else None
        for part in torch.arange(k * n).split(self.chunk):
            rows = w[which[part]].detach().requires_grad_(with_grad)
            with torch.set_grad_enabled(with_grad):
                loss = self._pair_losses(_on_sphere(rows), note[part])
            if with_grad:
                grad.index_add_(0, which[part], torch.autograd.grad(loss.sum(), rows)[0])
            total.index_add_(0, which[part], loss.detach().float().cpu())
        return total / n, None if grad is None else grad / n

    @torch.no_grad()
    def move_into_reach(self, candidates: torch.Tensor) -> None:
        """Scale each real note into the level range (mean power, dB) the candidates' notes [C, D] span at its
        pitch (the audio is scaled and its log-mel recomputed, so the result does not depend on the old gain)."""
        k, n = candidates.shape[0], len(self.pitches)
        which, note = torch.arange(k).repeat_interleave(n), torch.arange(n).repeat(k)
        power = torch.cat([self._render(_on_sphere(candidates[which[part]]), note[part]).pow(2).mean(1).cpu()
                           for part in torch.arange(k * n).split(self.chunk)]).reshape(k, n)
        fake_db = 10 * torch.log10(power.double() + 1e-12)
        real_db = 10 * torch.log10(self.real_power.cpu().double() + 1e-12)
        shift = torch.minimum(torch.maximum(real_db, fake_db.amin(0)), fake_db.amax(0)) - real_db
        self.real = self.real * (10 ** (shift / 20)).float().to(self.real.device)[:, None]
        self.real_db, self.real_power = logmel_db(self.real), self.real.pow(2).mean(1)

    def _render(self, z: torch.Tensor, note: torch.Tensor) -> torch.Tensor:
        vel = None if self.velocities is None else self.velocities[note]
        return self.pipe.synthesize(self.pitches[note], z, vel, num_samples=self.length).to(self.real_db.device)

    def _pair_losses(self, z: torch.Tensor, note: torch.Tensor) -> torch.Tensor:
        fake = self._render(z, note)
        note = note.to(self.real.device)
        if self.match_level:   # the real note scaled to the generated note's level
            gain = (fake.detach().pow(2).mean(1) / self.real_power[note].clamp_min(1e-20)).sqrt()
            target = logmel_db(self.real[note] * gain[:, None])
        else:
            target = self.real_db[note]
        return logmel_l1_db(logmel_db(fake), target).cpu()


def _keep_best(w: torch.Tensor, loss: torch.Tensor, best_w: torch.Tensor, best_loss: torch.Tensor,
               pick: torch.Tensor, best_pick: torch.Tensor) -> None:
    """Each start keeps the vector of its lowest descent loss, and that vector's pick score beside it."""
    better = loss < best_loss
    best_w[better] = w[better]
    best_loss[better] = loss[better]
    best_pick[better] = pick[better]


def _targets(pipe, notes, pitches, velocities, clip: int):
    """(real [N, T] float32 CPU, pitches [N] long, velocities [N] long or None), checked, cut to a common length."""
    if isinstance(notes, (np.ndarray, torch.Tensor)) and np.ndim(notes) == 1:
        notes = [notes]
    arrays = [np.asarray(n.detach().cpu() if isinstance(n, torch.Tensor) else n, dtype=np.float32).reshape(-1)
              for n in notes]
    pitch_list = [pitches] if np.ndim(pitches) == 0 else list(np.asarray(pitches).reshape(-1))
    if not arrays:
        raise UsageError("the timbre fit needs at least one note")
    if len(pitch_list) != len(arrays):
        raise UsageError(f"{len(arrays)} notes but {len(pitch_list)} pitches")
    lo, hi = pipe.pitch_range
    for p in pitch_list:
        if float(p) != round(float(p)) or not lo <= int(p) <= hi:
            raise UsageError(f"pitch {p} is outside this model's range {lo}-{hi}")
    sr = int(pipe.sample_rate)
    length = min(min(len(a) for a in arrays), clip)
    if length < MIN_CLIP_SECONDS * sr:
        raise UsageError(f"a note for the timbre fit must last at least {MIN_CLIP_SECONDS:g} s "
                         f"({int(MIN_CLIP_SECONDS * sr)} samples at {sr} Hz)")
    real = torch.from_numpy(np.stack([a[:length] for a in arrays]))
    if not bool(torch.isfinite(real).all()):
        raise UsageError("a note for the timbre fit contains NaN or infinite samples")
    pitch_t = torch.tensor([int(p) for p in pitch_list], dtype=torch.long)
    vel_t = None
    if velocities is not None and getattr(pipe, "has_velocity", False):
        vel_list = [velocities] * len(arrays) if np.ndim(velocities) == 0 else list(np.asarray(velocities).reshape(-1))
        if len(vel_list) != len(arrays) or any(not 1 <= int(v) <= 127 for v in vel_list):
            raise UsageError("velocities must be one MIDI velocity 1-127, or one per note")
        vel_t = torch.tensor([int(v) for v in vel_list], dtype=torch.long)
    return real, pitch_t, vel_t


@contextlib.contextmanager
def _frozen(module: torch.nn.Module | None):
    """Eval mode and no parameter gradients inside the block; the module's mode and flags restored after."""
    if module is None:          # a note source without a torch generator (e.g. a test synth)
        yield module
        return
    was_training = module.training
    flags = [p.requires_grad for p in module.parameters()]
    module.eval().requires_grad_(False)
    try:
        yield module
    finally:
        module.train(was_training)
        for p, flag in zip(module.parameters(), flags):
            p.requires_grad_(flag)
