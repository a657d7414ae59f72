"""The audio release model: a note generator you can ask for notes, timbres and whole MIDI files.

    >>> pipe = creative_gan.load("audio-default")
    >>> notes = pipe.generate([48, 60, 72], seed=3)             # numpy float32 [3, 64000], 16 kHz, in [-1, 1]
    >>> notes = pipe([60, 64, 67], timbre="violin")               # the same as pipe.generate(...)
    >>> pipe.render_midi("song.mid", "song.wav", morph="0:violin,20:seed:7")

Timbre: ``seed`` (int, or one per note), ``timbre`` (a preset name or ``"seed:7"``) or ``z``; none of them
gives :attr:`AudioPipeline.default_timbre` (fixed: the release's ``default_timbre``, else the first preset
name in sorted order, else seed 0). The same seed gives the same notes in every process.

A seed's timbre (:meth:`AudioPipeline.latent_for_seed`): z ~ N(0, I), or — for a release that stores
``seed_anchors`` (the instruments its bank fitted at release time) — a point on the slerp arc between two of
those instruments, both and the position drawn from the seed: a random blend of real instruments. The anchors
are the release's own copy, so adding presets later never changes what a seed plays.

It implements the renderer's ``NoteSource`` protocol: ``synthesize(pitches, z, velocities, num_samples)``
(tensors in, a tensor out, differentiable in ``z`` when grad is enabled).
"""
from __future__ import annotations

from typing import Sequence

import numpy as np
import torch

from creative_gan.errors import ReleaseError, UsageError
from creative_gan.plugin import Pipeline

from .constants import NOTE_SAMPLES, SAMPLE_RATE
from .networks.families import build_generator


class AudioPipeline(Pipeline):
    """A trained note generator (EMA weights) plus its named timbre presets and reference set."""

    pipeline_name = "audio"

    def __init__(self, family: str, g_config: dict, generator: torch.nn.Module, layout: dict | None = None,
                 presets: dict[str, torch.Tensor] | None = None, reference: dict[str, torch.Tensor] | None = None,
                 corpus_info: dict | None = None, device: torch.device | str = "cpu", batch_size: int = 64,
                 default_timbre: str | None = None, living: dict[str, torch.Tensor] | None = None,
                 seed_anchors: torch.Tensor | None = None):
        self.family, self.g_config, self.layout = family, dict(g_config), layout
        self.device = torch.device(device)
        self.generator = generator.to(self.device).eval().requires_grad_(False)
        # sorted by name: the order of tensors in a file (or a dict) never decides anything
        self.presets = {k: presets[k].float().cpu() for k in sorted(presets or {})}
        self.reference = dict(reference or {})
        self.living = dict(living or {})     # real-note features of the living-timbre figures (evaluate.living)
        self.corpus_info = dict(corpus_info or {})
        self.batch_size = batch_size
        cfg = self.generator.config
        self.latent_dim = int(cfg.latent_dim)
        self.pitch_range = (int(cfg.pitch_min), int(cfg.pitch_max))
        self.has_velocity = bool(cfg.use_velocity)
        self.sample_rate = SAMPLE_RATE
        self.note_samples = NOTE_SAMPLES
        self._default_timbre = default_timbre
        self.seed_anchors = None if seed_anchors is None else check_seed_anchors(seed_anchors, self.latent_dim)

    @property
    def default_timbre(self) -> str:
        """The timbre used when none is given: the release's choice, else the first preset by name, else seed 0."""
        if self._default_timbre and self._default_timbre in self.presets:
            return self._default_timbre
        return next(iter(self.presets)) if self.presets else "seed:0"

    # ------------------------------------------------------------- NoteSource protocol
    def latent_for_seed(self, seed: int) -> torch.Tensor:
        """The timbre of an integer seed ``[latent_dim]``: z ~ N(0, I) from a generator seeded with it; with
        :attr:`seed_anchors`, the slerp at t ~ U(0, 1) between two different anchors the seed draws."""
        generator = torch.Generator().manual_seed(int(seed))
        if self.seed_anchors is None:
            return torch.randn(self.latent_dim, generator=generator)
        from creative_gan.layers import slerp

        count = len(self.seed_anchors)
        first = int(torch.randint(count, (), generator=generator))
        second = (first + 1 + int(torch.randint(count - 1, (), generator=generator))) % count
        t = float(torch.rand((), generator=generator))
        return slerp(self.seed_anchors[first], self.seed_anchors[second], t)

    def synthesize(self, pitches, z, velocities=None, num_samples: int | None = None) -> torch.Tensor:
        """Notes ``[N, num_samples]`` float32 tensor at 16 kHz for MIDI ``pitches [N]`` and latents ``z [N, D]``.

        The renderer's entry point: no seeds or names, tensors in and out, differentiable in ``z`` unless
        called under ``no_grad``/``inference_mode``. Users call :meth:`generate`.
        """
        pitches = torch.as_tensor(pitches, dtype=torch.long).reshape(-1)
        z = torch.as_tensor(z, dtype=torch.float32).reshape(-1, self.latent_dim)
        if z.shape[0] != pitches.shape[0]:
            raise ValueError(f"{pitches.shape[0]} pitches but {z.shape[0]} latents")
        lo, hi = self.pitch_range
        if pitches.numel() and (pitches.min() < lo or pitches.max() > hi):
            raise ValueError(f"pitches must lie in this model's range {lo}-{hi}")
        vel = None
        if self.has_velocity:   # None → 100 each, one value → every note; count and 0–127 checked (one line)
            from .networks.spectral import velocity_condition

            if velocities is not None and not torch.is_tensor(velocities):
                velocities = np.asarray(velocities)
                if velocities.dtype.kind not in "iu" and not (velocities.dtype.kind == "f"
                                                              and np.all(velocities == np.round(velocities))):
                    raise UsageError(f"velocities must be whole MIDI velocities 0-127, got {velocities.tolist()!r}")
                velocities = velocities.astype(np.int64).reshape(-1)
            vel = velocity_condition(pitches, velocities, "cpu")
        length = self.note_samples if num_samples is None else int(num_samples)
        outputs = []
        for start in range(0, pitches.shape[0], self.batch_size):
            part = slice(start, start + self.batch_size)
            args = [z[part].to(self.device), pitches[part].to(self.device)]
            args.append(None if vel is None else vel[part].to(self.device))
            outputs.append(self._render(args, length).float().cpu())
        if not outputs:
            return torch.zeros(0, length)
        return torch.cat(outputs)

    def _render(self, args, length: int) -> torch.Tensor:
        if self.family == "harmonic":
            return self.generator(*args, num_samples=length)
        out = self.generator(*args)
        if self.family == "spectral":
            from .dsp.spectral import SpectralLayout, denormalize, spec_to_audio

            out = spec_to_audio(denormalize(out.float()), SpectralLayout(**self.layout))
        out = out.reshape(out.shape[0], -1)
        if out.shape[1] >= length:
            return out[:, :length]
        return torch.nn.functional.pad(out, (0, length - out.shape[1]))

    # ------------------------------------------------------------- user API
    def latents(self, n: int, seed=None, z=None, timbre=None) -> torch.Tensor:
        """``[n, D]`` latents: one timbre (seed, preset name or z) for all, or one per note.

        ``seed`` a list gives one timbre per note; nothing given means :attr:`default_timbre`.
        """
        given = [name for name, value in (("seed", seed), ("z", z), ("timbre", timbre)) if value is not None]
        if len(given) > 1:
            raise UsageError(f"give one of seed=, z= or timbre=, not {' and '.join(given)}")
        if z is not None:
            z = torch.as_tensor(z, dtype=torch.float32)
            if z.shape[-1] != self.latent_dim or z.dim() not in (1, 2) or (z.dim() == 2 and len(z) != n):
                raise UsageError(f"z must be [{self.latent_dim}] or [{n}, {self.latent_dim}], got {list(z.shape)}")
            return z.expand(n, -1).clone() if z.dim() == 1 else z
        if seed is None:
            timbre = self.default_timbre if timbre is None else timbre
            from .render.timbre import TimbreError, resolve_timbre

            try:
                return resolve_timbre(self, timbre).float().expand(n, -1).clone()
            except TimbreError as error:
                raise UsageError(str(error)) from None
        seeds = list(seed) if isinstance(seed, (list, tuple, range, np.ndarray)) else [seed] * n
        if len(seeds) != n:
            raise UsageError(f"{len(seeds)} seeds for {n} notes")
        return torch.stack([self.latent_for_seed(_seed_value(s)) for s in seeds])

    def generate(self, pitches: Sequence[int], z=None, velocities=None, num_samples: int | None = None, *,
                 seed=None, timbre=None, as_tensor: bool = False) -> np.ndarray | torch.Tensor:
        """Notes at MIDI ``pitches [N]``: numpy float32 ``[N, num_samples]`` (default 64,000 = 4 s, note-off
        at 3 s) at 16 kHz in [-1, 1]; a CPU tensor if ``as_tensor``.

        The timbre comes from one of ``seed`` (int: one timbre for all notes; list: one per note), ``timbre``
        (preset name or seed spec) or ``z`` (``[D]`` or ``[N, D]``); none → :attr:`default_timbre`.
        ``velocities [N]`` (MIDI 1-127) condition models trained with velocity. The same arguments give the
        same notes in every process.
        """
        pitches = self._check_pitches(pitches)
        latents = self.latents(len(pitches), seed=seed, z=z, timbre=timbre)
        with torch.inference_mode():
            audio = self.synthesize(pitches, latents, velocities, num_samples)
        if not bool(torch.isfinite(audio).all()):
            raise ReleaseError("this model generated NaN or infinite samples: its weights are broken")
        return audio if as_tensor else audio.numpy()

    __call__ = generate

    def generate_notes(self, pitches: Sequence[int], seed=None, z=None, timbre=None,
                       velocities=None) -> np.ndarray:
        """4-s notes ``[N, 64000]`` float32 at 16 kHz; ``seed`` (int: one timbre; list: one per note),
        ``z`` (``[D]`` or ``[N, D]``) or ``timbre`` (preset name / seed spec) choose the timbre."""
        return self.generate(pitches, z=z, velocities=velocities, seed=seed, timbre=timbre)

    def _check_pitches(self, pitches) -> torch.Tensor:
        try:
            values = torch.as_tensor(np.asarray(pitches, dtype=np.float64).reshape(-1))
        except (TypeError, ValueError):
            raise UsageError(f"pitches must be MIDI note numbers, got {pitches!r}") from None
        if not bool(torch.isfinite(values).all()) or bool((values != values.round()).any()):
            raise UsageError("pitches must be whole MIDI note numbers")
        lo, hi = self.pitch_range
        if values.numel() and (values.min() < lo or values.max() > hi):
            raise UsageError(f"pitches must lie in this model's range {lo}-{hi}")
        return values.long()

    def render_midi(self, midi, out_path=None, timbres=None, morph=None, track_timbres=None, **options):
        """Play a MIDI file (path or ``pretty_midi.PrettyMIDI``) through this model; see ``render.render_midi``."""
        from .render.render import render_midi

        return render_midi(self, midi, out_path=out_path, timbres=timbres, morph=morph,
                           track_timbres=track_timbres, **options)

    def export_instrument(self, out_dir, timbre=None, **options):
        """Write an SFZ instrument of a timbre (or ``morph=(A, B)``) to ``out_dir``; see ``export.instrument``."""
        from .export.instrument import export_instrument

        return export_instrument(self, out_dir, timbre=timbre, **options)

    def timbre_from_audio(self, path_or_array, pitch=None, velocity=None, *, steps: int = 150, seed: int = 0,
                          progress: bool = False, **options) -> torch.Tensor:
        """The timbre z ``[latent_dim]`` (float32, CPU) whose notes sound most like a recorded note (or several).

        ``path_or_array``: an audio file (any rate, mono or stereo; ``"cello.wav:48"`` gives its MIDI pitch),
        a float array ``[T]`` at 16 kHz, or a list of those (one z fitted to all, e.g. a few pitches).
        ``pitch``: MIDI note(s) for items without one; else found by pYIN. ``velocity``: the velocity the
        recording was played at, if known; else it is read from the recording's level (the velocity at which
        the presets that sound most like it play that loud). A recording keeps its level where the model's
        notes reach it, else it is taken at the nearest level they reach (``level="nearest"``). Away from the
        recording's pitches the timbre keeps the behaviour of the preset it started from (``anchor``, see
        :mod:`.render.invert`). ``steps``/``seed``/``options``: see :func:`.render.invert.fit_timbre_loss`.
        Use the z as ``timbre=``/``z=``, or keep it with :meth:`add_preset`.
        """
        from .render.invert import ANCHOR_WEIGHT, fit_timbre
        from .render.recording import load_notes

        notes, pitches = load_notes(self, path_or_array, pitch)
        options.setdefault("level", "nearest")
        options.setdefault("anchor", ANCHOR_WEIGHT)
        velocity = "auto" if velocity is None else velocity
        return fit_timbre(self, notes, pitches, velocity, steps=steps, seed=seed, progress=progress, **options)

    def add_preset(self, name: str, z, replace: bool = False) -> str:
        """Keep timbre ``z`` ``[latent_dim]`` as preset ``name`` (lowercase letters, digits and single dashes,
        e.g. ``my-cello``); a name already in use needs ``replace=True``. Saved with the release; returns name."""
        from .render.timbre import TimbreError, resolve_timbre

        name = check_preset_name(name)
        if name in self.presets and not replace:
            raise UsageError(f"this model already has a preset {name!r}; choose another name or replace it")
        try:
            vector = resolve_timbre(self, torch.as_tensor(z).detach())
        except TimbreError as error:
            raise UsageError(str(error)) from None
        self.presets = {k: v for k, v in sorted({**self.presets, name: vector.clone()}.items())}
        return name

    # ------------------------------------------------------------- release
    def release_config(self) -> dict:
        return {"family": self.family, "generator": self.g_config, "layout": self.layout,
                "sample_rate": self.sample_rate, "note_samples": self.note_samples,
                "pitch_min": self.pitch_range[0], "pitch_max": self.pitch_range[1],
                "latent_dim": self.latent_dim, "use_velocity": self.has_velocity,
                "presets": sorted(self.presets), "default_timbre": self.default_timbre, "corpus": self.corpus_info,
                "seed_prior": "normal" if self.seed_anchors is None else "anchor-blend"}

    def release_tensors(self) -> dict:
        tensors = {f"generator.{k}": v for k, v in self.generator.state_dict().items()}
        tensors.update({f"preset.{k}": v for k, v in self.presets.items()})
        tensors.update({f"reference.{k}": v for k, v in self.reference.items()})
        tensors.update({f"living.{k}": v for k, v in self.living.items()})
        if self.seed_anchors is not None:
            tensors["seed_anchors"] = self.seed_anchors
        return tensors

    @classmethod
    def from_release(cls, config: dict, tensors: dict, device) -> "AudioPipeline":
        generator = build_generator(config["family"], config["generator"])
        state = {k[len("generator."):]: v for k, v in tensors.items() if k.startswith("generator.")}
        generator.load_state_dict(state)
        presets = {k[len("preset."):]: v for k, v in tensors.items() if k.startswith("preset.")}
        reference = {k[len("reference."):]: v for k, v in tensors.items() if k.startswith("reference.")}
        living = {k[len("living."):]: v for k, v in tensors.items() if k.startswith("living.")}
        return cls(config["family"], config["generator"], generator, layout=config.get("layout"),
                   presets=presets, reference=reference, corpus_info=config.get("corpus", {}), device=device,
                   default_timbre=config.get("default_timbre"), living=living,
                   seed_anchors=tensors.get("seed_anchors"))

    def to(self, device) -> "AudioPipeline":
        self.device = torch.device(device)
        self.generator.to(self.device)
        return self


def _seed_value(seed) -> int:
    """A seed as a non-negative int (UsageError for 1.5, -1, True, "x")."""
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or int(seed) < 0:
        raise UsageError(f"a seed must be a whole number >= 0, got {seed!r}")
    return int(seed)


def check_seed_anchors(anchors, latent_dim: int) -> torch.Tensor:
    """Seed anchors as float32 ``[K ≥ 2, latent_dim]`` with finite values; else ReleaseError (one line)."""
    anchors = torch.as_tensor(anchors)
    if anchors.dim() != 2 or anchors.shape[0] < 2 or anchors.shape[1] != latent_dim \
            or not anchors.is_floating_point() or not bool(torch.isfinite(anchors).all()):
        raise ReleaseError(f"seed_anchors must be a finite float [K >= 2, {latent_dim}] tensor, got "
                           f"{anchors.dtype} {list(anchors.shape)}")
    return anchors.detach().float().cpu().clone()


PRESET_NAME_MAX = 64


def check_preset_name(name) -> str:
    """A preset name as presets are named (``violin``, ``acoustic-grand-piano``): lowercase letters, digits and
    single inner dashes, at most 64 characters, at least one letter (a bare number is a seed); else UsageError."""
    import re

    text = str(name)
    if not re.fullmatch(r"[a-z0-9]+(-[a-z0-9]+)*", text) or len(text) > PRESET_NAME_MAX \
            or not re.search(r"[a-z]", text):
        slug = re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")[:PRESET_NAME_MAX]
        hint = f" such as {slug!r}" if slug and re.search(r"[a-z]", slug) else " such as 'my-cello'"
        raise UsageError(f"preset name {text!r}: use lowercase letters, digits and dashes, with a letter{hint}")
    return text
