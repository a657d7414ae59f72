"""Regenerate docs/app.png (the README's picture of the app): the audio tab after a morphing render.

    python docs/app_screenshot.py            # needs Debian's chromium (apt-get install chromium)
"""
from __future__ import annotations

import os
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
os.environ["GRADIO_ANALYTICS_ENABLED"] = "False"
sys.path.insert(0, str(HERE.parent))


def main() -> int:
    from playwright.sync_api import sync_playwright

    from creative_gan.threads import configure_threads
    from tests.demos.conftest import CHROMIUM, CHROMIUM_FLAGS, pick_option, start_app

    configure_threads(inference=True)
    demo, url = start_app()
    try:
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_FLAGS)
            page = browser.new_page(viewport={"width": 1400, "height": 1050})
            page.goto(url)
            page.get_by_role("tab", name="Audio").click()
            page.wait_for_selector("#audio-render")
            pick_option(page, "audio-example", "twinkle_chords.mid")
            page.get_by_text("chords", exact=True).first.wait_for()
            page.click("#audio-use-morph input")
            page.click("#audio-render")
            page.locator("#audio-summary").get_by_text("notes,").wait_for(timeout=60_000)
            page.wait_for_function("() => document.querySelector('#audio-spectrogram img') !== null")
            page.evaluate("window.scrollTo(0, 0)")
            page.wait_for_timeout(1000)
            page.screenshot(path=str(HERE / "app.png"))
            browser.close()
    finally:
        demo.close()
    print(HERE / "app.png")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
