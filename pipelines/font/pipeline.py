"""The font release model: attribute sliders (and a seed) in, a whole alphabet out.

    >>> font = creative_gan.load("font-default")
    >>> glyphs = font.alphabet(weight=0.8, slant=0.3, seed=1)   # [62, 1, S, S] in [-1, 1], ink +1
    >>> font.like("DejaVu Serif")                               # that face's measured attributes
    >>> font.export("mine.otf", family_name="Mine", weight=0.8, seed=1)

Attributes are floats in [0, 1] on the training corpus's scale (see ``attributes.py``); the ones
not given come from ``like`` (a reference face) or else from the corpus median. All 62 glyphs of
one alphabet share one z (drawn from N(0, I) with ``torch.Generator().manual_seed(seed)``) and one
attribute vector, so the alphabet is consistent; the same seed gives the same glyphs in every process.
"""
from __future__ import annotations

import dataclasses
import difflib
import os
from pathlib import Path

import numpy as np
import torch

from creative_gan.errors import UsageError
from creative_gan.plugin import Pipeline

from .attributes import ATTRIBUTES, AttributeScale, measure
from .charset import CHARACTERS, NUM_CHARS
from .networks import GeneratorConfig, GlyphGenerator

GENERATOR_PREFIX = "generator."
CLASSIFIER_PREFIX = "classifier."


class FontPipeline(Pipeline):
    """Generator ``(z, char, attrs) → glyph`` plus the corpus's attribute scale and reference faces."""

    pipeline_name = "font"

    def __init__(self, generator: GlyphGenerator, scale: AttributeScale, reference_faces: list[dict],
                 dataset: dict | None = None, device: str | torch.device = "cpu",
                 classifier_tensors: dict | None = None, classifier_config: dict | None = None):
        self.generator = generator.eval().requires_grad_(False)
        self.scale = scale
        self.reference_faces = list(reference_faces)
        self.dataset = dict(dataset or {})
        self.classifier_tensors = dict(classifier_tensors or {})
        self.classifier_config = dict(classifier_config or {})
        self.device = torch.device(device)
        self.generator.to(self.device)
        if self.reference_faces:
            table = np.array([[f["attributes"][n] for n in ATTRIBUTES] for f in self.reference_faces])
            # the median face: upright, regular weight (the mean of romans and italics would lean)
            self.default_attributes = {n: round(float(v), 4) for n, v in zip(ATTRIBUTES, np.median(table, axis=0))}
        else:
            self.default_attributes = {n: 0.5 for n in ATTRIBUTES}

    # -- release ----------------------------------------------------------------------------------
    @property
    def image_size(self) -> int:
        return int(self.generator.config.image_size)

    @property
    def latent_dim(self) -> int:
        return int(self.generator.config.latent_dim)

    def release_config(self) -> dict:
        return {"generator": dataclasses.asdict(self.generator.config), "attributes": list(ATTRIBUTES),
                "characters": CHARACTERS, "attribute_scale": self.scale.to_dict(),
                "default_attributes": self.default_attributes, "reference_faces": self.reference_faces,
                "dataset": self.dataset, "classifier": self.classifier_config}

    def release_tensors(self) -> dict:
        tensors = {GENERATOR_PREFIX + k: v for k, v in self.generator.state_dict().items()}
        tensors.update({CLASSIFIER_PREFIX + k: v for k, v in self.classifier_tensors.items()})
        return tensors

    @classmethod
    def from_release(cls, config: dict, tensors: dict, device) -> "FontPipeline":
        if list(config.get("attributes", [])) != list(ATTRIBUTES):
            raise ValueError(f"attributes {config.get('attributes')} differ from {list(ATTRIBUTES)}")
        generator = GlyphGenerator(GeneratorConfig(**config["generator"]))
        state = {k[len(GENERATOR_PREFIX):]: v for k, v in tensors.items() if k.startswith(GENERATOR_PREFIX)}
        generator.load_state_dict(state)
        classifier = {k[len(CLASSIFIER_PREFIX):]: v for k, v in tensors.items() if k.startswith(CLASSIFIER_PREFIX)}
        return cls(generator, AttributeScale.from_dict(config["attribute_scale"]), config["reference_faces"],
                   config.get("dataset"), device, classifier, config.get("classifier"))

    def to(self, device) -> "FontPipeline":
        self.device = torch.device(device)
        self.generator.to(self.device)
        return self

    # -- attributes -------------------------------------------------------------------------------
    def attributes(self, like: str | os.PathLike | None = None, **given: float) -> dict[str, float]:
        """A full attribute dict: ``given`` values over ``like``'s (a face name or font file) over the mean."""
        unknown = sorted(set(given) - set(ATTRIBUTES))
        if unknown:
            raise UsageError(f"unknown attribute(s) {', '.join(unknown)} (choose from {', '.join(ATTRIBUTES)})")
        base = dict(self.like(like)) if like is not None else dict(self.default_attributes)
        for name, value in given.items():
            if value is None:
                continue
            value = float(value)
            if not np.isfinite(value) or not -0.5 <= value <= 1.5:
                raise UsageError(f"attribute {name}={value} is outside [-0.5, 1.5] (0–1 spans the corpus)")
            base[name] = value
        return base

    def like(self, face: str | os.PathLike) -> dict[str, float]:
        """Measured attributes of a reference face: a training face's name ("DejaVu Serif",
        "DejaVu Serif Bold") or a font file (rendered and measured with the corpus's scale)."""
        path = Path(os.path.expanduser(str(face)))
        if path.suffix.lower() in (".ttf", ".otf", ".ttc", ".otc") or path.is_file():
            return self._measure_file(path)
        wanted = " ".join(str(face).lower().split())
        names = {f["name"].lower(): f for f in self.reference_faces}
        match = names.get(wanted) or names.get(f"{wanted} regular") or names.get(f"{wanted} book")
        if match is None:
            close = difflib.get_close_matches(wanted, list(names), n=3, cutoff=0.6)
            hint = f" (did you mean: {', '.join(names[c]['name'] for c in close)})" if close else ""
            raise UsageError(f"no reference face named {face!r}{hint}; give a face name or a font file")
        return dict(match["attributes"])

    def _measure_file(self, path: Path) -> dict[str, float]:
        from .corpus import render_face, resize_glyphs
        from .fontfiles import read_face_info

        if not path.is_file():
            raise UsageError(f"{path}: no such font file")
        info, reason = read_face_info(path, 0)
        if info is None:
            raise UsageError(f"{path}: cannot use this font ({reason})")
        try:
            glyphs, _ = render_face(path, 0, 64)
        except Exception as exc:  # noqa: BLE001 - FreeType errors vary
            raise UsageError(f"{path}: cannot render this font ({exc})") from None
        return {k: round(v, 4) for k, v in measure(resize_glyphs(glyphs, 64), self.scale, clip=False).items()}

    def interpolate(self, a: dict[str, float], b: dict[str, float], steps: int = 5) -> list[dict[str, float]]:
        """``steps`` attribute dicts from ``a`` to ``b`` (linear; missing keys from the defaults)."""
        if steps < 2:
            raise UsageError("interpolation needs at least 2 steps")
        a, b = self.attributes(**a), self.attributes(**b)
        return [{n: (1 - t) * a[n] + t * b[n] for n in ATTRIBUTES} for t in np.linspace(0.0, 1.0, steps)]

    # -- generation -------------------------------------------------------------------------------
    def latent(self, seed: int) -> torch.Tensor:
        """``[latent_dim]`` z of one seed."""
        return torch.randn(self.latent_dim, generator=torch.Generator().manual_seed(int(seed)))

    @torch.no_grad()
    def generate(self, attributes: list[dict[str, float]], seeds: list[int], as_tensor: bool = False):
        """Alphabets ``[N, 62, S, S]`` in [-1, 1] (ink +1) for N (attributes, seed) pairs."""
        if len(attributes) != len(seeds):
            raise UsageError("generate() needs one seed per attribute dict")
        out = []
        chars = torch.arange(NUM_CHARS, device=self.device)
        for attrs, seed in zip(attributes, seeds):
            vector = torch.tensor([[float(attrs[n]) for n in ATTRIBUTES]], dtype=torch.float32)
            z = self.latent(seed)[None].expand(NUM_CHARS, -1).to(self.device)
            images = self.generator(z, chars, vector.expand(NUM_CHARS, -1).to(self.device))
            out.append(images[:, 0].float().cpu())
        stack = torch.stack(out) if out else torch.zeros(0, NUM_CHARS, self.image_size, self.image_size)
        return stack if as_tensor else stack.numpy()

    def alphabet(self, seed: int = 0, like: str | os.PathLike | None = None, **attributes: float) -> np.ndarray:
        """One consistent alphabet ``float32 [62, 1, S, S]`` in [-1, 1] (ink +1), A–Z a–z 0–9 order."""
        attrs = self.attributes(like=like, **attributes)
        return self.generate([attrs], [seed])[0][:, None]

    def __call__(self, seed: int = 0, **attributes: float) -> np.ndarray:
        return self.alphabet(seed=seed, **attributes)

    def export(self, path: str | os.PathLike, family_name: str = "Creative GAN", seed: int = 0,
               like: str | os.PathLike | None = None, specimen: str | os.PathLike | None = None,
               **attributes: float) -> dict:
        """Trace the alphabet and write ``path`` (.otf/.ttf/.ufo); returns a validation report."""
        from .export import export_font

        attrs = self.attributes(like=like, **attributes)
        glyphs = self.generate([attrs], [seed])[0]
        return export_font(glyphs, attrs, path, family_name=family_name, scale=self.scale, specimen=specimen)
