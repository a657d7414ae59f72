"""The anime tab in real Chromium: draw a grid and download it as PNG, walk between two seeds, bad input errs."""
from __future__ import annotations

import io

import numpy as np
from PIL import Image

from .conftest import visible_error

APP_TABS = ["anime"]


def image_src(page, elem_id: str) -> str:
    return page.locator(f"#{elem_id} img").first.get_attribute("src") or ""


def fetch_image(page, src: str) -> Image.Image:
    url = src if src.startswith("http") else page.url.rstrip("/") + src
    response = page.request.get(url)
    assert response.ok, f"{url}: HTTP {response.status}"
    return Image.open(io.BytesIO(response.body()))


def test_grid_and_png_download(page, screenshot):
    page.fill("#anime-seed input", "10")
    page.click("#anime-draw")
    page.locator("#anime-grid img").first.wait_for(timeout=60_000)
    page.locator("#anime-download a").first.wait_for(timeout=60_000)
    screenshot(page, "grid")
    grid = fetch_image(page, image_src(page, "anime-grid")).convert("RGB")
    assert grid.size[0] >= 4 * 64 and grid.size[0] == grid.size[1]      # 16 faces in a 4×4 grid
    assert np.asarray(grid).std() > 20                                   # faces, not a blank picture
    href = page.locator("#anime-download a").first.get_attribute("href")
    assert href and href.split("?")[0].endswith(".png") and "anime-seeds-10-25" in href
    with page.expect_download() as info:
        page.locator("#anime-download a").first.click()
    saved = Image.open(info.value.path())
    assert saved.format == "PNG" and saved.size == grid.size


def test_walk_between_two_seeds(page, screenshot):
    page.fill("#anime-walk-a input", "3")
    page.fill("#anime-walk-b input", "42")
    page.click("#anime-walk")
    page.locator("#anime-walk-gif img").first.wait_for(timeout=120_000)
    screenshot(page, "walk")
    gif = fetch_image(page, image_src(page, "anime-walk-gif"))
    assert gif.format == "GIF" and gif.n_frames == 48


def test_same_seeds_show_an_error_and_the_tab_keeps_working(page, screenshot):
    page.fill("#anime-walk-a input", "5")
    page.fill("#anime-walk-b input", "5")
    page.click("#anime-walk")
    visible_error(page, "pick two different seeds")
    screenshot(page, "same-seeds")
    page.click("#anime-draw")
    page.locator("#anime-grid img").first.wait_for(timeout=60_000)
