"""Export → reopen → render round trip on glyphs of a real face (no model needed)."""
from __future__ import annotations

import numpy as np
import pytest
from fontTools.ttLib import TTFont
from fontTools.ufoLib import UFOReader
from PIL import Image, ImageDraw, ImageFont

from creative_gan.errors import UsageError
from creative_gan.pipelines.font.attributes import AttributeScale
from creative_gan.pipelines.font.charset import CHARACTERS, INDEX
from creative_gan.pipelines.font.corpus import GlyphCorpus, render_face
from creative_gan.pipelines.font.evaluate import glyph_iou
from creative_gan.pipelines.font.export import export_font, weight_class


@pytest.fixture(scope="module")
def serif_glyphs(small_corpus):
    corpus = GlyphCorpus(small_corpus)
    face = corpus.names().index("DejaVu Serif Book")
    return corpus.glyphs[face].astype(np.float32) / 127.5 - 1.0, corpus.scale


def typed_ink(path, text="Hamburgefonstiv 0123") -> np.ndarray:
    font = ImageFont.truetype(str(path), size=40)
    image = Image.new("L", (800, 80), 0)
    ImageDraw.Draw(image).text((10, 60), text, font=font, fill=255, anchor="ls")
    return np.asarray(image) > 127


@pytest.mark.parametrize("suffix", [".otf", ".ttf"])
def test_font_reopens_types_and_matches_the_bitmaps(serif_glyphs, tmp_path, suffix):
    glyphs, scale = serif_glyphs
    attrs = {"weight": 0.9, "width": 0.5, "slant": 0.0, "serif": 0.5, "contrast": 0.5, "x_height": 0.5,
             "monospace": 0.2}
    path = tmp_path / f"t{suffix}"
    report = export_font(glyphs, attrs, path, family_name="Round Trip", scale=scale,
                         specimen=tmp_path / "sheet.png")
    assert report["glyphs"] == 62 and report["weight_class"] == 800 and not report["italic"]
    font = TTFont(str(path))
    cmap = font.getBestCmap()
    assert all(ord(c) in cmap for c in CHARACTERS + " ")
    assert font["OS/2"].usWeightClass == 800 and font["post"].italicAngle == 0
    assert font["hhea"].ascent > 0 > font["hhea"].descent
    assert font["hmtx"]["space"][0] > 0
    ink = typed_ink(path)
    assert ink.sum() > 2000 and ink[:, 400:].sum() > 500  # the whole line is typed, digits included
    assert Image.open(tmp_path / "sheet.png").size[0] > 400
    # FreeType renders the traced outlines where the bitmaps were: counters stay holes
    rendered, _ = render_face(path, 0, 32)
    assert glyph_iou(rendered.astype(np.float32) / 127.5 - 1, glyphs) > 0.9
    for char in "oeB8":
        g = rendered[INDEX[char]]
        assert glyph_iou(g[None].astype(np.float32) / 127.5 - 1, glyphs[INDEX[char]][None]) > 0.8
    o = rendered[INDEX["o"]]
    rows, cols = np.flatnonzero(o.max(axis=1) > 127), np.flatnonzero(o.max(axis=0) > 127)
    assert o[(rows[0] + rows[-1]) // 2, (cols[0] + cols[-1]) // 2] < 64


def test_ufo_is_read_back(serif_glyphs, tmp_path):
    glyphs, scale = serif_glyphs
    attrs = {"weight": 0.4, "width": 0.5, "slant": 1.0, "serif": 0.5, "contrast": 0.5, "x_height": 0.5,
             "monospace": 0.2}
    # on a scale where slant 1 is a 12° shear (the four upright DejaVu faces span none)
    italic_scale = AttributeScale({**scale.low, "slant": 0.0}, {**scale.high, "slant": 0.21})
    report = export_font(glyphs, attrs, tmp_path / "t.ufo", family_name="Source", scale=italic_scale)
    assert report["italic"] and report["italic_angle"] == pytest.approx(-11.86, abs=0.01)
    reader = UFOReader(str(tmp_path / "t.ufo"), validate=True)
    assert {ord(c) for c in CHARACTERS} <= set(reader.getCharacterMapping())
    glyph_set = reader.getGlyphSet()
    class Glyph:
        pass

    glyph = Glyph()
    glyph_set.readGlyph("A", glyph)
    assert len(glyph_set) == 63 and glyph.width > 0 and glyph.unicodes == [ord("A")]


def test_bad_requests_fail_cleanly_and_keep_existing_files(serif_glyphs, tmp_path):
    glyphs, scale = serif_glyphs
    attrs = dict.fromkeys(("weight", "width", "slant", "serif", "contrast", "x_height", "monospace"), 0.5)
    with pytest.raises(UsageError, match=r"\.otf, \.ttf or \.ufo"):
        export_font(glyphs, attrs, tmp_path / "t.woff", family_name="X", scale=scale)
    with pytest.raises(UsageError, match="does not exist"):
        export_font(glyphs, attrs, tmp_path / "nowhere" / "t.otf", family_name="X", scale=scale)
    keep = tmp_path / "keep.otf"
    keep.write_bytes(b"precious")
    with pytest.raises(UsageError, match="family name"):
        export_font(glyphs, attrs, keep, family_name="  ", scale=scale)
    assert keep.read_bytes() == b"precious"
    assert weight_class(0.0) == 100 and weight_class(0.5) == 500 and weight_class(1.3) == 900


def test_side_bearings_come_from_each_glyphs_extent_and_profile(small_corpus, tmp_path):
    from fontTools.pens.boundsPen import BoundsPen

    from creative_gan.pipelines.font.export import SPACING_MIN, SPACING_TARGET

    corpus = GlyphCorpus(small_corpus)
    glyphs = corpus.glyphs[corpus.names().index("DejaVu Sans Book")].astype(np.float32) / 127.5 - 1.0
    scale = corpus.scale
    path = tmp_path / "spaced.otf"
    export_font(glyphs, dict.fromkeys(("weight", "width", "slant", "serif", "contrast", "x_height", "monospace"), 0.5),
                path, family_name="Spaced", scale=scale)
    font = TTFont(str(path))
    glyph_set = font.getGlyphSet()
    lsb, rsb = {}, {}
    for char in CHARACTERS:
        name = font.getBestCmap()[ord(char)]
        pen = BoundsPen(glyph_set)
        glyph_set[name].draw(pen)
        advance, left = font["hmtx"][name]
        x_min, _, x_max, _ = pen.bounds
        assert abs(left - x_min) <= 1  # hmtx's left side bearing is the outline's own xMin
        lsb[char], rsb[char] = left, advance - x_max
        assert SPACING_MIN - 1 <= lsb[char] <= SPACING_TARGET + 1 and SPACING_MIN - 1 <= rsb[char] <= SPACING_TARGET + 1
    # straight stems get more room than round sides, open sides the least
    assert lsb["n"] > lsb["o"] > lsb["v"] and lsb["H"] > lsb["O"] > lsb["V"]
    assert rsb["l"] > rsb["o"] and rsb["T"] < rsb["H"]


def test_italic_letters_are_spaced_along_their_slant(small_corpus, tmp_path):
    from scipy import ndimage

    from creative_gan.pipelines.font.corpus import FRAME_BASELINE_FRACTION
    from creative_gan.pipelines.font.export import SPACING_TARGET

    corpus = GlyphCorpus(small_corpus)
    upright = corpus.glyphs[corpus.names().index("DejaVu Sans Book")].astype(np.float32) / 127.5 - 1.0
    shear, size = 0.21, upright.shape[-1]  # 0.21 = tan 11.86°, slant 1 on the scale below
    rows, cols = np.mgrid[0:size, 0:size].astype(np.float64)
    lean = shear * (FRAME_BASELINE_FRACTION * size - rows - 0.5)
    italic = np.stack([ndimage.map_coordinates(g, [rows, cols - lean], order=1, cval=-1.0) for g in upright])
    attrs = {**dict.fromkeys(("weight", "width", "serif", "contrast", "x_height", "monospace"), 0.5), "slant": 1.0}
    italic_scale = AttributeScale({**corpus.scale.low, "slant": 0.0}, {**corpus.scale.high, "slant": shear})
    path = tmp_path / "italic.otf"
    assert export_font(italic, attrs, path, family_name="Leaning", scale=italic_scale)["italic"]
    from creative_gan.pipelines.font.export import trace_alphabet

    along = trace_alphabet(italic, shear=shear)
    across = trace_alphabet(italic, shear=0.0)
    font = TTFont(str(path))
    assert font["post"].italicAngle == pytest.approx(-11.86, abs=0.01)
    # the written font is spaced along its own italic angle
    assert [font["hmtx"][n][0] for n in ("l", "H", "o")] == [along[n].advance for n in ("l", "H", "o")]
    # a slanted stem measured along the slant keeps nearly the room of an upright stem; measured
    # across its bounding box it would get far less (and the box's overhang would open gaps)
    for name in ("l", "H"):
        assert along[name].lsb > 0.8 * SPACING_TARGET and along[name].rsb > 0.8 * SPACING_TARGET
        assert across[name].lsb < 0.6 * SPACING_TARGET
    assert along["n"].lsb > along["o"].lsb
