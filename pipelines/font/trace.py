"""Bitmap → outline: our own tracing and curve fitting (no potrace or other GPL code).

1. **Enlarge** the glyph (bicubic) to at least 256 px (the exporter uses 512) and threshold it at half ink.
2. **Trace** the pixel-edge boundary ("crack following"): every ink pixel contributes its four
   edges counter-clockwise; edges shared by two ink pixels cancel; the rest link into closed loops
   with ink on their left. Outer contours therefore run counter-clockwise and counters (the holes
   of o, e, B, 8) clockwise — the winding fonts need, by construction.
3. **Place sub-pixel**: each lattice vertex moves (Newton steps on the bilinear grey levels, at most
   one pixel) onto the level where the anti-aliased image crosses half ink, so the outline follows
   the grey levels rather than the staircase of the threshold.
4. **Smooth** each loop lightly (circular Gaussian, σ = size/512 px), **simplify** it (Douglas–Peucker,
   size/1024 px) and re-sharpen corners the enlargement rounded (a short run of edges between two
   straight edges longer than size/48 px → the straight edges' meeting point).
5. **Fit curves**: vertices where the outline turns sharply stay on-curve corners; the others
   become the control points of a quadratic B-spline (TrueType's implied on-curve midpoints), which
   is smooth (C1) along every run of gentle turns, with the control points moved so the spline
   passes through the traced vertices instead of cutting inside them.

Coordinates are y-up pixel units of the enlarged bitmap; :class:`Contour` lists points as
``(x, y, on_curve)``.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F

CORNER_DEGREES = 55.0


@dataclass
class Contour:
    """One closed outline: ``points [N, 2]`` (x, y up) and ``on_curve [N]`` flags."""

    points: np.ndarray
    on_curve: np.ndarray

    @property
    def area(self) -> float:
        """Signed area of the point polygon (positive = counter-clockwise = outer)."""
        x, y = self.points[:, 0], self.points[:, 1]
        return float(0.5 * (np.dot(x, np.roll(y, -1)) - np.dot(y, np.roll(x, -1))))


def enlarge_field(glyph: np.ndarray, size: int = 256) -> np.ndarray:
    """Grey levels ``float32 [size, size]`` of a glyph ``[S, S]`` in [-1, 1] (ink +1), bicubic-enlarged;
    the outline is where this field crosses 0 (half ink)."""
    x = torch.as_tensor(np.asarray(glyph, dtype=np.float32))[None, None]
    if x.shape[-1] != size:
        x = F.interpolate(x, size=(size, size), mode="bicubic", align_corners=False)
    return x[0, 0].numpy()


def enlarge(glyph: np.ndarray, size: int = 256) -> np.ndarray:
    """Ink mask ``bool [size, size]`` of a glyph ``[S, S]`` in [-1, 1] (ink +1), bicubic-enlarged."""
    return enlarge_field(glyph, size) > 0.0


def _sample(field: np.ndarray, x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Bilinear samples of ``field [H, W]`` at y-up points (pixel (r, c) is centred at (c + ½, H − r − ½));
    outside the image the field is paper (−1)."""
    height, width = field.shape
    padded = np.pad(field, 1, constant_values=-1.0)
    col = np.clip(x - 0.5 + 1, 0, width + 1 - 1e-6)
    row = np.clip(height - y - 0.5 + 1, 0, height + 1 - 1e-6)
    c0, r0 = np.floor(col).astype(int), np.floor(row).astype(int)
    c1, r1 = np.minimum(c0 + 1, width + 1), np.minimum(r0 + 1, height + 1)
    fc, fr = col - c0, row - r0
    top = padded[r0, c0] * (1 - fc) + padded[r0, c1] * fc
    bottom = padded[r1, c0] * (1 - fc) + padded[r1, c1] * fc
    return top * (1 - fr) + bottom * fr


def snap_to_level(loop: np.ndarray, field: np.ndarray, steps: int = 3, max_move: float = 1.0) -> np.ndarray:
    """Move pixel-lattice vertices ``[N, 2]`` (y-up) onto the field's 0 level (sub-pixel outline).

    The crack boundary of the thresholded mask can sit up to a pixel from where the anti-aliased
    grey levels cross half ink; a few Newton steps along the field's gradient put each vertex on
    the crossing (a vertex moves at most ``max_move`` px, so the topology of the loop is kept).
    """
    start = np.asarray(loop, np.float64)
    points = start.copy()
    h = 0.5
    for _ in range(steps):
        x, y = points[:, 0], points[:, 1]
        value = _sample(field, x, y)
        gx = (_sample(field, x + h, y) - _sample(field, x - h, y)) / (2 * h)
        gy = (_sample(field, x, y + h) - _sample(field, x, y - h)) / (2 * h)
        norm2 = gx * gx + gy * gy
        ok = norm2 > 1e-6
        step = np.zeros_like(points)
        step[ok, 0] = -value[ok] * gx[ok] / norm2[ok]
        step[ok, 1] = -value[ok] * gy[ok] / norm2[ok]
        points = points + step
        offset = points - start
        dist = np.hypot(offset[:, 0], offset[:, 1])
        too_far = dist > max_move
        points[too_far] = start[too_far] + offset[too_far] * (max_move / dist[too_far])[:, None]
    return points


def boundary_loops(mask: np.ndarray) -> list[np.ndarray]:
    """Closed pixel-edge loops ``int [N, 2]`` (x, y up; corner lattice) with ink on their left."""
    mask = np.asarray(mask, bool)
    height = mask.shape[0]
    padded = np.pad(mask, 1)
    rows, cols = np.nonzero(mask)
    pr, pc = rows + 1, cols + 1
    # corners of pixel (r, c) in y-up coordinates: x = c, y = height - r
    x0, x1 = cols, cols + 1
    y_top, y_bottom = height - rows, height - rows - 1
    edges = []
    for free, start, end in (
            (~padded[pr + 1, pc], (x0, y_bottom), (x1, y_bottom)),   # bottom: left → right
            (~padded[pr, pc + 1], (x1, y_bottom), (x1, y_top)),      # right: up
            (~padded[pr - 1, pc], (x1, y_top), (x0, y_top)),         # top: right → left
            (~padded[pr, pc - 1], (x0, y_top), (x0, y_bottom))):     # left: down
        edges.append(np.stack([start[0][free], start[1][free], end[0][free], end[1][free]], axis=1))
    all_edges = np.concatenate(edges) if edges else np.zeros((0, 4), int)
    outgoing: dict[tuple[int, int], list[int]] = {}
    for i, (sx, sy, _, _) in enumerate(all_edges.tolist()):
        outgoing.setdefault((sx, sy), []).append(i)
    used = np.zeros(len(all_edges), bool)
    loops = []
    for first in range(len(all_edges)):
        if used[first]:
            continue
        loop, edge = [], first
        while not used[edge]:
            used[edge] = True
            sx, sy, ex, ey = all_edges[edge]
            loop.append((sx, sy))
            choices = [e for e in outgoing[(ex, ey)] if not used[e]]
            if not choices:
                break
            if len(choices) > 1:  # a saddle: take the leftmost turn (ink pixels touching at a corner stay apart)
                dx, dy = ex - sx, ey - sy
                def turn(e):
                    ox, oy = all_edges[e][2] - ex, all_edges[e][3] - ey
                    return -(dx * oy - dy * ox)
                choices.sort(key=turn)
            edge = choices[0]
        loops.append(np.array(loop, dtype=np.float64))
    return loops


def _smooth(loop: np.ndarray, sigma: float) -> np.ndarray:
    if sigma <= 0 or len(loop) < 8:
        return loop
    radius = int(3 * sigma)
    kernel = np.exp(-0.5 * (np.arange(-radius, radius + 1) / sigma) ** 2)
    kernel /= kernel.sum()
    padded = np.concatenate([loop[-radius:], loop, loop[:radius]])
    return np.stack([np.convolve(padded[:, k], kernel, mode="valid") for k in range(2)], axis=1)


def _douglas_peucker(points: np.ndarray, tolerance: float) -> np.ndarray:
    """Indices of the points kept on an open polyline (endpoints always kept)."""
    keep = np.zeros(len(points), bool)
    keep[0] = keep[-1] = True
    stack = [(0, len(points) - 1)]
    while stack:
        lo, hi = stack.pop()
        if hi <= lo + 1:
            continue
        a, b = points[lo], points[hi]
        seg = b - a
        length = np.hypot(*seg)
        rel = points[lo + 1:hi] - a
        dist = np.abs(seg[0] * rel[:, 1] - seg[1] * rel[:, 0]) / length if length > 0 else np.hypot(rel[:, 0], rel[:, 1])
        k = int(np.argmax(dist))
        if dist[k] > tolerance:
            mid = lo + 1 + k
            keep[mid] = True
            stack += [(lo, mid), (mid, hi)]
    return np.flatnonzero(keep)


def simplify_loop(loop: np.ndarray, tolerance: float) -> np.ndarray:
    """Douglas–Peucker on a closed loop, split at its two mutually farthest-ish points."""
    if len(loop) < 4:
        return loop
    far = int(np.argmax(np.hypot(*(loop - loop[0]).T)))
    rolled = np.concatenate([loop, loop[:1]])
    first = _douglas_peucker(rolled[:far + 1], tolerance)
    second = _douglas_peucker(rolled[far:], tolerance) + far
    keep = np.unique(np.concatenate([first, second[:-1]]))
    return loop[keep]


def _line_intersection(p1, p2, p3, p4):
    """Intersection of line p1→p2 with line p3→p4, or None when (nearly) parallel."""
    d1, d2 = p2 - p1, p4 - p3
    denom = d1[0] * d2[1] - d1[1] * d2[0]
    if abs(denom) < 1e-9:
        return None
    t = ((p3[0] - p1[0]) * d2[1] - (p3[1] - p1[1]) * d2[0]) / denom
    return p1 + t * d1


def sharpen_corners(points: np.ndarray, span: float, min_turn_degrees: float = 45.0) -> np.ndarray:
    """Put back the corners the enlargement and smoothing rounded.

    A run of short edges (together shorter than ``2 · span``) between two straight edges at least
    ``2 · span`` and twice the run long, which turns by at least ``min_turn_degrees`` and whose
    neighbours' lines meet within ``span`` of the run, becomes one vertex at that meeting point.
    Bowls and round stroke ends (no long straight edge on both sides) are left as they are.
    """
    pts = np.asarray(points, np.float64)
    n = len(pts)
    if n < 5:
        return pts
    lengths = np.hypot(*(np.roll(pts, -1, axis=0) - pts).T)   # edge i: pts[i] → pts[i+1]
    long_edge = lengths >= 2 * span
    if long_edge.sum() < 2:
        return pts
    replace: dict[int, np.ndarray] = {}
    drop = np.zeros(n, bool)
    for i in np.flatnonzero(long_edge):
        # the run of short edges after long edge i: vertices i+1 … j, then long edge j → j+1
        j, run = (i + 1) % n, 0.0
        while not long_edge[j] and run < 2 * span:
            run += lengths[j]
            j = (j + 1) % n
        if not long_edge[j] or run >= 2 * span or j == i or min(lengths[i], lengths[j]) < 2 * run:
            continue
        first, last = (i + 1) % n, j
        d1 = pts[first] - pts[i]
        d2 = pts[(j + 1) % n] - pts[j]
        cos = float(np.dot(d1, d2) / (np.hypot(*d1) * np.hypot(*d2) + 1e-12))
        if np.degrees(np.arccos(np.clip(cos, -1.0, 1.0))) < min_turn_degrees:
            continue
        meet = _line_intersection(pts[i], pts[first], pts[j], pts[(j + 1) % n])
        if meet is None or np.hypot(*(meet - (pts[first] + pts[last]) / 2)) > span:
            continue
        k = first
        while True:  # the run's vertices first … last collapse into the corner
            drop[k] = True
            if k == last:
                break
            k = (k + 1) % n
        drop[first] = False
        replace[first] = meet
    out = pts.copy()
    for k, meet in replace.items():
        out[k] = meet
    kept = out[~drop]
    return kept if len(kept) >= 3 else pts


def fit_curves(points: np.ndarray, corner_degrees: float = CORNER_DEGREES) -> Contour:
    """Mark sharp-turn vertices on-curve; the rest are quadratic B-spline control points."""
    prev_vec = points - np.roll(points, 1, axis=0)
    next_vec = np.roll(points, -1, axis=0) - points
    cos = (prev_vec * next_vec).sum(axis=1) / (np.hypot(*prev_vec.T) * np.hypot(*next_vec.T) + 1e-12)
    turn = np.degrees(np.arccos(np.clip(cos, -1.0, 1.0)))
    on_curve = turn >= corner_degrees
    return Contour(_through_vertices(points, on_curve), on_curve)


def _through_vertices(targets: np.ndarray, on_curve: np.ndarray, iterations: int = 6) -> np.ndarray:
    """Move the off-curve control points so the spline passes through the traced vertices.

    The quadratic piece around control point P runs from A (the previous on-curve point, or the
    midpoint with the previous control point) to B; its middle is (A + 2P + B) / 4. Without this
    step the spline cuts inside every convex bend (a thin stroke would come out thinner).
    """
    points = targets.copy()
    off = ~on_curve
    if off.sum() == 0:
        return points
    for _ in range(iterations):
        prev, nxt = np.roll(points, 1, axis=0), np.roll(points, -1, axis=0)
        a = np.where(np.roll(on_curve, 1)[:, None], prev, (prev + points) / 2)
        b = np.where(np.roll(on_curve, -1)[:, None], nxt, (nxt + points) / 2)
        middle = (a + 2 * points + b) / 4
        points = np.where(off[:, None], points + (targets - middle), points)
    return points


def trace(glyph: np.ndarray, size: int = 256, smooth_sigma: float | None = None,
          tolerance: float | None = None, min_area: float | None = None, corner_span: float | None = None,
          snap: bool = True) -> list[Contour]:
    """Contours of a glyph ``[S, S]`` in [-1, 1] (ink +1), in y-up pixels of a ``size``² canvas.

    Defaults scale with ``size``: smoothing σ = size/512 px, simplification tolerance size/1024 px,
    corners re-sharpened where straight edges meet within size/48 px, and loops smaller than two
    pixels of the glyph (specks) are dropped. ``snap=False`` keeps the outline on the threshold's pixel edges (no sub-pixel step).
    """
    sigma = size / 512 if smooth_sigma is None else smooth_sigma
    tol = size / 1024 if tolerance is None else tolerance
    least = 2 * (size / np.shape(glyph)[-1]) ** 2 if min_area is None else min_area
    corner_span = size / 48 if corner_span is None else corner_span
    field = enlarge_field(glyph, size)
    contours = []
    for loop in boundary_loops(field > 0.0):
        if snap:
            loop = snap_to_level(loop, field)
        smoothed = _smooth(loop, sigma)
        contour = fit_curves(sharpen_corners(simplify_loop(smoothed, tol), corner_span))
        if len(contour.points) >= 3 and abs(contour.area) >= least:
            contours.append(contour)
    return contours


def contour_to_pen(contour: Contour, pen, transform=lambda x, y: (x, y), reverse: bool = False) -> None:
    """Draw one contour into a fontTools segment pen (``qCurveTo`` with implied on-curve points)."""
    pts = [transform(float(x), float(y)) for x, y in contour.points]
    on = list(contour.on_curve)
    if reverse:
        pts, on = pts[::-1], on[::-1]
    n = len(pts)
    if not any(on):  # all smooth: a closed quadratic B-spline
        pen.qCurveTo(*pts, None)
        pen.closePath()
        return
    start = on.index(True)
    pts, on = pts[start:] + pts[:start], on[start:] + on[:start]
    pen.moveTo(pts[0])
    pending: list = []
    for i in range(1, n + 1):
        point, is_on = pts[i % n], on[i % n]
        if is_on:
            if pending:
                pen.qCurveTo(*pending, point)
                pending = []
            elif i < n:
                pen.lineTo(point)
        else:
            pending.append(point)
    pen.closePath()
