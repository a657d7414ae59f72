"""The fonts tab's callbacks, without a server: sheets follow sliders, fonts are written and typed."""
from __future__ import annotations

import numpy as np
import pytest
from fontTools.ttLib import TTFont

import creative_gan
from creative_gan.demos.font import NO_FACE, face_attributes, glyph_sheet, make_font
from creative_gan.errors import UsageError


@pytest.fixture(scope="module")
def pipe():
    return creative_gan.load("font-default")


def values(pipe, **changes):
    from creative_gan.pipelines.font.attributes import ATTRIBUTES

    return [changes.get(n, pipe.default_attributes[n]) for n in ATTRIBUTES]


def test_sheet_follows_the_weight_slider(pipe):
    light = glyph_sheet(pipe, 1, *values(pipe, weight=0.1))
    heavy = glyph_sheet(pipe, 1, *values(pipe, weight=0.9))
    assert light.shape == heavy.shape and light.dtype == np.uint8
    assert (heavy < 128).sum() > 1.5 * (light < 128).sum()   # more ink
    assert np.array_equal(light, glyph_sheet(pipe, 1, *values(pipe, weight=0.1)))


def test_like_a_face_sets_the_sliders(pipe):
    bold = face_attributes(pipe, "DejaVu Sans Bold")
    book = face_attributes(pipe, "DejaVu Sans Book")
    assert bold[0] > book[0]
    assert face_attributes(pipe, NO_FACE)[2] == pytest.approx(pipe.default_attributes["slant"], abs=1e-3)
    with pytest.raises(UsageError, match="no reference face"):
        face_attributes(pipe, "Nonexistent Grotesk")


def test_make_font_writes_an_installable_font_and_types_the_line(pipe):
    sheet, specimen, path = make_font(pipe, "Tab Test", 3, "Hello 42", *values(pipe, weight=0.7))
    font = TTFont(path)
    assert font["name"].getDebugName(1) == "Tab Test" and font["OS/2"].usWeightClass == 700
    assert specimen.ndim == 2 and (specimen < 128).sum() > 500
    with pytest.raises(UsageError, match="only A–Z"):
        make_font(pipe, "X", 3, "héllo", *values(pipe))
    with pytest.raises(UsageError, match="seed"):
        make_font(pipe, "X", -1, "ok", *values(pipe))
