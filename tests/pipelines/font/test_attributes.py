"""The measuring function on synthetic strokes: thicker → heavier, sheared → more slanted."""
from __future__ import annotations

import numpy as np
import pytest

from creative_gan.pipelines.font.attributes import ATTRIBUTES, AttributeScale, measure_raw


def stroke_alphabet(thickness: float, shear: float = 0.0, size: int = 64, width: float = 0.0) -> np.ndarray:
    """62 identical glyphs: an 'H'-like pair of stems joined by a bar, ``thickness`` pixels thick,
    each row shifted right by ``shear`` pixels per pixel of height (ink 1 on paper 0)."""
    y, x = np.mgrid[0:size, 0:size].astype(np.float64)
    baseline, cap = 0.78 * size, 0.5 * size
    height_above = baseline - y
    xs = x - shear * height_above
    left, right = 0.3 * size - width, 0.7 * size + width
    inside = (height_above >= 0) & (height_above <= cap)
    stem = (np.abs(xs - left) <= thickness / 2) | (np.abs(xs - right) <= thickness / 2)
    bar = (np.abs(height_above - cap / 2) <= thickness / 2) & (xs >= left) & (xs <= right)
    glyph = ((stem | bar) & inside).astype(np.float32)
    return np.repeat(glyph[None], 62, axis=0)


def test_thicker_strokes_measure_heavier():
    weights = [measure_raw(stroke_alphabet(t))["weight"] for t in (2, 3, 4, 6, 8, 10)]
    assert all(b > a for a, b in zip(weights, weights[1:])), weights
    # a 6-px stroke on a 32-px cap height is about 6/32 thick
    assert measure_raw(stroke_alphabet(6))["weight"] == pytest.approx(6 / 32, rel=0.2)


def test_sheared_strokes_measure_more_slanted():
    slants = [measure_raw(stroke_alphabet(4, shear=s))["slant"] for s in (0.0, 0.1, 0.2, 0.3)]
    assert all(b > a for a, b in zip(slants, slants[1:])), slants
    assert abs(slants[0]) < 0.02
    assert slants[2] == pytest.approx(0.2, abs=0.04)


def test_wider_glyphs_measure_wider_and_scale_maps_to_unit_range():
    widths = [measure_raw(stroke_alphabet(4, width=w))["width"] for w in (0, 4, 8)]
    assert widths[0] < widths[1] < widths[2]
    raws = [measure_raw(stroke_alphabet(t, shear=s)) for t, s in ((2, 0.0), (4, 0.1), (8, 0.25))]
    scale = AttributeScale.fit(raws)
    assert scale.low["slant"] == 0.0  # slant 0 means upright
    normed = [scale.normalise(r) for r in raws]
    assert all(0.0 <= n[a] <= 1.0 for n in normed for a in ATTRIBUTES)
    assert normed[0]["weight"] < normed[1]["weight"] < normed[2]["weight"]
    assert AttributeScale.from_dict(scale.to_dict()).normalise(raws[1]) == normed[1]


def test_bad_input_is_refused():
    with pytest.raises(ValueError, match="62"):
        measure_raw(np.zeros((10, 32, 32)))
