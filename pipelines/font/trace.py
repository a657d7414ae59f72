"""Bitmap → outline: our own tracing and curve fitting (no potrace or other GPL code).

1. **Enlarge** the glyph (bicubic) to at least 256 px and threshold it at half ink.
2. **Trace** the pixel-edge boundary ("crack following"): every ink pixel contributes its four
   edges counter-clockwise; edges shared by two ink pixels cancel; the rest link into closed loops
   with ink on their left. Outer contours therefore run counter-clockwise and counters (the holes
   of o, e, B, 8) clockwise — the winding fonts need, by construction.
3. **Smooth** each loop (circular Gaussian on its vertices), **simplify** it (Douglas–Peucker) and
   re-sharpen corners the smoothing rounded (a short edge between two long ones → their meeting point).
4. **Fit curves**: vertices where the outline turns sharply stay on-curve corners; the others
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


def enlarge(glyph: np.ndarray, size: int = 256) -> np.ndarray:
    """Ink mask ``bool [size, size]`` of a glyph ``[S, S]`` in [-1, 1] (ink +1), bicubic-enlarged."""
    x = torch.as_tensor(np.asarray(glyph, dtype=np.float32))[None, None]
    if x.shape[-1] != size:
        x = F.interpolate(x, size=(size, size), mode="bicubic", align_corners=False)
    return (x[0, 0] > 0.0).numpy()


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


def sharpen_corners(points: np.ndarray, min_edge: float) -> np.ndarray:
    """Collapse each edge shorter than ``min_edge`` whose neighbours' lines meet close by into that
    meeting point: a corner the smoothing spread over two vertices becomes one sharp vertex again."""
    pts = [p for p in points]
    i = 0
    while i < len(pts) and len(pts) > 4:
        n = len(pts)
        a, b = pts[i], pts[(i + 1) % n]
        if np.hypot(*(b - a)) < min_edge:
            meet = _line_intersection(pts[i - 1], a, pts[(i + 2) % n], b)
            if meet is not None and np.hypot(*(meet - (a + b) / 2)) < 2 * min_edge:
                pts[i] = meet
                del pts[(i + 1) % n]
                if (i + 1) % n == 0:
                    i -= 1
                continue
        i += 1
    return np.array(pts)


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
          tolerance: float | None = None, min_area: float | None = None) -> list[Contour]:
    """Contours of a glyph ``[S, S]`` in [-1, 1] (ink +1), in y-up pixels of a ``size``² canvas.

    Defaults scale with ``size``: smoothing σ = size/256 px, tolerance size/512 px, and loops
    smaller than (size/64)² px² (specks) are dropped.
    """
    sigma = size / 256 if smooth_sigma is None else smooth_sigma
    tol = size / 512 if tolerance is None else tolerance
    least = (size / 64) ** 2 if min_area is None else min_area
    contours = []
    for loop in boundary_loops(enlarge(glyph, size)):
        smoothed = _smooth(loop, sigma)
        contour = fit_curves(sharpen_corners(simplify_loop(smoothed, tol), size / 48))
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
