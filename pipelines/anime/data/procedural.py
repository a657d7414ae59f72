"""Procedural anime faces: a seeded drawing of a face with known attributes (synthetic data).

No anime-face dataset can be downloaded here, so this module draws one: every face is painted with
Pillow at 4× the target size and downsampled (anti-aliased). What varies per face:

- face shape (round / oval / pointed chin), skin tone, position and scale jitter;
- hair colour (6 named colours, see :data:`HAIR_COLOURS`), hair length (short / medium / long),
  bangs (straight / swept / parted), side part, side locks, a shine band;
- eye colour (5 named colours, :data:`EYE_COLOURS`), eye size, iris gradient, highlights, lashes;
- eyebrows (thickness, tilt), nose, mouth (smile / open / small / cat), blush;
- accessories (none / ribbon / hair clip / headband), clothing colour, background (gradient + bokeh).

``render_face(seed, index, size)`` is deterministic: the same (seed, index) gives the same pixels and
attributes in every process. The categorical attributes are stored as indices into the tuples
below; an evaluator can learn to predict them from images.
"""
from __future__ import annotations

import math

import numpy as np
from PIL import Image, ImageDraw, ImageFilter

HAIR_COLOURS = ("black", "brown", "blonde", "red", "blue", "pink")
_HAIR_RGB = {"black": (38, 34, 48), "brown": (112, 68, 38), "blonde": (238, 204, 112),
             "red": (196, 48, 44), "blue": (58, 98, 204), "pink": (242, 138, 182)}
EYE_COLOURS = ("blue", "green", "red", "purple", "amber")
_EYE_RGB = {"blue": (40, 110, 230), "green": (34, 160, 70), "red": (210, 30, 40),
            "purple": (140, 60, 200), "amber": (230, 150, 20)}
SKIN_TONES = ((255, 226, 208), (250, 212, 186), (236, 190, 160))
FACE_SHAPES = ("round", "oval", "pointed")
HAIR_LENGTHS = ("short", "medium", "long")
BANGS = ("straight", "swept", "parted")
MOUTHS = ("smile", "open", "small", "cat")
ACCESSORIES = ("none", "ribbon", "clip", "headband")

#: categorical attributes and their value names, in the order corpora store them
ATTRIBUTES: dict[str, tuple[str, ...]] = {
    "hair_colour": HAIR_COLOURS, "eye_colour": EYE_COLOURS, "face_shape": FACE_SHAPES,
    "hair_length": HAIR_LENGTHS, "bangs": BANGS, "mouth": MOUTHS, "accessory": ACCESSORIES,
}
SUPERSAMPLE = 4


def _jitter(rng: np.random.Generator, rgb, amount: int = 14) -> tuple[int, int, int]:
    return tuple(int(np.clip(c + rng.integers(-amount, amount + 1), 0, 255)) for c in rgb)


def _shade(rgb, factor: float) -> tuple[int, int, int]:
    """Darker (factor < 1) or lighter (factor > 1, towards white) version of ``rgb``."""
    if factor <= 1:
        return tuple(int(c * factor) for c in rgb)
    return tuple(int(c + (255 - c) * (factor - 1)) for c in rgb)


def _background(rng: np.random.Generator, size: int) -> Image.Image:
    """A vertical two-colour gradient with a few soft bokeh discs."""
    top = rng.integers(60, 256, 3)
    bottom = np.clip(top * rng.uniform(0.5, 1.1) + rng.integers(-40, 41, 3), 0, 255)
    t = np.linspace(0, 1, size)[:, None, None]
    grad = (top[None, None] * (1 - t) + bottom[None, None] * t).repeat(size, axis=1)
    image = Image.fromarray(grad.astype(np.uint8), "RGB")
    layer = Image.new("RGBA", (size, size), (0, 0, 0, 0))
    draw = ImageDraw.Draw(layer)
    for _ in range(int(rng.integers(0, 6))):
        r = rng.uniform(0.04, 0.12) * size
        cx, cy = rng.uniform(0, size, 2)
        colour = tuple(int(c) for c in rng.integers(150, 256, 3)) + (int(rng.integers(40, 110)),)
        draw.ellipse([cx - r, cy - r, cx + r, cy + r], fill=colour)
    image.paste(layer, (0, 0), layer)
    return image


def _face_polygon(cx: float, cy: float, half_w: float, half_h: float, shape: str) -> list[tuple[float, float]]:
    """Outline of the face: an elliptic top, a chin that is round, oval or pointed."""
    chin = {"round": 0.92, "oval": 1.0, "pointed": 1.1}[shape]
    points = []
    for k in range(0, 181, 6):  # upper half, right to left over the top
        a = math.radians(k)
        points.append((cx + half_w * math.cos(a), cy - half_h * 0.9 * math.sin(a)))
    steps = 24
    for k in range(1, steps):  # lower half, left back to right through the chin
        a = math.pi + math.pi * k / steps
        s = -math.sin(a)  # 0 at the sides, 1 at the chin
        narrowing = 1 - (0.35 if shape == "pointed" else 0.15) * s ** 2
        points.append((cx + half_w * math.cos(a) * narrowing, cy + half_h * chin * s ** (1.3 if shape != "round" else 1.0)))
    return points


def _draw_eye(draw: ImageDraw.ImageDraw, cx: float, cy: float, w: float, h: float, iris_rgb, lash_rgb,
              highlights: int, mirror: bool, rng: np.random.Generator) -> None:
    """An anime eye centred at (cx, cy): sclera, graded iris, pupil, highlights, upper lash line."""
    draw.ellipse([cx - w, cy - h, cx + w, cy + h], fill=(255, 255, 255))
    iw, ih = w * 0.78, h * 0.95
    steps = 6
    for k in range(steps):  # iris: darker at the top, lighter at the bottom
        f = 0.55 + 0.6 * k / (steps - 1)
        shrink = 1 - 0.08 * k
        off = ih * 0.12 * k / steps
        draw.ellipse([cx - iw * shrink, cy - ih + off * 2, cx + iw * shrink, cy + ih],
                     fill=_shade(iris_rgb, f))
    pw, ph = iw * 0.42, ih * 0.45
    draw.ellipse([cx - pw, cy - ph, cx + pw, cy + ph * 1.1], fill=_shade(iris_rgb, 0.25))
    side = -1 if mirror else 1
    if highlights >= 1:
        r = w * 0.3
        hx, hy = cx - side * iw * 0.35, cy - ih * 0.4
        draw.ellipse([hx - r, hy - r, hx + r, hy + r], fill=(255, 255, 255))
    if highlights >= 2:
        r = w * 0.15
        hx, hy = cx + side * iw * 0.3, cy + ih * 0.45
        draw.ellipse([hx - r, hy - r, hx + r, hy + r], fill=(255, 255, 255))
    lash = max(2, int(h * 0.28))
    draw.arc([cx - w * 1.12, cy - h * 1.05, cx + w * 1.12, cy + h * 1.3], 195, 345, fill=lash_rgb, width=lash)
    # the outer corner flick
    fx = cx + side * w * 1.05
    draw.polygon([(fx, cy - h * 0.35), (fx + side * w * 0.35, cy - h * 0.7), (fx - side * w * 0.1, cy - h * 0.75)],
                 fill=lash_rgb)


def _hair_back(draw, cx, top, half_w, half_h, length: str, rgb) -> None:
    """Hair behind the head and, when long, down past the shoulders."""
    draw.ellipse([cx - half_w * 1.22, top - half_h * 0.15, cx + half_w * 1.22, top + half_h * 2.0], fill=rgb)
    if length == "short":
        return
    bottom = top + half_h * (2.6 if length == "medium" else 4.2)
    spread = 1.25 if length == "medium" else 1.45
    draw.polygon([(cx - half_w * 1.2, top + half_h * 0.8), (cx + half_w * 1.2, top + half_h * 0.8),
                  (cx + half_w * spread, bottom), (cx - half_w * spread, bottom)], fill=rgb)


def _hair_front(draw, cx, top, half_w, half_h, bangs: str, part: float, rgb, rng) -> None:
    """The hair cap over the forehead, with bangs cut straight, swept to one side or parted."""
    cap_bottom = top + half_h * 0.75
    draw.chord([cx - half_w * 1.18, top - half_h * 0.12, cx + half_w * 1.18, top + half_h * 1.45], 180, 360, fill=rgb)
    strands = 7
    left, right = cx - half_w * 1.1, cx + half_w * 1.1
    width = (right - left) / strands
    for k in range(strands):
        x0 = left + k * width
        x1 = x0 + width
        if bangs == "straight":
            tip_x = (x0 + x1) / 2
            depth = half_h * (0.62 + 0.1 * rng.random())
        elif bangs == "swept":
            tip_x = x0 + width * (1.2 if part > 0 else -0.2)
            depth = half_h * (0.45 + 0.35 * (k / strands if part > 0 else 1 - k / strands))
        else:  # parted: strands part at `part`, shorter near the part
            mid = cx + part * half_w * 0.5
            dist = abs((x0 + x1) / 2 - mid) / (half_w * 1.1)
            tip_x = (x0 + x1) / 2 + (width * 0.4 if (x0 + x1) / 2 > mid else -width * 0.4)
            depth = half_h * (0.3 + 0.45 * dist)
        draw.polygon([(x0, cap_bottom - half_h * 0.4), (x1, cap_bottom - half_h * 0.4),
                      (tip_x, top + half_h * 0.35 + depth)], fill=rgb)
    # side locks framing the face
    for side in (-1, 1):
        x = cx + side * half_w * 1.02
        draw.polygon([(x - side * half_w * 0.05, top + half_h * 0.3), (x + side * half_w * 0.2, top + half_h * 0.35),
                      (x + side * half_w * 0.05, top + half_h * 1.75), (x - side * half_w * 0.22, top + half_h * 1.2)],
                     fill=rgb)


def render_face(seed: int, index: int, size: int = 64) -> tuple[np.ndarray, dict[str, int]]:
    """Draw face ``index`` of corpus ``seed``: ``(uint8 [size, size, 3], {attribute: value index})``."""
    rng = np.random.default_rng([int(seed), int(index)])
    attrs = {name: int(rng.integers(len(values))) for name, values in ATTRIBUTES.items()}
    S = size * SUPERSAMPLE
    image = _background(rng, S)
    draw = ImageDraw.Draw(image)
    scale = rng.uniform(0.9, 1.08)
    cx = S * (0.5 + rng.uniform(-0.04, 0.04))
    cy = S * (0.56 + rng.uniform(-0.03, 0.03))
    half_w = S * 0.27 * scale * {"round": 1.04, "oval": 0.96, "pointed": 0.95}[FACE_SHAPES[attrs["face_shape"]]]
    half_h = S * 0.27 * scale
    top = cy - half_h * 1.1
    hair = _jitter(rng, _HAIR_RGB[HAIR_COLOURS[attrs["hair_colour"]]], 16)
    hair_dark = _shade(hair, 0.7)
    skin = _jitter(rng, SKIN_TONES[int(rng.integers(len(SKIN_TONES)))], 6)
    part = float(rng.choice([-1.0, 1.0]))

    _hair_back(draw, cx, top, half_w, half_h, HAIR_LENGTHS[attrs["hair_length"]], _shade(hair, 0.85))
    # neck, shoulders, clothes
    draw.rectangle([cx - half_w * 0.28, cy + half_h * 0.5, cx + half_w * 0.28, cy + half_h * 1.45], fill=_shade(skin, 0.9))
    clothes = tuple(int(c) for c in rng.integers(20, 256, 3))
    draw.chord([cx - half_w * 1.9, cy + half_h * 1.3, cx + half_w * 1.9, cy + half_h * 3.4], 180, 360, fill=clothes)
    draw.polygon([(cx - half_w * 0.3, cy + half_h * 1.32), (cx + half_w * 0.3, cy + half_h * 1.32),
                  (cx, cy + half_h * 1.75)], fill=_shade(skin, 0.9))
    if HAIR_LENGTHS[attrs["hair_length"]] == "long":  # locks falling in front of the shoulders
        for side in (-1, 1):
            x = cx + side * half_w * 1.05
            draw.polygon([(x - half_w * 0.18, cy), (x + half_w * 0.18, cy), (x + side * half_w * 0.3, cy + half_h * 2.2),
                          (x - side * half_w * 0.05, cy + half_h * 2.2)], fill=hair)
    # face
    draw.polygon(_face_polygon(cx, cy, half_w, half_h, FACE_SHAPES[attrs["face_shape"]]), fill=skin)
    # eyes
    eye_rgb = _jitter(rng, _EYE_RGB[EYE_COLOURS[attrs["eye_colour"]]], 12)
    eye_w = half_w * rng.uniform(0.2, 0.27)
    eye_h = eye_w * rng.uniform(1.15, 1.45)
    eye_y = cy + half_h * rng.uniform(0.02, 0.14)
    eye_dx = half_w * rng.uniform(0.44, 0.52)
    highlights = int(rng.integers(1, 3))
    lash = _shade(hair, 0.35) if rng.random() < 0.5 else (30, 24, 30)
    for side in (-1, 1):
        _draw_eye(draw, cx + side * eye_dx, eye_y, eye_w, eye_h, eye_rgb, lash, highlights, side < 0, rng)
    # eyebrows
    brow_w = max(2, int(S * rng.uniform(0.008, 0.016)))
    tilt = rng.uniform(-0.12, 0.15) * half_h
    for side in (-1, 1):
        x = cx + side * eye_dx
        y = eye_y - eye_h * 1.6
        draw.line([(x - side * eye_w * 0.9, y + tilt), (x + side * eye_w * 0.9, y - tilt * 0.3)], fill=hair_dark, width=brow_w)
    # nose
    nose_y = eye_y + half_h * 0.32
    draw.line([(cx + half_w * 0.02, nose_y - half_h * 0.05), (cx - half_w * 0.03, nose_y)], fill=_shade(skin, 0.75),
              width=max(2, S // 128))
    # mouth
    mouth_y = cy + half_h * rng.uniform(0.55, 0.66)
    mw = half_w * rng.uniform(0.12, 0.2)
    mouth_rgb = (150, 60, 60)
    kind = MOUTHS[attrs["mouth"]]
    if kind == "smile":
        draw.arc([cx - mw, mouth_y - mw * 0.6, cx + mw, mouth_y + mw * 0.6], 20, 160, fill=mouth_rgb, width=max(2, S // 90))
    elif kind == "open":
        draw.chord([cx - mw, mouth_y - mw * 0.5, cx + mw, mouth_y + mw * 0.9], 0, 180, fill=(190, 70, 80))
        draw.chord([cx - mw * 0.6, mouth_y + mw * 0.2, cx + mw * 0.6, mouth_y + mw * 0.85], 0, 180, fill=(235, 120, 130))
    elif kind == "small":
        draw.line([(cx - mw * 0.45, mouth_y), (cx + mw * 0.45, mouth_y)], fill=mouth_rgb, width=max(2, S // 100))
    else:  # cat mouth ":3"
        for side in (-1, 1):
            draw.arc([cx + (side - 1) * mw * 0.5, mouth_y - mw * 0.4, cx + (side + 1) * mw * 0.5, mouth_y + mw * 0.4],
                     10, 170, fill=mouth_rgb, width=max(2, S // 110))
    # hair in front, with a shine band
    _hair_front(draw, cx, top, half_w, half_h, BANGS[attrs["bangs"]], part, hair, rng)
    draw.arc([cx - half_w * 0.85, top + half_h * 0.05, cx + half_w * 0.85, top + half_h * 0.95], 205, 335,
             fill=_shade(hair, 1.35), width=max(2, int(half_h * 0.07)))
    # blush (translucent)
    overlay = Image.new("RGBA", (S, S), (0, 0, 0, 0))
    if rng.random() < 0.55:
        od = ImageDraw.Draw(overlay)
        alpha = int(rng.integers(60, 130))
        for side in (-1, 1):
            x, y = cx + side * eye_dx * 1.05, eye_y + eye_h * 1.55
            od.ellipse([x - eye_w * 0.8, y - eye_h * 0.3, x + eye_w * 0.8, y + eye_h * 0.3], fill=(255, 90, 110, alpha))
        overlay = overlay.filter(ImageFilter.GaussianBlur(S / 120))
        image.paste(overlay, (0, 0), overlay)
        draw = ImageDraw.Draw(image)
    _accessory(draw, ACCESSORIES[attrs["accessory"]], cx, top, half_w, half_h, part, rng)
    small = image.resize((size, size), Image.LANCZOS)
    return np.asarray(small, dtype=np.uint8).copy(), attrs


def _accessory(draw, kind: str, cx, top, half_w, half_h, part: float, rng) -> None:
    colour = tuple(int(c) for c in rng.integers(0, 256, 3))
    if kind == "ribbon":
        x, y = cx + part * half_w * 0.85, top + half_h * 0.12
        r = half_w * 0.3
        draw.polygon([(x, y), (x - r, y - r * 0.7), (x - r, y + r * 0.7)], fill=colour)
        draw.polygon([(x, y), (x + r, y - r * 0.7), (x + r, y + r * 0.7)], fill=colour)
        draw.ellipse([x - r * 0.25, y - r * 0.25, x + r * 0.25, y + r * 0.25], fill=_shade(colour, 0.7))
    elif kind == "clip":
        x, y = cx - part * half_w * 0.6, top + half_h * 0.55
        w, h = half_w * 0.28, half_h * 0.07
        angle = 0.4 * part
        dx, dy = math.cos(angle), math.sin(angle)
        corners = [(-w, -h), (w, -h), (w, h), (-w, h)]
        draw.polygon([(x + a * dx - b * dy, y + a * dy + b * dx) for a, b in corners], fill=colour)
    elif kind == "headband":
        draw.arc([cx - half_w * 1.15, top - half_h * 0.05, cx + half_w * 1.15, top + half_h * 1.2], 190, 350,
                 fill=colour, width=max(3, int(half_h * 0.12)))


def render_corpus(count: int, seed: int = 0, size: int = 64, progress: bool = True) -> tuple[np.ndarray, np.ndarray]:
    """``count`` faces: ``(uint8 [count, size, size, 3], int64 [count, len(ATTRIBUTES)])``."""
    from tqdm.auto import tqdm

    images = np.empty((count, size, size, 3), np.uint8)
    labels = np.empty((count, len(ATTRIBUTES)), np.int64)
    for i in tqdm(range(count), desc="drawing faces", disable=not progress, unit="face"):
        image, attrs = render_face(seed, i, size)
        images[i] = image
        labels[i] = [attrs[name] for name in ATTRIBUTES]
    return images, labels
