"""The GAN Lab tab: train a small GAN on 2-D points live and watch D's surface, the points and G's gradients.

Callbacks (plain functions, tested without a server): :func:`lab_reset`, :func:`lab_train`, :func:`lab_play`.
Each returns the lab (kept per browser session in a ``gr.State``), the picture ``uint8 [480, 480, 3]`` and
a status line.
"""
from __future__ import annotations

import time

import gradio as gr

from creative_gan.errors import UsageError

from .common import IMAGE_BUTTONS, light_event, training_event, ui
from .ganlab_core import LOSSES, REGULARISERS, TARGETS, GANLab, LabSettings, lab_for, lab_settings

MAX_STEPS_PER_CLICK = 5000
PLAY_CHUNK = 25            # steps between pictures while playing


def lab_reset(target, loss, regulariser, reg_weight, lr_g, lr_d, seed):
    """A fresh, untrained lab for the settings: ``(lab, picture, status)``."""
    lab = GANLab(lab_settings(target, loss, regulariser, reg_weight, lr_g, lr_d, seed))
    return lab, lab.picture(), lab.status()


def _check_steps(steps) -> int:
    try:
        value = float(steps)
    except (TypeError, ValueError):
        raise UsageError(f"steps {steps!r} is not a number") from None
    if not value.is_integer() or not 1 <= value <= MAX_STEPS_PER_CLICK:
        raise UsageError(f"steps must be a whole number from 1 to {MAX_STEPS_PER_CLICK} (got {steps})")
    return int(value)


def lab_train(lab, target, loss, regulariser, reg_weight, lr_g, lr_d, seed, steps):
    """Train ``steps`` more steps (a new lab when target, loss or seed changed): ``(lab, picture, status)``."""
    count = _check_steps(steps)
    lab = lab_for(lab, lab_settings(target, loss, regulariser, reg_weight, lr_g, lr_d, seed))
    lab.step(count)
    return lab, lab.picture(), lab.status()


def lab_play(lab, target, loss, regulariser, reg_weight, lr_g, lr_d, seed, steps, seconds_per_frame=0.4):
    """Train ``steps`` steps, yielding ``(lab, picture, status)`` about every ``seconds_per_frame`` s."""
    count = _check_steps(steps)
    lab = lab_for(lab, lab_settings(target, loss, regulariser, reg_weight, lr_g, lr_d, seed))
    done, shown = 0, time.perf_counter()
    while done < count:
        chunk = min(PLAY_CHUNK, count - done)
        lab.step(chunk)
        done += chunk
        if done == count or time.perf_counter() - shown >= seconds_per_frame:
            shown = time.perf_counter()
            yield lab, lab.picture(), lab.status()


def build_ganlab_demo(model=None) -> None:
    """Components and events of the GAN Lab tab (it needs no release model)."""
    gr.Markdown("A GAN learning a 2-D distribution. **White**: real points; **orange**: what G makes of "
                "fixed noise; background: D's output (pale = \"real\"); **yellow arrows**: where G's loss "
                "pushes a generated point. Try the ring with `minimax` (mode collapse), then `wgan_gp` or R1.")
    lab = gr.State(None)
    with gr.Row():
        with gr.Column(scale=1):
            target = gr.Dropdown(list(TARGETS), value="ring", label="Target distribution", elem_id="lab-target")
            loss = gr.Dropdown(list(LOSSES), value="non_saturating", label="Loss", elem_id="lab-loss")
            with gr.Row():
                regulariser = gr.Dropdown(list(REGULARISERS), value="none", label="Regulariser on D",
                                          elem_id="lab-reg")
                reg_weight = gr.Number(1.0, label="Weight", elem_id="lab-reg-weight")
            with gr.Row():
                lr_g = gr.Number(1e-3, label="Learning rate G", elem_id="lab-lr-g")
                lr_d = gr.Number(1e-3, label="Learning rate D", elem_id="lab-lr-d")
            with gr.Row():
                seed = gr.Number(0, label="Seed", precision=0, elem_id="lab-seed")
                steps = gr.Number(100, label="Steps per click", precision=0, elem_id="lab-steps")
            with gr.Row():
                step_one = gr.Button("1 step", elem_id="lab-step-one")
                step_many = gr.Button("Train steps", variant="primary", elem_id="lab-train")
            with gr.Row():
                play = gr.Button("▶ Play (live)", elem_id="lab-play")
                stop = gr.Button("■ Stop", elem_id="lab-stop")
                reset = gr.Button("Reset", elem_id="lab-reset")
        with gr.Column(scale=1):
            picture = gr.Image(GANLab(LabSettings()).picture(), label="The plane", type="numpy",
                               interactive=False, buttons=IMAGE_BUTTONS, height=480,
                               elem_id="lab-plot")
            status = gr.Markdown(elem_id="lab-status")

    settings = [target, loss, regulariser, reg_weight, lr_g, lr_d, seed]
    outputs = [lab, picture, status]
    reset.click(ui(lab_reset), settings, outputs, api_name="ganlab_reset", **light_event())
    step_one.click(ui(lambda *values: lab_train(*values, 1)), [lab, *settings], outputs,
                   api_name="ganlab_step", **light_event())
    step_many.click(ui(lab_train), [lab, *settings, steps], outputs, api_name="ganlab_train", **training_event())
    playing = play.click(ui(lab_play), [lab, *settings, steps], outputs, api_name="ganlab_play", **training_event())
    stop.click(None, None, None, cancels=[playing], api_name=False, queue=False)
