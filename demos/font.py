"""The fonts tab: attribute sliders, a seed and a "like this face" picker make a whole alphabet; the
glyph sheet follows the sliders, and "Make font" traces it into an OpenType font typed in a specimen
line of the user's own and offered for download.

Callbacks are plain functions of the loaded model and plain values: :func:`glyph_sheet`,
:func:`face_attributes` and :func:`make_font`.
"""
from __future__ import annotations

import functools
import math
import re

import gradio as gr
import numpy as np

from creative_gan.errors import UsageError

from .common import IMAGE_BUTTONS, heavy_event, light_event, output_path, ui

MAX_SEED = 2 ** 31 - 1
MAX_TEXT = 120
NO_FACE = "(corpus median)"
DEFAULT_TEXT = "Hamburgefonstiv 0123"


def _attribute_names():
    from creative_gan.pipelines.font.attributes import ATTRIBUTES

    return ATTRIBUTES


def _seed(value) -> int:
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise UsageError("seed must be a whole number") from None
    if not math.isfinite(number) or number != int(number) or not 0 <= number <= MAX_SEED:
        raise UsageError(f"seed must be a whole number between 0 and {MAX_SEED} (got {value})")
    return int(number)


def _attributes(pipe, values) -> dict[str, float]:
    names = _attribute_names()
    if len(values) != len(names):
        raise UsageError(f"expected {len(names)} attribute values")
    return pipe.attributes(**{n: float(v) for n, v in zip(names, values)})


def glyph_sheet(pipe, seed, *values) -> np.ndarray:
    """The alphabet for these slider values: uint8 ``[H, W]`` (black on white, 4 rows: A–M, N–Z, a–m … 0–9)."""
    from creative_gan.images import make_grid

    glyphs = pipe.generate([_attributes(pipe, values)], [_seed(seed)])[0]
    return make_grid(-glyphs[:, None], nrow=16, pad=2)[..., 0]


def face_attributes(pipe, face: str) -> list[float]:
    """Slider values of a reference face (the corpus median for ``NO_FACE``)."""
    attrs = pipe.default_attributes if not face or face == NO_FACE else pipe.like(face)
    return [round(float(attrs[n]), 3) for n in _attribute_names()]


def make_font(pipe, family: str, seed, text: str, *values) -> tuple[np.ndarray, np.ndarray, str]:
    """Trace and write an .otf: ``(glyph sheet, specimen uint8 [H, W] typed with the font, .otf path)``."""
    from creative_gan.pipelines.font.charset import CHARACTERS
    from creative_gan.pipelines.font.specimen import type_lines

    text = (text or "").strip() or DEFAULT_TEXT
    if len(text) > MAX_TEXT:
        raise UsageError(f"the specimen line is {len(text)} characters; the limit is {MAX_TEXT}")
    unsupported = sorted({c for c in text if c not in CHARACTERS + " "})
    if unsupported:
        raise UsageError(f"the font has only A–Z, a–z, 0–9 and space (not {' '.join(unsupported)})")
    family = (family or "").strip() or "Creative GAN"
    stem = re.sub(r"[^A-Za-z0-9]+", "-", family).strip("-") or "font"
    path = output_path(stem, ".otf")
    seed = _seed(seed)
    pipe.export(path, family_name=family, seed=seed, **_attributes(pipe, values))
    specimen = np.asarray(type_lines(path.read_bytes(), [text], pixels_per_em=64))
    return glyph_sheet(pipe, seed, *values), specimen, str(path)


def build_font_demo(pipe) -> None:
    """Components and events of the fonts tab for a loaded font model ``pipe``."""
    names = _attribute_names()
    faces = [NO_FACE] + sorted(f["name"] for f in pipe.reference_faces)
    gr.Markdown("Move the sliders (0–1 spans the training fonts) or start from a face you like; the "
                "alphabet follows. **Make font** traces it into an OpenType file you can install.")
    with gr.Row():
        with gr.Column(scale=1):
            like = gr.Dropdown(faces, value=NO_FACE, label="Like this face", elem_id="font-like")
            sliders = [gr.Slider(0.0, 1.0, value=float(pipe.default_attributes[n]), step=0.01,
                                 label=n.replace("_", " "), elem_id=f"font-{n.replace('_', '-')}")
                       for n in names]
            seed = gr.Number(1, label="Seed", precision=0, elem_id="font-seed")
            family = gr.Textbox("Creative GAN", label="Family name", elem_id="font-family")
            text = gr.Textbox(DEFAULT_TEXT, label="Specimen line", elem_id="font-text")
            make = gr.Button("Make font", variant="primary", elem_id="font-make")
        with gr.Column(scale=2):
            sheet = gr.Image(glyph_sheet(pipe, 1, *[pipe.default_attributes[n] for n in names]),
                             label="Glyphs", type="numpy", image_mode="L", interactive=False,
                             buttons=IMAGE_BUTTONS, elem_id="font-sheet")
            specimen = gr.Image(label="Specimen (typed with the exported font)", type="numpy",
                                image_mode="L", interactive=False, buttons=IMAGE_BUTTONS,
                                elem_id="font-specimen")
            download = gr.File(label="Font file (.otf)", interactive=False, elem_id="font-file")

    sheet_fn = ui(functools.partial(glyph_sheet, pipe))
    like.change(ui(functools.partial(face_attributes, pipe)), [like], sliders, api_name="font_like",
                **light_event()).then(sheet_fn, [seed, *sliders], [sheet], **light_event())
    for control in sliders:
        control.release(sheet_fn, [seed, *sliders], [sheet], **light_event())
    seed.submit(sheet_fn, [seed, *sliders], [sheet], api_name="font_sheet", **light_event())
    make.click(ui(functools.partial(make_font, pipe)), [family, seed, text, *sliders],
               [sheet, specimen, download], api_name="font_make", **heavy_event())
