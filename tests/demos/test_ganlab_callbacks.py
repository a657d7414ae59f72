"""GAN Lab callbacks and model without a server: targets, determinism, learning, pictures, bad input."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from creative_gan.demos.ganlab import lab_play, lab_reset, lab_train
from creative_gan.demos.ganlab_core import TARGETS, GANLab, LabSettings, sample_target
from creative_gan.errors import UsageError

DEFAULTS = ("ring", "non_saturating", "none", 1.0, 1e-3, 1e-3, 0)


@pytest.mark.parametrize("name", TARGETS)
def test_targets_are_2d_points_in_view(name):
    points = sample_target(name, 2000, torch.Generator().manual_seed(0))
    assert points.shape == (2000, 2) and torch.isfinite(points).all()
    assert points.abs().max() < 3.0 and points.std() > 0.3


def test_ring_has_eight_separate_modes():
    points = sample_target("ring", 4000, torch.Generator().manual_seed(1)).numpy()
    angles = np.round(np.arctan2(points[:, 1], points[:, 0]) / (2 * np.pi / 8)) % 8
    assert np.bincount(angles.astype(int), minlength=8).min() > 350
    assert np.allclose(np.linalg.norm(points, axis=1), 2.0, atol=0.4)


def test_same_settings_same_run_and_training_moves_g_towards_the_target():
    a, b = GANLab(LabSettings()), GANLab(LabSettings())
    a.step(5)
    b.step(5)
    assert np.array_equal(a.generated(), b.generated())
    lab = GANLab(LabSettings(target="ring"))
    radius_before = np.linalg.norm(lab.generated(), axis=1).mean()
    lab.step(200)
    radius_after = np.linalg.norm(lab.generated(), axis=1).mean()
    assert abs(radius_after - 2.0) < abs(radius_before - 2.0)        # G's points moved out to the ring
    assert lab.steps == 200 and len(lab.history) == 200


@pytest.mark.parametrize("loss,regulariser", [("wgan_gp", "none"), ("hinge", "r1"), ("lsgan", "gp"),
                                              ("minimax", "none")])
def test_every_loss_trains_and_draws(loss, regulariser):
    lab = GANLab(LabSettings(target="two moons", loss=loss, regulariser=regulariser, reg_weight=1.0))
    lab.step(3)
    picture = lab.picture(size=200)
    assert picture.shape == (200, 200, 3) and picture.dtype == np.uint8
    surface = lab.surface(40)
    assert surface.shape == (40, 40) and (surface >= 0).all() and (surface <= 1).all()
    points, field = lab.gradient_field(9)
    assert points.shape == field.shape == (81, 2) and np.isfinite(field).all()


def test_callbacks_reset_train_and_play():
    lab, picture, status = lab_reset(*DEFAULTS)
    assert lab.steps == 0 and picture.shape == (480, 480, 3) and status.startswith("step 0")
    lab, trained, status = lab_train(lab, *DEFAULTS, 20)
    assert lab.steps == 20 and "step 20" in status and not np.array_equal(picture, trained)
    same = lab
    lab, _, _ = lab_train(lab, "ring", "non_saturating", "r1", 2.0, 5e-4, 1e-3, 0, 1)   # rates change in place
    assert lab is same and lab.steps == 21 and lab.opt_g.param_groups[0]["lr"] == 5e-4
    lab, _, _ = lab_train(lab, "spiral", "non_saturating", "none", 1.0, 1e-3, 1e-3, 0, 1)  # new target: new lab
    assert lab is not same and lab.steps == 1
    frames = list(lab_play(None, *DEFAULTS, 60, seconds_per_frame=0.0))
    assert [f[2].split(" ·")[0] for f in frames] == ["step 25", "step 50", "step 60"]


@pytest.mark.parametrize("values,message", [
    (("ring", "non_saturating", "none", 1.0, 0, 1e-3, 0), "learning rate G"),
    (("ring", "non_saturating", "none", 1.0, 1e-3, float("nan"), 0), "learning rate D"),
    (("cube", "non_saturating", "none", 1.0, 1e-3, 1e-3, 0), "unknown target"),
    (("ring", "wgan", "none", 1.0, 1e-3, 1e-3, 0), "unknown loss"),
    (("ring", "non_saturating", "none", -1, 1e-3, 1e-3, 0), "regulariser weight"),
    (("ring", "non_saturating", "none", 1.0, 1e-3, 1e-3, 1.5), "seed"),
    (("ring", "non_saturating", "none", 1.0, "fast", 1e-3, 0), "not a number"),
])
def test_bad_settings_are_one_line_errors(values, message):
    with pytest.raises(UsageError, match=message):
        lab_reset(*values)


def test_bad_step_counts_are_errors():
    with pytest.raises(UsageError, match="steps"):
        lab_train(None, *DEFAULTS, 0)
    with pytest.raises(UsageError, match="steps"):
        lab_train(None, *DEFAULTS, 2.5)
