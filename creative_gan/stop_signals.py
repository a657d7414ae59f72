"""SIGTERM and SIGHUP as a clean stop: for programs (the CLI, the app), never for library code.

While :func:`stop_signals_raise` is active, SIGTERM or SIGHUP raises
:class:`~creative_gan.errors.Terminated` (a ``KeyboardInterrupt``) in the main thread, so the same
cleanup that Ctrl-C gets runs: the trainer saves its resume state, writers remove their temp files
(:mod:`creative_gan.fileio`), the renderer its spool. The exit code is then 128 + the signal number.
"""
from __future__ import annotations

import contextlib
import signal
import threading
from typing import Iterator

from .errors import Terminated

#: the signals turned into a clean stop (those this platform has)
STOP_SIGNALS = tuple(getattr(signal, name) for name in ("SIGTERM", "SIGHUP") if hasattr(signal, name))


def raise_terminated(signum, frame):
    """Signal handler: raise :class:`Terminated` once; later stop signals are ignored during the cleanup."""
    for sig in STOP_SIGNALS:
        signal.signal(sig, signal.SIG_IGN)
    raise Terminated(signum)


@contextlib.contextmanager
def stop_signals_raise() -> Iterator[None]:
    """Install :func:`raise_terminated` for the block; the previous handlers come back after it.

    Outside the main thread (where Python cannot set handlers) this does nothing.
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = {sig: signal.signal(sig, raise_terminated) for sig in STOP_SIGNALS}
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
