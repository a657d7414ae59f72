"""The digits tab: learning GANs the classic way, trained live on scikit-learn's handwritten digits.

Pick the loss and the model (the vanilla MLP or DCGAN), train for N steps and watch the samples, the loss
curves and the classes the samples fall into update every few seconds; a digit class that empties is
mode collapse made visible. Callbacks: :func:`train_digits` (a generator of page updates) and
:func:`stop_digits`; the training itself is :mod:`creative_gan.demos.digits_live`.
"""
from __future__ import annotations

import uuid

import gradio as gr
import numpy as np

from .common import IMAGE_BUTTONS, output_path, training_event, ui
from .digits_live import ARCHITECTURES, LOSSES, Snapshot, run_live, stop_live
from .plots import class_bars

UPDATE_SECONDS = 2.0


def snapshot_view(snap: Snapshot):
    """``(sample grid uint8 [H, W], loss-curve PNG path or None, class bars uint8 [h, w, 3], status line)``."""
    from creative_gan.runlog import loss_curve_png

    curve = None
    if snap.losses:
        # the loss terms; the D/total and G/total sums would hide them (they coincide without regularisers)
        keys = sorted({k for row in snap.losses for k in row
                       if k.startswith(("D/", "G/")) and not k.endswith("/total")})
        curve = loss_curve_png(snap.losses, output_path("digits-losses", ".png"), keys=keys or None,
                               size=(640, 300))
    covered = int((snap.class_counts > 0).sum())
    state = "finished" if snap.finished and not snap.stopped else ("stopped" if snap.stopped else "training")
    status = f"{state}: step {snap.step} of {snap.total} · classes among 64 samples: {covered}/10"
    return snap.grid, (str(curve) if curve else None), class_bars(snap.class_counts), status


def train_digits(loss: str, architecture: str, steps, seed, token: str | None = None,
                 update_seconds: float = UPDATE_SECONDS):
    """Train live; yields :func:`snapshot_view` tuples about every ``update_seconds`` and at the end."""
    for snap in run_live(loss, architecture, steps, seed, token=token, update_seconds=update_seconds):
        yield snapshot_view(snap)


def stop_digits(token: str | None) -> str:
    """Stop this session's run after its current step."""
    return stop_live(token)


def shipped_grid(pipe, count: int = 64) -> np.ndarray:
    """The shipped model's samples for seeds 0…count-1 as a grid uint8 ``[H, W]`` (the tab's first picture)."""
    from creative_gan.images import make_grid

    images = pipe.generate(seeds=range(count))
    return make_grid(images, nrow=8, upscale=max(1, 64 // pipe.image_size))[..., 0]


def build_digits_demo(pipe) -> None:
    """Components and events of the digits tab; ``pipe`` (the shipped model) fills the first sample grid."""
    gr.Markdown("Train a GAN on 1,437 handwritten digits, live. The **vanilla** MLP with the original "
                "`minimax` loss is the 2014 case study; **DCGAN** is the convolutional recipe. Watch the "
                "class bars: when a digit class empties, the generator has dropped that mode.")
    token = gr.State(lambda: uuid.uuid4().hex)
    with gr.Row():
        with gr.Column(scale=1):
            loss = gr.Dropdown(list(LOSSES), value="non_saturating", label="Loss", elem_id="digits-loss")
            architecture = gr.Radio(list(ARCHITECTURES), value="dcgan", label="Model", elem_id="digits-arch")
            steps = gr.Number(1000, label="Training steps", precision=0, elem_id="digits-steps")
            seed = gr.Number(0, label="Seed", precision=0, elem_id="digits-seed")
            with gr.Row():
                start = gr.Button("Train", variant="primary", elem_id="digits-train")
                stop = gr.Button("■ Stop", elem_id="digits-stop")
            status = gr.Markdown("Samples of the shipped model (seeds 0–63). Press Train to start from scratch.",
                                 elem_id="digits-status")
            bars = gr.Image(label="Predicted class of each sample", type="numpy",
                            interactive=False, buttons=IMAGE_BUTTONS, elem_id="digits-classes")
        with gr.Column(scale=1):
            grid = gr.Image(shipped_grid(pipe), label="Samples (fixed latents)", type="numpy",
                            interactive=False, buttons=IMAGE_BUTTONS, image_mode="L", elem_id="digits-grid")
            curves = gr.Image(label="Losses", type="filepath", interactive=False,
                              buttons=IMAGE_BUTTONS, elem_id="digits-losses")

    start.click(ui(train_digits), [loss, architecture, steps, seed, token], [grid, curves, bars, status],
                api_name="digits_train", **training_event())
    stop.click(ui(stop_digits), [token], [status], api_name="digits_stop", queue=False)
