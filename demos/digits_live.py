"""Live digits training for the app: the shared trainer in a thread, snapshots every few seconds, a stop switch.

:class:`LiveRun` trains the digits pipeline's networks with the chosen loss and architecture on the real
scikit-learn digits; its ``on_step`` hook (run in the training thread) takes a snapshot of the EMA generator
on fixed latents at most every ``update_seconds``: the sample grid, the predicted classes of those samples
(mode collapse shows as empty classes) and the logged losses. :func:`run_live` drives one run as a generator
of :class:`Snapshot` s, which is what the page streams.
"""
from __future__ import annotations

import argparse
import copy
import shutil
import tempfile
import threading
import time
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

import numpy as np
import torch

from creative_gan.errors import CreativeGANError, UsageError

ARCHITECTURES = ("mlp", "dcgan")
LOSSES = ("non_saturating", "minimax", "wgan_gp", "hinge", "lsgan")
MAX_STEPS = 20000
SAMPLES = 64                   # digits in the live grid (also what the classes are counted on)
WGAN_GP_WEIGHT = 10.0
#: the preset each architecture starts from (the classic vanilla MLP; the quick DCGAN recipe)
BASE_PRESET = {"mlp": "vanilla", "dcgan": "quick"}


@dataclass
class Snapshot:
    """One update for the page: ``grid`` uint8 ``[H, W]``, ``class_counts [10]``, ``losses`` rows of the log."""

    step: int
    total: int
    grid: np.ndarray
    class_counts: np.ndarray
    losses: list[dict] = field(default_factory=list)
    finished: bool = False
    stopped: bool = False


@lru_cache(maxsize=2)
def quick_classifier(image_size: int):
    """A digit classifier trained for 8 epochs (~97 % on held-out digits, a few CPU seconds), cached."""
    from creative_gan.pipelines.digits.evaluate import train_digit_classifier

    return train_digit_classifier(image_size, epochs=8).model


def check_choices(loss: str, architecture: str, steps, seed) -> tuple[int, int]:
    """Validated ``(steps, seed)``; UsageError (one line) for anything the trainer cannot run."""
    if loss not in LOSSES:
        raise UsageError(f"unknown loss {loss!r} (choose from {', '.join(LOSSES)})")
    if architecture not in ARCHITECTURES:
        raise UsageError(f"unknown model {architecture!r} (choose from {', '.join(ARCHITECTURES)})")
    values = []
    for what, value, low, high in (("steps", steps, 1, MAX_STEPS), ("seed", seed, 0, 2**31 - 1)):
        try:
            number = float(value)
        except (TypeError, ValueError):
            raise UsageError(f"{what} {value!r} is not a number") from None
        if not number.is_integer() or not low <= number <= high:
            raise UsageError(f"{what} must be a whole number from {low} to {high} (got {value})")
        values.append(int(number))
    return values[0], values[1]


class LiveRun:
    """One training run in a background thread; ``latest`` holds the newest :class:`Snapshot`."""

    def __init__(self, loss: str, architecture: str, steps, seed=0, update_seconds: float = 2.0,
                 batch_size: int = 64):
        from creative_gan.options import TrainOptions
        from creative_gan.registry import get_plugin

        self.steps, seed = check_choices(loss, architecture, steps, seed)
        self.update_seconds = float(update_seconds)
        self.plugin = get_plugin("digits")
        preset = copy.deepcopy(self.plugin.presets[BASE_PRESET[architecture]])
        self.run_dir = Path(tempfile.mkdtemp(prefix="creative-gan-digits-"))
        values = {k: v for k, v in preset.items() if k != "model"}
        values.update(out_dir=str(self.run_dir), steps=self.steps, seed=seed, loss=loss, batch_size=batch_size,
                      tensorboard=False, progress=False, log_every=5, preview_every=0, checkpoint_every=0,
                      monitor_every=0, device="cpu",
                      regularisers={"gp": WGAN_GP_WEIGHT} if loss == "wgan_gp" else {})
        self.options = TrainOptions.from_dict(values)
        args = argparse.Namespace(arch=architecture, data=None, image_size=None)
        self.task = self.plugin.make_task(self.options, preset, args)
        self.image_size = int(self.task.model_options["image_size"])
        with torch.random.fork_rng(devices=[]):
            self.fixed_z = self.task.sample_latent(SAMPLES, torch.Generator().manual_seed(seed + 11), "cpu")
        self.stop_requested = threading.Event()
        self.done = threading.Event()
        self.error: BaseException | None = None
        self.latest: Snapshot | None = None
        self._last_shot = 0.0
        self._thread = threading.Thread(target=self._train, name="digits-live", daemon=True)

    def start(self) -> "LiveRun":
        self._thread.start()
        return self

    def stop(self) -> None:
        """Ask the run to end after the current step (it still hands back a final snapshot)."""
        self.stop_requested.set()

    def snapshot(self, trainer, finished: bool = False) -> Snapshot:
        """Samples of the EMA generator on the fixed latents, their classes and the losses logged so far."""
        from creative_gan.images import make_grid
        from creative_gan.pipelines.digits.evaluate import classify
        from creative_gan.runlog import read_metrics

        generator = trainer.ema.shadow
        was_training = generator.training
        generator.eval()
        with torch.no_grad():
            images = generator(self.fixed_z.to(trainer.device)).float().cpu()
        generator.train(was_training)
        probs, _ = classify(quick_classifier(self.image_size), images)
        counts = np.bincount(probs.argmax(1).numpy(), minlength=10)
        grid = make_grid(images, nrow=8, upscale=max(1, 64 // self.image_size))[..., 0]
        metrics = self.run_dir / "metrics.jsonl"
        losses = read_metrics(metrics) if metrics.exists() else []
        return Snapshot(trainer.step, self.steps, grid, counts, losses, finished,
                        self.stop_requested.is_set())

    def _on_step(self, trainer) -> None:
        if self.stop_requested.is_set():
            trainer.options.steps = trainer.step          # the loop ends cleanly after this step
        now = time.perf_counter()
        if now - self._last_shot >= self.update_seconds or trainer.step == 1:
            self.latest = self.snapshot(trainer)
            self._last_shot = time.perf_counter()

    def _train(self) -> None:
        from creative_gan.trainer import Trainer

        try:
            trainer = Trainer(self.task, self.options, on_step=self._on_step)
            trainer.train()
            self.latest = self.snapshot(trainer, finished=True)
        except BaseException as exc:                       # handed to the page by run_live
            self.error = exc
        finally:
            self.done.set()
            shutil.rmtree(self.run_dir, ignore_errors=True)


#: runs in progress by session token, so the page's Stop button can reach its own run
RUNS: dict[str, LiveRun] = {}
_RUNS_LOCK = threading.Lock()


def stop_live(token: str | None) -> str:
    """Stop the run of session ``token`` (if any); returns a status line."""
    with _RUNS_LOCK:
        run = RUNS.get(token or "")
    if run is None:
        return "no training is running"
    run.stop()
    return "stopping after the current step…"


def run_live(loss: str, architecture: str, steps, seed=0, token: str | None = None,
             update_seconds: float = 2.0):
    """Train live, yielding a :class:`Snapshot` about every ``update_seconds`` and one when finished."""
    run = LiveRun(loss, architecture, steps, seed, update_seconds)
    if token:
        with _RUNS_LOCK:
            previous = RUNS.get(token)
            if previous is not None:
                previous.stop()
            RUNS[token] = run
    run.start()
    shown = None
    try:
        while not run.done.wait(timeout=min(0.25, update_seconds)):
            if run.latest is not None and run.latest is not shown:
                shown = run.latest
                yield shown
        if run.error is not None:
            if isinstance(run.error, CreativeGANError):
                raise run.error
            raise UsageError(f"training failed: {type(run.error).__name__}: {run.error}")
        if run.latest is not None:
            yield run.latest
    finally:
        run.stop()                                         # the page went away: end the thread too
        if token:
            with _RUNS_LOCK:
                if RUNS.get(token) is run:
                    del RUNS[token]
