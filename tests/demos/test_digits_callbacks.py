"""Digits tab callbacks without a server: a live run streams snapshots, stops on request, refuses bad input."""
from __future__ import annotations

import threading

import numpy as np
import pytest

import creative_gan
from creative_gan.demos.digits import shipped_grid, stop_digits, train_digits
from creative_gan.demos.digits_live import RUNS, check_choices
from creative_gan.demos.plots import class_bars
from creative_gan.errors import UsageError


def test_live_run_streams_updates_and_ends_with_the_last_step():
    updates = list(train_digits("lsgan", "mlp", 12, 0, update_seconds=0.0))
    assert len(updates) >= 2
    grid, curve, bars, status = updates[-1]
    assert grid.dtype == np.uint8 and grid.ndim == 2 and grid.shape[0] > 64
    assert bars.shape[2] == 3
    assert status.startswith("finished: step 12 of 12")
    assert curve and open(curve, "rb").read(4) == b"\x89PNG"
    first = updates[0][0]
    assert not np.array_equal(first, grid)                 # the samples changed while training


def test_stop_ends_a_run_early():
    token = "test-stop"
    stream = train_digits("non_saturating", "mlp", 5000, 1, token=token, update_seconds=0.0)
    next(stream)
    assert token in RUNS
    threading.Timer(0.2, stop_digits, args=(token,)).start()
    last = list(stream)[-1]
    assert last[3].startswith("stopped: step") and "of 5000" in last[3]
    step = int(last[3].split("step ")[1].split(" ")[0])
    assert step < 5000 and token not in RUNS
    assert stop_digits(token) == "no training is running"


@pytest.mark.parametrize("args,message", [
    (("hinge", "mlp", 0, 0), "steps"), (("hinge", "mlp", 1e9, 0), "steps"), (("hinge", "mlp", 2.5, 0), "steps"),
    (("hinge", "mlp", 10, -1), "seed"), (("wgan", "mlp", 10, 0), "unknown loss"),
    (("hinge", "resnet", 10, 0), "unknown model"), (("hinge", "mlp", "ten", 0), "not a number"),
])
def test_bad_choices_are_one_line_errors(args, message):
    with pytest.raises(UsageError, match=message):
        check_choices(*args)
    with pytest.raises(UsageError, match=message):
        next(train_digits(*args))


def test_shipped_model_fills_the_first_grid_and_bars_show_empty_classes():
    grid = shipped_grid(creative_gan.load("digits-default"))
    assert grid.shape == (8 * 64 + 9 * 2, 8 * 64 + 9 * 2) and grid.std() > 20
    collapsed = class_bars([0, 0, 64, 0, 0, 0, 0, 0, 0, 0])
    healthy = class_bars([6] * 10)
    red = lambda img: int(((img[..., 0] > 200) & (img[..., 1] < 80)).sum())  # noqa: E731
    assert red(collapsed) > red(healthy) == 0               # empty classes are marked in red
