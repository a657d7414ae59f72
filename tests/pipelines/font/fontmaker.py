"""Fonts the tests build with fontTools: every character a box of its own width (a hole in some)."""
from __future__ import annotations

from pathlib import Path

from fontTools.fontBuilder import FontBuilder
from fontTools.pens.ttGlyphPen import TTGlyphPen

from creative_gan.pipelines.font.charset import CHARACTERS, glyph_name


def _box(pen, x0, y0, x1, y1, clockwise=True):
    pts = [(x0, y0), (x0, y1), (x1, y1), (x1, y0)] if clockwise else [(x0, y0), (x1, y0), (x1, y1), (x0, y1)]
    pen.moveTo(pts[0])
    for p in pts[1:]:
        pen.lineTo(p)
    pen.closePath()


def make_font(path: Path, family: str = "Box Test", style: str = "Regular", skip: str = "",
              stem: int = 80) -> Path:
    """A TrueType font covering A–Z a–z 0–9 minus ``skip``; stems ``stem`` units thick."""
    chars = [c for c in CHARACTERS if c not in skip]
    order = [".notdef", "space"] + [glyph_name(c) for c in chars]
    fb = FontBuilder(1000, isTTF=True)
    fb.setupGlyphOrder(order)
    fb.setupCharacterMap({32: "space", **{ord(c): glyph_name(c) for c in chars}})
    glyphs, metrics = {}, {}
    for name in order:
        pen = TTGlyphPen(None)
        width = 600
        if name not in (".notdef", "space"):
            char = chars[order.index(name) - 2]
            width = 420 + 8 * (CHARACTERS.index(char) % 40)
            top = 700 if char.isupper() or char.isdigit() else 500
            _box(pen, 50, 0, width - 50, top)                               # outer, clockwise (TrueType)
            _box(pen, 50 + stem, stem, width - 50 - stem, top - stem, clockwise=False)  # counter
        glyphs[name] = pen.glyph()
        metrics[name] = (width, 50 if name not in (".notdef", "space") else 0)
    fb.setupGlyf(glyphs)
    fb.setupHorizontalMetrics(metrics)
    fb.setupHorizontalHeader(ascent=900, descent=-200)
    fb.setupNameTable({"familyName": family, "styleName": style})
    fb.setupOS2(usWeightClass=400, sTypoAscender=900, sTypoDescender=-200, usWinAscent=900, usWinDescent=200)
    fb.setupPost()
    fb.save(str(path))
    return path
