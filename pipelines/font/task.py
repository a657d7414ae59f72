"""Training the glyph GAN on the shared trainer: dataset, objective, task.

Each training item is one glyph of one face: ``{"x": [1, S, S] in [-1, 1] (ink +1), "char": long,
"attrs": [A] (the face's measured attributes)}``. Fakes are drawn for the same (char, attrs) as the
real batch, so G's step can compare each fake with the real glyph of the face those attributes
were measured on (Attribute2Font's L1 reconstruction, weighted 50×).
"""
from __future__ import annotations

import copy
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn
from torch.utils.data import Dataset

from creative_gan.images import save_grid
from creative_gan.objective import DStep, GStep, Objective
from creative_gan.task import Batch, GANTask

from .charset import NUM_CHARS
from .corpus import GlyphCorpus, resize_glyphs


class GlyphDataset(Dataset):
    """All glyphs of a corpus at ``image_size``: item ``i`` is character ``i % 62`` of face ``i // 62``."""

    def __init__(self, corpus: GlyphCorpus, image_size: int):
        glyphs = resize_glyphs(corpus.glyphs, image_size)
        self.images = torch.from_numpy(glyphs.astype(np.float32) / 127.5 - 1.0)  # [F, 62, S, S]
        self.attributes = torch.from_numpy(corpus.attributes)                      # [F, A]
        self.corpus = corpus
        self.image_size = image_size

    def __len__(self) -> int:
        return self.images.shape[0] * NUM_CHARS

    def get_batch(self, indices) -> Batch:
        idx = torch.as_tensor(list(indices), dtype=torch.long)
        face, char = idx // NUM_CHARS, idx % NUM_CHARS
        return {"x": self.images[face, char][:, None], "char": char, "attrs": self.attributes[face]}

    def __getitem__(self, i: int) -> Batch:
        return {k: v[0] for k, v in self.get_batch([i]).items()}

    def provenance(self) -> dict:
        """Plain-JSON description of the training faces (for the release config and model card)."""
        return {
            "num_faces": len(self.corpus),
            "corpus_size": self.corpus.size,
            "faces": [{"family": f["family"], "style": f["style"], "file": Path(f["path"]).name,
                       "licence": f["licence"][:120]} for f in self.corpus.faces],
        }


class FontObjective(Objective):
    """D: character CE and attribute regression on reals. G: 50·L1 to the paired real glyph,
    character CE and attribute regression of D's heads on fakes (weights in the preset)."""

    def d_terms(self, step: DStep) -> dict:
        aux = step.real_out.aux
        return {"char_ce": F.cross_entropy(aux["char_logits"].float(), step.real["char"]),
                "attr_mse": F.mse_loss(aux["attr_pred"].float(), step.real["attrs"].float())}

    def g_terms(self, step: GStep) -> dict:
        aux = step.fake_out.aux
        return {"l1": (step.fake.float() - step.real["x"].float()).abs().mean(),
                "char_ce": F.cross_entropy(aux["char_logits"].float(), step.cond["char"]),
                "attr_mse": F.mse_loss(aux["attr_pred"].float(), step.cond["attrs"].float())}


@dataclass
class FontTask(GANTask):
    model_options: dict = field(default_factory=dict)
    name: str = "font"

    def preview(self, generator: nn.Module, z: torch.Tensor, cond: Batch, path: Path) -> list[Path]:
        """``<path>.png``: the fixed batch's glyphs, ink black on white."""
        was_training = generator.training
        generator.eval()
        with torch.no_grad():
            images = generator(z, **cond).float()
        generator.train(was_training)
        return [save_grid(-images, Path(path).with_name(Path(path).name + ".png"), upscale=2)]

    def features(self, x: torch.Tensor) -> torch.Tensor:
        return F.avg_pool2d(x.float(), 2).flatten(1)

    def release(self, generator_ema: nn.Module, provenance: dict):
        from .pipeline import FontPipeline

        generator = copy.deepcopy(generator_ema).float().to("cpu")
        dataset: GlyphDataset = self.dataset
        return FontPipeline(generator, dataset.corpus.scale,
                            reference_faces=reference_faces(dataset.corpus),
                            dataset=dataset.provenance())


def reference_faces(corpus: GlyphCorpus) -> list[dict]:
    """Name + normalised attributes of every training face: the "like this face" presets."""
    return [{"name": f"{f['family']} {f['style']}", "family": f["family"], "style": f["style"],
             "attributes": {k: round(float(v), 4) for k, v in f["attributes"].items()}}
            for f in corpus.faces]
