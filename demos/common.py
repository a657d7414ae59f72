"""What every tab of the Gradio app shares: offline settings, error display, upload checks, audio and files.

Callbacks of a tab are plain functions (plain values in, plain values out, ``UsageError`` for bad input);
the builder wires them through :func:`ui`, which turns a user error into a visible ``gr.Error`` message, and
:func:`heavy_event` / :func:`training_event` / :func:`light_event`, which put them in the app's queue with
the right concurrency: renders, training runs and quick calls each have their own pool of slots, so a long
training run never holds up a render and neither holds up a note.
"""
from __future__ import annotations

import functools
import os
import tempfile
import uuid
from contextlib import contextmanager
from pathlib import Path

import numpy as np

from creative_gan.errors import CreativeGANError, UsageError

#: the folder of example MIDI files shipped with the app (the only packaged folder it serves)
EXAMPLES_DIR = Path(__file__).resolve().parent / "examples"
#: largest upload the server accepts (Gradio refuses bigger ones before any callback runs)
MAX_FILE_SIZE = "5mb"
MAX_FILE_BYTES = 5 * 1024 * 1024
#: concurrency ids of the app's queue: heavy work (renders, training) shares one limit
HEAVY, TRAINING, LIGHT = "heavy", "training", "light"
LIGHT_LIMIT = 4
#: the buttons output players and pictures show (no "share": the app publishes nothing)
AUDIO_BUTTONS = ["download"]
IMAGE_BUTTONS = ["download", "fullscreen"]

_settings = {"heavy_limit": 1}


def offline_environment() -> None:
    """Turn Gradio's and the Hub's network features off for this process (set before importing gradio)."""
    os.environ["GRADIO_ANALYTICS_ENABLED"] = "False"
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("GRADIO_SSR_MODE", "False")
    no_proxy = "localhost,127.0.0.1,::1"
    for key in ("NO_PROXY", "no_proxy"):
        current = os.environ.get(key)
        os.environ[key] = f"{current},{no_proxy}" if current else no_proxy


@contextmanager
def heavy_limit(limit: int):
    """While building the app: heavy events get at most ``limit`` concurrent runs."""
    previous = _settings["heavy_limit"]
    _settings["heavy_limit"] = max(1, int(limit))
    try:
        yield
    finally:
        _settings["heavy_limit"] = previous


def heavy_event() -> dict:
    """Event keyword arguments for slow work (renders, training): shares the app's ``--concurrency`` limit."""
    return {"concurrency_id": HEAVY, "concurrency_limit": _settings["heavy_limit"]}


def training_event() -> dict:
    """Event keyword arguments for live training (minutes long): its own pool of ``--concurrency`` slots."""
    return {"concurrency_id": TRAINING, "concurrency_limit": _settings["heavy_limit"]}


def light_event() -> dict:
    """Event keyword arguments for fast calls (one note, one plot): a separate pool, never starved by renders."""
    return {"concurrency_id": LIGHT, "concurrency_limit": LIGHT_LIMIT}


def ui(fn):
    """Wrap a plain callback for the page: a user error becomes one visible ``gr.Error`` line.

    Works for plain functions and generator functions (live training streams updates).
    """
    import inspect

    import gradio as gr

    def _error(exc: Exception):
        message = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        return gr.Error(message, print_exception=False)

    if inspect.isgeneratorfunction(fn):
        @functools.wraps(fn)
        def gen_wrapper(*args, **kwargs):
            try:
                yield from fn(*args, **kwargs)
            except (CreativeGANError, ValueError) as exc:
                raise _error(exc) from None
        return gen_wrapper

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        try:
            return fn(*args, **kwargs)
        except (CreativeGANError, ValueError) as exc:
            raise _error(exc) from None
    return wrapper


def check_midi_upload(path) -> Path:
    """A MIDI file the user uploaded: exists, at most MAX_FILE_BYTES, starts with ``MThd`` (content, not name)."""
    if path is None or str(path).strip() == "":
        raise UsageError("choose an example or upload a MIDI file first")
    path = Path(path)
    if not path.is_file():
        raise UsageError(f"uploaded file {path.name} is missing on the server; upload it again")
    size = path.stat().st_size
    if size > MAX_FILE_BYTES:
        raise UsageError(f"{path.name} is {size / 1e6:.1f} MB; the limit is {MAX_FILE_BYTES / 1e6:.0f} MB")
    with open(path, "rb") as handle:
        head = handle.read(4)
    if head != b"MThd":
        raise UsageError(f"{path.name} is not a MIDI file (it does not start with the 'MThd' header)")
    return path


def example_midis() -> dict[str, Path]:
    """``{file name: path}`` of the packaged example MIDI files, sorted by name."""
    return {p.name: p for p in sorted(EXAMPLES_DIR.glob("*.mid"))}


def to_int16(audio: np.ndarray) -> np.ndarray:
    """float audio ``[T]`` in [-1, 1] -> int16 ``[T]`` (what ``gr.Audio`` plays without re-normalising)."""
    audio = np.nan_to_num(np.asarray(audio, dtype=np.float32))
    return (np.clip(audio, -1.0, 1.0) * 32767.0).round().astype(np.int16)


def output_dir() -> Path:
    """A per-process temp folder for files the page shows or offers (Gradio copies them to its cache);
    removed when the process exits."""
    base = Path(tempfile.gettempdir()) / f"creative-gan-app-{os.getpid()}"
    if not base.exists():
        base.mkdir(parents=True, exist_ok=True)
        import atexit
        import shutil

        atexit.register(shutil.rmtree, base, True)
    return base


def output_path(stem: str, suffix: str) -> Path:
    """A fresh path ``<output_dir>/<uuid>/<stem><suffix>`` (a readable download name, never a collision)."""
    folder = output_dir() / uuid.uuid4().hex[:12]
    folder.mkdir()
    return folder / f"{stem}{suffix}"
