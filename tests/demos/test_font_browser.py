"""The fonts tab in real Chromium: a face picked moves the sliders; Make font types the line and offers the file."""
from __future__ import annotations

from .conftest import pick_option, visible_error

APP_TABS = ["font"]


def sheet_src(page) -> str:
    return page.locator("#font-sheet img").first.get_attribute("src") or ""


def test_like_a_face_then_make_a_font(page, screenshot):
    page.locator("#font-sheet img").first.wait_for()
    before = sheet_src(page)
    pick_option(page, "font-like", "DejaVu Sans Bold")
    page.wait_for_function("src => { const i = document.querySelector('#font-sheet img');"
                           " return i && i.getAttribute('src') !== src; }", arg=before, timeout=60_000)
    assert sheet_src(page) != before
    page.fill("#font-text textarea", "Gradio 2024")
    page.click("#font-make")
    page.locator("#font-specimen img").first.wait_for(timeout=90_000)
    link = page.locator("#font-file a").first
    link.wait_for(timeout=30_000)
    assert ".otf" in (link.get_attribute("href") or "")
    screenshot(page, "made-font")


def test_unsupported_specimen_characters_show_an_error(page, screenshot):
    page.locator("#font-sheet img").first.wait_for()
    page.fill("#font-text textarea", "naïve")
    page.click("#font-make")
    visible_error(page, "only A–Z, a–z, 0–9 and space")
    screenshot(page, "bad-text")
