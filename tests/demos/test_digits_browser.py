"""The digits tab in real Chromium: a few live training steps update the samples; a bad step count errs."""
from __future__ import annotations

from .conftest import visible_error

APP_TABS = ["digits"]


def grid_src(page) -> str:
    return page.locator("#digits-grid img").first.get_attribute("src") or ""


def test_live_training_updates_the_samples(page, screenshot):
    page.locator("#digits-grid img").first.wait_for()
    before = grid_src(page)
    page.locator("#digits-arch").get_by_text("mlp", exact=True).click()
    page.fill("#digits-steps input", "30")
    page.click("#digits-train")
    page.locator("#digits-status").get_by_text("finished: step 30 of 30").wait_for(timeout=120_000)
    screenshot(page, "trained")
    after = grid_src(page)
    assert after and after != before                  # the shipped model's grid was replaced by the run's
    page.locator("#digits-classes img").first.wait_for()
    page.locator("#digits-losses img").first.wait_for()
    assert "classes among 64 samples" in page.locator("#digits-status").inner_text()


def test_bad_step_count_shows_an_error(page, screenshot):
    page.fill("#digits-steps input", "0")
    page.click("#digits-train")
    visible_error(page, "steps must be a whole number")
    screenshot(page, "bad-steps")
    page.fill("#digits-steps input", "2")                # the app keeps working
    page.click("#digits-train")
    page.locator("#digits-status").get_by_text("finished: step 2 of 2").wait_for(timeout=120_000)


def test_stop_button_ends_a_long_run(page, screenshot):
    page.locator("#digits-arch").get_by_text("mlp", exact=True).click()
    page.fill("#digits-steps input", "20000")
    page.click("#digits-train")
    page.locator("#digits-status").get_by_text("training: step").wait_for(timeout=60_000)
    page.click("#digits-stop")
    page.locator("#digits-status").get_by_text("stopped: step").wait_for(timeout=60_000)
    screenshot(page, "stopped")
    step = int(page.locator("#digits-status").inner_text().split("step ")[1].split(" ")[0])
    assert step < 20000
