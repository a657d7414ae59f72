"""Generated glyph bitmaps → an installable font (.otf CFF, .ttf glyf) or an editable .ufo source.

Geometry: a glyph image of S px holds an em of ``FRAME_EM_FRACTION·S`` px with the baseline
``FRAME_BASELINE_FRACTION·S`` px from the top (the corpus's layout), so ``UNITS_PER_EM`` font units
per em map the image back to the proportions the model learned.

Spacing (hmtx): each side bearing comes from the glyph's extent and its side profile, in the manner
of "same white area beside every letter": inside a reference zone (baseline to x-height for lower
case, to cap height for capitals and figures) the mean depth of the white between the ink's
extreme and the ink row by row (each row counted at most ``SPACING_DEPTH``) is subtracted from
``SPACING_TARGET``. A straight stem (n, H, l) gets the full target, a round side (o, O) less, an
open side (T, V, L's right) the minimum, so the typed text looks evenly spaced.
Advance width = left bearing + ink width + right bearing.

OS/2 weight class and the italic bit come from the requested attributes. Everything written is
reopened and checked (all glyphs present and mapped, every letter drawn) before this returns.
"""
from __future__ import annotations

import math
import os
import re
from pathlib import Path

import numpy as np

from creative_gan.errors import UsageError
from creative_gan.fileio import atomic_dir, atomic_path

from .charset import CHARACTERS, INDEX, glyph_name
from .corpus import FRAME_BASELINE_FRACTION, FRAME_EM_FRACTION
from .trace import Contour, contour_to_pen, enlarge_field, trace

UNITS_PER_EM = 2048
SPACE_ADVANCE = round(0.26 * UNITS_PER_EM)
SPACING_TARGET = 0.075 * UNITS_PER_EM    # side bearing of a straight side (font units)
SPACING_DEPTH = 0.045 * UNITS_PER_EM     # white deeper than this in a row counts as this deep
SPACING_MIN = 0.012 * UNITS_PER_EM       # no side bearing below this (T, V, A, L's right)
ITALIC_SLANT = math.tan(math.radians(3.0))   # measured shear above which a font is called italic
SUFFIXES = (".otf", ".ttf", ".ufo")
#: the smallest tracing canvas (px); glyphs are enlarged to at least this before tracing
TRACE_MIN_SIZE = 512


def weight_class(weight: float) -> int:
    """OS/2 usWeightClass (100–900, steps of 100) of a weight attribute in [0, 1]."""
    return int(100 * round(1 + 8 * float(np.clip(weight, 0.0, 1.0))))


def _style_name(weight_cls: int, italic: bool) -> str:
    base = "Bold" if weight_cls >= 700 else "Regular"
    if italic:
        return "Bold Italic" if base == "Bold" else "Italic"
    return base


def side_bearings(mask: np.ndarray, left: float, right: float, zone: tuple[int, int],
                  units_per_px: float, shear: float = 0.0) -> tuple[int, int]:
    """(left, right) side bearings in font units of one glyph.

    ``mask [H, W]`` (rows down) is the ink at the tracing size, ``left``/``right`` the outline's
    x extent in the same pixels, ``zone`` the (top, bottom) rows spacing looks at. For an italic
    (``shear`` = dx/dy > 0) rows are compared along the slant: each row's ink is moved back by
    ``shear`` × its height above the baseline, and ``left``/``right`` must be measured the same way.
    """
    height = mask.shape[0]
    baseline_row = FRAME_BASELINE_FRACTION * height
    top, bottom = zone
    row_index = np.arange(max(top, 0), max(bottom, top + 1))
    rows = mask[row_index]
    depth = SPACING_DEPTH / units_per_px
    inked = rows.any(axis=1)
    if not inked.any():  # nothing in the zone (a glyph above or below it): space by the whole glyph
        row_index = np.flatnonzero(mask.any(axis=1))
        rows, inked = mask[row_index], np.ones(len(row_index), bool)
    back = shear * (baseline_row - (row_index + 0.5))
    first = np.where(inked, rows.argmax(axis=1) - back, 0)
    last = np.where(inked, rows.shape[1] - rows[:, ::-1].argmax(axis=1) - back, 0)
    white_left = np.where(inked, np.clip(first - left, 0, depth), depth)
    white_right = np.where(inked, np.clip(right - last, 0, depth), depth)
    bearings = []
    for white in (white_left, white_right):
        bearings.append(int(round(max(SPACING_MIN, SPACING_TARGET - white.mean() * units_per_px))))
    return bearings[0], bearings[1]


def outline_bounds(contours: list[Contour], shear: float = 0.0,
                   baseline: float = 0.0) -> tuple[float, float, float, float] | None:
    """(xMin, yMin, xMax, yMax) of the drawn curves (not of their off-curve control points), or None;
    with ``shear``, x is measured along the slant: x − shear·(y − baseline)."""
    from fontTools.pens.boundsPen import BoundsPen

    pen = BoundsPen(None)
    for contour in contours:
        contour_to_pen(contour, pen, lambda x, y: (x - shear * (y - baseline), y))
    return pen.bounds


class TracedGlyph:
    """One glyph's contours in font units plus its side bearings and advance width.

    ``contours`` are in y-up pixels of a ``trace_size``² canvas; ``mask`` is that canvas's ink
    (rows down) and ``zone`` the rows the spacing looks at (see :func:`side_bearings`); ``shear``
    (dx/dy, the font's italic slant) makes the extent and the spacing follow the slant, so slanted
    letters nest as upright ones stand.
    """

    def __init__(self, contours: list[Contour], trace_size: int, mask: np.ndarray | None = None,
                 zone: tuple[int, int] | None = None, shear: float = 0.0):
        scale = UNITS_PER_EM / (FRAME_EM_FRACTION * trace_size)
        baseline = (1.0 - FRAME_BASELINE_FRACTION) * trace_size
        top = (outline_bounds(contours) or (0.0, baseline, 0.0, baseline))[3]
        left, _, right, _ = outline_bounds(contours, shear, baseline) or (0.0, baseline, 0.0, baseline)
        self.top = int(round((top - baseline) * scale))  # yMax (font units)
        if mask is not None and zone is not None and contours:
            self.lsb, self.rsb = side_bearings(mask, left, right, zone, scale, shear)
        else:
            self.lsb = self.rsb = int(round(SPACING_TARGET))
        self.contours = contours
        self.advance = int(round((right - left) * scale)) + self.lsb + self.rsb
        lsb = self.lsb
        self._transform = lambda x, y: (round((x - left) * scale + lsb), round((y - baseline) * scale))

    def draw(self, pen, reverse: bool = False) -> None:
        for contour in self.contours:
            contour_to_pen(contour, pen, self._transform, reverse=reverse)


def _ink_top(mask: np.ndarray) -> int:
    rows = np.flatnonzero(mask.any(axis=1))
    return int(rows[0]) if rows.size else 0


def trace_alphabet(glyphs: np.ndarray, shear: float = 0.0) -> dict[str, TracedGlyph]:
    """``[62, S, S]`` in [-1, 1] (ink +1) → glyph name → traced glyph (traced at ≥ 512 px), spaced
    along the italic slant ``shear`` (dx/dy; 0 = upright)."""
    glyphs = np.asarray(glyphs, dtype=np.float32)
    if glyphs.ndim == 4:
        glyphs = glyphs[:, 0]
    if glyphs.shape[0] != len(CHARACTERS):
        raise UsageError(f"expected {len(CHARACTERS)} glyphs, got {glyphs.shape[0]}")
    size = max(TRACE_MIN_SIZE, 8 * glyphs.shape[-1])
    masks = [enlarge_field(g, size) > 0.0 for g in glyphs]
    baseline_row = int(round(FRAME_BASELINE_FRACTION * size))
    zones = {"lower": (_ink_top(masks[INDEX["x"]]), baseline_row),
             "upper": (_ink_top(masks[INDEX["H"]]), baseline_row)}
    return {glyph_name(c): TracedGlyph(trace(g, size), size, mask, zones["lower" if c.islower() else "upper"], shear)
            for c, g, mask in zip(CHARACTERS, glyphs, masks)}


def _check_family(family_name: str) -> str:
    family = " ".join(str(family_name).split())
    if not family or len(family) > 63 or not all(32 <= ord(ch) < 127 for ch in family):
        raise UsageError(f"family name {family_name!r}: use 1–63 printable ASCII characters")
    return family


def _metadata(attrs: dict[str, float], scale) -> tuple[int, bool, float]:
    """(weight class, italic?, post italicAngle in degrees) of the requested attributes."""
    raw_slant = scale.low["slant"] + float(attrs["slant"]) * (scale.high["slant"] - scale.low["slant"]) \
        if scale is not None else 0.0
    italic = raw_slant >= ITALIC_SLANT
    angle = -math.degrees(math.atan(raw_slant)) if italic else 0.0
    return weight_class(attrs["weight"]), italic, round(angle, 2)


def _ascent_descent() -> tuple[int, int]:
    """hhea/OS/2 ascender and |descender| in font units: the glyph image's top and bottom edges."""
    return (round(FRAME_BASELINE_FRACTION / FRAME_EM_FRACTION * UNITS_PER_EM),
            round((1 - FRAME_BASELINE_FRACTION) / FRAME_EM_FRACTION * UNITS_PER_EM))


def build_font(traced: dict[str, TracedGlyph], family: str, weight_cls: int, italic: bool,
               italic_angle: float, truetype: bool):
    """A fontTools ``TTFont`` (CFF outlines, or glyf when ``truetype``) with all required tables."""
    from fontTools.fontBuilder import FontBuilder
    from fontTools.pens.t2CharStringPen import T2CharStringPen
    from fontTools.pens.ttGlyphPen import TTGlyphPen

    style = _style_name(weight_cls, italic)
    ps_name = re.sub(r"[^A-Za-z0-9]", "", family) + "-" + style.replace(" ", "")
    order = [".notdef", "space", *traced]
    builder = FontBuilder(UNITS_PER_EM, isTTF=truetype)
    builder.setupGlyphOrder(order)
    builder.setupCharacterMap({32: "space", **{ord(c): glyph_name(c) for c in CHARACTERS}})
    u = UNITS_PER_EM / 1000
    advances = {".notdef": round(500 * u), "space": SPACE_ADVANCE, **{n: g.advance for n, g in traced.items()}}

    def notdef(pen):
        for box in ((50, 0, 450, 700), (100, 650, 400, 50)):  # outer box, then the hole (reversed)
            x0, y0, x1, y1 = (round(v * u) for v in box)
            pen.moveTo((x0, y0)); pen.lineTo((x1, y0)); pen.lineTo((x1, y1)); pen.lineTo((x0, y1)); pen.closePath()

    if truetype:  # TrueType: outer contours clockwise
        outlines = {}
        for name in order:
            pen = TTGlyphPen(None)
            if name == ".notdef":
                notdef(pen)
            elif name != "space":
                traced[name].draw(pen, reverse=True)
            outlines[name] = pen.glyph()
        builder.setupGlyf(outlines)
        glyf = builder.font["glyf"]
        metrics = {n: (advances[n], getattr(glyf[n], "xMin", 0)) for n in order}
    else:  # CFF: outer contours counter-clockwise
        charstrings, metrics = {}, {}
        for name in order:
            pen = T2CharStringPen(advances[name], None)
            if name == ".notdef":
                notdef(pen)
            elif name != "space":
                traced[name].draw(pen)
            charstrings[name] = pen.getCharString()
        builder.setupCFF(ps_name, {"FullName": f"{family} {style}", "FamilyName": family,
                                   "Weight": style, "ItalicAngle": italic_angle}, charstrings, {})
        for name in order:
            bounds = charstrings[name].calcBounds(None)
            metrics[name] = (advances[name], int(bounds[0]) if bounds else 0)
    builder.setupHorizontalMetrics(metrics)
    ascent, descent = _ascent_descent()
    builder.setupHorizontalHeader(ascent=ascent, descent=-descent)
    builder.setupNameTable({"familyName": family, "styleName": style, "uniqueFontIdentifier": ps_name,
                            "fullName": f"{family} {style}", "psName": ps_name, "version": "Version 1.000",
                            "copyright": "Generated with creative-gan"})
    fs_selection = (0x01 if italic else 0) | (0x20 if weight_cls >= 700 else 0) | (0x40 if style == "Regular" else 0)
    builder.setupOS2(usWeightClass=weight_cls, fsSelection=fs_selection, sTypoAscender=ascent,
                     sTypoDescender=-descent, sTypoLineGap=0, usWinAscent=ascent, usWinDescent=descent,
                     achVendID="CGAN", sxHeight=traced[glyph_name("x")].top,
                     sCapHeight=traced[glyph_name("H")].top)
    builder.setupPost(italicAngle=italic_angle)
    builder.font["head"].macStyle = (0x01 if weight_cls >= 700 else 0) | (0x02 if italic else 0)
    return builder.font


def write_ufo(traced: dict[str, TracedGlyph], path: Path, family: str, weight_cls: int, italic: bool,
              italic_angle: float) -> None:
    """An editable UFO 3 source (PostScript contour direction)."""
    from fontTools.pens.pointPen import SegmentToPointPen
    from fontTools.ufoLib import UFOWriter

    class _Info:
        pass

    info = _Info()
    style = _style_name(weight_cls, italic)
    info.familyName, info.styleName, info.unitsPerEm = family, style, UNITS_PER_EM
    ascent, descent = _ascent_descent()
    info.ascender, info.descender = ascent, -descent
    info.xHeight, info.capHeight = traced[glyph_name("x")].top, traced[glyph_name("H")].top
    info.italicAngle, info.openTypeOS2WeightClass = float(italic_angle), weight_cls

    class _Glyph:
        def __init__(self, width, unicodes):
            self.width, self.unicodes = width, unicodes

    with atomic_dir(path) as tmp:
        tmp.rmdir()  # UFOWriter creates the folder itself (an existing empty one reads as a broken UFO)
        writer = UFOWriter(str(tmp), formatVersion=3)
        writer.writeInfo(info)
        glyph_set = writer.getGlyphSet()
        glyph_set.writeGlyph("space", _Glyph(SPACE_ADVANCE, [32]), drawPointsFunc=lambda pen: None)
        for char in CHARACTERS:
            traced_glyph = traced[glyph_name(char)]
            glyph_set.writeGlyph(glyph_name(char), _Glyph(traced_glyph.advance, [ord(char)]),
                                 drawPointsFunc=lambda pen, g=traced_glyph: g.draw(SegmentToPointPen(pen)))
        glyph_set.writeContents()
        writer.writeLayerContents()
        writer.close()


def validate_font(path: str | os.PathLike) -> dict:
    """Reopen a written .otf/.ttf or .ufo and check every character is present, mapped and drawn."""
    from fontTools.pens.boundsPen import ControlBoundsPen
    from fontTools.ttLib import TTFont

    path = Path(path)
    if path.suffix.lower() == ".ufo":
        from fontTools.ufoLib import UFOReader

        reader = UFOReader(str(path), validate=True)
        glyph_set = reader.getGlyphSet()
        mapping = reader.getCharacterMapping()
        missing = [c for c in CHARACTERS if glyph_name(c) not in glyph_set or ord(c) not in mapping]
        drawn = []
        for c in CHARACTERS:
            if glyph_name(c) in glyph_set:
                pen = ControlBoundsPen(None)
                glyph_set[glyph_name(c)].draw(pen)
                drawn.append(pen.bounds is not None)
        info = {"weight_class": None, "italic": None}
    else:
        font = TTFont(str(path))
        cmap = font.getBestCmap()
        names = set(font.getGlyphOrder())
        missing = [c for c in CHARACTERS if ord(c) not in cmap or cmap[ord(c)] not in names]
        glyph_set = font.getGlyphSet()
        drawn = []
        for c in CHARACTERS:
            if ord(c) in cmap:
                pen = ControlBoundsPen(glyph_set)
                glyph_set[cmap[ord(c)]].draw(pen)
                drawn.append(pen.bounds is not None)
        info = {"weight_class": int(font["OS/2"].usWeightClass), "italic": bool(font["OS/2"].fsSelection & 1)}
        font.close()
    if missing:
        raise UsageError(f"{path}: written font lacks {''.join(missing)}")
    if not all(drawn):
        raise UsageError(f"{path}: written font has empty letters")
    return {"path": str(path), "glyphs": len(CHARACTERS), **info}


def export_font(glyphs: np.ndarray, attrs: dict[str, float], path: str | os.PathLike,
                family_name: str, scale=None, specimen: str | os.PathLike | None = None) -> dict:
    """Trace ``glyphs [62, S, S]`` and write ``path`` (.otf / .ttf / .ufo); returns the validation report."""
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in SUFFIXES:
        raise UsageError(f"{path}: the output must end in .otf, .ttf or .ufo")
    if not path.parent.is_dir():
        raise UsageError(f"{path}: folder {path.parent} does not exist")
    family = _check_family(family_name)
    weight_cls, italic, angle = _metadata(attrs, scale)
    traced = trace_alphabet(glyphs, shear=math.tan(math.radians(-angle)))
    if suffix == ".ufo":
        write_ufo(traced, path, family, weight_cls, italic, angle)
    else:
        font = build_font(traced, family, weight_cls, italic, angle, truetype=suffix == ".ttf")
        with atomic_path(path) as tmp:
            font.save(str(tmp))
    report = validate_font(path)
    report.update({"weight_class": weight_cls, "italic": italic, "italic_angle": angle,
                   "contours": {n: len(g.contours) for n, g in traced.items()}})
    if specimen is not None:
        from .specimen import write_specimen

        write_specimen(build_font(traced, family, weight_cls, italic, angle, truetype=False), specimen)
    return report
