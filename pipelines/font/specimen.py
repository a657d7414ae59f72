"""Specimen sheets: a font typed by FreeType (Pillow), as a PNG people can look at."""
from __future__ import annotations

import io
import os
from pathlib import Path

from PIL import Image, ImageDraw, ImageFont

from creative_gan.fileio import atomic_path

DEFAULT_LINES = ("ABCDEFGHIJKLMNOPQRSTUVWXYZ", "abcdefghijklmnopqrstuvwxyz", "0123456789",
                 "Hamburgefonstiv 0123")


def font_bytes(font) -> bytes:
    """A fontTools ``TTFont`` serialised to bytes (what Pillow can open)."""
    buffer = io.BytesIO()
    font.save(buffer)
    return buffer.getvalue()


def type_lines(font_data: bytes, lines, pixels_per_em: int = 48, margin: int = 16) -> Image.Image:
    """Black-on-white picture of ``lines`` typed with the font in ``font_data`` (bytes of an OTF/TTF)."""
    face = ImageFont.truetype(io.BytesIO(font_data), size=pixels_per_em)
    line_height = int(pixels_per_em * 1.45)
    widths = [int(face.getlength(line)) for line in lines] or [0]
    image = Image.new("L", (max(widths) + 2 * margin, line_height * len(lines) + 2 * margin), 255)
    draw = ImageDraw.Draw(image)
    for i, line in enumerate(lines):
        draw.text((margin, margin + i * line_height + pixels_per_em), line, font=face, fill=0, anchor="ls")
    return image


def write_specimen(font, path: str | os.PathLike, lines=DEFAULT_LINES, pixels_per_em: int = 48) -> Path:
    """Type ``lines`` with ``font`` (a fontTools TTFont) and write the PNG atomically."""
    image = type_lines(font_bytes(font), list(lines), pixels_per_em)
    path = Path(path)
    with atomic_path(path) as tmp:
        image.save(tmp, format="PNG")
    return path
