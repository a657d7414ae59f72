"""The evaluator's figures measure what they say: the attribute Spearman over many random requests,
export_iou of a written font against the bitmaps it came from."""
from __future__ import annotations

import numpy as np
import pytest
from scipy.stats import spearmanr

from creative_gan.pipelines.font.attributes import ATTRIBUTES, AttributeScale
from creative_gan.pipelines.font.charset import INDEX
from creative_gan.pipelines.font.corpus import GlyphCorpus
from creative_gan.pipelines.font.evaluate import attribute_spearmans, export_iou
from creative_gan.pipelines.font.export import export_font

from .test_attributes import stroke_alphabet


class StrokeModel:
    """Stands in for a generator whose stroke thickness follows the requested weight (plus a little
    seed noise), whose letters widen with the requested width, and which ignores every other
    attribute: 64-px anti-aliased 'H' strokes."""

    scale = AttributeScale(dict.fromkeys(ATTRIBUTES, 0.0), dict.fromkeys(ATTRIBUTES, 1.0))

    def __init__(self):
        self.calls = []

    def generate(self, attributes, seeds):
        out = []
        for attrs, seed in zip(attributes, seeds):
            self.calls.append((dict(attrs), int(seed)))
            noise = np.random.default_rng(seed).normal(0.0, 0.01)
            big = stroke_alphabet(4 * (2.0 + 8.0 * attrs["weight"] + noise), size=256,
                                  width=4 * 12.0 * attrs["width"])
            out.append(big.reshape(62, 64, 4, 64, 4).mean(axis=(2, 4)) * 2.0 - 1.0)
        return np.stack(out).astype(np.float32)


def test_attribute_spearman_is_a_real_rank_correlation_over_many_requests():
    model = StrokeModel()
    bases = [{n: float(v) for n, v in zip(ATTRIBUTES, row)}
             for row in np.random.default_rng(1).uniform(0, 1, (20, len(ATTRIBUTES)))]
    rhos, pairs, alphabets = attribute_spearmans(model, bases, np.random.default_rng(0), per_attribute=30,
                                                 names=("weight", "width", "contrast"), progress=False)
    assert alphabets.shape == (90, 62, 64, 64)
    requested, measured = pairs["weight"]
    # every request is its own value, seed and base vector: no tied grid, no shared vector
    assert len(set(requested.tolist())) == 30 and len({seed for _, seed in model.calls}) == 90
    assert len({tuple(sorted(a.items())) for a, _ in model.calls[:30]}) == 30
    assert [a["weight"] for a, _ in model.calls[:30]] == pytest.approx(requested.tolist())
    assert rhos["weight"] == pytest.approx(spearmanr(requested, measured).statistic)
    # thickness follows weight: near 1, above the 0.980 ceiling of a 5-level grid of tied requests
    assert rhos["weight"] > 0.985
    # each attribute is measured as itself: width follows width (not weight's figure copied) …
    assert rhos["width"] > 0.9 and rhos["width"] != rhos["weight"]
    # … and an attribute the model ignores shows no correlation
    assert np.isnan(rhos["contrast"]) or abs(rhos["contrast"]) < 0.5


@pytest.fixture(scope="module")
def sans(small_corpus):
    corpus = GlyphCorpus(small_corpus)
    glyphs = corpus.glyphs.astype(np.float32) / 127.5 - 1.0
    names = corpus.names()
    return glyphs[names.index("DejaVu Sans Book")], glyphs[names.index("DejaVu Sans Bold")], corpus.scale


def test_export_iou_is_high_for_the_right_bitmaps_and_low_for_others(sans, tmp_path):
    book, bold, scale = sans
    attrs = dict.fromkeys(ATTRIBUTES, 0.5)
    path = tmp_path / "book.otf"
    export_font(book, attrs, path, family_name="Book", scale=scale)
    score = export_iou(path, book)
    assert score > 0.95
    # the same font scored against other bitmaps: another weight, or the right ones a pixel lower
    assert export_iou(path, bold) < score - 0.1
    lowered = np.full_like(book, -1.0)
    lowered[:, 1:] = book[:, :-1]
    assert export_iou(path, lowered) < score - 0.1
