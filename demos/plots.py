"""Pictures the app's tabs show, drawn with Pillow (no plotting library): the GAN Lab plane and class bars.

Every function returns an RGB array ``uint8 [H, W, 3]`` for ``gr.Image(type="numpy")``.
"""
from __future__ import annotations

import numpy as np
from PIL import Image, ImageDraw

from creative_gan.images import colour_map

# D's surface: low (says "fake") dark blue-grey, high (says "real") pale blue
_SURFACE = np.array([[22, 24, 40], [52, 70, 110], [120, 150, 200], [205, 220, 245]], dtype=np.float64)
REAL_COLOUR = (250, 250, 250)
FAKE_COLOUR = (255, 140, 0)
FIELD_COLOUR = (255, 215, 70)


def surface_colours(values: np.ndarray) -> np.ndarray:
    """values ``[H, W]`` in [0, 1] -> uint8 ``[H, W, 3]`` through the dark-to-pale surface map."""
    return colour_map(values, _SURFACE)


def draw_lab(surface: np.ndarray, real: np.ndarray, fake: np.ndarray, field_points: np.ndarray,
             field: np.ndarray, view: float, size: int = 480) -> np.ndarray:
    """The GAN Lab plane ``[size, size, 3]``: surface ``[h, w]`` (row 0 = top), real/fake points ``[N, 2]``,
    gradient arrows at ``field_points [M, 2]`` along ``field [M, 2]`` (scaled to the longest one)."""
    image = Image.fromarray(surface_colours(surface)).resize((size, size), Image.BILINEAR)
    draw = ImageDraw.Draw(image)

    def to_pixels(points: np.ndarray) -> np.ndarray:
        xy = (np.asarray(points, np.float64) + view) / (2 * view) * (size - 1)
        xy[:, 1] = (size - 1) - xy[:, 1]
        return xy

    norms = np.linalg.norm(field, axis=1)
    longest = float(norms.max()) if norms.size and np.isfinite(norms).all() and norms.max() > 0 else 1.0
    spacing = size / max(int(np.sqrt(len(field_points))), 1)
    for (x, y), (dx, dy), norm in zip(to_pixels(field_points), field, norms):
        if not np.isfinite(norm) or norm < 1e-12:
            continue
        length = 0.85 * spacing * norm / longest
        ux, uy = dx / norm, -dy / norm                         # screen y points down
        tip = (x + ux * length, y + uy * length)
        draw.line([(x, y), tip], fill=FIELD_COLOUR, width=1)
        if length > 4:                                         # a small arrow head
            head = min(4.0, length / 2)
            for turn in (0.5, -0.5):
                c, s = np.cos(np.pi + turn), np.sin(np.pi + turn)
                hx, hy = ux * c - uy * s, ux * s + uy * c
                draw.line([tip, (tip[0] + hx * head, tip[1] + hy * head)], fill=FIELD_COLOUR, width=1)
    for points, colour, radius in ((real, REAL_COLOUR, 1.6), (fake, FAKE_COLOUR, 2.0)):
        for x, y in to_pixels(points):
            if -5 <= x <= size + 5 and -5 <= y <= size + 5:
                draw.ellipse([x - radius, y - radius, x + radius, y + radius], fill=colour)
    draw.text((8, size - 16), "real", fill=REAL_COLOUR)           # bottom left: the page labels the top
    draw.text((44, size - 16), "generated", fill=FAKE_COLOUR)
    draw.text((118, size - 16), "G's gradient", fill=FIELD_COLOUR)
    return np.asarray(image)


def class_bars(counts, width: int = 420, height: int = 220, labels=None) -> np.ndarray:
    """A bar chart of ``counts [K]`` (e.g. samples per predicted digit) as RGB ``[height, width, 3]``.

    Classes with no sample are drawn as a red tick: mode collapse shows as a row of empty classes.
    """
    counts = np.asarray(counts, dtype=np.float64)
    labels = labels if labels is not None else [str(i) for i in range(len(counts))]
    image = Image.new("RGB", (width, height), "white")
    draw = ImageDraw.Draw(image)
    left, bottom, top = 10, 24, 34
    slot = (width - 2 * left) / max(len(counts), 1)
    peak = max(float(counts.max()) if counts.size else 0.0, 1.0)
    total = max(float(counts.sum()), 1.0)
    for i, count in enumerate(counts):
        x0 = left + i * slot + slot * 0.15
        x1 = left + (i + 1) * slot - slot * 0.15
        bar = (height - bottom - top) * count / peak
        if count > 0:
            draw.rectangle([x0, height - bottom - bar, x1, height - bottom], fill=(70, 110, 190))
            draw.text((x0, height - bottom - bar - 12), f"{100 * count / total:.0f}%", fill=(40, 40, 40))
        else:
            draw.line([(x0, height - bottom), (x1, height - bottom)], fill=(220, 40, 40), width=3)
        draw.text(((x0 + x1) / 2 - 3, height - bottom + 5), str(labels[i]), fill=(0, 0, 0))
    covered = int((counts > 0).sum())
    draw.text((width - 150, 4), f"classes present: {covered}/{len(counts)}", fill=(0, 0, 0))
    return np.asarray(image)
