"""Tracing round trip on shapes with holes: counters come out as holes, outlines match the bitmap."""
from __future__ import annotations

import numpy as np
from PIL import Image, ImageDraw

from creative_gan.pipelines.font.trace import enlarge, trace


def ring(size=64, outer=22, inner=11, centre=(32, 32)):
    y, x = np.mgrid[0:size, 0:size]
    r = np.hypot(x - centre[0], y - centre[1])
    return (r <= outer) & (r >= inner)


def figure_eight(size=64):
    return ring(size, 13, 6, (32, 18)) | ring(size, 15, 7, (32, 44))


def rasterise(contours, size: int) -> np.ndarray:
    """Fill outer (counter-clockwise) contours, then cut holes (clockwise), sampling each curve."""
    from fontTools.pens.recordingPen import RecordingPen
    from fontTools.pens.basePen import BasePen

    class Flatten(BasePen):
        def __init__(self):
            super().__init__(None)
            self.polys, self.cur = [], []
        def _moveTo(self, p): self.cur = [p]
        def _lineTo(self, p): self.cur.append(p)
        def _curveToOne(self, a, b, c):
            p0 = self.cur[-1]
            for t in np.linspace(0, 1, 9)[1:]:
                self.cur.append(tuple((1-t)**3*np.array(p0) + 3*(1-t)**2*t*np.array(a) + 3*(1-t)*t**2*np.array(b) + t**3*np.array(c)))
        def _qCurveToOne(self, a, b):
            p0 = self.cur[-1]
            for t in np.linspace(0, 1, 9)[1:]:
                self.cur.append(tuple((1-t)**2*np.array(p0) + 2*(1-t)*t*np.array(a) + t**2*np.array(b)))
        def _closePath(self): self.polys.append(self.cur); self.cur = []

    from creative_gan.pipelines.font.trace import contour_to_pen
    sub = 4  # 4× supersampled, then pixel coverage > ½ (Pillow's polygons include their edge pixels)
    image = Image.new("L", (sub * size, sub * size), 0)
    draw = ImageDraw.Draw(image)
    for contour in sorted(contours, key=lambda c: -c.area):
        pen = Flatten()
        contour_to_pen(contour, pen)
        for poly in pen.polys:
            draw.polygon([(sub * x, sub * (size - y)) for x, y in poly], fill=255 if contour.area > 0 else 0)
    coverage = np.asarray(image, np.float32).reshape(size, sub, size, sub).mean(axis=(1, 3))
    return coverage > 127.5


def iou(a, b):
    return (a & b).sum() / (a | b).sum()


def test_ring_has_one_outer_and_one_hole():
    glyph = np.where(ring(), 1.0, -1.0)
    contours = trace(glyph, size=256)
    assert len(contours) == 2
    outer, hole = sorted(contours, key=lambda c: -c.area)
    assert outer.area > 0 > hole.area  # counter-clockwise outside, clockwise counter
    assert iou(rasterise(contours, 256), enlarge(glyph, 256)) > 0.95


def test_figure_eight_has_two_holes_and_round_trips():
    glyph = np.where(figure_eight(), 1.0, -1.0)
    contours = trace(glyph, size=256)
    areas = sorted(c.area for c in contours)
    assert len(contours) == 3 and areas[0] < 0 and areas[1] < 0 and areas[2] > 0
    assert iou(rasterise(contours, 256), enlarge(glyph, 256)) > 0.95
    # smooth curves, not pixel staircases: far fewer points than boundary pixels
    assert sum(len(c.points) for c in contours) < 200


def test_square_keeps_its_corners_and_specks_are_dropped():
    glyph = -np.ones((64, 64), np.float32)
    glyph[16:48, 16:48] = 1.0
    glyph[2, 2] = 1.0  # a one-pixel speck
    contours = trace(glyph, size=256)
    assert len(contours) == 1
    assert contours[0].on_curve.sum() >= 4  # the four corners stay sharp
    assert iou(rasterise(contours, 256), enlarge(glyph, 256)) > 0.97
    assert trace(-np.ones((32, 32), np.float32)) == []
