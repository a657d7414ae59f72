"""The GAN Lab tab in real Chromium: training steps change the plot; a zero learning rate errs."""
from __future__ import annotations

from .conftest import visible_error

APP_TABS = ["ganlab"]


def plot_src(page) -> str:
    return page.locator("#lab-plot img").first.get_attribute("src") or ""


def test_training_steps_change_the_plot(page, screenshot):
    page.locator("#lab-plot img").first.wait_for()
    before = plot_src(page)
    page.fill("#lab-steps input", "60")
    page.click("#lab-train")
    page.locator("#lab-status").get_by_text("step 60 ·").wait_for()
    page.click("#lab-step-one")                                   # step by step
    page.locator("#lab-status").get_by_text("step 61 ·").wait_for()
    screenshot(page, "trained")
    after = plot_src(page)
    assert after and after != before


def test_zero_learning_rate_shows_an_error(page, screenshot):
    page.fill("#lab-lr-g input", "0")
    page.click("#lab-train")
    visible_error(page, "learning rate G must be > 0")
    screenshot(page, "bad-lr")
    page.fill("#lab-lr-g input", "0.001")                          # the app keeps working
    page.click("#lab-step-one")
    page.locator("#lab-status").get_by_text("step 1 ·").wait_for()
