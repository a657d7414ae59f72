"""The anime-faces tab: a grid of faces by seed, count and truncation, and a latent walk between two seeds.

Callbacks are plain functions of the loaded model and plain values: :func:`face_grid` (grid picture +
PNG file to download) and :func:`face_walk` (an animated GIF). The shipped ``anime-default`` was trained
on procedural (synthetic) faces; train on your own folder with ``creative-gan train anime --data DIR``.
"""
from __future__ import annotations

import functools
import math

import gradio as gr
import numpy as np

from creative_gan.errors import UsageError

from .common import IMAGE_BUTTONS, heavy_event, light_event, output_path, ui

MAX_COUNT = 64
MAX_FRAMES = 120
MAX_SEED = 2 ** 31 - 1


def _whole(value, name: str, low: int, high: int) -> int:
    """``value`` as an int in [low, high], or a UsageError naming ``name``."""
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise UsageError(f"{name} must be a whole number") from None
    if not math.isfinite(number) or number != int(number):
        raise UsageError(f"{name} must be a whole number (got {value})")
    if not low <= int(number) <= high:
        raise UsageError(f"{name} must be between {low} and {high} (got {int(number)})")
    return int(number)


def face_grid(pipe, seed, count, truncation) -> tuple[np.ndarray, str]:
    """Faces for seeds ``seed … seed+count-1``: ``(grid uint8 [H, W, 3], path of the same grid as PNG)``."""
    from creative_gan.images import make_grid, save_png

    first = _whole(seed, "seed", 0, MAX_SEED)
    count = _whole(count, "count", 1, MAX_COUNT)
    images = pipe.generate(seeds=range(first, first + count), truncation=float(truncation), as_tensor=True)
    grid = make_grid(images, nrow=math.ceil(math.sqrt(count)), upscale=max(1, 128 // pipe.image_size))
    path = save_png(grid, output_path(f"anime-seeds-{first}-{first + count - 1}", ".png"))
    return grid, str(path)


def face_walk(pipe, seed_a, seed_b, frames, truncation) -> str:
    """An animated GIF of a slerp walk from ``seed_a`` to ``seed_b`` and back (``frames`` frames in all)."""
    from creative_gan.pipelines.anime.media import write_gif

    first = _whole(seed_a, "first seed", 0, MAX_SEED)
    second = _whole(seed_b, "second seed", 0, MAX_SEED)
    frames = _whole(frames, "frames", 4, MAX_FRAMES)
    if first == second:
        raise UsageError("pick two different seeds to walk between")
    walk = pipe.walk([first, second], frames=frames, truncation=float(truncation), loop=True)
    path = output_path(f"anime-walk-{first}-{second}", ".gif")
    return str(write_gif(walk, path, fps=15, upscale=max(1, 192 // pipe.image_size)))


def build_anime_demo(pipe) -> None:
    """Components and events of the anime tab for the loaded model ``pipe``."""
    source = pipe.dataset.get("source", "?")
    note = (" This model was trained on **procedural (synthetic) faces** drawn by the package; train on your "
            "own folder with `creative-gan data anime --images DIR --out corpus` and "
            "`creative-gan train anime --data corpus`.") if source == "procedural" else ""
    gr.Markdown(f"Anime faces from a DCGAN ({pipe.image_size} px). Every seed is one face; truncation below 1 "
                f"trades variety for more typical faces.{note}")
    with gr.Row():
        with gr.Column(scale=1):
            seed = gr.Number(0, label="First seed", precision=0, elem_id="anime-seed")
            count = gr.Slider(1, MAX_COUNT, value=16, step=1, label="Faces", elem_id="anime-count")
            truncation = gr.Slider(0.3, 1.5, value=1.0, step=0.05, label="Truncation ψ", elem_id="anime-truncation")
            draw = gr.Button("Draw faces", variant="primary", elem_id="anime-draw")
            download = gr.File(label="Grid as PNG", interactive=False, elem_id="anime-download")
        with gr.Column(scale=2):
            grid = gr.Image(label="Faces", type="numpy", format="png", interactive=False,
                            buttons=IMAGE_BUTTONS, elem_id="anime-grid")
    with gr.Row():
        with gr.Column(scale=1):
            seed_a = gr.Number(3, label="Walk from seed", precision=0, elem_id="anime-walk-a")
            seed_b = gr.Number(17, label="to seed", precision=0, elem_id="anime-walk-b")
            frames = gr.Slider(4, MAX_FRAMES, value=48, step=1, label="Frames", elem_id="anime-frames")
            walk = gr.Button("Walk", elem_id="anime-walk")
        with gr.Column(scale=2):
            animation = gr.Image(label="Latent walk (GIF)", type="filepath", interactive=False,
                                 buttons=IMAGE_BUTTONS, elem_id="anime-walk-gif")

    draw.click(ui(functools.partial(face_grid, pipe)), [seed, count, truncation], [grid, download],
               api_name="anime_grid", **light_event())
    walk.click(ui(functools.partial(face_walk, pipe)), [seed_a, seed_b, frames, truncation], [animation],
               api_name="anime_walk", **heavy_event())
