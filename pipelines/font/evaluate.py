"""``creative-gan evaluate font``: is it a font, do the sliders work, does the export match, does it generalise?

Figures (each beside its reference where one exists):

- ``char_accuracy``: the 62-way classifier (trained on real corpus glyphs) on generated glyphs,
  beside ``char_accuracy_real_held_out`` (the same classifier on real faces it never saw);
- ``attribute_spearman.<name>``: requested vs measured (the corpus's measuring function) over
  ``sweep_fonts`` fonts per attribute, each asking for a random value in [0, 1] with the other
  attributes of a random training face and a seed of its own (see :func:`attribute_spearmans`);
- ``export_iou``: exported OTFs re-rendered by FreeType (Pillow) vs the generated bitmaps (glyph IoU
  at 128 px in the bitmaps' frame, horizontally aligned on the ink centroid; see :func:`export_iou`);
- ``frechet_distance`` on classifier features, generated vs real, beside ``frechet_real_vs_real``
  (one half of the training faces vs the other);
- ``held_out_iou``: faces the model never saw (Computer/Latin Modern, STIX), generated from their
  measured attributes vs their real glyphs, beside ``held_out_iou_nearest_training_face``.
"""
from __future__ import annotations

import tempfile
from pathlib import Path

import numpy as np
import torch

from creative_gan.errors import UsageError
from creative_gan.metrics import frechet_distance

from .attributes import ATTRIBUTES, measure_raw
from .charset import NUM_CHARS
from .classifier import GlyphClassifier, classify, train_classifier
from .corpus import (FRAME_BASELINE_FRACTION, FRAME_EM_FRACTION, GlyphCorpus, build_corpus, render_face_large,
                     resize_glyphs, spearman)



def glyph_iou(a: np.ndarray, b: np.ndarray) -> float:
    """Mean IoU over glyphs of two ``[62, S, S]`` stacks in [-1, 1] (ink where > 0)."""
    a, b = np.asarray(a) > 0, np.asarray(b) > 0
    inter = (a & b).sum(axis=(-1, -2))
    union = (a | b).sum(axis=(-1, -2))
    return float(np.mean(np.where(union > 0, inter / np.maximum(union, 1), 1.0)))


def _enlarge(glyphs: np.ndarray, size: int) -> np.ndarray:
    x = torch.as_tensor(np.asarray(glyphs, dtype=np.float32))[:, None]
    return torch.nn.functional.interpolate(x, size=(size, size), mode="bicubic", align_corners=False)[:, 0].numpy()


def _centroid_x(coverage: np.ndarray) -> float:
    """Ink-weighted mean column of a ``[H, W]`` coverage image (values ≥ 0), in pixels."""
    total = float(coverage.sum())
    if total <= 0:
        return coverage.shape[1] / 2
    return float((coverage.sum(axis=0) * np.arange(coverage.shape[1])).sum() / total)


def export_iou(font_path, glyphs: np.ndarray, size: int = 128, supersample: int = 4) -> float:
    """Glyph IoU of a written font, re-rendered by FreeType (Pillow), against the bitmaps it was
    traced from, compared at ``size`` px (the tracer worked at 512 px; 64-px bitmaps would hide
    sub-pixel error). Ink is where coverage passes one half on both sides.

    The font is typed in the bitmaps' own frame (the corpus's pixels per em and baseline, see
    ``corpus.FRAME_*``), ``supersample``× larger and box-filtered down, as the corpus itself was
    rendered; the bitmaps are enlarged bicubically. Vertical positions are compared as they are.
    A font places each glyph between side bearings of its own, so the horizontal position is a
    convention, not part of the shape: each rendering's ink is moved onto the centroid of its
    bitmap's ink (ink as the IoU counts it, so faint haze and specks the tracer drops do not pull
    the alignment), in whole pixels of the supersampled rendering (1/``supersample`` px at ``size``).
    """
    big, _ = render_face_large(font_path, 0, size, supersample, em_fraction=FRAME_EM_FRACTION,
                               baseline_fraction=FRAME_BASELINE_FRACTION)
    generated = _enlarge(glyphs, size)
    target = _enlarge(glyphs, size * supersample)
    rendered = []
    for r, g in zip(big.astype(np.float32) / 255.0, target):
        shift = int(round(_centroid_x(g > 0) - _centroid_x(r > 0.5)))
        moved = np.zeros_like(r)
        if shift >= 0:
            moved[:, shift:] = r[:, :r.shape[1] - shift]
        else:
            moved[:, :shift] = r[:, -shift:]
        rendered.append(moved.reshape(size, supersample, size, supersample).mean(axis=(1, 3)))
    return glyph_iou(np.stack(rendered) * 2.0 - 1.0, generated)


def _as_signed(glyphs_uint8: np.ndarray) -> np.ndarray:
    return glyphs_uint8.astype(np.float32) / 127.5 - 1.0


def _corpus(folder: str | None, held_out: bool, scratch: Path) -> GlyphCorpus | None:
    if folder:
        return GlyphCorpus(folder)
    target = scratch / ("held_out" if held_out else "train")
    try:
        build_corpus(target, size=64, held_out=held_out, progress=True)
    except UsageError:
        return None
    return GlyphCorpus(target)


def load_or_train_classifier(pipe, corpus: GlyphCorpus | None) -> GlyphClassifier:
    """The classifier stored in the release, else one trained now on ``corpus``."""
    if pipe.classifier_tensors:
        model = GlyphClassifier()
        model.load_state_dict(pipe.classifier_tensors)
        return model.eval().requires_grad_(False)
    if corpus is None:
        raise UsageError("this model holds no glyph classifier and no training corpus was found: give --data")
    return train_classifier(corpus.glyphs)


def _measured(alphabet: np.ndarray, scale) -> dict[str, float]:
    return scale.normalise(measure_raw((alphabet + 1.0) / 2.0), clip=False)


def attribute_spearmans(pipe, base_vectors: list[dict[str, float]], rng: np.random.Generator,
                        per_attribute: int = 40, seed: int = 0, names=ATTRIBUTES, progress: bool = True):
    """Spearman of requested vs measured value, per attribute, over ``per_attribute`` fonts each.

    Font j of attribute k asks for a value drawn uniformly from [0, 1] (continuous: no tied
    requests), takes the other attributes from a random vector of ``base_vectors`` (training faces)
    and its own seed; the corpus's measuring function then measures the attribute on the alphabet.
    Returns (``{name: rho}``, ``{name: (requested [n], measured [n])}``, alphabets ``[K·n, 62, S, S]``).
    """
    if per_attribute < 5:
        raise UsageError(f"the attribute check needs at least 5 fonts per attribute (got {per_attribute})")
    from tqdm.auto import tqdm

    rhos, pairs, alphabets = {}, {}, []
    bar = tqdm(total=len(names) * per_attribute, desc="attribute checks", disable=not progress)
    for k, name in enumerate(names):
        requested = rng.uniform(0.0, 1.0, per_attribute)
        bases = rng.integers(0, len(base_vectors), per_attribute)
        measured = []
        for j, (value, b) in enumerate(zip(requested, bases)):
            attrs = {**base_vectors[int(b)], name: float(value)}
            alphabet = pipe.generate([attrs], [seed + 1000 * (k + 1) + j])[0]
            measured.append(_measured(alphabet, pipe.scale)[name])
            alphabets.append(alphabet)
            bar.update()
        rhos[name] = spearman(requested, measured)
        pairs[name] = (requested, np.asarray(measured))
    bar.close()
    return rhos, pairs, np.stack(alphabets)


def evaluate_font(pipe, data: str | None = None, held_out_data: str | None = None, num_fonts: int = 40,
                  seed: int = 0, export_fonts: int = 3, held_out_faces: int = 24, sweep_fonts: int = 40) -> dict:
    """All figures as one flat dict (see the module docstring)."""
    from tqdm.auto import tqdm

    if num_fonts < 5:
        raise UsageError(f"--num-fonts must be at least 5 (got {num_fonts})")
    rng = np.random.default_rng(seed)
    size = pipe.image_size
    with tempfile.TemporaryDirectory(prefix="font-eval-") as scratch_dir:
        scratch = Path(scratch_dir)
        corpus = _corpus(data, False, scratch)
        held = _corpus(held_out_data, True, scratch)
        classifier = load_or_train_classifier(pipe, corpus)
        faces = pipe.reference_faces
        base_pool = [dict(f["attributes"]) for f in faces]
        base = [dict(faces[i]["attributes"]) for i in rng.choice(len(faces), num_fonts, replace=len(faces) < num_fonts)]
        seeds = [seed + i for i in range(num_fonts)]
        # 1. free generation from training faces' attribute vectors
        free = np.concatenate([pipe.generate([a], [s]) for a, s in
                               tqdm(list(zip(base, seeds)), desc="generating alphabets")])
        # 2. one attribute at random values, the others from random training faces, random seeds
        spearmans, _, sweeps = attribute_spearmans(pipe, base_pool, rng, per_attribute=sweep_fonts, seed=seed)
        generated = np.concatenate([free, sweeps])
        labels = np.tile(np.arange(NUM_CHARS), len(generated))
        pred, fake_features = classify(classifier, generated.reshape(-1, 1, size, size))
        out = {"num_generated_glyphs": int(len(labels)), "char_accuracy": float((pred == labels).mean())}
        out["char_accuracy_free"] = float((pred[:free.size // (size * size)] == labels[:free.size // (size * size)]).mean())
        if held is not None:
            hp, _ = classify(classifier, _as_signed(resize_glyphs(held.glyphs, size)).reshape(-1, 1, size, size))
            out["char_accuracy_real_held_out"] = float((hp == np.tile(np.arange(NUM_CHARS), len(held))).mean())
        for name in ATTRIBUTES:
            out[f"attribute_spearman.{name}"] = spearmans[name]
        # 3. Fréchet distance on classifier features
        if corpus is not None:
            real = _as_signed(resize_glyphs(corpus.glyphs, size))
            order = rng.permutation(len(real))
            half_a, half_b = order[: len(order) // 2], order[len(order) // 2:]
            _, feats_a = classify(classifier, real[half_a].reshape(-1, 1, size, size))
            _, feats_b = classify(classifier, real[half_b].reshape(-1, 1, size, size))
            _, free_feats = classify(classifier, free.reshape(-1, 1, size, size))
            out["frechet_distance"] = frechet_distance(free_feats, feats_a)
            out["frechet_real_vs_real"] = frechet_distance(feats_b, feats_a)
        # 4. export round trip
        ious = []
        for i in tqdm(range(export_fonts), desc="export round trip"):
            path = scratch / f"export_{i}.otf"
            pipe.export(path, family_name=f"Eval {i}", seed=seeds[i], **base[i])
            ious.append(export_iou(path, free[i]))
        out["export_iou"] = float(np.mean(ious))
        # 5. held-out reconstruction beside the nearest training face
        if held is not None and corpus is not None:
            pick = rng.choice(len(held), min(held_out_faces, len(held)), replace=False)
            train_attrs = np.array([[f["attributes"][n] for n in ATTRIBUTES] for f in faces])
            train_glyphs = _as_signed(resize_glyphs(corpus.glyphs, size))
            names = [f"{f['family']} {f['style']}" for f in corpus.faces]
            index = {n: i for i, n in enumerate(names)}
            model_iou, nearest_iou = [], []
            for i in tqdm(pick, desc="held-out faces"):
                real = _as_signed(resize_glyphs(held.glyphs[i], size))
                attrs = {k: float(np.clip(v, -0.5, 1.5)) for k, v in pipe.scale.normalise(held.faces[i]["raw"], clip=False).items()}
                model_iou.append(glyph_iou(pipe.generate([attrs], [seed])[0], real))
                vector = np.array([attrs[n] for n in ATTRIBUTES])
                nearest = faces[int(np.argmin(((train_attrs - vector) ** 2).sum(axis=1)))]["name"]
                if nearest in index:
                    nearest_iou.append(glyph_iou(train_glyphs[index[nearest]], real))
            out["held_out_faces"] = int(len(pick))
            out["held_out_iou"] = float(np.mean(model_iou))
            if nearest_iou:
                out["held_out_iou_nearest_training_face"] = float(np.mean(nearest_iou))
    return out
